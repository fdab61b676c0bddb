//! The breaker's state machine, free of locks and clocks: every method takes
//! "now" as an argument, so the same logic is driven by the real breaker and
//! checked against a reference model in the tests.

use std::fmt;
use std::time::Duration;

use super::config::{Config, Policy, WindowKind};
use super::window::{CountWindow, TimeWindow, Totals};
use crate::classify::Outcome;
use crate::clock::Tick;
use crate::error::Rejected;

/// Where a breaker is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls go through and are recorded; too many failures open it.
    Closed,
    /// Calls are rejected until the open wait has passed.
    Open,
    /// A few trial calls go through; their results close or reopen it.
    HalfOpen,
    /// Rejects every call until [`reset`](super::CircuitBreaker::reset) or
    /// another manual state.
    ForcedOpen,
    /// Lets every call through and records nothing.
    Disabled,
    /// Lets every call through and records it, but never changes state.
    MetricsOnly,
}

impl State {
    /// The state's name in snake case, as logs and metrics label it.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::Disabled => "disabled",
            State::MetricsOnly => "metrics_only",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state change, to be announced once the lock is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transition {
    pub(crate) from: State,
    pub(crate) to: State,
    pub(crate) rejected: u64,
}

/// What an admitted call holds: the state generation it was admitted in, and
/// whether it took one of half-open's trial slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admission {
    pub(crate) generation: u64,
    pub(crate) trial: bool,
    pub(crate) records: bool,
}

#[derive(Debug, Clone)]
enum Recorder {
    Count(CountWindow),
    Time(TimeWindow),
    Consecutive { failures: u32 },
}

#[derive(Debug, Clone, Copy, Default)]
struct Trials {
    admitted: u32,
    totals: Totals,
}

/// A snapshot of a breaker's counters.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Metrics {
    /// The state when the snapshot was taken.
    pub state: State,
    /// Calls recorded in the current window (the trials, in half-open).
    pub buffered_calls: u32,
    /// Failed calls among them (for a consecutive-failures breaker: the
    /// current run of failures).
    pub failed_calls: u32,
    /// Slow calls among them.
    pub slow_calls: u32,
    /// Failure percentage, once at least `minimum_calls` are buffered
    /// (`half_open_calls`, in half-open).
    pub failure_rate: Option<f64>,
    /// Slow-call percentage, under the same condition.
    pub slow_call_rate: Option<f64>,
    /// Calls rejected since the breaker was built.
    pub not_permitted_calls: u64,
}

/// The state machine of one breaker.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    state: State,
    generation: u64,
    recorder: Recorder,
    trials: Trials,
    /// Open: when the wait ends. HalfOpen: when it gives up on its trials.
    deadline: Tick,
    reopens: u32,
    rejected_in_state: u64,
    not_permitted: u64,
}

fn rate(part: u32, whole: u32) -> f64 {
    f64::from(part) * 100.0 / f64::from(whole)
}

fn reaches(part: u32, whole: u32, threshold: f64) -> bool {
    whole > 0 && rate(part, whole) >= threshold
}

impl Machine {
    pub(crate) fn new(config: &Config) -> Self {
        let recorder = match config.policy {
            Policy::Rate {
                window: WindowKind::Count(n),
                ..
            } => Recorder::Count(CountWindow::new(n)),
            Policy::Rate {
                window: WindowKind::Time(n),
                ..
            } => Recorder::Time(TimeWindow::new(n)),
            Policy::Consecutive { .. } => Recorder::Consecutive { failures: 0 },
        };
        Machine {
            state: State::Closed,
            generation: 0,
            recorder,
            trials: Trials::default(),
            deadline: Tick::ZERO,
            reopens: 0,
            rejected_in_state: 0,
            not_permitted: 0,
        }
    }

    /// The state at `now`, after any transition that time alone causes
    /// (open wait over, half-open limit reached).
    pub(crate) fn poll(&mut self, config: &Config, now: Tick) -> (State, Option<Transition>) {
        let transition = match self.state {
            State::Open if now >= self.deadline => Some(self.enter(config, State::HalfOpen, now)),
            State::HalfOpen if now >= self.deadline => {
                self.reopens = self.reopens.saturating_add(1);
                Some(self.enter(config, State::Open, now))
            }
            _ => None,
        };
        (self.state, transition)
    }

    /// Admits a call or says why not.
    pub(crate) fn acquire(
        &mut self,
        config: &Config,
        now: Tick,
    ) -> (Result<Admission, Rejected>, Option<Transition>) {
        let (state, transition) = self.poll(config, now);
        let admit = |trial, records| Admission {
            generation: self.generation,
            trial,
            records,
        };
        let result = match state {
            State::Closed | State::MetricsOnly => Ok(admit(false, true)),
            State::Disabled => Ok(admit(false, false)),
            State::HalfOpen if self.trials.admitted < config.half_open_calls => {
                self.trials.admitted += 1;
                Ok(admit(true, true))
            }
            State::HalfOpen => Err(Rejected::Open {
                retry_after: Duration::ZERO,
            }),
            State::Open => Err(Rejected::Open {
                retry_after: self.deadline - now,
            }),
            State::ForcedOpen => Err(Rejected::Open {
                retry_after: Duration::MAX,
            }),
        };
        if result.is_err() {
            self.rejected_in_state += 1;
            self.not_permitted += 1;
        }
        (result, transition)
    }

