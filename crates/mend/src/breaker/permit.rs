//! [`Permit`]: the right to make one call through a breaker, and the duty to
//! say how it went.

use std::fmt;

use super::CircuitBreaker;
use super::gate::Admission;
use crate::classify::{Classify, Outcome};
use crate::clock::{Clock, Tick};

/// Permission to make one call, from [`CircuitBreaker::try_acquire`].
///
/// Record the call's outcome with [`success`](Permit::success),
/// [`failure`](Permit::failure), [`ignored`](Permit::ignored) or
/// [`record_result`](Permit::record_result). A permit dropped without a
/// record counts as ignored, and gives its half-open trial slot back, so a
/// cancelled call can never wedge a half-open breaker; dropped while its
/// thread panics, it counts as a failure.
#[must_use = "a permit records nothing unless told how the call went"]
pub struct Permit<'a, C: Clock, K> {
    breaker: &'a CircuitBreaker<C, K>,
    admission: Admission,
    /// When the call started (precise clock), for slow-call detection;
    /// `Tick::ZERO` when not timed.
    started: Tick,
    done: bool,
}

impl<'a, C: Clock, K> Permit<'a, C, K> {
    #[inline(always)]
    pub(super) fn new(breaker: &'a CircuitBreaker<C, K>, admission: Admission) -> Self {
        let started = match breaker.slow_call_duration {
            Some(_) if admission.records() => breaker.clock.precise(),
            _ => Tick::ZERO,
        };
        Permit {
            breaker,
            admission,
            started,
            done: false,
        }
    }

    /// Whether this permit is one of half-open's trial calls.
    pub fn is_trial(&self) -> bool {
        self.admission.trial()
    }

    /// The call succeeded.
    pub fn success(self) {
        self.record(Outcome::Success);
    }

    /// The call failed.
    pub fn failure(self) {
        self.record(Outcome::Failure);
    }

    /// The call says nothing about the dependency; not counted.
    pub fn ignored(self) {
        self.record(Outcome::Ignored);
    }

    /// Records `outcome`.
    #[inline(always)]
    pub fn record(mut self, outcome: Outcome) {
        self.finish(outcome);
    }

    /// Classifies `result` with the breaker's classifier and records it.
    #[inline(always)]
    pub fn record_result<T, E>(self, result: &Result<T, E>)
    where
        K: Classify<T, E>,
    {
        let outcome = self.breaker.classify.outcome(result);
        self.record(outcome);
    }

    #[inline(always)]
    pub(super) fn finish(&mut self, outcome: Outcome) {
        self.done = true;
        if !self.admission.records() {
            return;
        }
        let slow = match self.breaker.slow_call_duration {
            Some(limit) if self.started != Tick::ZERO => {
                self.breaker.clock.precise() - self.started > limit
            }
            _ => false,
        };
        self.breaker.record(self.admission, outcome, slow);
    }
}

impl<C: Clock, K> Drop for Permit<'_, C, K> {
    #[inline(always)]
    fn drop(&mut self) {
        if !self.done {
            self.abandon();
        }
    }
}

impl<C: Clock, K> Permit<'_, C, K> {
    /// A permit dropped unrecorded: ignored, or a failure if its thread is
    /// panicking.
    #[cold]
    fn abandon(&mut self) {
        let outcome = if std::thread::panicking() {
            Outcome::Failure
        } else {
            Outcome::Ignored
        };
        self.finish(outcome);
    }
}

impl<C: Clock, K> fmt::Debug for Permit<'_, C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.name())
            .field("trial", &self.admission.trial())
            .finish_non_exhaustive()
    }
}
