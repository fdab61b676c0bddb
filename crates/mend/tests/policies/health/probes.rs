//! Kubernetes' probe semantics, under paused tokio time: thresholds, kinds,
//! the initial delay, timeouts, recovery and its backoff, startup gating.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use mend::clock::TokioClock;
use mend::health::{CheckResult, Health, HealthChange, HealthEvent, Monitor, MonitorHandle, Probe};
use mend::retry::{Backoff, Jitter};
use tokio::time::{Instant, advance, sleep};

use crate::support::Events;

const SEC: Duration = Duration::from_secs(1);

/// A check whose result a test switches, counting its runs.
#[derive(Clone, Default)]
struct Switch {
    failing: Arc<AtomicBool>,
    runs: Arc<AtomicUsize>,
}

impl Switch {
    fn check(&self) -> impl Fn() -> std::future::Ready<CheckResult> + Send + Sync + 'static {
        let (failing, runs) = (self.failing.clone(), self.runs.clone());
        move || {
            runs.fetch_add(1, SeqCst);
            std::future::ready(if failing.load(SeqCst) {
                CheckResult::fail("down")
            } else {
                CheckResult::pass()
            })
        }
    }

    fn fail(&self, yes: bool) {
        self.failing.store(yes, SeqCst);
    }

    fn runs(&self) -> usize {
        self.runs.load(SeqCst)
    }
}

/// Health changes seen, as (key, from, to).
fn changes(events: &Events) -> Vec<(String, Health, Health)> {
    events
        .all()
        .iter()
        .filter_map(|e| e.downcast_ref::<HealthEvent>())
        .filter_map(|e| match &e.change {
            HealthChange::Health { from, to, .. } => {
                Some((format!("{}:{}", e.component, e.measurement), *from, *to))
            }
            _ => None,
        })
        .collect()
}

fn start(probes: Vec<Probe>, events: &Events) -> MonitorHandle<TokioClock> {
    let mut builder = Monitor::builder()
        .clock(TokioClock::new())
        .on_event(events.sink())
        .without_logging();
    for probe in probes {
        builder = builder.probe(probe);
    }
    builder.build().unwrap().start()
}

/// Lets the probes' tasks run everything due at the current paused time.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn liveness_turns_unhealthy_after_its_failure_threshold_and_back() {
    let (switch, events) = (Switch::default(), Events::default());
    let monitor = start(
        vec![
            Probe::liveness("db", "ping", switch.check())
                .period(SEC)
                .failure_threshold(3),
        ],
        &events,
    );
    settle().await;
    assert_eq!(switch.runs(), 1, "the first run at once (no initial delay)");
    assert_eq!(monitor.health("db:ping"), Some(Health::Healthy));
    switch.fail(true);
    for _ in 0..2 {
        advance(SEC).await;
        settle().await;
    }
    assert_eq!(
        monitor.health("db:ping"),
        Some(Health::Healthy),
        "2 failures of 3"
    );
    assert!(monitor.livez());
    advance(SEC).await;
    settle().await;
    assert_eq!(monitor.health("db:ping"), Some(Health::Unhealthy));
    assert!(!monitor.livez());
    switch.fail(false);
    advance(SEC).await;
    settle().await;
    assert_eq!(monitor.health("db:ping"), Some(Health::Healthy));
    assert_eq!(
        changes(&events),
        [
            ("db:ping".into(), Health::Healthy, Health::Unhealthy),
            ("db:ping".into(), Health::Unhealthy, Health::Healthy),
        ],
        "one event per change, not per failure"
    );
}

#[tokio::test(start_paused = true)]
async fn readiness_needs_its_success_threshold_and_starts_not_ready() {
    let (switch, events) = (Switch::default(), Events::default());
    let monitor = start(
        vec![
            Probe::readiness("api", "deps", switch.check())
                .period(SEC)
                .initial_delay(5 * SEC)
                .success_threshold(2)
                .failure_threshold(1),
        ],
        &events,
    );
    settle().await;
    assert_eq!(switch.runs(), 0, "waits its initial delay");
    assert!(!monitor.readyz(), "not ready until shown ready");
    advance(5 * SEC).await;
    settle().await;
    assert_eq!(switch.runs(), 1);
    assert!(!monitor.readyz(), "one pass of two");
    advance(SEC).await;
    settle().await;
    assert!(monitor.readyz());
    assert!(monitor.livez(), "readiness never makes it not alive");
}

#[tokio::test(start_paused = true)]
async fn a_check_that_overruns_its_timeout_is_cancelled_and_fails() {
    let events = Events::default();
    let dropped = Arc::new(AtomicUsize::new(0));
    struct CountDrop(Arc<AtomicUsize>);
    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let hang = {
        let dropped = dropped.clone();
        move || {
            let guard = CountDrop(dropped.clone());
            async move {
                let _guard = guard;
                std::future::pending::<CheckResult>().await
            }
        }
    };
    let monitor = start(
        vec![
            Probe::liveness("disk", "write", hang)
                .period(SEC)
                .timeout(Duration::from_millis(300))
                .failure_threshold(1),
        ],
        &events,
    );
    settle().await;
    advance(Duration::from_millis(299)).await;
    settle().await;
    assert_eq!(monitor.health("disk:write"), Some(Health::Healthy));
    advance(Duration::from_millis(1)).await;
    settle().await;
    assert_eq!(dropped.load(SeqCst), 1, "the hung run was dropped");
    assert_eq!(monitor.health("disk:write"), Some(Health::Unhealthy));
    let report = monitor.report();
    let entry = &report.checks["disk:write"][0];
    assert_eq!(
        entry.output.as_deref(),
        Some("unhealthy: timed out after 300ms")
    );
}

