//! Supervisors of real tokio tasks, under paused time: every strategy,
//! restart kinds, intensity and escalation through nested supervisors,
//! backoff and its reset, panics, dynamic children, graceful and forced
//! stops, and a health check's recovery restarting a child by name.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mend::clock::TokioClock;
use mend::health::{CheckResult, Monitor, Probe};
use mend::retry::{Backoff, Jitter};
use mend::supervise::{
    ChildSpec, Exit, Phase, Restart, RestartPlan, RestartPlanBuilder, Stop, Strategy,
    SuperviseChange, SuperviseError, SuperviseEvent, Supervisor, SupervisorHandle,
};
use tokio::time::{Instant, sleep};

use crate::support::Events;

const SEC: Duration = Duration::from_secs(1);

/// What one start of a scripted child does.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// Returns an error after a while.
    Fail(Duration),
    /// Returns `Ok` after a while.
    Finish(Duration),
    /// Panics after a while.
    Panic(Duration),
    /// Ignores its token: runs until aborted.
    Stubborn,
}

/// Children whose starts a test scripts and records. A start with no
/// script left runs until asked to stop.
#[derive(Clone)]
struct Script {
    acts: Arc<Mutex<HashMap<String, VecDeque<Act>>>>,
    starts: Arc<Mutex<Vec<(String, u64)>>>,
    began: Instant,
}

impl Script {
    fn new() -> Self {
        Script {
            acts: Arc::default(),
            starts: Arc::default(),
            began: Instant::now(),
        }
    }

    /// The next starts of `name` do `acts`, in order.
    fn then(&self, name: &str, acts: &[Act]) {
        self.acts
            .lock()
            .unwrap()
            .entry(name.into())
            .or_default()
            .extend(acts);
    }

    fn child(&self, name: &str) -> ChildSpec {
        let script = self.clone();
        let own = name.to_owned();
        ChildSpec::new(name, move |ctx| {
            let act = script
                .acts
                .lock()
                .unwrap()
                .get_mut(&own)
                .and_then(VecDeque::pop_front);
            let at = script.began.elapsed().as_millis() as u64;
            script.starts.lock().unwrap().push((own.clone(), at));
            async move {
                match act {
                    Some(Act::Fail(after)) => {
                        sleep(after).await;
                        Err("boom".into())
                    }
                    Some(Act::Finish(after)) => {
                        sleep(after).await;
                        Ok(())
                    }
                    Some(Act::Panic(after)) => {
                        sleep(after).await;
                        panic!("the child blew up");
                    }
                    Some(Act::Stubborn) => {
                        std::future::pending::<()>().await;
                        Ok(())
                    }
                    None => {
                        ctx.cancelled().await;
                        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
                    }
                }
            }
        })
    }

    /// Starts as (name, milliseconds since the script began).
    fn starts(&self) -> Vec<(String, u64)> {
        self.starts.lock().unwrap().clone()
    }

    fn names_started(&self) -> Vec<String> {
        self.starts().into_iter().map(|(n, _)| n).collect()
    }
}

fn supervisor(
    plan: RestartPlanBuilder,
    children: Vec<ChildSpec>,
    events: &Events,
) -> SupervisorHandle {
    let mut builder = Supervisor::builder("sup")
        .clock(TokioClock::new())
        .restarts(plan)
        .on_event(events.sink())
        .without_logging();
    for child in children {
        builder = builder.child(child);
    }
    builder.build().unwrap().start()
}

/// The supervisor's events as short strings: "b failed", "c stopped",
/// "restart a,b,c", "a started", "gave up".
fn story(events: &Events) -> Vec<String> {
    events
        .all()
        .iter()
        .filter_map(|e| e.downcast_ref::<SuperviseEvent>())
        .map(|e| match &e.change {
            SuperviseChange::Started { .. } => format!("{} started", e.child),
            SuperviseChange::Exited { exit, .. } => {
                let how = match exit {
                    Exit::Normal => "ended",
                    Exit::Failed => "failed",
                    Exit::Stopped => "stopped",
                };
                format!("{} {how}", e.child)
            }
            SuperviseChange::Restarting { children, .. } => {
                format!("restart {}", children.join(","))
            }
            SuperviseChange::GaveUp { .. } => format!("{} gave up", e.child),
            _ => "other".into(),
        })
        .collect()
}

