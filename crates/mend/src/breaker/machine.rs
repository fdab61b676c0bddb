//! The breaker's state machine, behind the breaker's lock. Every method takes
//! "now" as an argument and the lock-free [`Counters`] to read, so the same
//! logic is driven by the real breaker and checked against a reference model
//! in the tests.
//!
//! After each operation the breaker publishes [`Machine::gate`], which lets
//! most calls (closed successes, open rejections) skip the lock entirely.

use std::time::Duration;

use super::State;
use super::config::{Config, Policy};
use super::gate::{Admission, GateWord};
use super::recorder::{Counters, Recorder, minimum_calls, percent, rate_trips};
use super::state::Metrics;
use super::window::Totals;
use crate::classify::Outcome;
use crate::clock::Tick;
use crate::error::Rejected;

/// Generations wrap at 56 bits, the width the gate word holds.
const GENERATION_MASK: u64 = (1 << 56) - 1;

/// A state change, to be announced once the lock is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transition {
    pub(crate) from: State,
    pub(crate) to: State,
    pub(crate) rejected: u64,
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
}

/// Outcomes recorded on the locked path since the breaker was built.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ever {
    pub(crate) successes: u64,
    pub(crate) failures: u64,
    pub(crate) ignored: u64,
    pub(crate) slow: u64,
}

impl Machine {
    pub(crate) fn new(config: &Config, counters: &Counters) -> Self {
        Machine {
            state: State::Closed,
            generation: 0,
            recorder: Recorder::new(config, counters),
            trials: Trials::default(),
            deadline: Tick::ZERO,
            reopens: 0,
            rejected_locked_in_state: 0,
            rejected_locked: 0,
            rejected_striped_at_entry: counters.rejections.total(),
            locked_ops: 0,
            ever: Ever::default(),
        }
    }

    /// Counts one operation on the locked path.
    pub(crate) fn touch(&mut self) {
        self.locked_ops = self.locked_ops.wrapping_add(1);
    }

    pub(crate) fn locked_ops(&self) -> u64 {
        self.locked_ops
    }

    /// Outcomes recorded on the locked path, and rejections taken there.
    pub(crate) fn ever(&self) -> (Ever, u64) {
        (self.ever, self.rejected_locked)
    }

    /// The state at `now` as a call would find it: what [`poll`](Self::poll)
    /// would move to, without moving.
    pub(crate) fn effective_state(&self, now: Tick) -> State {
        match self.state {
            State::Open if now >= self.deadline => State::HalfOpen,
            State::HalfOpen if now >= self.deadline => State::Open,
            settled => settled,
        }
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
            State::HalfOpen if now >= self.deadline => {
                self.reopens = self.reopens.saturating_add(1);
                Some(self.enter(config, counters, State::Open, now))
            }
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

    /// Records the outcome of an admitted call. Calls admitted under an
    /// earlier state (another generation) are not counted: the conditions
    /// they were admitted under are gone.
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
        // Counted whatever the generation: the call ran and finished so.
        match outcome {
            Outcome::Success => self.ever.successes += 1,
            Outcome::Failure => self.ever.failures += 1,
            Outcome::Ignored => self.ever.ignored += 1,
        }
        if slow && outcome != Outcome::Ignored {
            self.ever.slow += 1;
        }
        if admission.generation() != self.generation {
            return None;
        }
        if admission.trial() {
            return self.record_trial(config, counters, now, outcome, slow);
        }
        let failed = match outcome {
            Outcome::Ignored => return None,
            Outcome::Success => false,
            Outcome::Failure => true,
        };
        let trips = self.recorder.record(config, counters, now, failed, slow);
        (trips && self.state == State::Closed)
            .then(|| self.enter(config, counters, State::Open, now))
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
            Outcome::Failure => true,
        };
        self.trials.totals.add_one(failed, slow);
        let all_in = self.trials.totals.calls >= config.half_open_calls;
        let reopen = match config.policy {
            Policy::Consecutive { .. } if failed => true,
            _ if !all_in => return None,
            Policy::Consecutive { .. } => false,
            Policy::Rate { .. } => rate_trips(config, self.trials.totals, true),
        };
        if reopen {
            self.reopens = self.reopens.saturating_add(1);
            Some(self.enter(config, counters, State::Open, now))
        } else {
            Some(self.enter(config, counters, State::Closed, now))
        }
    }

    /// Calls rejected in the current state so far, on either path.
    fn rejected_in_state(&self, counters: &Counters) -> u64 {
        let striped = counters.rejections.total() - self.rejected_striped_at_entry;
        self.rejected_locked_in_state + striped
    }

    /// Moves to `to` (manual or automatic), resetting what the new state
    /// starts without.
    pub(crate) fn enter(
        &mut self,
        config: &Config,
        counters: &Counters,
        to: State,
        now: Tick,
    ) -> Transition {
        let transition = Transition {
            from: self.state,
            to,
            rejected: self.rejected_in_state(counters),
        };
        self.state = to;
        self.generation = (self.generation + 1) & GENERATION_MASK;
        self.rejected_locked_in_state = 0;
        self.rejected_striped_at_entry = counters.rejections.total();
        self.trials = Trials::default();
        match to {
            State::Open => {
                self.deadline = now + config.wait.after(self.reopens);
            }
            State::HalfOpen => {
                self.deadline = match config.max_wait_in_half_open {
                    Some(limit) => now + limit,
                    None => Tick::MAX,
                };
            }
            State::Closed | State::ForcedOpen | State::Disabled | State::MetricsOnly => {
                self.reopens = 0;
                self.recorder.clear(counters, now);
            }
        }
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

    /// A snapshot as of `now`, in the effective state (an open breaker
    /// whose wait is over reads as a fresh half-open one). Moves nothing: a
    /// count window may fold its stripes in, which changes how the window
    /// is held, not what it holds.
    pub(crate) fn metrics(&mut self, config: &Config, counters: &Counters, now: Tick) -> Metrics {
        let state = self.effective_state(now);
        let (totals, minimum) = match (self.state, state) {
            (State::HalfOpen, State::HalfOpen) => (self.trials.totals, config.half_open_calls),
            (_, State::HalfOpen) => (Totals::default(), config.half_open_calls),
            _ => (
                self.recorder.exact_totals(counters, now),
                minimum_calls(config),
            ),
        };
        let enough = totals.calls >= minimum;
        Metrics {
            state,
            buffered_calls: totals.calls,
            failed_calls: totals.failures,
            slow_calls: totals.slow,
            failure_rate: percent(totals.failures, totals.calls).filter(|_| enough),
            slow_call_rate: percent(totals.slow, totals.calls).filter(|_| enough),
            not_permitted_calls: self.rejected_locked + counters.rejections.total(),
        }
    }
}