#[tokio::test(start_paused = true)]
async fn recovery_runs_once_per_turn_to_unhealthy_and_backs_off() {
    let (switch, events) = (Switch::default(), Events::default());
    switch.fail(true);
    let recoveries = Arc::new(std::sync::Mutex::new(Vec::new()));
    let running = Arc::new(AtomicBool::new(false));
    let start_time = Instant::now();
    let seen = recoveries.clone();
    let monitor = start(
        vec![
            Probe::liveness("worker", "heartbeat", switch.check())
                .period(SEC)
                .failure_threshold(2)
                .recovery(move || {
                    seen.lock().unwrap().push(start_time.elapsed());
                    let running = running.clone();
                    async move {
                        assert!(!running.swap(true, SeqCst), "two recoveries at once");
                        sleep(Duration::from_millis(500)).await; // it takes a while
                        running.store(false, SeqCst);
                    }
                })
                .recovery_backoff(Backoff::exponential(10 * SEC, 2.0), Jitter::None, 600 * SEC),
        ],
        &events,
    );
    // Unhealthy at 1 s (runs at 0 and 1 s): recovery 1 at once, done at
    // 1.5 s; the probe starts over at 1.5 s and is unhealthy again at
    // 2.5 s; recovery 2 waits 10 s (12.5 s); then 20 s.
    // Sleeping lets paused time move from timer to timer, exactly.
    sleep(60 * SEC).await;
    let at: Vec<u64> = recoveries
        .lock()
        .unwrap()
        .iter()
        .map(|d| d.as_millis() as u64)
        .collect();
    assert_eq!(at, [1_000, 12_500, 34_000], "backed off: 0, 10 s, 20 s");
    let started: Vec<u32> = events
        .all()
        .iter()
        .filter_map(|e| match e.downcast_ref::<HealthEvent>()?.change {
            HealthChange::RecoveryStarted { attempt, .. } => Some(attempt),
            _ => None,
        })
        .collect();
    assert_eq!(started, [1, 2, 3]);
    switch.fail(false);
    let _ = monitor;
}