fn abc(script: &Script) -> Vec<ChildSpec> {
    ["a", "b", "c"].iter().map(|n| script.child(n)).collect()
}

fn plan(strategy: Strategy) -> RestartPlanBuilder {
    RestartPlan::builder()
        .strategy(strategy)
        .intensity(10, 60 * SEC)
}

#[tokio::test(start_paused = true)]
async fn one_for_one_restarts_only_the_child_that_failed() {
    let (script, events) = (Script::new(), Events::default());
    script.then("b", &[Act::Fail(SEC)]);
    let sup = supervisor(plan(Strategy::OneForOne), abc(&script), &events);
    sleep(2 * SEC).await;
    assert_eq!(script.names_started(), ["a", "b", "c", "b"]);
    assert_eq!(
        story(&events)[3..],
        ["b failed", "restart b", "b started"],
        "nobody else stopped"
    );
    assert_eq!(sup.child("b").unwrap().restarts, 1);
    sup.shutdown().await.unwrap();
    assert_eq!(
        story(&events)[6..],
        ["c stopped", "b stopped", "a stopped"],
        "shutdown stops in reverse start order"
    );
}

#[tokio::test(start_paused = true)]
async fn one_for_all_stops_the_others_in_reverse_and_starts_all_in_order() {
    let (script, events) = (Script::new(), Events::default());
    script.then("b", &[Act::Fail(SEC)]);
    let sup = supervisor(plan(Strategy::OneForAll), abc(&script), &events);
    sleep(2 * SEC).await;
    assert_eq!(script.names_started(), ["a", "b", "c", "a", "b", "c"]);
    assert_eq!(
        story(&events)[3..],
        [
            "b failed",
            "c stopped",
            "a stopped",
            "restart a,b,c",
            "a started",
            "b started",
            "c started"
        ]
    );
    let _ = sup;
}

#[tokio::test(start_paused = true)]
async fn rest_for_one_restarts_the_failed_child_and_those_started_after_it() {
    let (script, events) = (Script::new(), Events::default());
    script.then("b", &[Act::Fail(SEC)]);
    let sup = supervisor(plan(Strategy::RestForOne), abc(&script), &events);
    sleep(2 * SEC).await;
    assert_eq!(script.names_started(), ["a", "b", "c", "b", "c"]);
    assert_eq!(
        story(&events)[3..],
        [
            "b failed",
            "c stopped",
            "restart b,c",
            "b started",
            "c started"
        ]
    );
    assert_eq!(sup.child("a").unwrap().starts, 1);
}

#[tokio::test(start_paused = true)]
async fn restart_kinds_decide_whether_an_end_restarts() {
    let (script, events) = (Script::new(), Events::default());
    script.then("permanent", &[Act::Finish(SEC)]);
    script.then("transient", &[Act::Finish(SEC)]);
    script.then("transient-failing", &[Act::Fail(SEC)]);
    script.then("temporary", &[Act::Fail(SEC)]);
    let sup = supervisor(
        plan(Strategy::OneForOne),
        vec![
            script.child("permanent"),
            script.child("transient").restart(Restart::Transient),
            script
                .child("transient-failing")
                .restart(Restart::Transient),
            script.child("temporary").restart(Restart::Temporary),
        ],
        &events,
    );
    sleep(2 * SEC).await;
    let starts = |name: &str| sup.child(name).map(|c| c.starts);
    assert_eq!(starts("permanent"), Some(2), "restarted after a normal end");
    assert_eq!(starts("transient"), Some(1), "a normal end is final");
    assert_eq!(sup.child("transient").unwrap().phase, Phase::Stopped);
    assert_eq!(
        starts("transient-failing"),
        Some(2),
        "restarted after a failure"
    );
    assert_eq!(starts("temporary"), None, "never restarted, and forgotten");
}

