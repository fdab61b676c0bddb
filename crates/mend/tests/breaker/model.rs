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
use mend::retry::SplitMix64;

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
    /// Where half-open goes at its limit: Open or Closed.
    pub(crate) after_half_open_limit: State,
    /// Closed, MetricsOnly, Disabled or ForcedOpen.
    pub(crate) initial_state: State,
    /// Open-wait spread in thousandths (0: none).
    pub(crate) jitter_permille: u32,
    pub(crate) seed: u64,
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

    /// The longest wait: the fixed wait, or a growing wait's cap.
    fn max_wait(&self) -> u64 {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        match self.wait {
            Wait::Fixed(wait) => nanos(wait),
            Wait::Growing { max, .. } => nanos(max),
        }
    }

    /// The wait after `reopens`, spread as the docs say: uniform from
    /// `wait * (1 - f)` to `wait * (1 + f)` (a draw from `rng`), never past
    /// the maximum.
    fn drawn_wait(&self, reopens: u32, rng: &mut SplitMix64) -> u64 {
        let wait = self.open_wait(reopens);
        if self.jitter_permille == 0 {
            return wait;
        }
        let factor = f64::from(self.jitter_permille) / 1000.0;
        let spread = (wait as f64 * factor) as u64;
        let drawn = wait - spread + rng.between(0, spread.saturating_mul(2));
        drawn.min(self.max_wait())
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
    /// Announced by `reset()`.
    pub(crate) reset: bool,
}

/// A manual transition to an automatic state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// For the wait it would take by itself.
    Open,
    /// For this long.
    OpenFor(Duration),
    HalfOpen,
    Closed,
}

/// The counters the model expects `metrics()` to report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ModelMetrics {
    pub(crate) state: State,
    pub(crate) buffered: u32,
    pub(crate) failed: u32,
    pub(crate) slow: u32,
    pub(crate) slow_failed: u32,
    pub(crate) failure_rate: Option<f64>,
    pub(crate) slow_call_rate: Option<f64>,
    pub(crate) not_permitted: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Open after half-open: the trials that reopened it.
    reopened_by: Option<Vec<(bool, bool)>>,
    rng: SplitMix64,
}

