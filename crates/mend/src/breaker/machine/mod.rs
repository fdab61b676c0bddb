//! The breaker's state machine, behind the breaker's lock. Every method takes
//! "now" as an argument and the lock-free [`Counters`] to read, so the same
//! logic is driven by the real breaker and checked against a reference model
//! in the tests.
//!
//! After each operation the breaker publishes [`Machine::gate`], which lets
//! most calls (closed successes, open rejections) skip the lock entirely.
//!
//! Time-driven transitions (the open wait over, half-open's limit reached)
//! happen when the breaker is next touched: a call, a record, a manual
//! transition. There is no timer: a read reports the state a call would
//! find ([`Machine::effective_state`]) without moving it, and the event is
//! stamped with the time of the touch that moved it.
//!
//! `manual.rs` holds the transitions people ask for; `snapshot.rs` the
//! reads.

mod manual;
mod snapshot;

use std::time::Duration;

use super::State;
use super::config::{Config, Policy};
use super::gate::{Admission, GateWord};
use super::recorder::{Counters, Recorder, rate_trips};
use super::window::Totals;
use crate::classify::Outcome;
use crate::clock::Tick;
use crate::error::Rejected;
use crate::retry::SplitMix64;

/// Generations wrap at 56 bits, the width the gate word holds.
const GENERATION_MASK: u64 = (1 << 56) - 1;

pub use manual::IllegalTransition;
pub(crate) use manual::Target;
pub(crate) use snapshot::Ever;

/// A state change, to be announced once the lock is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transition {
    pub(crate) from: State,
    pub(crate) to: State,
    pub(crate) rejected: u64,
    /// Made by `reset()`.
    pub(crate) reset: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Trials {
    admitted: u32,
    totals: Totals,
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
    /// Rejections taken on the locked path, in this state and in all.
    rejected_locked_in_state: u64,
    rejected_locked: u64,
    /// The stripe rejection total when this state began.
    rejected_striped_at_entry: u64,
    /// Operations taken on the locked path, ever: part of the activity a
    /// registry's sweep reads.
    locked_ops: u64,
    /// Outcomes recorded on the locked path, ever.
    ever: Ever,
    /// Open after half-open: the trials that reopened it (what an open
    /// breaker's metrics show). `None` after opening from closed.
    reopened_by: Option<Totals>,
    /// Draws the open waits' jitter.
    rng: SplitMix64,
    /// Changes into each state (`State::ALL` order), ever.
    entered: [u64; 6],
}

impl Machine {
    pub(crate) fn new(config: &Config, counters: &Counters) -> Self {
        Machine {
            state: config.initial_state,
            generation: 0,
            recorder: Recorder::new(config, counters),
            trials: Trials::default(),
            deadline: Tick::ZERO,
            reopens: 0,
            rejected_locked_in_state: 0,
            rejected_locked: 0,
            rejected_striped_at_entry: counters.rejections.get(0),
            locked_ops: 0,
            ever: Ever::default(),
            reopened_by: None,
            rng: SplitMix64::new(config.seed),
            entered: [0; 6],
        }
    }

    /// Counts one operation on the locked path.
    pub(crate) fn touch(&mut self) {
        self.locked_ops = self.locked_ops.wrapping_add(1);
    }

    pub(crate) fn locked_ops(&self) -> u64 {
        self.locked_ops
    }

    /// The state at `now` as a call would find it: what [`poll`](Self::poll)
    /// would move to, without moving.
    pub(crate) fn effective_state(&self, config: &Config, now: Tick) -> State {
        match self.state {
            State::Open if now >= self.deadline => State::HalfOpen,
            State::HalfOpen if now >= self.deadline => config.after_half_open_limit,
            settled => settled,
        }
    }

    /// Whether the breaker is open with its wait ending exactly at `deadline`.
    pub(crate) fn open_until(&self, deadline: Tick) -> bool {
        self.state == State::Open && self.deadline == deadline
    }

    /// The state at `now`, after any transition that time alone causes
    /// (open wait over, half-open limit reached).
    pub(crate) fn poll(
        &mut self,
        config: &Config,
        counters: &Counters,
        now: Tick,
    ) -> (State, Option<Transition>) {
        let transition = match self.state {
            State::Open if now >= self.deadline => {
                Some(self.enter(config, counters, State::HalfOpen, now))
            }
            State::HalfOpen if now >= self.deadline => match config.after_half_open_limit {
                State::Closed => Some(self.enter(config, counters, State::Closed, now)),
                _ => Some(self.reopen(config, counters, now, None)),
            },
            _ => None,
        };
        (self.state, transition)
    }

