//! A rate limiter on governor's GCRA, reading mend's clock.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};

use super::Quota;
use super::counters::{ADMITTED, LimiterCounters, REJECTED};
use super::episode::Reporter;
use super::event::LimitKind;
use super::governed::{GovernorClock, GovernorInstant};
use crate::clock::{Clock, SystemClock};
use crate::config::ConfigError;
use crate::error::{Error, Rejected};
use crate::observe::{Subscriber, Subscribers};
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
/// [`KeyedRateLimiter`](super::KeyedRateLimiter). Starting and stopping to
/// refuse calls are [`LimitEvent`](super::LimitEvent)s; every call is
/// counted ([`counters`](Self::counters)).
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
/// let limiter = RateLimiter::builder("search", quota).clock(clock.clone()).build()?;
/// assert!(limiter.check().is_ok());
/// assert!(limiter.check().is_ok());
/// let refused = limiter.check().unwrap_err();
/// assert_eq!(refused.retry_after(), Some(Duration::from_millis(500)));
/// clock.advance(Duration::from_millis(500));
/// assert!(limiter.check().is_ok());
/// # Ok::<(), mend::ConfigError>(())
/// ```
pub struct RateLimiter<C: Clock = SystemClock> {
    inner: Inner<C>,
    clock: GovernorClock<C>,
    tally: Tally<2>,
    reporter: Reporter,
}

impl RateLimiter {
    /// Starts building a limiter called `name` allowing `quota`.
    pub fn builder(name: &str, quota: Quota) -> RateLimiterBuilder {
        RateLimiterBuilder {
            name: name.into(),
            quota,
            clock: SystemClock,
            subscribers: Subscribers::new(),
        }
    }
}

/// Builds a [`RateLimiter`]; made by [`RateLimiter::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build()`"]
pub struct RateLimiterBuilder<C = SystemClock> {
    name: Arc<str>,
    quota: Quota,
    clock: C,
    subscribers: Subscribers,
}

impl<C: Clock> RateLimiterBuilder<C> {
    /// Reads time from `clock` (a `ManualClock` in tests).
    pub fn clock<C2: Clock>(self, clock: C2) -> RateLimiterBuilder<C2> {
        RateLimiterBuilder {
            name: self.name,
            quota: self.quota,
            clock,
            subscribers: self.subscribers,
        }
    }

    /// Adds a subscriber to this limiter's events.
    pub fn on_event(mut self, subscriber: impl Subscriber) -> Self {
        self.subscribers.push(subscriber);
        self
    }

    /// Turns off the built-in `tracing` log of this limiter's events.
    pub fn without_logging(mut self) -> Self {
        self.subscribers.set_logging(false);
        self
    }

    /// Builds the limiter.
    ///
    /// # Errors
    ///
    /// None today: a [`Quota`] is valid by construction. The `Result` keeps
    /// the shape of every builder.
    pub fn build(self) -> Result<RateLimiter<C>, ConfigError> {
        let clock = GovernorClock::new(self.clock);
        Ok(RateLimiter {
            inner: governor::RateLimiter::direct_with_clock(self.quota, clock.clone()),
            clock,
            tally: Tally::new(),
            reporter: Reporter::new(self.name, LimitKind::RateLimiter, self.subscribers),
        })
    }
}

impl<C: Clock> RateLimiter<C> {
    /// Its name, kind, subscribers and episodes.
    #[cfg(feature = "metrics")]
    pub(crate) fn reporter(&self) -> &super::episode::Reporter {
        &self.reporter
    }

    /// The limiter's name.
    pub fn name(&self) -> &str {
        &self.reporter.name
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
                self.reporter
                    .admitted(self.clock.inner(), || self.tally.get(REJECTED));
                Ok(())
            }
            Err(not_until) => {
                self.tally.add(REJECTED);
                self.reporter
                    .refused(self.clock.inner(), || self.tally.get(REJECTED));
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
            .field("name", &self.reporter.name)
            .finish_non_exhaustive()
    }
}
