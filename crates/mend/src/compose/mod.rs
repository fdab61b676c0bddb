//! Stacking policies in an explicit order, sync and async, with one flat
//! error and no boxing.
//!
//! Every gate (breaker, rate limiter, bulkhead, timeout) implements
//! [`Policy`] (sync) and/or [`AsyncPolicy`]: it runs an operation that
//! already returns [`Error<E>`] and returns the same type, so layers stack
//! without nesting their errors. [`stack`] starts a stack with its
//! outermost layer and [`Stack::then`] adds the next one inside; a stack is
//! itself a policy, a tuple of references, with static dispatch all the way
//! down. [`Retry`] goes around the whole stack
//! ([`Retry::call_through`], [`Retry::call_through_async`]) because it is
//! the one layer that calls its operation more than once.
//!
//! A [`Timeout`] only implements [`AsyncPolicy`]: sync code cannot be
//! interrupted, so a sync stack with a timeout does not compile.
//!
//! # The recommended order, outermost first
//!
//! 1. **Retry** (with its budget and deadline). Outermost, so that each
//!    attempt goes through every gate again, the deadline bounds the whole
//!    operation, and the budget caps the extra load. It retries
//!    [`Rejected`](crate::Rejected) and [`Elapsed`](crate::Elapsed) from the
//!    inner layers, never before the wait a rejection carries.
//! 2. **Circuit breaker.** Inside the retry, so every attempt is recorded
//!    and an open breaker answers each attempt at once with the time it
//!    will stay open (which the retry honours). Outside the limits, so an
//!    open breaker sheds load without spending quota or taking slots. It
//!    records an inner timeout as a failure (a hanging dependency is a
//!    failing one) and an inner rejection as ignored (the dependency was
//!    not called, so it says nothing about its health).
//! 3. **Rate limiter.** Outside the bulkhead, so a call over quota is
//!    refused at once rather than after waiting for a slot.
//! 4. **Bulkhead.** Outside the timeout, so the time spent waiting for a
//!    slot (bounded by its own `max_wait`) is not taken from the call's own
//!    time, and a call holds its slot at most as long as the timeout allows.
//! 5. **Timeout**, around the call itself.
//!
//! # Examples
//!
//! ```
//! use std::{io, time::Duration};
//! use mend::breaker::CircuitBreaker;
//! use mend::compose::stack;
//! use mend::limit::{Bulkhead, Timeout};
//! use mend::retry::Retry;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let retry = Retry::builder("catalog").max_attempts(3).build()?;
//! let breaker = CircuitBreaker::builder("catalog").build()?;
//! let bulkhead = Bulkhead::builder("catalog").max_concurrent(16).build()?;
//! let timeout = Timeout::new(Duration::from_millis(250))?;
//!
//! let policies = stack(&breaker).then(&bulkhead).then(&timeout);
//! let item = retry
//!     .call_through_async(&policies, || async { Ok::<_, io::Error>("lamp") })
//!     .await?;
//! assert_eq!(item, "lamp");
//! # Ok(())
//! # }
//! ```

mod gates;
mod retry;

use std::future::Future;

use crate::error::Error;
#[cfg(doc)]
use crate::limit::Timeout;
#[cfg(doc)]
use crate::retry::Retry;

/// A gate around a sync call whose result is already `Result<T, Error<E>>`.
pub trait Policy<T, E> {
    /// Runs `f` through this policy.
    ///
    /// # Errors
    ///
    /// `f`'s own error, or this policy's [`Rejected`](crate::Rejected) or
    /// [`Elapsed`](crate::Elapsed).
    fn call<F>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Result<T, Error<E>>;
}

/// A gate around an async call whose result is already `Result<T, Error<E>>`.
pub trait AsyncPolicy<T, E> {
    /// Runs the future `f` makes through this policy.
    fn call_async<F, Fut>(&self, f: F) -> impl Future<Output = Result<T, Error<E>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>;
}

/// `outer` around `inner`; made by [`stack`] and [`Stack::then`].
#[derive(Debug, Clone, Copy)]
pub struct Stack<O, I> {
    outer: O,
    inner: I,
}

/// The layer that lets a call straight through: the inside of a new stack.
#[derive(Debug, Clone, Copy, Default)]
pub struct Call;

/// Starts a stack whose outermost layer is `outer`.
pub fn stack<O>(outer: O) -> Stack<O, Call> {
    Stack { outer, inner: Call }
}

impl<O, I> Stack<O, I> {
    /// Adds `next` inside every layer so far.
    pub fn then<N>(self, next: N) -> Stack<Self, N> {
        Stack {
            outer: self,
            inner: next,
        }
    }
}

impl<T, E> Policy<T, E> for Call {
    #[inline]
    fn call<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
        f()
    }
}

impl<T, E> AsyncPolicy<T, E> for Call {
    #[inline]
    fn call_async<F, Fut>(&self, f: F) -> impl Future<Output = Result<T, Error<E>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        f()
    }
}

impl<T, E, O: Policy<T, E>, I: Policy<T, E>> Policy<T, E> for Stack<O, I> {
    #[inline]
    fn call<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
        self.outer.call(|| self.inner.call(f))
    }
}

impl<T, E, O: AsyncPolicy<T, E>, I: AsyncPolicy<T, E>> AsyncPolicy<T, E> for Stack<O, I> {
    #[inline]
    fn call_async<F, Fut>(&self, f: F) -> impl Future<Output = Result<T, Error<E>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        self.outer.call_async(|| self.inner.call_async(f))
    }
}

impl<T, E, P: Policy<T, E>> Policy<T, E> for &P {
    #[inline]
    fn call<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
        (**self).call(f)
    }
}

impl<T, E, P: AsyncPolicy<T, E>> AsyncPolicy<T, E> for &P {
    #[inline]
    fn call_async<F, Fut>(&self, f: F) -> impl Future<Output = Result<T, Error<E>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        (**self).call_async(f)
    }
}
