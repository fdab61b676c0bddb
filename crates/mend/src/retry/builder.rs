//! The retry's settings and the builder that checks them.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use super::budget::Budget;
use super::{Backoff, DefaultHint, FromError, HintFn, Jitter, Retry, RetryBudget};
use super::{ManualSleep, Sleep, ThreadSleep};
use crate::classify::{DefaultClassify, TransientFn};
use crate::clock::{Clock, ManualClock, SystemClock};
use crate::config::{Checks, ConfigError};
use crate::observe::{Subscriber, Subscribers};

/// A retry's validated settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) name: Arc<str>,
    pub(crate) backoff: Backoff,
    pub(crate) jitter: Jitter,
    pub(crate) max_attempts: u32,
    pub(crate) deadline: Option<Duration>,
    pub(crate) max_retry_after: Duration,
    pub(crate) budget: Option<Arc<dyn Budget>>,
    pub(crate) seed: u64,
}

/// Builds a [`Retry`]; made by [`Retry::builder`].
///
/// Defaults: at most 3 attempts, exponential backoff from 100 ms doubling
/// up to 30 s, full jitter, no deadline, no budget, server hints of up to
/// 60 s honoured, transient errors ([`Classify::is_transient`]) retried.
///
/// [`Classify::is_transient`]: crate::classify::Classify::is_transient
#[must_use = "a builder does nothing until `build()`"]
pub struct RetryBuilder<C = SystemClock, K = DefaultClassify, H = DefaultHint, S = ThreadSleep> {
    config: Config,
    subscribers: Subscribers,
    clock: C,
    classify: K,
    hint: H,
    sleep: S,
}

impl<C: fmt::Debug, K: fmt::Debug, H: fmt::Debug, S: fmt::Debug> fmt::Debug
    for RetryBuilder<C, K, H, S>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBuilder")
            .field("config", &self.config)
            .field("clock", &self.clock)
            .field("classify", &self.classify)
            .field("hint", &self.hint)
            .field("sleep", &self.sleep)
            .finish_non_exhaustive()
    }
}

impl RetryBuilder {
    pub(crate) fn new(name: &str) -> Self {
        RetryBuilder {
            config: Config {
                name: name.into(),
                backoff: Backoff::exponential(Duration::from_millis(100), 2.0),
                jitter: Jitter::Full,
                max_attempts: 3,
                deadline: None,
                max_retry_after: Duration::from_secs(60),
                budget: None,
                seed: RandomState::new().hash_one(name),
            },
            subscribers: Subscribers::new(),
            clock: SystemClock,
            classify: DefaultClassify,
            hint: DefaultHint,
            sleep: ThreadSleep,
        }
    }
}

impl<C, K, H, S> RetryBuilder<C, K, H, S> {
    /// The most attempts a retry may make.
    pub const MAX_ATTEMPTS: u32 = 1_000;
}

