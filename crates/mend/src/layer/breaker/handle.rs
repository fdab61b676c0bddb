//! How a breaker layer's futures hold the breaker: by `Arc` (the usual
//! way), or by `&'static` (a breaker that lives as long as the program,
//! which saves the two atomic operations an `Arc` clone and drop cost per
//! call: most of what the layer costs).

use std::sync::Arc;

use crate::breaker::{CircuitBreaker, Ticket};
use crate::classify::Outcome;
use crate::clock::Clock;

/// A handle to a breaker that a `'static` response future can keep:
/// `Arc<CircuitBreaker>` or `&'static CircuitBreaker`.
pub trait SharedBreaker: Clone {
    /// The breaker's clock.
    type Clock: Clock;
    /// The breaker's classifier.
    type Classify;

    /// The breaker.
    fn breaker(&self) -> &CircuitBreaker<Self::Clock, Self::Classify>;
}

impl<C: Clock, K> SharedBreaker for Arc<CircuitBreaker<C, K>> {
    type Clock = C;
    type Classify = K;

    #[inline(always)]
    fn breaker(&self) -> &CircuitBreaker<C, K> {
        self
    }
}

impl<C: Clock, K> SharedBreaker for &'static CircuitBreaker<C, K> {
    type Clock = C;
    type Classify = K;

    #[inline(always)]
    fn breaker(&self) -> &CircuitBreaker<C, K> {
        self
    }
}

/// An admitted call's permit, held through a [`SharedBreaker`]: recorded
/// once with [`finish`](Held::finish); dropped unrecorded (the future was
/// dropped), it counts as ignored and gives back any trial slot, as a
/// dropped [`OwnedPermit`](crate::breaker::OwnedPermit) does.
pub(crate) struct Held<B: SharedBreaker> {
    breaker: B,
    ticket: Ticket,
    done: bool,
}

impl<B: SharedBreaker> Held<B> {
    #[inline(always)]
    pub(crate) fn new(breaker: B, ticket: Ticket) -> Self {
        Held {
            breaker,
            ticket,
            done: false,
        }
    }

    /// The breaker, to classify with.
    #[inline(always)]
    pub(crate) fn breaker(&self) -> &CircuitBreaker<B::Clock, B::Classify> {
        self.breaker.breaker()
    }

    /// Records the call's outcome (once; later calls do nothing).
    #[inline(always)]
    pub(crate) fn finish(&mut self, outcome: Outcome) {
        if !self.done {
            self.done = true;
            self.ticket.record(self.breaker.breaker(), outcome);
        }
    }
}

impl<B: SharedBreaker> Drop for Held<B> {
    #[inline(always)]
    fn drop(&mut self) {
        if !self.done {
            self.ticket.abandon(self.breaker.breaker());
        }
    }
}
