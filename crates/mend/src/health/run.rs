//! One probe's task: wait for its component to have started, wait its
//! initial delay, then run its check every period under its timeout, judge
//! each result, and when it turns unhealthy run its recovery (backed off,
//! never two at once: the task itself runs it) and start over.
//!
//! A check or recovery that panics is a failure, caught here: the probe
//! goes on.
//!
//! Waits are tokio's timer, so paused-time tests drive them; times read
//! for reports and durations come from the monitor's clock.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use tokio::time::{Instant, sleep, sleep_until, timeout};

use super::event::{HealthChange, HealthEvent};
use super::judge::Health;
use super::monitor::{ProbeState, Shared};
use super::{CheckResult, Kind, Status};
use crate::clock::Clock;
use crate::panics::caught;

/// Runs probe `index` of `shared` until aborted.
pub(super) async fn probe<C: Clock>(shared: Arc<Shared<C>>, index: usize) {
    let state = &shared.probes[index];
    let probe = &state.probe;
    loop {
        if probe.kind != Kind::Startup {
            wait_until_started(&shared, state).await;
        }
        sleep(probe.initial_delay).await;
        let mut next = Instant::now();
        // Runs until the probe turns unhealthy with a recovery to run, or a
        // startup probe is done.
        let recover = loop {
            let result = run_once(&shared, state).await;
            match judge(&shared, state, result) {
                Some(Health::Unhealthy) if probe.recovery_action().is_some() => break true,
                Some(Health::Healthy) if probe.kind == Kind::Startup => break false,
                _ => {}
            }
            next += probe.period;
            let now = Instant::now();
            if next < now {
                next = now; // an overrun: the next run starts at once
            }
            sleep_until(next).await;
        };
        if recover {
            run_recovery(&shared, state).await;
        } else {
            // A startup probe that passed has nothing more to judge.
            std::future::pending::<()>().await;
        }
    }
}

/// Holds a liveness or readiness probe until its component has started.
async fn wait_until_started<C>(shared: &Shared<C>, state: &ProbeState) {
    if let Some(started) = shared.started.get(&state.probe.component) {
        let mut started = started.subscribe();
        let _ = started.wait_for(|&yes| yes).await;
    }
}

/// One run of the check, cut at the timeout (a cut check's future is
/// dropped, which cancels it). tokio's `Timeout` polls the check first, so
/// a check that finishes on its first poll never registers the timer.
async fn run_once<C: Clock>(shared: &Shared<C>, state: &ProbeState) -> CheckResult {
    let probe = &state.probe;
    #[cfg(feature = "metrics")]
    let began = shared.clock.precise();
    #[cfg(not(feature = "metrics"))]
    let _ = shared;
    let run = caught(async { probe.check.check().await });
    let result = match timeout(probe.timeout, run).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => CheckResult::fail(format!("the check panicked: {panic}")),
        Err(_) => CheckResult::fail(format!("timed out after {:?}", probe.timeout)),
    };
    #[cfg(feature = "metrics")]
    state
        .durations
        .record((shared.clock.precise() - began).as_secs_f64());
    result
}

/// Counts and judges `result`; announces and acts on a change of health.
/// Returns the new health if it changed.
fn judge<C: Clock>(shared: &Shared<C>, state: &ProbeState, result: CheckResult) -> Option<Health> {
    let probe = &state.probe;
    let index = match result.status {
        Status::Pass => 0,
        Status::Warn => 1,
        Status::Fail => 2,
    };
    state.results[index].fetch_add(1, Relaxed);
    let now = shared.clock.wall();
    let output = result.output.clone();
    let change = {
        let mut s = state.lock();
        let change = s.judge.judge(result.status.passes());
        s.last = Some((result, now));
        change
    };
    let (from, to) = change?;
    if probe.kind == Kind::Startup {
        let started = to == Health::Healthy;
        if let Some(gate) = shared.started.get(&probe.component) {
            gate.send_if_modified(|yes| {
                let was = *yes;
                *yes = started && all_started(shared, probe.component.as_ref());
                was != *yes
            });
        }
    }
    announce(shared, state, HealthChange::Health { from, to, output });
    Some(to)
}

/// Whether every startup probe of `component` has passed.
fn all_started<C>(shared: &Shared<C>, component: &str) -> bool {
    shared
        .probes
        .iter()
        .filter(|p| p.probe.kind == Kind::Startup && p.probe.component.as_ref() == component)
        .all(|p| p.lock().judge.health() == Health::Healthy)
}

/// Waits the recovery's backoff, runs it, and resets the probe.
async fn run_recovery<C: Clock>(shared: &Shared<C>, state: &ProbeState) {
    let Some(recovery) = state.probe.recovery_action().cloned() else {
        return;
    };
    let (wait, attempt) = {
        let mut s = state.lock();
        let Some(delays) = &mut s.delays else {
            return; // built with the action: never here
        };
        (delays.next(shared.clock.coarse()), delays.count())
    };
    sleep(wait).await;
    state.recovering.store(true, Relaxed);
    state.recoveries.fetch_add(1, Relaxed);
    announce(
        shared,
        state,
        HealthChange::RecoveryStarted {
            attempt,
            waited: wait,
        },
    );
    let error = match caught(async { recovery().await }).await {
        Ok(error) => error,
        Err(panic) => Some(format!("the recovery panicked: {panic}")),
    };
    state.recovering.store(false, Relaxed);
    announce(
        shared,
        state,
        HealthChange::RecoveryFinished { attempt, error },
    );
    let reset = {
        let mut s = state.lock();
        s.last = None; // the result that led here says nothing now
        if let Some(delays) = &mut s.delays {
            // The calm stretch that starts the backoff over begins now,
            // when the recovered part is back, not when it broke.
            delays.touch(shared.clock.coarse());
        }
        s.judge.reset()
    };
    // (A startup probe starts over only after it ran out of budget, before
    // it ever passed: its component's gate is still closed.)
    if let Some((from, to)) = reset {
        announce(
            shared,
            state,
            HealthChange::Health {
                from,
                to,
                output: Some("starting over after recovery".into()),
            },
        );
    }
}

fn announce<C: Clock>(shared: &Shared<C>, state: &ProbeState, change: HealthChange) {
    shared.subscribers.emit(|| HealthEvent {
        component: state.probe.component.clone(),
        measurement: state.probe.measurement.clone(),
        kind: state.probe.kind,
        at: shared.clock.wall(),
        change,
    });
}
