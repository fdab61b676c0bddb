//! [`Permit`] and [`OwnedPermit`]: the right to make one call through a
//! breaker, and the duty to say how it went.
//!
//! The two differ only in how they hold the breaker: a [`Permit`] borrows
//! it (from [`CircuitBreaker::try_acquire`]), an [`OwnedPermit`] keeps an
//! `Arc` of it (from [`CircuitBreaker::try_acquire_owned`]), so it can be
//! moved into a spawned task or a `'static` future such as a tower
//! service's. Both record through the same [`Ticket`].

use std::fmt;
use std::sync::Arc;

use super::CircuitBreaker;
use super::gate::Admission;
use crate::classify::{Classify, Outcome};
use crate::clock::{Clock, Tick};

/// What an admitted call carries until it is recorded: how it was admitted
/// and when it started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    admission: Admission,
    /// When the call started (precise clock), if slow-call detection times
    /// it (the breaker has a `slow_call_duration` and records the call);
    /// unused otherwise. Not an `Option`: two words, so a ticket moves in
    /// registers, not through the stack.
    started: Tick,
}

impl Ticket {
    #[inline(always)]
    pub(super) fn new<C: Clock, K>(breaker: &CircuitBreaker<C, K>, admission: Admission) -> Self {
        let started = match breaker.slow_call_duration {
            Some(_) if admission.records() => breaker.clock.precise(),
            _ => Tick::ZERO,
        };
        Ticket { admission, started }
    }

    /// Records `outcome` on `breaker`.
    /// A ticket for a call that is not timed (the breaker has no slow-call
    /// limit).
    #[inline(always)]
    pub(super) fn untimed(admission: Admission) -> Self {
        Ticket {
            admission,
            started: Tick::ZERO,
        }
    }

    #[inline(always)]
    pub(crate) fn record<C: Clock, K>(self, breaker: &CircuitBreaker<C, K>, outcome: Outcome) {
        if !self.admission.records() {
            return;
        }
        // A recorded call was timed exactly when the breaker has a limit.
        let slow = match breaker.slow_call_duration {
            Some(limit) => {
                let took = breaker.clock.precise() - self.started;
                breaker.timing.add(took);
                took > limit
            }
            None => false,
        };
        breaker.record(self.admission, outcome, slow);
    }

    /// A permit dropped unrecorded: ignored, or a failure if its thread is
    /// panicking.
    #[cold]
    pub(crate) fn abandon<C: Clock, K>(self, breaker: &CircuitBreaker<C, K>) {
        let outcome = if std::thread::panicking() {
            Outcome::Failure
        } else {
            Outcome::Ignored
        };
        self.record(breaker, outcome);
    }
}

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
    ticket: Ticket,
    done: bool,
}

/// A [`Permit`] that holds its breaker by `Arc`, from
/// [`CircuitBreaker::try_acquire_owned`]: `'static`, so it can travel with
/// the call into a spawned task or a boxed future.
///
/// # Examples
///
/// ```
/// use std::{io, sync::Arc};
/// use mend::breaker::CircuitBreaker;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let breaker = Arc::new(CircuitBreaker::builder("search").build()?);
/// let permit = Arc::clone(&breaker).try_acquire_owned()?;
/// let answer = tokio::spawn(async move {
///     let result: Result<u32, io::Error> = Ok(42); // the call
///     permit.record_result(&result);
///     result
/// })
/// .await??;
/// assert_eq!(answer, 42);
/// # Ok(())
/// # }
/// ```
#[must_use = "a permit records nothing unless told how the call went"]
pub struct OwnedPermit<C: Clock, K> {
    breaker: Arc<CircuitBreaker<C, K>>,
    ticket: Ticket,
    done: bool,
}

impl<'a, C: Clock, K> Permit<'a, C, K> {
    #[inline(always)]
    pub(super) fn new(breaker: &'a CircuitBreaker<C, K>, ticket: Ticket) -> Self {
        Permit {
            breaker,
            ticket,
            done: false,
        }
    }
}

impl<C: Clock, K> OwnedPermit<C, K> {
    #[inline(always)]
    pub(super) fn new(breaker: Arc<CircuitBreaker<C, K>>, ticket: Ticket) -> Self {
        OwnedPermit {
            breaker,
            ticket,
            done: false,
        }
    }

    /// The breaker this permit belongs to.
    pub fn breaker(&self) -> &Arc<CircuitBreaker<C, K>> {
        &self.breaker
    }
}

/// The methods both permits share; each holds `breaker`, `ticket`, `done`.
macro_rules! permit_methods {
    ($permit:ident $(<$lt:lifetime>)?) => {
        impl<$($lt,)? C: Clock, K> $permit<$($lt,)? C, K> {
            /// Whether this permit is one of half-open's trial calls.
            pub fn is_trial(&self) -> bool {
                self.ticket.admission.trial()
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

            /// Records in place (a moved permit is copied through the
            /// stack, which costs more than the record).
            #[inline(always)]
            pub(super) fn finish(&mut self, outcome: Outcome) {
                self.done = true;
                self.ticket.record(&self.breaker, outcome);
            }
        }

        impl<$($lt,)? C: Clock, K> Drop for $permit<$($lt,)? C, K> {
            #[inline(always)]
            fn drop(&mut self) {
                if !self.done {
                    self.ticket.abandon(&self.breaker);
                }
            }
        }

        impl<$($lt,)? C: Clock, K> fmt::Debug for $permit<$($lt,)? C, K> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($permit))
                    .field("breaker", &self.breaker.name())
                    .field("trial", &self.ticket.admission.trial())
                    .finish_non_exhaustive()
            }
        }
    };
}

permit_methods!(Permit<'a>);
permit_methods!(OwnedPermit);