impl Model {
    pub(crate) fn new(spec: Spec) -> Self {
        Model {
            rng: SplitMix64::new(spec.seed),
            state: spec.initial_state,
            spec,
            now: START_NANOS,
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
            reopened_by: None,
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

    /// (calls, failed, slow, slow and failed) in the current window.
    fn window(&self) -> (u32, u32, u32, u32) {
        let count = |entries: &mut dyn Iterator<Item = &Entry>| {
            entries.fold((0, 0, 0, 0), |(c, f, s, sf), e| {
                (
                    c + 1,
                    f + u32::from(e.failed),
                    s + u32::from(e.slow),
                    sf + u32::from(e.failed && e.slow),
                )
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
            Policy::Consecutive(_) => (self.run, self.run, 0, 0),
        }
    }

    /// Moves to `to`, announced (unless it is the state it is in and
    /// `quiet_if_same`), re-entering it afresh either way.
    fn go(&mut self, to: State) {
        self.move_to(to, false, false);
    }

    fn move_to(&mut self, to: State, quiet_if_same: bool, reset: bool) {
        if !(quiet_if_same && self.state == to) {
            self.events.push(ModelEvent {
                from: self.state,
                to,
                rejected: self.rejected_in_state,
                at: WALL_START_NANOS + (self.now - START_NANOS),
                reset,
            });
        }
        self.reopened_by = None;
        self.state = to;
        self.generation += 1;
        self.rejected_in_state = 0;
        self.trials_admitted = 0;
        self.trials.clear();
        match to {
            // The caller sets the deadline: drawn, or given.
            State::Open => {}
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

    /// Opens for the wait it would take by itself (a draw if spread).
    fn open(&mut self, quiet_if_same: bool) {
        let wait = self.spec.drawn_wait(self.reopens, &mut self.rng);
        self.open_until(self.now.saturating_add(wait), quiet_if_same);
    }

    /// Opens until `until`: nothing drawn.
    fn open_until(&mut self, until: u64, quiet_if_same: bool) {
        self.move_to(State::Open, quiet_if_same, false);
        self.open_until = until;
    }

    fn reopen(&mut self) {
        let trials = self.trials.clone();
        self.reopens += 1;
        self.open(false);
        self.reopened_by = Some(trials);
    }

    /// Transitions that time alone causes.
    fn poll(&mut self) {
        match self.state {
            State::Open if self.now >= self.open_until => self.go(State::HalfOpen),
            State::HalfOpen if self.half_open_until.is_some_and(|t| self.now >= t) => {
                if self.spec.after_half_open_limit == State::Closed {
                    self.go(State::Closed);
                } else {
                    self.reopen();
                }
            }
            _ => {}
        }
    }

    /// The state a call would find, without moving: reads never
    /// transition (the transition happens at the next call).
    fn effective(&self) -> State {
        match self.state {
            State::Open if self.now >= self.open_until => State::HalfOpen,
            State::HalfOpen if self.half_open_until.is_some_and(|t| self.now >= t) => {
                self.spec.after_half_open_limit
            }
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
        if !ticket.records {
            return;
        }
        // Time moves the breaker before a late result counts.
        self.poll();
        if ticket.generation != self.generation {
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
            _ => true,
        };
        let open_for = match outcome {
            Outcome::OpenFor(d) => Some(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            _ => None,
        };
        if ticket.trial {
            if let Some(wait) = open_for {
                self.trials.push((failed, slow));
                let trials = self.trials.clone();
                self.reopens += 1;
                self.open_until(self.now.saturating_add(wait), false);
                self.reopened_by = Some(trials);
                return;
            }
            self.record_trial(failed, slow);
            return;
        }
        let trips = match self.spec.policy {
            Policy::Consecutive(limit) => {
                self.run = if failed { self.run + 1 } else { 0 };
                self.run >= limit
            }
            Policy::Count(_) | Policy::Time(_) => {
                self.entries.push(Entry {
                    second: self.now / NANOS_PER_SEC,
                    failed,
                    slow,
                });
                let (calls, f, s, _) = self.window();
                calls >= self.spec.minimum_calls && self.spec.trips(calls, f, s)
            }
        };
        if self.state != State::Closed {
            return;
        }
        match open_for {
            Some(wait) => self.open_until(self.now.saturating_add(wait), false),
            None if trips => self.open(false),
            None => {}
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

    /// A manual state (`force_open`, `disable`, `metrics_only`): the state
    /// it is in is re-entered quietly. Time-driven transitions are not
    /// applied first.
    pub(crate) fn force(&mut self, to: State) {
        self.move_to(to, true, false);
    }

    /// `reset()`: a fresh closed breaker, always announced.
    pub(crate) fn reset(&mut self) {
        self.move_to(State::Closed, false, true);
    }

    /// A manual transition to an automatic state; `Err` if illegal (half-
    /// open from closed or metrics-only, open from metrics-only).
    pub(crate) fn transition(&mut self, target: Target) -> Result<(), ()> {
        let illegal = match target {
            Target::Open | Target::OpenFor(_) => self.state == State::MetricsOnly,
            Target::HalfOpen => matches!(self.state, State::Closed | State::MetricsOnly),
            Target::Closed => false,
        };
        if illegal {
            return Err(());
        }
        match target {
            Target::Open => self.open(true),
            Target::OpenFor(d) => {
                let until = self
                    .now
                    .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
                self.open_until(until, true);
            }
            Target::HalfOpen => self.move_to(State::HalfOpen, true, false),
            Target::Closed => self.move_to(State::Closed, true, false),
        }
        Ok(())
    }

    pub(crate) fn metrics(&mut self) -> ModelMetrics {
        let state = self.effective();
        let count = |trials: &[(bool, bool)]| {
            let f = trials.iter().filter(|t| t.0).count() as u32;
            let s = trials.iter().filter(|t| t.1).count() as u32;
            let sf = trials.iter().filter(|t| t.0 && t.1).count() as u32;
            (
                trials.len() as u32,
                f,
                s,
                sf,
                Some(self.spec.half_open_calls),
            )
        };
        let window_minimum = match self.spec.policy {
            Policy::Consecutive(_) => None,
            _ => Some(self.spec.minimum_calls),
        };
        let (calls, failed, slow, slow_failed, minimum) = match (self.state, state) {
            // Half-open, or half-open past its limit: its trials.
            (State::HalfOpen, State::HalfOpen | State::Open) => count(&self.trials),
            (State::HalfOpen, State::Closed) => (0, 0, 0, 0, window_minimum),
            // A fresh half-open: no trials yet.
            (_, State::HalfOpen) => (0, 0, 0, 0, Some(self.spec.half_open_calls)),
            (State::Open, State::Open) if self.reopened_by.is_some() => {
                count(self.reopened_by.as_deref().unwrap_or_default())
            }
            _ => {
                let (c, f, s, sf) = self.window();
                (c, f, s, sf, window_minimum)
            }
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
            slow_failed,
            failure_rate: rate(failed),
            slow_call_rate: rate(slow),
            not_permitted: self.not_permitted,
        }
    }
}
