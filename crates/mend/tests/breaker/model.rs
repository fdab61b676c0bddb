//! A naive reference model of the breaker's state machine.
//!
//! Written from the module docs, not from the implementation: it keeps every
//! recorded call in a `Vec` and recomputes the window by scanning it, and it
//! compares rates with exact integer arithmetic (thresholds are given in
//! half-percent steps). Time is the model's own `now`, in nanoseconds on the
//! same time line as a fresh `ManualClock`.

use std::time::Duration;

use mend::breaker::State;
use mend::classify::Outcome;

pub(crate) const NANOS_PER_SEC: u64 = 1_000_000_000;
/// Where a new `ManualClock` starts (one hour in).
pub(crate) const START_NANOS: u64 = 3_600 * NANOS_PER_SEC;
/// The wall time of a new `ManualClock`: 2026-01-01T00:00:00Z.
pub(crate) const WALL_START_NANOS: u64 = 1_767_225_600 * NANOS_PER_SEC;

/// What the breaker opens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Rates over the last N recorded calls.
    Count(u32),
    /// Rates over the calls of the last N seconds.
    Time(u32),
    /// N failures in a row.
    Consecutive(u32),
}

/// How long the breaker stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    Fixed(Duration),
    /// `min(base * multiplier^reopens, max)`.
    Growing {
        base: Duration,
        multiplier: u32,
        max: Duration,
    },
}

/// A valid breaker configuration, in the model's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub(crate) policy: Policy,
    pub(crate) minimum_calls: u32,
    /// Failure-rate threshold in half percents (100 = 50 %).
    pub(crate) failure_threshold: u32,
    /// Slow-call-rate threshold in half percents (200 = 100 %).
    pub(crate) slow_threshold: u32,
    pub(crate) slow_call_duration: Option<Duration>,
    pub(crate) wait: Wait,
    pub(crate) half_open_calls: u32,
    pub(crate) max_wait_in_half_open: Option<Duration>,
}

impl Spec {
    fn open_wait(&self, reopens: u32) -> u64 {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        match self.wait {
            Wait::Fixed(wait) => nanos(wait),
            Wait::Growing {
                base,
                multiplier,
                max,
            } => {
                let mut wait = u128::from(nanos(base));
                for _ in 0..reopens {
                    wait = wait.saturating_mul(u128::from(multiplier));
                    if wait >= u128::from(nanos(max)) {
                        break;
                    }
                }
                u64::try_from(wait.min(u128::from(nanos(max)))).unwrap_or(u64::MAX)
            }
        }
    }

    /// Whether `failed` or `slow` out of `calls` reach a threshold.
    fn trips(&self, calls: u32, failed: u32, slow: u32) -> bool {
        let reaches = |part: u32, threshold: u32| {
            calls > 0 && u64::from(part) * 200 >= u64::from(threshold) * u64::from(calls)
        };
        reaches(failed, self.failure_threshold) || reaches(slow, self.slow_threshold)
    }
}

/// What an admitted call holds in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    pub(crate) generation: u64,
    pub(crate) trial: bool,
    pub(crate) records: bool,
    pub(crate) started: u64,
}

/// A state change the model expects the breaker to announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ModelEvent {
    pub(crate) from: State,
    pub(crate) to: State,
    pub(crate) rejected: u64,
    /// Wall time, Unix nanoseconds.
    pub(crate) at: u64,
}

/// The counters the model expects `metrics()` to report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ModelMetrics {
    pub(crate) state: State,
    pub(crate) buffered: u32,
    pub(crate) failed: u32,
    pub(crate) slow: u32,
    pub(crate) failure_rate: Option<f64>,
    pub(crate) slow_call_rate: Option<f64>,
    pub(crate) not_permitted: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    second: u64,
    failed: bool,
    slow: bool,
}

