//! What a breaker says about itself: its state, its window, its counters.
//! Every read here changes nothing: no transition, no event, no activity
//! for a registry's idle sweep.

use super::{BreakerCounters, CircuitBreaker, Metrics, State};
use crate::clock::Clock;

impl<C: Clock, K> CircuitBreaker<C, K> {
    /// The state a call would find now: an open breaker whose wait is over
    /// reads as half-open, a half-open one past its limit as open (or
    /// closed, if so configured).
    ///
    /// A read: it moves nothing and announces nothing. Time-driven
    /// transitions happen when the breaker is next touched (a call, a
    /// record, a manual transition), and their event is stamped then;
    /// there is no timer.
    pub fn state(&self) -> State {
        match self.gate.0.load().state() {
            State::Open | State::HalfOpen => {
                let machine = self.machine.0.lock();
                machine.effective_state(&self.config, self.clock.coarse())
            }
            settled => settled,
        }
    }

    /// A snapshot of the window and the rejections, in the state
    /// [`state`](Self::state) reports. A read, like `state`.
    pub fn metrics(&self) -> Metrics {
        let mut machine = self.machine.0.lock();
        machine.metrics(&self.config, &self.counters, self.clock.coarse())
    }

    /// Every call the breaker has seen, by outcome, since it was built. A
    /// read that changes nothing; the lock is taken briefly to read the
    /// locked path's counts.
    pub fn counters(&self) -> BreakerCounters {
        let (ever, rejected_locked, entered) = self.machine.0.lock().ever();
        let (timed_calls, time_in_timed_calls) = self.timing.totals();
        BreakerCounters {
            successes: ever.successes + self.counters.successes.total(),
            failures: ever.failures,
            ignored: ever.ignored,
            slow: ever.slow,
            rejected: rejected_locked + self.counters.rejections.get(0),
            timed_calls,
            time_in_timed_calls,
            entered,
        }
    }
}