    /// Records the outcome of an admitted call. Calls admitted under an
    /// earlier state (another generation) are not counted: the conditions
    /// they were admitted under are gone.
    pub(crate) fn record(
        &mut self,
        config: &Config,
        now: Tick,
        admission: Admission,
        outcome: Outcome,
        slow: bool,
    ) -> Option<Transition> {
        if !admission.records || admission.generation != self.generation {
            return None;
        }
        if admission.trial {
            return self.record_trial(config, now, outcome, slow);
        }
        let failed = match outcome {
            Outcome::Ignored => return None,
            Outcome::Success => false,
            Outcome::Failure => true,
        };
        let opens = match &mut self.recorder {
            Recorder::Consecutive { failures } => {
                *failures = if failed { *failures + 1 } else { 0 };
                matches!(config.policy, Policy::Consecutive { failures: limit } if *failures >= limit)
            }
            Recorder::Count(w) => {
                w.record(failed, slow);
                rate_trips(config, w.totals(), false)
            }
            Recorder::Time(w) => {
                w.record(now, failed, slow);
                rate_trips(config, w.totals(now), false)
            }
        };
        (opens && self.state == State::Closed).then(|| self.enter(config, State::Open, now))
    }

    fn record_trial(
        &mut self,
        config: &Config,
        now: Tick,
        outcome: Outcome,
        slow: bool,
    ) -> Option<Transition> {
        let failed = match outcome {
            Outcome::Ignored => {
                // Give the slot back so another trial can take it.
                self.trials.admitted -= 1;
                return None;
            }
            Outcome::Success => false,
            Outcome::Failure => true,
        };
        self.trials.totals.add_one(failed, slow);
        let reopen = match config.policy {
            Policy::Consecutive { .. } if failed => true,
            Policy::Consecutive { .. } => {
                if self.trials.totals.calls < config.half_open_calls {
                    return None;
                }
                false
            }
            Policy::Rate { .. } => {
                if self.trials.totals.calls < config.half_open_calls {
                    return None;
                }
                rate_trips(config, self.trials.totals, true)
            }
        };
        if reopen {
            self.reopens = self.reopens.saturating_add(1);
            Some(self.enter(config, State::Open, now))
        } else {
            Some(self.enter(config, State::Closed, now))
        }
    }

    /// Moves to `to` (manual or automatic), resetting what the new state
    /// starts without.
    pub(crate) fn enter(&mut self, config: &Config, to: State, now: Tick) -> Transition {
        let transition = Transition {
            from: self.state,
            to,
            rejected: self.rejected_in_state,
        };
        self.state = to;
        self.generation += 1;
        self.rejected_in_state = 0;
        self.trials = Trials::default();
        match to {
            State::Open => {
                self.deadline = now + config.wait.after(self.reopens);
            }
            State::HalfOpen => {
                self.deadline = match config.max_wait_in_half_open {
                    Some(limit) => now + limit,
                    None => Tick::from_nanos(u64::MAX),
                };
            }
            State::Closed | State::ForcedOpen | State::Disabled | State::MetricsOnly => {
                self.reopens = 0;
                self.clear_window();
            }
        }
        transition
    }

    fn clear_window(&mut self) {
        match &mut self.recorder {
            Recorder::Count(w) => w.clear(),
            Recorder::Time(w) => w.clear(),
            Recorder::Consecutive { failures } => *failures = 0,
        }
    }

    pub(crate) fn metrics(&self, config: &Config, now: Tick) -> Metrics {
        let (totals, minimum) = if self.state == State::HalfOpen {
            (self.trials.totals, config.half_open_calls)
        } else {
            let minimum_calls = match config.policy {
                Policy::Rate { minimum_calls, .. } => minimum_calls,
                Policy::Consecutive { .. } => u32::MAX,
            };
            match &self.recorder {
                Recorder::Count(w) => (w.totals(), minimum_calls),
                Recorder::Time(w) => (w.totals(now), minimum_calls),
                Recorder::Consecutive { failures } => (
                    Totals {
                        calls: *failures,
                        failures: *failures,
                        slow: 0,
                    },
                    minimum_calls,
                ),
            }
        };
        let enough = totals.calls >= minimum && totals.calls > 0;
        Metrics {
            state: self.state,
            buffered_calls: totals.calls,
            failed_calls: totals.failures,
            slow_calls: totals.slow,
            failure_rate: enough.then(|| rate(totals.failures, totals.calls)),
            slow_call_rate: enough.then(|| rate(totals.slow, totals.calls)),
            not_permitted_calls: self.not_permitted,
        }
    }
}

/// Whether `totals` reach a threshold. In half-open the trials are all the
/// data there is, so `minimum_calls` does not apply.
fn rate_trips(config: &Config, totals: Totals, trials: bool) -> bool {
    let Policy::Rate {
        minimum_calls,
        failure_rate_threshold,
        slow_call_rate_threshold,
        ..
    } = config.policy
    else {
        return false;
    };
    if !trials && totals.calls < minimum_calls {
        return false;
    }
    reaches(totals.failures, totals.calls, failure_rate_threshold)
        || reaches(totals.slow, totals.calls, slow_call_rate_threshold)
}