#[tokio::test(start_paused = true)]
async fn past_its_intensity_a_supervisor_stops_everything_and_names_the_child() {
    let (script, events) = (Script::new(), Events::default());
    script.then("worker", &[Act::Fail(SEC); 10]);
    let sup = supervisor(
        RestartPlan::builder().intensity(2, 10 * SEC),
        vec![script.child("db"), script.child("worker")],
        &events,
    );
    let give_up = sup.wait().await.unwrap_err();
    assert_eq!(&*give_up.child, "worker");
    assert_eq!((give_up.restarts, give_up.max), (3, 2));
    assert_eq!(give_up.period, 10 * SEC);
    // Failures at 1, 2 and 3 s: the third needs a third restart in 10 s.
    assert_eq!(
        script.starts(),
        [
            ("db".into(), 0),
            ("worker".into(), 0),
            ("worker".into(), 1000),
            ("worker".into(), 2000)
        ]
    );
    let story = story(&events);
    assert_eq!(
        story[story.len() - 3..],
        ["worker failed", "db stopped", "worker gave up"]
    );
    assert_eq!(
        give_up.to_string(),
        "gave up: `worker` needed 3 restarts within 10s, more than the 2 allowed"
    );
    assert!(matches!(
        sup.restart_child("db").await,
        Err(SuperviseError::Ended(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn intensity_per_child_counts_each_child_apart() {
    for (per_child, gives_up) in [(false, true), (true, false)] {
        let (script, events) = (Script::new(), Events::default());
        script.then("a", &[Act::Fail(SEC)]);
        script.then("b", &[Act::Fail(2 * SEC)]);
        let mut plan = RestartPlan::builder().intensity(1, 10 * SEC);
        if per_child {
            plan = plan.intensity_per_child();
        }
        let sup = supervisor(plan, vec![script.child("a"), script.child("b")], &events);
        sleep(5 * SEC).await;
        let ended = tokio::time::timeout(Duration::ZERO, sup.wait()).await;
        assert_eq!(ended.is_ok(), gives_up, "per child: {per_child}");
    }
}

#[tokio::test(start_paused = true)]
async fn nested_supervisors_escalate_a_give_up() {
    let (script, events) = (Script::new(), Events::default());
    script.then("leaf", &[Act::Fail(SEC); 20]);
    let inner = Supervisor::builder("inner")
        .clock(TokioClock::new())
        .restarts(RestartPlan::builder().intensity(1, 10 * SEC))
        .child(script.child("leaf"))
        .on_event(events.sink())
        .without_logging()
        .build()
        .unwrap();
    let outer = Supervisor::builder("outer")
        .clock(TokioClock::new())
        .restarts(RestartPlan::builder().intensity(1, 60 * SEC))
        .child(script.child("sibling"))
        .child(inner.into_child())
        .on_event(events.sink())
        .without_logging()
        .build()
        .unwrap()
        .start();
    let give_up = outer.wait().await.unwrap_err();
    assert_eq!(
        &*give_up.child, "inner",
        "the outer names its failing child"
    );
    // The inner gave up twice (each after the leaf's 2nd failure); the
    // outer restarted it once, then gave up too.
    let inner_give_ups = events
        .all()
        .iter()
        .filter_map(|e| e.downcast_ref::<SuperviseEvent>())
        .filter(|e| &*e.supervisor == "inner" && matches!(e.change, SuperviseChange::GaveUp { .. }))
        .count();
    assert_eq!(inner_give_ups, 2);
    let leaf_starts = script
        .names_started()
        .iter()
        .filter(|n| *n == "leaf")
        .count();
    assert_eq!(leaf_starts, 4);
    let sibling_stopped = events.all().iter().any(|e| {
        e.downcast_ref::<SuperviseEvent>().is_some_and(|e| {
            &*e.child == "sibling"
                && matches!(
                    e.change,
                    SuperviseChange::Exited {
                        exit: Exit::Stopped,
                        ..
                    }
                )
        })
    });
    assert!(sibling_stopped, "giving up stops the siblings");
}

#[tokio::test(start_paused = true)]
async fn restarts_back_off_and_the_backoff_starts_over_after_stable_running() {
    let (script, events) = (Script::new(), Events::default());
    // Fails at once four times; then runs 2 minutes and fails; then once more.
    script.then(
        "worker",
        &[
            Act::Fail(Duration::ZERO),
            Act::Fail(Duration::ZERO),
            Act::Fail(Duration::ZERO),
            Act::Fail(Duration::ZERO),
            Act::Fail(120 * SEC),
            Act::Fail(Duration::ZERO),
        ],
    );
    let sup = supervisor(
        RestartPlan::builder().unlimited_restarts().backoff(
            Backoff::exponential(SEC, 2.0),
            Jitter::None,
            60 * SEC,
        ),
        vec![script.child("worker")],
        &events,
    );
    sleep(300 * SEC).await;
    let at: Vec<u64> = script
        .starts()
        .into_iter()
        .map(|(_, ms)| ms / 1000)
        .collect();
    // At once, then 1 s, 2 s, 4 s; it then ran 120 s (> 60 s): the count
    // started over, so at once again, then 1 s.
    assert_eq!(at, [0, 0, 1, 3, 7, 127, 128]);
    let _ = sup;
}

#[tokio::test(start_paused = true)]
async fn the_crash_loop_backoff_preset_has_kubernetes_numbers() {
    let (script, events) = (Script::new(), Events::default());
    script.then("pod", &[Act::Fail(Duration::ZERO); 9]);
    let _sup = supervisor(
        RestartPlan::builder().crash_loop_backoff(),
        vec![script.child("pod")],
        &events,
    );
    sleep(3600 * SEC).await;
    let at: Vec<u64> = script
        .starts()
        .into_iter()
        .map(|(_, ms)| ms / 1000)
        .collect();
    // Restarts at once, then after 10, 20, 40, 80, 160, 300, 300 s.
    assert_eq!(at, [0, 0, 10, 30, 70, 150, 310, 610, 910, 1210]);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_child_is_a_failure_and_the_supervisor_goes_on() {
    let (script, events) = (Script::new(), Events::default());
    script.then("worker", &[Act::Panic(SEC)]);
    let sup = supervisor(
        plan(Strategy::OneForOne),
        vec![script.child("worker")],
        &events,
    );
    sleep(2 * SEC).await;
    let worker = sup.child("worker").unwrap();
    assert_eq!(worker.starts, 2);
    assert_eq!(worker.exits.panic, 1);
    assert_eq!(
        worker.last_exit,
        Some((Exit::Failed, "panicked: the child blew up".into()))
    );
    assert_eq!(worker.phase, Phase::Running);
}

#[tokio::test(start_paused = true)]
async fn a_factory_that_panics_is_a_failed_start() {
    let events = Events::default();
    let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = calls.clone();
    let sup = supervisor(
        plan(Strategy::OneForOne),
        vec![ChildSpec::new("fragile", move |ctx| {
            if counted.fetch_add(1, SeqCst) == 0 {
                panic!("no config");
            }
            async move {
                ctx.cancelled().await;
                Ok::<(), std::io::Error>(())
            }
        })],
        &events,
    );
    sleep(SEC).await;
    assert_eq!(calls.load(SeqCst), 2);
    let fragile = sup.child("fragile").unwrap();
    assert_eq!(fragile.exits.panic, 1);
    assert_eq!(fragile.phase, Phase::Running);
}

#[tokio::test(start_paused = true)]
async fn children_are_added_removed_and_restarted_at_run_time() {
    let (script, events) = (Script::new(), Events::default());
    let sup = supervisor(plan(Strategy::OneForOne), vec![script.child("a")], &events);
    sup.add_child(script.child("b")).await.unwrap();
    assert!(matches!(
        sup.add_child(script.child("b")).await,
        Err(SuperviseError::DuplicateChild { .. })
    ));
    assert_eq!(sup.child("b").unwrap().phase, Phase::Running);

    sup.restart_child("a").await.unwrap();
    sleep(Duration::from_millis(1)).await;
    let a = sup.child("a").unwrap();
    assert_eq!((a.starts, a.restarts), (2, 1));
    assert_eq!(
        a.last_exit,
        Some((Exit::Stopped, "restart requested".into()))
    );

    sup.remove_child("b").await.unwrap();
    assert!(sup.child("b").is_none());
    assert!(matches!(
        sup.remove_child("b").await,
        Err(SuperviseError::UnknownChild { .. })
    ));
    assert!(matches!(
        sup.restart_child("nobody").await,
        Err(SuperviseError::UnknownChild { .. })
    ));
    assert_eq!(script.names_started(), ["a", "b", "a"]);
    assert!(story(&events).contains(&"b stopped".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn a_child_that_ignores_its_token_is_aborted_after_its_grace() {
    let (script, events) = (Script::new(), Events::default());
    script.then("stubborn", &[Act::Stubborn]);
    let sup = supervisor(
        plan(Strategy::OneForOne),
        vec![
            script.child("polite"),
            script.child("stubborn").stop(Stop::Grace(3 * SEC)),
        ],
        &events,
    );
    sleep(SEC).await;
    let began = Instant::now();
    sup.shutdown().await.unwrap();
    assert_eq!(began.elapsed(), 3 * SEC, "waited the grace, then aborted");
    assert_eq!(story(&events)[2..], ["stubborn stopped", "polite stopped"]);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_handle_stops_the_children() {
    let (script, events) = (Script::new(), Events::default());
    let sup = supervisor(plan(Strategy::OneForOne), vec![script.child("a")], &events);
    sleep(SEC).await;
    drop(sup);
    sleep(SEC).await;
    assert_eq!(story(&events), ["a started", "a stopped"]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_liveness_check_restarts_its_child_by_name() {
    let (script, events) = (Script::new(), Events::default());
    // The worker wedges on its first start: its heartbeat stops.
    let wedged = Arc::new(AtomicBool::new(false));
    let sup = supervisor(
        plan(Strategy::OneForOne),
        vec![script.child("worker")],
        &events,
    );
    let (flag, handle) = (wedged.clone(), sup.clone());
    let monitor = Monitor::builder()
        .clock(TokioClock::new())
        .without_logging()
        .probe(
            Probe::liveness("worker", "heartbeat", move || {
                let wedged = flag.load(SeqCst);
                async move {
                    if wedged {
                        CheckResult::fail("no heartbeat for 30 s")
                    } else {
                        CheckResult::pass()
                    }
                }
            })
            .period(SEC)
            .failure_threshold(2)
            .recovery({
                let wedged = wedged.clone();
                move || {
                    let (handle, wedged) = (handle.clone(), wedged.clone());
                    async move {
                        let restarted = handle.restart_child("worker").await;
                        wedged.store(false, SeqCst); // a fresh start beats again
                        restarted
                    }
                }
            }),
        )
        .build()
        .unwrap()
        .start();
    sleep(5 * SEC).await;
    assert_eq!(
        sup.child("worker").unwrap().starts,
        1,
        "healthy: left alone"
    );
    wedged.store(true, SeqCst);
    sleep(5 * SEC).await;
    let worker = sup.child("worker").unwrap();
    assert_eq!(worker.starts, 2, "restarted by the health check");
    assert_eq!(worker.phase, Phase::Running);
    assert!(monitor.livez());
    monitor.stop();
}

#[tokio::test(start_paused = true)]
async fn events_read_as_one_line_each() {
    let (script, events) = (Script::new(), Events::default());
    script.then("worker", &[Act::Fail(SEC), Act::Fail(SEC)]);
    let sup = supervisor(
        RestartPlan::builder().intensity(1, 60 * SEC).backoff(
            Backoff::constant(2 * SEC),
            Jitter::None,
            600 * SEC,
        ),
        vec![script.child("worker")],
        &events,
    );
    let _ = sup.wait().await;
    let lines: Vec<String> = events.all().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "supervisor sup: worker: started",
            "supervisor sup: worker: failed: boom",
            "supervisor sup: worker: restarting worker in 0ns (restart 1 in a row)",
            "supervisor sup: worker: started again (restart 1)",
            "supervisor sup: worker: failed: boom",
            "supervisor sup: worker: gave up: 2 restarts within 60s, more than the 1 allowed; every child stopped",
        ]
    );
    let levels: Vec<String> = events
        .all()
        .iter()
        .map(|e| format!("{:?}", e.level()))
        .collect();
    assert_eq!(levels, ["Info", "Warn", "Warn", "Info", "Warn", "Error"]);
}
