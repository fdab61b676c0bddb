//! [`BreakerRegistry`]: one breaker per key, bounded; its docs are on the
//! type.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use super::builder::CircuitBreakerBuilder;
use super::config::Config;
use super::{CircuitBreaker, State};
use crate::classify::DefaultClassify;
use crate::clock::{Clock, SystemClock, Tick};
use crate::config::{Checks, ConfigError};
use crate::observe::Subscribers;
use crate::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A registry has `max_keys` breakers and none can be evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "breaker registry is full: {max_keys} keys, none idle and closed; try again later or raise max_keys"
)]
pub struct RegistryFull {
    /// The registry's bound.
    pub max_keys: usize,
}

/// One key's breaker and what the sweeps know of it.
struct Slot<C, K> {
    breaker: Arc<CircuitBreaker<C, K>>,
    /// Activity reading at the sweep that first saw it.
    seen: u64,
    /// When activity was last seen to change.
    quiet_since: Tick,
}

/// Breakers by key: one per upstream host or tenant, made on first use from
/// one template, in bounded memory.
///
/// A registry holds at most `max_keys` breakers. When a new key arrives and
/// the registry is full, it *sweeps*: it evicts every breaker that is idle,
/// closed and not held by anyone. A breaker that is open, half-open or in a
/// manual state is never evicted: forgetting it would let traffic through to
/// a dependency known to be down, or undo an operator's decision. If the
/// sweep frees nothing, [`get`](BreakerRegistry::get) returns
/// [`RegistryFull`] and the caller decides (fail the request, or call
/// without a breaker). Sweeps triggered by a full registry run at most once
/// per `sweep_interval`; call [`sweep`](BreakerRegistry::sweep) on a
/// schedule of your own to evict ahead of time.
///
/// **Idle** means: no call, rejection or state change touched the breaker
/// since a sweep (or its creation) at least `idle_after` ago. Activity is
/// read from the breaker's own counters, so calls pay nothing extra for it;
/// the price is that a sweep only learns *that* a breaker was used since
/// the last look, not when, so it restarts the idle clock then: with rare
/// sweeps, eviction can take up to twice `idle_after`.
///
/// **Compact breakers.** A standalone breaker keeps a stripe of counters per
/// thread (up to twice the cores), which buys lock-free, contention-free
/// successes but costs a few KiB; a registry's breakers keep one shared
/// stripe instead (successes are one atomic add on a line shared by the
/// threads using *that key*), so 100,000 keys fit in tens of MiB.
/// Behaviour is identical; only the cost of a success under contention on
/// one key differs.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::breaker::{BreakerRegistry, CircuitBreaker};
///
/// let registry = BreakerRegistry::builder(
///     CircuitBreaker::builder("upstream").consecutive_failures(5),
/// )
/// .max_keys(10_000)
/// .idle_after(Duration::from_secs(600))
/// .build()?;
///
/// let breaker = registry.get(&"api.example.com".to_string())?;
/// let reply = breaker.call(|| Ok::<_, std::io::Error>("200 OK"));
/// assert!(reply.is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct BreakerRegistry<Key, C = SystemClock, K = DefaultClassify> {
    map: DashMap<Key, Slot<C, K>, foldhash::fast::RandomState>,
    config: Config,
    clock: C,
    classify: K,
    subscribers: Subscribers,
    max_keys: usize,
    /// Keys held or being inserted; never above `max_keys`.
    keys: AtomicUsize,
    idle_after: Duration,
    sweep_interval: Duration,
    last_sweep: Mutex<Option<Tick>>,
    /// What evicted breakers had counted, so totals never go back.
    retired: Mutex<super::BreakerCounters>,
    /// Export a series per key (bounded by `max_keys`) besides the sums.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    metrics_per_key: bool,
}

