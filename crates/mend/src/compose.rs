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

use std::future::Future;
use std::time::Duration;

use crate::breaker::CircuitBreaker;
use crate::classify::Classify;
use crate::clock::Clock;
use crate::error::Error;
use crate::limit::{Bulkhead, RateLimiter};
use crate::retry::{Retry, RetryError, RetryHint, Sleep};

#[cfg(feature = "tokio")]
use crate::limit::Timeout;

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

/// Records an attempt's result with a breaker permit: the operation's own
/// result through the breaker's classifier, an inner timeout as a failure,
/// an inner rejection as ignored.
fn record<T, E, C: Clock, K: Classify<T, E>>(
    permit: crate::breaker::Permit<'_, C, K>,
    result: Result<T, Error<E>>,
) -> Result<T, Error<E>> {
    let own: Result<T, E> = match result {
        Ok(value) => Ok(value),
        Err(Error::Inner(e)) => Err(e),
        Err(Error::Elapsed(e)) => {
            permit.failure();
            return Err(Error::Elapsed(e));
        }
        Err(Error::Rejected(r)) => {
            permit.ignored();
            return Err(Error::Rejected(r));
        }
    };
    permit.record_result(&own);
    own.map_err(Error::Inner)
}

impl<T, E, C: Clock, K: Classify<T, E>> Policy<T, E> for CircuitBreaker<C, K> {
    fn call<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
        let permit = self.try_acquire()?;
        record(permit, f())
    }
}

impl<T, E, C: Clock, K: Classify<T, E>> AsyncPolicy<T, E> for CircuitBreaker<C, K> {
    async fn call_async<F, Fut>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        let permit = self.try_acquire()?;
        record(permit, f().await)
    }
}

impl<T, E, C: Clock> Policy<T, E> for Bulkhead<C> {
    #[inline]
    fn call<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
        let _permit = self.acquire()?;
        f()
    }
}

#[cfg(feature = "tokio")]
impl<T, E, C: Clock> AsyncPolicy<T, E> for Bulkhead<C> {
    async fn call_async<F, Fut>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        let _permit = self.acquire_async().await?;
        f().await
    }
}

impl<T, E, C: Clock> Policy<T, E> for RateLimiter<C> {
    #[inline]
    fn call<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
        self.check()?;
        f()
    }
}

impl<T, E, C: Clock> AsyncPolicy<T, E> for RateLimiter<C> {
    async fn call_async<F, Fut>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        self.check()?;
        f().await
    }
}

#[cfg(feature = "tokio")]
impl<T, E> AsyncPolicy<T, E> for Timeout {
    async fn call_async<F, Fut>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        match tokio::time::timeout(self.limit(), f()).await {
            Ok(result) => result,
            Err(_) => Err(Error::Elapsed(crate::Elapsed::new(self.limit()))),
        }
    }
}

/// Whether an attempt through a stack is worth another: the operation's own
/// errors as the retry classifies them, refusals and timeouts always.
fn transient<T, E, K: Classify<T, E>>(classify: &K, error: &Error<E>) -> bool {
    match error {
        Error::Inner(e) => classify.is_transient(e),
        Error::Rejected(_) | Error::Elapsed(_) => true,
    }
}

/// The wait an attempt's error asks for: a refusal's own, or the hint the
/// retry finds in the operation's error.
fn hint<E, H: RetryHint<E>>(hints: &H, error: &Error<E>) -> Option<Duration> {
    match error {
        Error::Inner(e) => hints.retry_after(e),
        Error::Rejected(r) => crate::retry::hint::rejection_wait(r),
        Error::Elapsed(_) => None,
    }
}

/// A give-up from a stack: the last attempt's error, flattened.
fn flatten<E>(e: RetryError<Error<E>>) -> RetryError<E> {
    RetryError {
        error: match e.error {
            Error::Inner(inner) => inner,
            Error::Rejected(r) => Error::Rejected(r),
            Error::Elapsed(x) => Error::Elapsed(x),
        },
        attempts: e.attempts,
        reason: e.reason,
    }
}

impl<C: Clock, K, H, S: Sleep> Retry<C, K, H, S> {
    /// Runs `f` through `policies` (see the [module docs](self)), again
    /// after each transient failure or refusal.
    ///
    /// # Errors
    ///
    /// A [`RetryError`] with the last attempt's error: `f`'s own, or an
    /// inner policy's refusal or timeout.
    pub fn call_through<T, E, P, F>(&self, policies: &P, mut f: F) -> Result<T, RetryError<E>>
    where
        P: Policy<T, E>,
        F: FnMut() -> Result<T, E>,
        K: Classify<T, E>,
        H: RetryHint<E>,
    {
        let (classify, hints) = self.parts();
        self.run_sync(
            || policies.call(|| f().map_err(Error::Inner)),
            |e| transient(classify, e),
            |e| hint(hints, e),
        )
        .map_err(flatten)
    }
}

#[cfg(feature = "tokio")]
impl<C: Clock, K, H, S> Retry<C, K, H, S> {
    /// Runs the future `f` makes through `policies`, again after each
    /// transient failure or refusal; the deadline, if any, also cuts an
    /// attempt in flight. `f` is called to make each attempt's future before
    /// the policies decide; the future is polled only if they admit it (so
    /// keep the work inside the `async` block, as usual).
    ///
    /// # Errors
    ///
    /// As [`call_through`](Self::call_through), and [`Error::Elapsed`]
    /// when the deadline cut the last attempt short.
    pub async fn call_through_async<T, E, P, F, Fut>(
        &self,
        policies: &P,
        mut f: F,
    ) -> Result<T, RetryError<E>>
    where
        P: AsyncPolicy<T, E>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
        H: RetryHint<E>,
    {
        self.run_async(
            || {
                let attempt = f();
                policies.call_async(|| async move { attempt.await.map_err(Error::Inner) })
            },
            |retry: &Self, e: &Error<E>| transient(retry.parts().0, e),
            |retry: &Self, e: &Error<E>| hint(retry.parts().1, e),
        )
        .await
        .map_err(flatten)
    }
}
