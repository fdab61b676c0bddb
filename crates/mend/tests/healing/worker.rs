//! A worker that wedges: alive, but no longer working or beating.

use std::time::{Duration, Instant};

use crate::support::{App, eventually, state_dir};

fn starts(app: &App) -> f64 {
    app.scrape().value(
        "mend_supervise_starts_total",
        &[("supervisor", "app"), ("child", "checkpointer")],
    )
}

fn recoveries(app: &App) -> f64 {
    app.scrape().value(
        "mend_health_recoveries_total",
        &[("component", "checkpointer"), ("measurement", "heartbeat")],
    )
}

#[test]
fn a_wedged_worker_is_restarted_by_its_liveness_check_with_backoff_on_repeats() {
    let (_dir, state) = state_dir();
    let app = App::start(&state);
    eventually("the heartbeat check has passed", 20, || {
        app.health().1["checks"]["checkpointer:heartbeat"][0]["observedValue"].is_number()
    });
    assert_eq!(starts(&app), 1.0);

    // First wedge: the check fails, the recovery restarts it at once.
    app.fault("wedge");
    eventually("the checkpointer is restarted", 20, || starts(&app) == 2.0);
    assert_eq!(recoveries(&app), 1.0);
    assert!(
        app.log().contains("no heartbeat for"),
        "the failing check is logged"
    );
    eventually("the heartbeat check passes again", 20, || {
        app.check_status("checkpointer:heartbeat") == "pass"
            && app.health().1["checks"]["checkpointer:heartbeat"][0]["observedValue"].is_number()
    });

    // Second wedge, soon after: the recovery waits out its backoff (2 s,
    // no jitter) first. Without it the restart would come as soon as the
    // check failed twice (about 0.9 s).
    let wedged = Instant::now();
    app.fault("wedge");
    eventually("the checkpointer is restarted again", 30, || {
        starts(&app) == 3.0
    });
    let took = wedged.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "restarted after {took:?}, before the backoff"
    );
    assert_eq!(recoveries(&app), 2.0);
    // Restarts by the monitor are not the worker's own failures.
    let m = app.scrape();
    assert_eq!(
        m.value("mend_supervise_give_ups_total", &[("supervisor", "app")]),
        0.0
    );
}