/// Builds a [`BreakerRegistry`]; made by [`BreakerRegistry::builder`].
#[must_use = "a builder does nothing until `build()`"]
#[derive(Debug)]
pub struct BreakerRegistryBuilder<C, K> {
    template: CircuitBreakerBuilder<C, K>,
    max_keys: usize,
    idle_after: Duration,
    sweep_interval: Duration,
    metrics_per_key: bool,
}

impl BreakerRegistry<()> {
    /// A registry whose breakers are built like `template` (each named
    /// `"{template name}/{key}"`). Defaults: 10,000 keys, idle after 10
    /// minutes, sweeps of a full registry at most once a second.
    pub fn builder<C: Clock, K>(
        template: CircuitBreakerBuilder<C, K>,
    ) -> BreakerRegistryBuilder<C, K> {
        BreakerRegistryBuilder {
            template,
            max_keys: 10_000,
            idle_after: Duration::from_secs(600),
            sweep_interval: Duration::from_secs(1),
            metrics_per_key: false,
        }
    }
}

impl<C, K> BreakerRegistryBuilder<C, K> {
    /// The largest `max_keys`.
    pub const MAX_KEYS: usize = 10_000_000;
}

impl<C: Clock, K> BreakerRegistryBuilder<C, K> {
    /// The most breakers the registry holds (1 to
    /// [`MAX_KEYS`](Self::MAX_KEYS)).
    pub fn max_keys(mut self, keys: usize) -> Self {
        self.max_keys = keys;
        self
    }

    /// How long a closed breaker must go untouched before it may be evicted.
    pub fn idle_after(mut self, idle: Duration) -> Self {
        self.idle_after = idle;
        self
    }

    /// Exports every key's breaker as series of its own (named
    /// `"{template}/{key}"`), besides the registry's sums; at most
    /// `max_keys` of them. Off by default: keys often come from requests
    /// (hosts, tenants), and a series per key is what metrics backends
    /// struggle with.
    pub fn metrics_per_key(mut self, on: bool) -> Self {
        self.metrics_per_key = on;
        self
    }

    /// The least time between two sweeps that a full registry triggers.
    pub fn sweep_interval(mut self, interval: Duration) -> Self {
        self.sweep_interval = interval;
        self
    }

    /// Checks the template and the limits.
    ///
    /// # Errors
    ///
    /// The template's [`ConfigError`], or one naming `max_keys` (out of
    /// range), `idle_after` or `sweep_interval` (zero).
    pub fn build<Key>(self) -> Result<BreakerRegistry<Key, C, K>, ConfigError>
    where
        Key: Hash + Eq,
    {
        let (config, clock, classify, subscribers) = self.template.into_template()?;
        let check = Checks::named("breaker registry", &config.name);
        check.count("max_keys", self.max_keys, 1, Self::MAX_KEYS, "keys")?;
        check.positive("idle_after", self.idle_after)?;
        check.positive("sweep_interval", self.sweep_interval)?;
        Ok(BreakerRegistry {
            map: DashMap::with_hasher(foldhash::fast::RandomState::default()),
            config,
            clock,
            classify,
            subscribers,
            max_keys: self.max_keys,
            keys: AtomicUsize::new(0),
            idle_after: self.idle_after,
            sweep_interval: self.sweep_interval,
            last_sweep: Mutex::new(None),
            retired: Mutex::new(super::BreakerCounters::default()),
            metrics_per_key: self.metrics_per_key,
        })
    }
}