/// The reference model.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    spec: Spec,
    now: u64,
    state: State,
    generation: u64,
    /// Every call recorded since the window was last cleared, oldest first.
    entries: Vec<Entry>,
    /// Consecutive-failures policy: the current run of failures.
    run: u32,
    trials_admitted: u32,
    /// (failed, slow) of the trials recorded in this half-open episode.
    trials: Vec<(bool, bool)>,
    open_until: u64,
    half_open_until: Option<u64>,
    reopens: u32,
    rejected_in_state: u64,
    not_permitted: u64,
    events: Vec<ModelEvent>,
}

impl Model {
    pub(crate) fn new(spec: Spec) -> Self {
        Model {
            spec,
            now: START_NANOS,
            state: State::Closed,
            generation: 0,
            entries: Vec::new(),
            run: 0,
            trials_admitted: 0,
            trials: Vec::new(),
            open_until: 0,
            half_open_until: None,
            reopens: 0,
            rejected_in_state: 0,
            not_permitted: 0,
            events: Vec::new(),
        }
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.now = self.now.saturating_add(by);
    }

    /// The events announced since the last call.
    pub(crate) fn take_events(&mut self) -> Vec<ModelEvent> {
        std::mem::take(&mut self.events)
    }

    /// (calls, failed, slow) in the current window.
    fn window(&self) -> (u32, u32, u32) {
        let count = |entries: &mut dyn Iterator<Item = &Entry>| {
            entries.fold((0, 0, 0), |(c, f, s), e| {
                (c + 1, f + u32::from(e.failed), s + u32::from(e.slow))
            })
        };
        let now_sec = self.now / NANOS_PER_SEC;
        match self.spec.policy {
            Policy::Count(n) => count(&mut self.entries.iter().rev().take(n as usize)),
            Policy::Time(n) => count(
                &mut self
                    .entries
                    .iter()
                    .filter(|e| now_sec - e.second < u64::from(n)),
            ),
            Policy::Consecutive(_) => (self.run, self.run, 0),
        }
    }

    fn go(&mut self, to: State) {
        self.events.push(ModelEvent {
            from: self.state,
            to,
            rejected: self.rejected_in_state,
            at: WALL_START_NANOS + (self.now - START_NANOS),
        });
        self.state = to;
        self.generation += 1;
        self.rejected_in_state = 0;
        self.trials_admitted = 0;
        self.trials.clear();
        match to {
            State::Open => {
                self.open_until = self.now.saturating_add(self.spec.open_wait(self.reopens));
            }
            State::HalfOpen => {
                self.half_open_until = self
                    .spec
                    .max_wait_in_half_open
                    .map(|limit| self.now.saturating_add(limit.as_nanos() as u64));
            }
            _ => {
                self.reopens = 0;
                self.entries.clear();
                self.run = 0;
            }
        }
    }

    fn reopen(&mut self) {
        self.reopens += 1;
        self.go(State::Open);
    }

    /// Transitions that time alone causes.
    fn poll(&mut self) {
        match self.state {
            State::Open if self.now >= self.open_until => self.go(State::HalfOpen),
            State::HalfOpen if self.half_open_until.is_some_and(|t| self.now >= t) => {
                self.reopen();
            }
            _ => {}
        }
    }

    /// The state a call would find, without moving: reads never
    /// transition (the transition happens at the next call).
    fn effective(&self) -> State {
        match self.state {
            State::Open if self.now >= self.open_until => State::HalfOpen,
            State::HalfOpen if self.half_open_until.is_some_and(|t| self.now >= t) => State::Open,
            settled => settled,
        }
    }

    pub(crate) fn state(&mut self) -> State {
        self.effective()
    }