impl<C: Clock, K, H, S: Sleep> RetryBuilder<C, K, H, S> {
    /// The delays between attempts, before jitter.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.config.backoff = backoff;
        self
    }

    /// How to spread the delays.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.config.jitter = jitter;
        self
    }

    /// At most `attempts` attempts in all, the first included (1: never
    /// retry; at most [`MAX_ATTEMPTS`](Self::MAX_ATTEMPTS)).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.config.max_attempts = attempts;
        self
    }

    /// The whole operation, attempts and sleeps together, ends by
    /// `deadline` after it started (precise monotonic time). A sleep that
    /// would end past it is skipped and the retry gives up; in
    /// `call_async`, an attempt still running at the deadline is dropped
    /// and the caller gets [`Elapsed`](crate::Elapsed).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.config.deadline = Some(deadline);
        self
    }

    /// The longest server hint (`Retry-After`, an open breaker's wait) the
    /// retry will wait for; a longer one makes it give up.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.config.max_retry_after = max;
        self
    }

    /// Every first attempt deposits into `budget` and every retry must
    /// withdraw from it; share one budget between the retries of a
    /// dependency.
    pub fn budget<BC: Clock>(mut self, budget: Arc<RetryBudget<BC>>) -> Self {
        self.config.budget = Some(budget);
        self
    }

    /// Seeds the jitter, so delays repeat exactly from run to run (tests).
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Adds a subscriber to this retry's events.
    pub fn on_event(mut self, subscriber: impl Subscriber) -> Self {
        self.subscribers.push(subscriber);
        self
    }

    /// Turns off the built-in `tracing` log of this retry's events.
    pub fn without_logging(mut self) -> Self {
        self.subscribers.set_logging(false);
        self
    }

    /// Reads time from `clock`.
    pub fn clock<C2: Clock>(self, clock: C2) -> RetryBuilder<C2, K, H, S> {
        self.map(|_, k, h, s| (clock, k, h, s))
    }

    /// Decides which errors are transient with `classify`.
    pub fn classify<K2>(self, classify: K2) -> RetryBuilder<C, K2, H, S> {
        self.map(|c, _, h, s| (c, classify, h, s))
    }

    /// Retries exactly the errors for which `predicate` is true.
    pub fn retry_if<E, F>(self, predicate: F) -> RetryBuilder<C, TransientFn<F>, H, S>
    where
        F: Fn(&E) -> bool,
    {
        self.classify(crate::classify::transient_fn(predicate))
    }

    /// Finds server hints with `hint`.
    pub fn hint<H2>(self, hint: H2) -> RetryBuilder<C, K, H2, S> {
        self.map(|c, k, _, s| (c, k, hint, s))
    }

    /// Asks the error for its hint through [`RetryAfter`](super::RetryAfter).
    pub fn hint_from_error(self) -> RetryBuilder<C, K, FromError, S> {
        self.hint(FromError)
    }

    /// Finds server hints with a closure.
    pub fn retry_after_fn<E, F>(self, f: F) -> RetryBuilder<C, K, HintFn<F>, S>
    where
        F: Fn(&E) -> Option<std::time::Duration>,
    {
        self.hint(super::hint_fn(f))
    }

    /// Waits between sync attempts with `sleep`.
    pub fn sleep<S2: Sleep>(self, sleep: S2) -> RetryBuilder<C, K, H, S2> {
        self.map(|c, k, h, _| (c, k, h, sleep))
    }

    /// Reads time from `clock` and "sleeps" by advancing it: sync tests.
    pub fn manual_clock(self, clock: &ManualClock) -> RetryBuilder<ManualClock, K, H, ManualSleep> {
        self.clock(clock.clone()).sleep(ManualSleep(clock.clone()))
    }

    fn map<C2, K2, H2, S2>(
        self,
        f: impl FnOnce(C, K, H, S) -> (C2, K2, H2, S2),
    ) -> RetryBuilder<C2, K2, H2, S2> {
        let (clock, classify, hint, sleep) = f(self.clock, self.classify, self.hint, self.sleep);
        RetryBuilder {
            config: self.config,
            subscribers: self.subscribers,
            clock,
            classify,
            hint,
            sleep,
        }
    }

    /// Checks every setting and builds the retry.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first setting that cannot work:
    /// `max_attempts` outside 1 to [`MAX_ATTEMPTS`](Self::MAX_ATTEMPTS), a
    /// backoff multiplier that is not a finite number of at least 1, a
    /// backoff cap below its base, a jitter factor outside `[0, 1]` (NaN
    /// included), or a zero deadline.
    pub fn build(self) -> Result<Retry<C, K, H, S>, ConfigError> {
        let c = &self.config;
        let check = Checks::named("retry", &c.name);
        check.count(
            "max_attempts",
            c.max_attempts,
            1,
            Self::MAX_ATTEMPTS,
            "attempts",
        )?;
        c.backoff
            .validate(&check, ("backoff.multiplier", "backoff.cap"))?;
        c.jitter.validate(&check, "jitter")?;
        if let Some(deadline) = c.deadline {
            check.positive("deadline", deadline)?;
        }
        #[cfg(feature = "metrics")]
        let durations = c
            .deadline
            .map(|_| super::metrics::duration_histogram(&c.name));
        Ok(Retry {
            config: self.config,
            subscribers: self.subscribers,
            clock: self.clock,
            classify: self.classify,
            hint: self.hint,
            sleep: self.sleep,
            streams: AtomicU64::new(0),
            counts: super::counters::Counts::default(),
            #[cfg(feature = "metrics")]
            durations,
        })
    }
}
