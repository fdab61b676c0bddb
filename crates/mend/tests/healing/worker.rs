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
    // Counted relative to what came before: on a loaded machine a stall
    // can make the heartbeat stale once on its own, and its restart is no
    // less real.
    let (starts_before, recoveries_before) = (starts(&app), recoveries(&app));

    // First wedge: the check fails, the recovery restarts it at once.
    app.fault("wedge");
    eventually("the checkpointer is restarted", 20, || {
        starts(&app) > starts_before
    });
    assert!(recoveries(&app) > recoveries_before);
    assert!(
        app.log().contains("no heartbeat for"),
        "the failing check is logged"
    );
    eventually("the heartbeat check passes again", 20, || {
        app.check_status("checkpointer:heartbeat") == "pass"
            && app.health().1["checks"]["checkpointer:heartbeat"][0]["observedValue"].is_number()
    });

    // Second wedge, soon after: the recovery waits out its backoff (2 s,
    // no jitter; longer if a stall made a recovery in between) first.
    // Without it the restart would come as soon as the check failed twice
    // (about 0.9 s).
    let (starts_before, recoveries_before) = (starts(&app), recoveries(&app));
    let wedged = Instant::now();
    app.fault("wedge");
    eventually("the checkpointer is restarted again", 30, || {
        starts(&app) > starts_before
    });
    let took = wedged.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "restarted after {took:?}, before the backoff"
    );
    assert!(recoveries(&app) > recoveries_before);
    // Restarts by the monitor are not the worker's own failures.
    let m = app.scrape();
    assert_eq!(
        m.value("mend_supervise_give_ups_total", &[("supervisor", "app")]),
        0.0
    );
}
