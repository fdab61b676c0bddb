//! The transitions people make by hand: the manual states, `reset`, and the
//! automatic states on demand (Resilience4j's `transitionTo*State`).
//!
//! Moving to the state the breaker is in re-enters it (a fresh window,
//! trials or wait) and announces nothing, as Resilience4j's internal
//! transitions; `reset` always announces itself, with
//! [`BreakerEvent::reset`](super::BreakerEvent::reset) set (where
//! Resilience4j emits a transition and a separate reset event).

use std::time::Duration;

use super::machine::Target;
use super::{CircuitBreaker, IllegalTransition, State};
use crate::clock::{Clock, Tick};

impl<C: Clock, K> CircuitBreaker<C, K> {
    /// Back to a fresh closed breaker: window cleared, open wait back to its
    /// base. Always announced, even from closed.
    pub fn reset(&self) {
        self.locked(|machine, config, counters, now| {
            ((), Some(machine.reset(config, counters, now)))
        });
    }

    /// Rejects every call with [`Rejected::ForcedOpen`](crate::Rejected::ForcedOpen)
    /// until [`reset`](Self::reset) or another state.
    pub fn force_open(&self) {
        self.force(State::ForcedOpen);
    }

    /// Lets every call through and records nothing, until
    /// [`reset`](Self::reset) or another state.
    pub fn disable(&self) {
        self.force(State::Disabled);
    }

    /// Records every call but never changes state on its own. Starts from an
    /// empty window.
    pub fn metrics_only(&self) {
        self.force(State::MetricsOnly);
    }

    /// Opens now, for the wait it would take by itself.
    ///
    /// # Errors
    ///
    /// [`IllegalTransition`] from [`State::MetricsOnly`].
    pub fn open(&self) -> Result<(), IllegalTransition> {
        self.transition(Target::Open)
    }

    /// Opens now, for `wait`.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_for(&self, wait: Duration) -> Result<(), IllegalTransition> {
        let until = self.clock.coarse() + wait;
        self.transition(Target::OpenUntil(until))
    }

    /// Opens now, until `until` on the breaker's clock (a reading of its
    /// [`coarse`](Clock::coarse) or [`precise`](Clock::precise) time line).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_until(&self, until: Tick) -> Result<(), IllegalTransition> {
        self.transition(Target::OpenUntil(until))
    }

    /// Goes half-open now: the next `half_open_calls` calls are trials.
    ///
    /// # Errors
    ///
    /// [`IllegalTransition`] from [`State::Closed`] and
    /// [`State::MetricsOnly`]: nothing to try there (open it first).
    pub fn half_open(&self) -> Result<(), IllegalTransition> {
        self.transition(Target::HalfOpen)
    }

    /// Closes now: an empty window, the open wait back at its base. Unlike
    /// [`reset`](Self::reset), closing a closed breaker announces nothing.
    ///
    /// # Errors
    ///
    /// None today: every state may close. The `Result` keeps the shape of
    /// the other transitions.
    pub fn close(&self) -> Result<(), IllegalTransition> {
        self.transition(Target::Closed)
    }

    fn force(&self, to: State) {
        self.locked(|machine, config, counters, now| {
            ((), machine.force(config, counters, to, now))
        });
    }

    fn transition(&self, target: Target) -> Result<(), IllegalTransition> {
        self.locked(|machine, config, counters, now| {
            match machine.transition(config, counters, target, now) {
                Ok(t) => (Ok(()), t),
                Err(e) => (Err(e), None),
            }
        })
    }
}
