//! The shutdown sequence under paused time, triggered by a call: hooks in
//! reverse order, each under its own timeout, failures and panics reported
//! while the rest run, the drain of tracked tasks, supervisors stopped
//! before the hooks, and a second trigger forcing it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mend::cleanup::{HookOutcome, Shutdown, ShutdownReason, TasksOutcome};
use mend::clock::TokioClock;
use mend::supervise::{ChildSpec, Supervisor};
use tokio::time::{Instant, sleep};

const SEC: Duration = Duration::from_secs(1);

fn shutdown() -> Shutdown<TokioClock> {
    Shutdown::builder()
        .drain_timeout(10 * SEC)
        .clock(TokioClock::new())
        .build()
        .unwrap()
}

/// A hook that notes its name in `log` and then does `then`.
fn noting(
    log: &Arc<Mutex<Vec<&'static str>>>,
    name: &'static str,
) -> impl FnOnce() -> std::future::Ready<()> + Send + 'static {
    let log = log.clone();
    move || {
        log.lock().unwrap().push(name);
        std::future::ready(())
    }
}

#[tokio::test(start_paused = true)]
async fn hooks_run_in_reverse_order_each_under_its_own_timeout() {
    let s = shutdown();
    let log = Arc::new(Mutex::new(Vec::new()));
    s.on_shutdown("close the database", SEC, noting(&log, "database"));
    s.on_shutdown("slow flush", 2 * SEC, || sleep(60 * SEC));
    s.on_shutdown("failing upload", SEC, || async {
        Err::<(), _>("the bucket is gone")
    });
    s.on_shutdown("panicking hook", SEC, || async {
        panic!("bug in a hook") as ()
    });
    s.on_shutdown("stop accepting", SEC, noting(&log, "listener"));
    s.trigger("deploy");
    let began = Instant::now();
    let report = s.wait().await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["listener", "database"]);
    let seen: Vec<(&str, HookOutcome)> = report
        .hooks
        .iter()
        .map(|h| (h.name.as_str(), h.outcome.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("stop accepting", HookOutcome::Finished),
            (
                "panicking hook",
                HookOutcome::Panicked("bug in a hook".into())
            ),
            (
                "failing upload",
                HookOutcome::Failed("the bucket is gone".into())
            ),
            ("slow flush", HookOutcome::TimedOut),
            ("close the database", HookOutcome::Finished),
        ]
    );
    assert_eq!(report.hooks[3].took, 2 * SEC, "cut at its own timeout");
    assert_eq!(began.elapsed(), 2 * SEC);
    assert_eq!(report.took, 2 * SEC);
    assert_eq!(report.reason, ShutdownReason::Requested("deploy".into()));
    assert!(!report.is_clean());
    assert_eq!(
        report.to_string().lines().next(),
        Some("shutdown (requested: deploy) in 2s")
    );
}

#[tokio::test(start_paused = true)]
async fn tracked_tasks_drain_first_and_a_stuck_one_is_reported() {
    let s = shutdown();
    let token = s.token();
    s.tracker().spawn(async move {
        token.cancelled().await;
        sleep(3 * SEC).await; // finishes its last request
    });
    let log = Arc::new(Mutex::new(Vec::new()));
    s.on_shutdown("hook", SEC, noting(&log, "hook"));
    s.trigger("test");
    let report = s.wait().await.unwrap();
    assert_eq!(report.tasks, TasksOutcome::Finished(3 * SEC));
    assert!(report.is_clean());

    let s = shutdown();
    s.tracker().spawn(sleep(3600 * SEC)); // ignores the token
    s.trigger("test");
    let report = s.wait().await.unwrap();
    assert_eq!(
        report.tasks,
        TasksOutcome::TimedOut {
            after: 10 * SEC,
            still_running: 1
        }
    );
    assert!(!report.is_clean());
}

#[tokio::test(start_paused = true)]
async fn a_second_trigger_during_the_shutdown_forces_it_at_once() {
    let s = shutdown();
    let log = Arc::new(Mutex::new(Vec::new()));
    s.on_shutdown("never reached", SEC, noting(&log, "never"));
    s.on_shutdown("slow", 60 * SEC, || sleep(30 * SEC));
    s.trigger("first Ctrl-C");
    let forcing = s.clone();
    tokio::spawn(async move {
        sleep(5 * SEC).await;
        forcing.trigger("second Ctrl-C");
    });
    let began = Instant::now();
    let forced = s.wait().await.unwrap_err();
    assert_eq!(began.elapsed(), 5 * SEC, "returned at the second trigger");
    assert_eq!(
        forced.reason,
        ShutdownReason::Requested("second Ctrl-C".into())
    );
    assert!(log.lock().unwrap().is_empty(), "the rest did not run");
}

#[tokio::test(start_paused = true)]
async fn a_supervisor_under_the_shutdown_stops_its_children_before_the_hooks() {
    let s = shutdown();
    let log = Arc::new(Mutex::new(Vec::new()));
    let child = |name: &'static str| {
        let log = log.clone();
        ChildSpec::new(name, move |ctx| {
            let log = log.clone();
            async move {
                ctx.cancelled().await;
                sleep(SEC).await; // its grace is 5 s
                log.lock().unwrap().push(name);
                Ok::<(), std::io::Error>(())
            }
        })
    };
    let supervisor = Supervisor::builder("app")
        .clock(TokioClock::new())
        .without_logging()
        .child(child("db"))
        .child(child("api"))
        .build()
        .unwrap();
    let handle = s.supervise(supervisor);
    s.on_shutdown("flush", SEC, noting(&log, "hook"));
    sleep(SEC).await;
    assert_eq!(handle.children().len(), 2);
    s.trigger("test");
    let report = s.wait().await.unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        ["api", "db", "hook"],
        "children in reverse start order, then the hooks"
    );
    assert!(report.is_clean());
    assert_eq!(report.tasks, TasksOutcome::Finished(2 * SEC));
}

#[test]
fn the_drain_timeout_is_checked() {
    let err = Shutdown::builder()
        .drain_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(err.field, "drain_timeout");
    assert!(
        Shutdown::builder()
            .drain_timeout(Shutdown::MAX_DRAIN + Duration::from_nanos(1))
            .build()
            .is_err()
    );
    assert!(
        Shutdown::builder()
            .drain_timeout(Shutdown::MAX_DRAIN)
            .build()
            .is_ok()
    );
}
