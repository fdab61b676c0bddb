//! A rate limiter on governor's GCRA, reading mend's clock.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};

use super::counters::{ADMITTED, LimiterCounters, REJECTED};
use super::{GovernorClock, GovernorInstant, Quota};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Rejected};
use crate::tally::Tally;

type Inner<C> = governor::RateLimiter<
    NotKeyed,
    InMemoryState,
    GovernorClock<C>,
    NoOpMiddleware<GovernorInstant>,
>;

/// At most a [`Quota`] of calls; the rest are refused with
/// [`Rejected::Limited`], which says when the next call may go.
///
/// One limiter for all callers (governor's direct limiter: one atomic
/// compare-and-swap per check). For one limit per client or host, see
/// [`KeyedRateLimiter`](super::KeyedRateLimiter).
///
/// # Examples
///
/// ```
/// use std::{num::NonZeroU32, time::Duration};
/// use mend::clock::ManualClock;
/// use mend::limit::{Quota, RateLimiter};
///
/// let clock = ManualClock::new();
/// let quota = Quota::per_second(NonZeroU32::new(2).unwrap());
/// let limiter = RateLimiter::with_clock("search", quota, clock.clone());
/// assert!(limiter.check().is_ok());
/// assert!(limiter.check().is_ok());
/// let refused = limiter.check().unwrap_err();
/// assert_eq!(refused.retry_after(), Some(Duration::from_millis(500)));
/// clock.advance(Duration::from_millis(500));
/// assert!(limiter.check().is_ok());
/// ```
pub struct RateLimiter<C: Clock = SystemClock> {
    name: Arc<str>,
    inner: Inner<C>,
    clock: GovernorClock<C>,
    tally: Tally<2>,
}

impl RateLimiter {
    /// A limiter called `name` allowing `quota`, on the system clock.
    pub fn new(name: &str, quota: Quota) -> Self {
        Self::with_clock(name, quota, SystemClock)
    }
}

impl<C: Clock> RateLimiter<C> {
    /// A limiter reading time from `clock` (a `ManualClock` in tests).
    pub fn with_clock(name: &str, quota: Quota, clock: C) -> Self {
        let clock = GovernorClock(clock);
        RateLimiter {
            name: name.into(),
            inner: governor::RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
            tally: Tally::new(),
        }
    }

    /// The limiter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes one call from the quota.
    ///
    /// # Errors
    ///
    /// [`Rejected::Limited`] with the wait until the next call may go.
    #[inline]
    pub fn check(&self) -> Result<(), Rejected> {
        match self.inner.check() {
            Ok(()) => {
                self.tally.add(ADMITTED);
                Ok(())
            }
            Err(not_until) => {
                self.tally.add(REJECTED);
                Err(Rejected::Limited {
                    retry_after: not_until.wait_time_from(self.clock.now()),
                })
            }
        }
    }

    /// What the limiter has counted (a read that changes nothing).
    pub fn counters(&self) -> LimiterCounters {
        LimiterCounters {
            admitted: self.tally.get(ADMITTED),
            rejected: self.tally.get(REJECTED),
        }
    }

    /// Runs `f` if the quota allows it.
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] if limited (`f` did not run), [`Error::Inner`]
    /// with `f`'s own error otherwise.
    #[inline]
    pub fn call<T, E, F>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Result<T, E>,
    {
        self.check()?;
        f().map_err(Error::Inner)
    }

    /// Runs the future `f` makes if the quota allows it.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub async fn call_async<T, E, F, Fut>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.check()?;
        f().await.map_err(Error::Inner)
    }
}

impl<C: Clock> fmt::Debug for RateLimiter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
