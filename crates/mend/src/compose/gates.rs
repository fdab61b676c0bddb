//! [`Policy`], [`AsyncPolicy`](super::AsyncPolicy) and
//! [`SendAsyncPolicy`](super::SendAsyncPolicy) for mend's gates: the circuit breaker, the bulkhead, the rate limiter and
//! the timeout.
//!
//! Each gate runs an async call through any handle to it (`&'a Gate` or
//! `Arc<Gate>`) with one function whose future owns the handle; the
//! `async_handles!` macro turns that function into the trait impls.

use std::future::Future;
use std::ops::Deref;

use super::{Policy, async_handles};
use crate::breaker::{CircuitBreaker, Permit};
use crate::classify::Classify;
use crate::clock::Clock;
use crate::error::Error;
use crate::limit::Bulkhead;
#[cfg(feature = "rate-limit")]
use crate::limit::RateLimiter;

#[cfg(feature = "tokio")]
use crate::limit::Timeout;

/// Records an attempt's result with a breaker permit: the operation's own
/// result through the breaker's classifier, an inner timeout as a failure,
/// an inner rejection as ignored.
fn record<T, E, C: Clock, K: Classify<T, E>>(
    permit: Permit<'_, C, K>,
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
    fn run<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
        let permit = self.try_acquire()?;
        record(permit, f())
    }
}

/// A call through a breaker held by `breaker`.
async fn breaker_run<T, E, C, K, B, F, Fut>(breaker: B, f: F) -> Result<T, Error<E>>
where
    C: Clock,
    K: Classify<T, E>,
    B: Deref<Target = CircuitBreaker<C, K>>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, Error<E>>>,
{
    let permit = breaker.try_acquire()?;
    record(permit, f().await)
}

async_handles!(<C, K> CircuitBreaker<C, K> where [C: Clock, K: Classify<T, E>,] via breaker_run);

impl<T, E, C: Clock> Policy<T, E> for Bulkhead<C> {
    #[inline]
    fn run<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
        let _permit = self.acquire()?;
        f()
    }
}

/// A call in a slot of a bulkhead held by `bulkhead`, waiting for one on
/// tokio's timer.
#[cfg(feature = "tokio")]
async fn bulkhead_run<T, E, C, B, F, Fut>(bulkhead: B, f: F) -> Result<T, Error<E>>
where
    C: Clock,
    B: Deref<Target = Bulkhead<C>>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, Error<E>>>,
{
    let _permit = bulkhead.acquire_async().await?;
    f().await
}

#[cfg(feature = "tokio")]
async_handles!(<C> Bulkhead<C> where [C: Clock,] via bulkhead_run);

#[cfg(feature = "rate-limit")]
impl<T, E, C: Clock> Policy<T, E> for RateLimiter<C> {
    #[inline]
    fn run<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
        self.check()?;
        f()
    }
}

/// A call through a rate limiter held by `limiter`.
#[cfg(feature = "rate-limit")]
async fn limiter_run<T, E, C, B, F, Fut>(limiter: B, f: F) -> Result<T, Error<E>>
where
    C: Clock,
    B: Deref<Target = RateLimiter<C>>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, Error<E>>>,
{
    limiter.check()?;
    f().await
}

#[cfg(feature = "rate-limit")]
async_handles!(<C> RateLimiter<C> where [C: Clock,] via limiter_run);

/// A call cut off at the limit of the timeout `timeout` points to.
#[cfg(feature = "tokio")]
async fn timeout_run<T, E, C, B, F, Fut>(timeout: B, f: F) -> Result<T, Error<E>>
where
    C: Clock,
    B: Deref<Target = Timeout<C>>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, Error<E>>>,
{
    timeout.run(f).await
}

#[cfg(feature = "tokio")]
async_handles!(<C> Timeout<C> where [C: Clock,] via timeout_run);