    /// `Ok` with what the permit holds, or `Err(retry_after)`.
    pub(crate) fn acquire(&mut self) -> Result<Ticket, Duration> {
        self.poll();
        let ticket = |trial, records| Ticket {
            generation: self.generation,
            trial,
            records,
            started: self.now,
        };
        let result = match self.state {
            State::Closed | State::MetricsOnly => Ok(ticket(false, true)),
            State::Disabled => Ok(ticket(false, false)),
            State::HalfOpen if self.trials_admitted < self.spec.half_open_calls => {
                Ok(ticket(true, true))
            }
            State::HalfOpen => Err(Duration::ZERO),
            State::Open => Err(Duration::from_nanos(self.open_until - self.now)),
            // Forced open has no wait; the model says so with MAX.
            State::ForcedOpen => Err(Duration::MAX),
        };
        match result {
            Ok(t) if t.trial => self.trials_admitted += 1,
            Ok(_) => {}
            Err(_) => {
                self.rejected_in_state += 1;
                self.not_permitted += 1;
            }
        }
        result
    }

    pub(crate) fn record(&mut self, ticket: Ticket, outcome: Outcome) {
        if ticket.generation != self.generation || !ticket.records {
            return;
        }
        let slow = self
            .spec
            .slow_call_duration
            .is_some_and(|limit| u128::from(self.now - ticket.started) > limit.as_nanos());
        let failed = match outcome {
            Outcome::Ignored => {
                if ticket.trial {
                    self.trials_admitted -= 1;
                }
                return;
            }
            Outcome::Success => false,
            Outcome::Failure => true,
        };
        if ticket.trial {
            self.record_trial(failed, slow);
            return;
        }
        match self.spec.policy {
            Policy::Consecutive(limit) => {
                self.run = if failed { self.run + 1 } else { 0 };
                if self.state == State::Closed && self.run >= limit {
                    self.go(State::Open);
                }
            }
            Policy::Count(_) | Policy::Time(_) => {
                self.entries.push(Entry {
                    second: self.now / NANOS_PER_SEC,
                    failed,
                    slow,
                });
                let (calls, f, s) = self.window();
                if self.state == State::Closed
                    && calls >= self.spec.minimum_calls
                    && self.spec.trips(calls, f, s)
                {
                    self.go(State::Open);
                }
            }
        }
    }

    fn record_trial(&mut self, failed: bool, slow: bool) {
        self.trials.push((failed, slow));
        let consecutive = matches!(self.spec.policy, Policy::Consecutive(_));
        if consecutive && failed {
            self.reopen();
            return;
        }
        if self.trials.len() < self.spec.half_open_calls as usize {
            return;
        }
        let calls = self.trials.len() as u32;
        let f = self.trials.iter().filter(|t| t.0).count() as u32;
        let s = self.trials.iter().filter(|t| t.1).count() as u32;
        if !consecutive && self.spec.trips(calls, f, s) {
            self.reopen();
        } else {
            self.go(State::Closed);
        }
    }

    /// A manual change of state (`force_open`, `disable`, `metrics_only`,
    /// `reset`); time-driven transitions are not applied first.
    pub(crate) fn force(&mut self, to: State) {
        self.go(to);
    }

    pub(crate) fn metrics(&mut self) -> ModelMetrics {
        let state = self.effective();
        let (calls, failed, slow, minimum) =
            if state == State::HalfOpen && self.state == State::Open {
                // A fresh half-open: no trials yet.
                (0, 0, 0, Some(self.spec.half_open_calls))
            } else if state == State::HalfOpen {
                let f = self.trials.iter().filter(|t| t.0).count() as u32;
                let s = self.trials.iter().filter(|t| t.1).count() as u32;
                (
                    self.trials.len() as u32,
                    f,
                    s,
                    Some(self.spec.half_open_calls),
                )
            } else {
                let (c, f, s) = self.window();
                let minimum = match self.spec.policy {
                    Policy::Consecutive(_) => None,
                    _ => Some(self.spec.minimum_calls),
                };
                (c, f, s, minimum)
            };
        let rate = |part: u32| {
            minimum
                .filter(|&m| calls > 0 && calls >= m)
                .map(|_| f64::from(part) * 100.0 / f64::from(calls))
        };
        ModelMetrics {
            state,
            buffered: calls,
            failed,
            slow,
            failure_rate: rate(failed),
            slow_call_rate: rate(slow),
            not_permitted: self.not_permitted,
        }
    }
}