    /// Admits a call or says why not.
    pub(crate) fn acquire(
        &mut self,
        config: &Config,
        counters: &Counters,
        now: Tick,
    ) -> (Result<Admission, Rejected>, Option<Transition>) {
        let (state, transition) = self.poll(config, counters, now);
        let admit = |trial, records| Admission::new(self.generation, trial, records);
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
            State::ForcedOpen => Err(Rejected::ForcedOpen),
        };
        if result.is_err() {
            self.rejected_locked_in_state += 1;
            self.rejected_locked += 1;
        }
        (result, transition)
    }

    /// Records the outcome of an admitted call. Time-driven transitions
    /// come first (a trial reporting after half-open's limit finds the
    /// breaker already moved on). Calls admitted under an earlier state
    /// (another generation) are not counted: the conditions they were
    /// admitted under are gone.
    pub(crate) fn record(
        &mut self,
        config: &Config,
        counters: &Counters,
        now: Tick,
        admission: Admission,
        outcome: Outcome,
        slow: bool,
    ) -> Option<Transition> {
        if !admission.records() {
            return None;
        }
        self.ever.count(outcome, slow);
        let (_, polled) = self.poll(config, counters, now);
        if admission.generation() != self.generation {
            return polled;
        }
        if admission.trial() {
            return self.record_trial(config, counters, now, outcome, slow);
        }
        let failed = match outcome {
            Outcome::Ignored => return None,
            Outcome::Success => false,
            Outcome::Failure | Outcome::OpenFor(_) => true,
        };
        let trips = self.recorder.record(config, counters, now, failed, slow);
        if self.state != State::Closed {
            return None; // MetricsOnly records, never acts.
        }
        match outcome {
            Outcome::OpenFor(wait) => Some(self.open_at(counters, now + wait)),
            _ => trips.then(|| self.open(config, counters, now)),
        }
    }

    fn record_trial(
        &mut self,
        config: &Config,
        counters: &Counters,
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
            Outcome::Failure | Outcome::OpenFor(_) => true,
        };
        self.trials.totals.add_one(failed, slow);
        if let Outcome::OpenFor(wait) = outcome {
            let trials = self.trials.totals;
            self.reopens = self.reopens.saturating_add(1);
            let t = self.open_at(counters, now + wait);
            self.reopened_by = Some(trials);
            return Some(t);
        }
        let all_in = self.trials.totals.calls >= config.half_open_calls;
        let reopen = match config.policy {
            Policy::Consecutive { .. } if failed => true,
            _ if !all_in => return None,
            Policy::Consecutive { .. } => false,
            Policy::Rate { .. } => rate_trips(config, self.trials.totals, true),
        };
        if reopen {
            Some(self.reopen(config, counters, now, None))
        } else {
            Some(self.enter(config, counters, State::Closed, now))
        }
    }

    /// Closed to open: the wait for the current run of reopenings.
    fn open(&mut self, config: &Config, counters: &Counters, now: Tick) -> Transition {
        let wait = config.wait.draw(self.reopens, &mut self.rng);
        self.open_at(counters, now + wait)
    }

    /// Half-open back to open, one reopening more (until `until`, or the
    /// configured wait), keeping the trials that did it for the metrics.
    fn reopen(
        &mut self,
        config: &Config,
        counters: &Counters,
        now: Tick,
        until: Option<Tick>,
    ) -> Transition {
        let trials = self.trials.totals;
        self.reopens = self.reopens.saturating_add(1);
        let until = until.unwrap_or_else(|| now + config.wait.draw(self.reopens, &mut self.rng));
        let t = self.open_at(counters, until);
        self.reopened_by = Some(trials);
        t
    }

    /// Into open until `until`.
    fn open_at(&mut self, counters: &Counters, until: Tick) -> Transition {
        let t = self.change(counters, State::Open);
        self.deadline = until;
        self.reopened_by = None;
        t
    }

    /// Calls rejected in the current state so far, on either path.
    fn rejected_in_state(&self, counters: &Counters) -> u64 {
        let striped = counters.rejections.get(0) - self.rejected_striped_at_entry;
        self.rejected_locked_in_state + striped
    }

    /// Moves to `to` (any state but open, which [`open_at`](Self::open_at)
    /// enters), resetting what the new state starts without.
    pub(crate) fn enter(
        &mut self,
        config: &Config,
        counters: &Counters,
        to: State,
        now: Tick,
    ) -> Transition {
        debug_assert_ne!(to, State::Open, "open is entered with a deadline");
        let t = self.change(counters, to);
        match to {
            State::HalfOpen => {
                self.deadline = match config.max_wait_in_half_open {
                    Some(limit) => now + limit,
                    None => Tick::MAX,
                };
            }
            _ => {
                self.reopens = 0;
                self.recorder.clear(counters, now);
            }
        }
        t
    }

    /// What every change does: a new state and generation, its rejections
    /// and trials counted afresh.
    fn change(&mut self, counters: &Counters, to: State) -> Transition {
        let transition = Transition {
            from: self.state,
            to,
            rejected: self.rejected_in_state(counters),
            reset: false,
        };
        if self.state != to {
            self.entered[to.index()] += 1;
        }
        self.state = to;
        self.generation = (self.generation + 1) & GENERATION_MASK;
        self.rejected_locked_in_state = 0;
        self.rejected_striped_at_entry = counters.rejections.get(0);
        self.trials = Trials::default();
        transition
    }

    /// What calls may do without the lock until the next operation, and the
    /// deadline that goes with it (see [`gate`](super::gate)).
    pub(crate) fn gate(
        &mut self,
        config: &Config,
        counters: &Counters,
        now: Tick,
    ) -> (GateWord, Tick) {
        let (fast_success, until) = match self.state {
            // MetricsOnly never trips, but a consecutive-failures run still
            // needs its successes to reset it, so it arms as Closed does.
            State::Closed | State::MetricsOnly => {
                let armed_from = self.recorder.armed_from(config, counters, now);
                (armed_from > now, armed_from)
            }
            State::Open => (false, self.deadline),
            State::HalfOpen | State::ForcedOpen | State::Disabled => (false, Tick::ZERO),
        };
        (
            GateWord::new(self.state, self.generation, fast_success),
            until,
        )
    }
}