#[tokio::test(start_paused = true)]
async fn the_recovery_backoff_starts_over_after_a_calm_stretch() {
    let (switch, events) = (Switch::default(), Events::default());
    switch.fail(true);
    let recoveries = Arc::new(std::sync::Mutex::new(Vec::new()));
    let start_time = Instant::now();
    let seen = recoveries.clone();
    let healed = switch.clone();
    let _monitor = start(
        vec![
            Probe::liveness("worker", "heartbeat", switch.check())
                .period(SEC)
                .failure_threshold(1)
                .recovery(move || {
                    seen.lock().unwrap().push(start_time.elapsed().as_secs());
                    // The second recovery heals it.
                    if seen.lock().unwrap().len() == 2 {
                        healed.fail(false);
                    }
                    async {}
                })
                .recovery_backoff(Backoff::exponential(10 * SEC, 2.0), Jitter::None, 60 * SEC),
        ],
        &events,
    );
    // Recovery 1 at 0 s, recovery 2 after 10 s; healthy from then on.
    sleep(100 * SEC).await;
    // 90 s of calm since the last recovery, more than the 60 s reset.
    switch.fail(true);
    sleep(5 * SEC).await;
    let at = recoveries.lock().unwrap().clone();
    assert_eq!(at[..2], [0, 10]);
    assert_eq!(
        at[2], 100,
        "after the calm stretch the recovery runs at once: {at:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn startup_holds_the_other_probes_until_it_passes() {
    let (boot, live, ready) = (Switch::default(), Switch::default(), Switch::default());
    let events = Events::default();
    boot.fail(true);
    let monitor = start(
        vec![
            Probe::startup("app", "booted", boot.check())
                .period(SEC)
                .failure_threshold(30),
            Probe::liveness("app", "alive", live.check()).period(SEC),
            Probe::readiness("app", "ready", ready.check()).period(SEC),
            Probe::readiness("other", "ready", Switch::default().check()).period(SEC),
        ],
        &events,
    );
    for _ in 0..5 {
        advance(SEC).await;
        settle().await;
    }
    assert_eq!((live.runs(), ready.runs()), (0, 0), "held while starting");
    assert!(!monitor.readyz());
    let report = monitor.report();
    assert_eq!(
        report.checks["app:booted"][0].status,
        mend::health::Status::Warn
    );
    boot.fail(false);
    advance(SEC).await;
    settle().await;
    assert_eq!(monitor.health("app:booted"), Some(Health::Healthy));
    settle().await;
    assert!(
        live.runs() >= 1 && ready.runs() >= 1,
        "released once started"
    );
    let runs = boot.runs();
    advance(5 * SEC).await;
    settle().await;
    assert_eq!(boot.runs(), runs, "a startup probe that passed is done");
    assert!(monitor.readyz());
}

#[tokio::test(start_paused = true)]
async fn a_startup_out_of_budget_is_a_failed_start_and_recovers() {
    let (boot, events) = (Switch::default(), Events::default());
    boot.fail(true);
    let restarts = Arc::new(AtomicUsize::new(0));
    let counted = restarts.clone();
    let monitor = start(
        vec![
            Probe::startup("app", "booted", boot.check())
                .period(SEC)
                .failure_threshold(3)
                .recovery(move || {
                    counted.fetch_add(1, SeqCst);
                    async {}
                }),
        ],
        &events,
    );
    settle().await;
    for _ in 0..2 {
        advance(SEC).await;
        settle().await;
    }
    assert_eq!(restarts.load(SeqCst), 1, "3 failed runs: out of budget");
    let _ = monitor;
    assert_eq!(
        changes(&events)[..2],
        [
            ("app:booted".into(), Health::Starting, Health::Unhealthy),
            ("app:booted".into(), Health::Unhealthy, Health::Starting),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_probe_without_recovery_keeps_its_schedule_when_it_turns_unhealthy() {
    let (switch, events) = (Switch::default(), Events::default());
    switch.fail(true);
    let _monitor = start(
        vec![
            Probe::liveness("db", "ping", switch.check())
                .period(SEC)
                .initial_delay(5 * SEC)
                .failure_threshold(1),
        ],
        &events,
    );
    // First run at 5 s (unhealthy at once); then every second, not after
    // another initial delay.
    sleep(Duration::from_millis(7_500)).await;
    assert_eq!(switch.runs(), 3, "runs at 5, 6 and 7 s");
}

#[tokio::test(start_paused = true)]
async fn healthy_again_the_probe_goes_on_checking() {
    let (switch, events) = (Switch::default(), Events::default());
    let monitor = start(
        vec![
            Probe::readiness("api", "deps", switch.check())
                .period(SEC)
                .failure_threshold(1),
        ],
        &events,
    );
    sleep(Duration::from_millis(1_500)).await;
    assert_eq!(monitor.health("api:deps"), Some(Health::Healthy));
    switch.fail(true);
    sleep(2 * SEC).await;
    assert_eq!(
        monitor.health("api:deps"),
        Some(Health::Unhealthy),
        "a readiness probe that turned ready still runs"
    );
}

#[tokio::test(start_paused = true)]
async fn an_overrun_starts_the_next_run_at_once_without_a_burst_of_catch_ups() {
    let events = Events::default();
    let runs = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = runs.clone();
    let began = Instant::now();
    let _monitor = start(
        vec![
            Probe::liveness("disk", "write", move || {
                let at = began.elapsed();
                seen.lock().unwrap().push(at.as_millis() as u64);
                async move {
                    // The first run takes 3.5 periods.
                    if at.is_zero() {
                        sleep(Duration::from_millis(3_500)).await;
                    }
                    CheckResult::pass()
                }
            })
            .period(SEC)
            .timeout(10 * SEC),
        ],
        &events,
    );
    sleep(Duration::from_millis(5_600)).await;
    assert_eq!(*runs.lock().unwrap(), [0, 3_500, 4_500, 5_500]);
}

#[tokio::test(start_paused = true)]
async fn every_startup_probe_of_a_component_must_pass_before_the_others_run() {
    let (disk, net, live) = (Switch::default(), Switch::default(), Switch::default());
    let events = Events::default();
    disk.fail(true);
    net.fail(true);
    let _monitor = start(
        vec![
            Probe::startup("app", "disk", disk.check())
                .period(SEC)
                .failure_threshold(100),
            Probe::startup("app", "net", net.check())
                .period(SEC)
                .failure_threshold(100),
            Probe::liveness("app", "alive", live.check()).period(SEC),
        ],
        &events,
    );
    disk.fail(false);
    sleep(Duration::from_millis(3_500)).await;
    assert_eq!(
        live.runs(),
        0,
        "one startup probe of two passed: still held"
    );
    net.fail(false);
    sleep(2 * SEC).await;
    assert!(live.runs() >= 1, "both passed: released");
}

#[test]
fn bad_probe_settings_name_the_field() {
    let check = || std::future::ready(CheckResult::pass());
    let err = Monitor::builder()
        .probe(Probe::liveness("db", "ping", check).success_threshold(2))
        .build()
        .unwrap_err();
    assert_eq!(err.field, "success_threshold");
    assert_eq!(err.component, "liveness probe `db:ping`");
    let err = Monitor::builder()
        .probe(Probe::readiness("db", "ping", check))
        .probe(Probe::liveness("db", "ping", check))
        .build()
        .unwrap_err();
    assert_eq!(err.field, "probe");
    let err = Monitor::builder()
        .probe(Probe::readiness("db", "ping", check).period(Duration::ZERO))
        .build()
        .unwrap_err();
    assert_eq!(err.field, "period");
}
