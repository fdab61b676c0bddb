//! A rate limit per key (client, host), in bounded memory.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;

use super::counters::{ADMITTED, LimiterCounters, REJECTED};
use super::{GovernorClock, GovernorInstant, Quota};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Rejected};
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
/// set with [`sweep_every`](Self::sweep_every)) the check that crosses the
/// mark calls governor's `retain_recent` and `shrink_to_fit`, which drop
/// every key whose state is back to "fresh" (its quota fully replenished).
/// So the map holds at most the keys limited within one quota period plus
/// the keys seen in the last `sweep_every` checks. Call
/// [`retain_recent`](Self::retain_recent) yourself on a timer for a bound in
/// time rather than in checks.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroU32;
/// use mend::clock::ManualClock;
/// use mend::limit::{KeyedRateLimiter, Quota};
///
/// let limiter = KeyedRateLimiter::with_clock(
///     "per-client",
///     Quota::per_minute(NonZeroU32::new(1).unwrap()),
///     ManualClock::new(),
/// );
/// assert!(limiter.check(&"alice").is_ok());
/// assert!(limiter.check(&"alice").is_err());
/// assert!(limiter.check(&"bob").is_ok(), "each key has its own quota");
/// ```
pub struct KeyedRateLimiter<K: Hash + Eq + Clone, C: Clock = SystemClock> {
    name: Arc<str>,
    inner: Inner<K, C>,
    clock: GovernorClock<C>,
    checks: AtomicU64,
    sweep_every: u64,
    tally: Tally<2>,
}

impl<K: Hash + Eq + Clone> KeyedRateLimiter<K> {
    /// A keyed limiter called `name` allowing `quota` per key.
    pub fn new(name: &str, quota: Quota) -> Self {
        Self::with_clock(name, quota, SystemClock)
    }
}

impl<K: Hash + Eq + Clone, C: Clock> KeyedRateLimiter<K, C> {
    /// A keyed limiter reading time from `clock`.
    pub fn with_clock(name: &str, quota: Quota, clock: C) -> Self {
        let clock = GovernorClock(clock);
        KeyedRateLimiter {
            name: name.into(),
            inner: governor::RateLimiter::dashmap_with_clock(quota, clock.clone()),
            clock,
            checks: AtomicU64::new(0),
            sweep_every: DEFAULT_SWEEP_EVERY,
            tally: Tally::new(),
        }
    }

    /// Sweeps forgotten keys every `checks` checks (at least 1).
    #[must_use]
    pub fn sweep_every(mut self, checks: u64) -> Self {
        self.sweep_every = checks.max(1);
        self
    }

    /// The limiter's name.
    pub fn name(&self) -> &str {
        &self.name
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
                Ok(())
            }
            Err(not_until) => {
                self.tally.add(REJECTED);
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
            .field("name", &self.name)
            .field("keys", &self.inner.len())
            .finish_non_exhaustive()
    }
}
