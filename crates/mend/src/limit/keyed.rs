//! A rate limit per key (client, host), in bounded memory.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;

use super::Quota;
use super::counters::{ADMITTED, LimiterCounters, REJECTED};
use super::episode::Reporter;
use super::event::LimitKind;
use super::governed::{GovernorClock, GovernorInstant};
use crate::clock::{Clock, SystemClock};
use crate::config::{Checks, ConfigError};
use crate::error::{Error, Rejected};
use crate::observe::{Subscriber, Subscribers};
use crate::tally::Tally;

type Inner<K, C> = governor::RateLimiter<
    K,
    DefaultKeyedStateStore<K>,
    GovernorClock<C>,
    NoOpMiddleware<GovernorInstant>,
>;

/// How many checks pass between two sweeps of forgotten keys, by default.
const DEFAULT_SWEEP_EVERY: u64 = 4096;

/// A [`Quota`] for each key (per client, per host) on governor's keyed
/// limiter.
///
/// # Memory
///
/// Each key seen costs one entry. Every `sweep_every` checks (4096 unless
/// set with [`sweep_every`](KeyedRateLimiterBuilder::sweep_every)) the check
/// that crosses the mark calls governor's `retain_recent` and
/// `shrink_to_fit`, which drop every key whose state is back to "fresh" (its
/// quota fully replenished). So the map holds at most the keys limited
/// within one quota period plus the keys seen in the last `sweep_every`
/// checks. Call [`retain_recent`](Self::retain_recent) yourself on a timer
/// for a bound in time rather than in checks.
///
/// Starting and stopping to refuse calls (any key) are
/// [`LimitEvent`](super::LimitEvent)s; every call is counted
/// ([`counters`](Self::counters)).
///
/// # Examples
///
/// ```
/// use std::num::NonZeroU32;
/// use mend::clock::ManualClock;
/// use mend::limit::{KeyedRateLimiter, Quota};
///
/// let limiter = KeyedRateLimiter::builder("per-client", Quota::per_minute(NonZeroU32::new(1).unwrap()))
///     .clock(ManualClock::new())
///     .build()?;
/// assert!(limiter.check(&"alice").is_ok());
/// assert!(limiter.check(&"alice").is_err());
/// assert!(limiter.check(&"bob").is_ok(), "each key has its own quota");
/// # Ok::<(), mend::ConfigError>(())
/// ```
pub struct KeyedRateLimiter<K: Hash + Eq + Clone, C: Clock = SystemClock> {
    inner: Inner<K, C>,
    clock: GovernorClock<C>,
    checks: AtomicU64,
    sweep_every: u64,
    tally: Tally<2>,
    reporter: Reporter,
}

impl KeyedRateLimiter<()> {
    /// Starts building a keyed limiter called `name` allowing `quota` per
    /// key (the key type is chosen at `build()`).
    pub fn builder(name: &str, quota: Quota) -> KeyedRateLimiterBuilder {
        KeyedRateLimiterBuilder {
            name: name.into(),
            quota,
            sweep_every: DEFAULT_SWEEP_EVERY,
            clock: SystemClock,
            subscribers: Subscribers::new(),
        }
    }
}

/// Builds a [`KeyedRateLimiter`]; made by [`KeyedRateLimiter::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build()`"]
pub struct KeyedRateLimiterBuilder<C = SystemClock> {
    name: Arc<str>,
    quota: Quota,
    sweep_every: u64,
    clock: C,
    subscribers: Subscribers,
}

impl<C> KeyedRateLimiterBuilder<C> {
    /// The largest `sweep_every`.
    pub const MAX_SWEEP_EVERY: u64 = 1 << 40;
}

impl<C: Clock> KeyedRateLimiterBuilder<C> {
    /// Sweeps forgotten keys every `checks` checks (1 to
    /// [`MAX_SWEEP_EVERY`](Self::MAX_SWEEP_EVERY); default 4096).
    pub fn sweep_every(mut self, checks: u64) -> Self {
        self.sweep_every = checks;
        self
    }

    /// Reads time from `clock` (a `ManualClock` in tests).
    pub fn clock<C2: Clock>(self, clock: C2) -> KeyedRateLimiterBuilder<C2> {
        KeyedRateLimiterBuilder {
            name: self.name,
            quota: self.quota,
            sweep_every: self.sweep_every,
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

    /// Checks the settings and builds the limiter.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for `sweep_every` out of range.
    pub fn build<K: Hash + Eq + Clone>(self) -> Result<KeyedRateLimiter<K, C>, ConfigError> {
        let check = Checks::named("keyed rate limiter", &self.name);
        let sweep_every = check.count(
            "sweep_every",
            self.sweep_every,
            1,
            Self::MAX_SWEEP_EVERY,
            "checks",
        )?;
        let clock = GovernorClock::new(self.clock);
        Ok(KeyedRateLimiter {
            inner: governor::RateLimiter::dashmap_with_clock(self.quota, clock.clone()),
            clock,
            checks: AtomicU64::new(0),
            sweep_every,
            tally: Tally::new(),
            reporter: Reporter::new(self.name, LimitKind::KeyedRateLimiter, self.subscribers),
        })
    }
}

impl<K: Hash + Eq + Clone, C: Clock> KeyedRateLimiter<K, C> {
    /// Its name, kind, subscribers and episodes.
    #[cfg(feature = "metrics")]
    pub(crate) fn reporter(&self) -> &super::episode::Reporter {
        &self.reporter
    }

    /// The limiter's name.
    pub fn name(&self) -> &str {
        &self.reporter.name
    }

    /// Takes one call from `key`'s quota.
    ///
    /// # Errors
    ///
    /// [`Rejected::Limited`] with the wait until `key` may call again.
    pub fn check(&self, key: &K) -> Result<(), Rejected> {
        let result = match self.inner.check_key(key) {
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
        };
        let n = self.checks.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(self.sweep_every) {
            self.retain_recent();
        }
        result
    }

    /// Drops every key whose quota is fully replenished, and the memory it
    /// held.
    pub fn retain_recent(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }

    /// What the limiter has counted, over every key (a read that changes
    /// nothing).
    pub fn counters(&self) -> LimiterCounters {
        LimiterCounters {
            admitted: self.tally.get(ADMITTED),
            rejected: self.tally.get(REJECTED),
        }
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Runs `f` if `key`'s quota allows it.
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] if limited (`f` did not run), [`Error::Inner`]
    /// with `f`'s own error otherwise.
    pub fn call<T, E, F>(&self, key: &K, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Result<T, E>,
    {
        self.check(key)?;
        f().map_err(Error::Inner)
    }

    /// Runs the future `f` makes if `key`'s quota allows it.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub async fn call_async<T, E, F, Fut>(&self, key: &K, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.check(key)?;
        f().await.map_err(Error::Inner)
    }
}

impl<K: Hash + Eq + Clone, C: Clock> fmt::Debug for KeyedRateLimiter<K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedRateLimiter")
            .field("name", &self.reporter.name)
            .field("keys", &self.inner.len())
            .finish_non_exhaustive()
    }
}