impl<Key, C, K> BreakerRegistry<Key, C, K>
where
    Key: Hash + Eq + Clone + fmt::Display,
    C: Clock,
    K: Clone,
{
    /// The breaker for `key`, made on first use.
    ///
    /// # Errors
    ///
    /// [`RegistryFull`] when the key is new, the registry holds `max_keys`
    /// breakers and a sweep (if one may run now) evicts none.
    #[inline]
    pub fn get(&self, key: &Key) -> Result<Arc<CircuitBreaker<C, K>>, RegistryFull> {
        if let Some(slot) = self.map.get(key) {
            return Ok(slot.breaker.clone());
        }
        self.insert(key)
    }

    #[cold]
    fn insert(&self, key: &Key) -> Result<Arc<CircuitBreaker<C, K>>, RegistryFull> {
        if !self.reserve() {
            let now = self.clock.coarse();
            let may_sweep = {
                let mut last = self.last_sweep.lock();
                let due = last.is_none_or(|at| now - at >= self.sweep_interval);
                if due {
                    *last = Some(now);
                }
                due
            };
            if may_sweep {
                self.sweep();
            }
            if !self.reserve() {
                // Another thread may have inserted this very key meanwhile.
                return match self.map.get(key) {
                    Some(slot) => Ok(slot.breaker.clone()),
                    None => Err(RegistryFull {
                        max_keys: self.max_keys,
                    }),
                };
            }
        }
        match self.map.entry(key.clone()) {
            Entry::Occupied(slot) => {
                self.keys.fetch_sub(1, Ordering::Relaxed); // not needed after all
                Ok(slot.get().breaker.clone())
            }
            Entry::Vacant(vacant) => Ok(vacant.insert(self.new_slot(key)).breaker.clone()),
        }
    }

    /// Takes room for one more key, if there is any.
    fn reserve(&self) -> bool {
        self.keys
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                (held < self.max_keys).then_some(held + 1)
            })
            .is_ok()
    }

    fn new_slot(&self, key: &Key) -> Slot<C, K> {
        let mut config = self.config.clone();
        config.name = format!("{}/{key}", self.config.name).into();
        let breaker = CircuitBreaker::from_parts(
            config,
            self.clock.clone(),
            self.classify.clone(),
            self.subscribers.clone(),
            0,
        );
        Slot {
            seen: breaker.activity(),
            quiet_since: self.clock.coarse(),
            breaker: Arc::new(breaker),
        }
    }

    /// Evicts every breaker that is closed, held by no one, and idle for at
    /// least `idle_after`; returns how many it evicted. Takes each shard's
    /// write lock in turn.
    pub fn sweep(&self) -> usize {
        let now = self.clock.coarse();
        let mut evicted = 0;
        self.map.retain(|_, slot| {
            let activity = slot.breaker.activity();
            if activity != slot.seen {
                slot.seen = activity;
                slot.quiet_since = now;
                return true;
            }
            let idle = now - slot.quiet_since >= self.idle_after;
            let evictable = Arc::strong_count(&slot.breaker) == 1
                && slot.breaker.state() == State::Closed
                && slot.breaker.activity() == activity;
            if idle && evictable {
                self.retired.lock().add(slot.breaker.counters());
                evicted += 1;
                return false;
            }
            true
        });
        self.keys.fetch_sub(evicted, Ordering::Relaxed);
        evicted
    }

    /// Breakers held now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no breaker is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<Key, C: Clock, K> fmt::Debug for BreakerRegistry<Key, C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerRegistry")
            .field("name", &self.config.name)
            .field("keys", &self.keys.load(Ordering::Relaxed))
            .field("max_keys", &self.max_keys)
            .field("idle_after", &self.idle_after)
            .finish_non_exhaustive()
    }
}

impl<Key: Hash + Eq, C, K> BreakerRegistry<Key, C, K> {
    /// The registry's name (its template's).
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Every call its breakers have seen, summed over the keys held and the
    /// ones evicted: counts that never go back. A read that changes nothing.
    pub fn counters(&self) -> super::BreakerCounters
    where
        C: Clock,
    {
        let mut total = *self.retired.lock();
        for slot in self.map.iter() {
            total.add(slot.breaker.counters());
        }
        total
    }

    /// Visits every breaker held now.
    #[cfg(feature = "metrics")]
    pub(crate) fn for_each(&self, mut visit: impl FnMut(&CircuitBreaker<C, K>)) {
        for slot in self.map.iter() {
            visit(&slot.breaker);
        }
    }

    #[cfg(feature = "metrics")]
    pub(crate) fn exports_per_key(&self) -> bool {
        self.metrics_per_key
    }
}
