//! Reads of the machine: the window as a snapshot, and every outcome ever.
//! Nothing here moves the breaker.

use super::Machine;
use crate::breaker::State;
use crate::breaker::config::Config;
use crate::breaker::recorder::{Counters, minimum_calls, percent};
use crate::breaker::state::Metrics;
use crate::breaker::window::Totals;
use crate::classify::Outcome;
use crate::clock::Tick;

/// Outcomes recorded on the locked path since the breaker was built.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ever {
    pub(crate) successes: u64,
    pub(crate) failures: u64,
    pub(crate) ignored: u64,
    pub(crate) slow: u64,
}

impl Ever {
    /// Counts a finished call, whatever its generation: it ran and ended so.
    pub(crate) fn count(&mut self, outcome: Outcome, slow: bool) {
        match outcome {
            Outcome::Success => self.successes += 1,
            Outcome::Ignored => self.ignored += 1,
            _ => self.failures += 1,
        }
        if slow && outcome != Outcome::Ignored {
            self.slow += 1;
        }
    }
}

impl Machine {
    /// Outcomes recorded on the locked path, rejections taken there, and
    /// changes into each state.
    pub(crate) fn ever(&self) -> (Ever, u64, [u64; 6]) {
        (self.ever, self.rejected_locked, self.entered)
    }

    /// A snapshot as of `now`, in the effective state. An open breaker
    /// whose wait is over reads as a fresh half-open one; an open breaker
    /// shows the window that opened it: the closed window, or the trials
    /// that reopened it. A count window may fold its stripes in, which
    /// changes how the window is held, not what it holds.
    pub(crate) fn metrics(&mut self, config: &Config, counters: &Counters, now: Tick) -> Metrics {
        let state = self.effective_state(config, now);
        let trials = (self.trials.totals, config.half_open_calls);
        let (totals, minimum) = match (self.state, state) {
            (State::HalfOpen, State::HalfOpen) => trials,
            (State::HalfOpen, State::Open) => trials, // its limit passed
            (State::HalfOpen, State::Closed) => (Totals::default(), minimum_calls(config)),
            (_, State::HalfOpen) => (Totals::default(), config.half_open_calls),
            (State::Open, State::Open) if self.reopened_by.is_some() => {
                (self.reopened_by.unwrap_or_default(), config.half_open_calls)
            }
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
            slow_successful_calls: totals.slow - totals.slow_failures,
            slow_failed_calls: totals.slow_failures,
            failure_rate: percent(totals.failures, totals.calls).filter(|_| enough),
            slow_call_rate: percent(totals.slow, totals.calls).filter(|_| enough),
            not_permitted_calls: self.rejected_locked + counters.rejections.get(0),
        }
    }
}
