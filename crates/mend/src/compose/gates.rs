//! [`Policy`] and [`AsyncPolicy`] for mend's gates: the circuit breaker,
//! the bulkhead, the rate limiter and the timeout.

use std::future::Future;

use super::{AsyncPolicy, Policy};
use crate::breaker::CircuitBreaker;
use crate::classify::Classify;
use crate::clock::Clock;
use crate::error::Error;
use crate::limit::{Bulkhead, RateLimiter};

#[cfg(feature = "tokio")]
use crate::limit::Timeout;

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
