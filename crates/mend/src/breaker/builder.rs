//! [`CircuitBreakerBuilder`]: every setting of a breaker, checked in
//! `build()`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::config::{Config, OpenWait, Policy, WindowKind};
use super::{CircuitBreaker, State};
use crate::classify::DefaultClassify;
use crate::clock::{Clock, SystemClock};
use crate::config::{Checks, ConfigError};
use crate::observe::{Subscriber, Subscribers};

/// `minimum_calls` unless set (capped at a count window's size, as
/// Resilience4j does).
const DEFAULT_MINIMUM_CALLS: u32 = 100;

/// The window as given: a time window is checked for whole seconds in
/// `build()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WindowSetting {
    Count(u32),
    Time(Duration),
}

/// Builds a [`CircuitBreaker`]; made by [`CircuitBreaker::builder`].
///
/// Defaults follow Resilience4j: a count window of the last 100 calls, at
/// least 100 calls (or the count window's size) before deciding, open at a
/// 50 % failure rate, slow-call detection off (turn it on with
/// [`slow_call_duration`](Self::slow_call_duration)), 60 s in open, 10
/// trial calls in half-open, no limit on half-open.
///
/// Size-like settings have maxima ([`MAX_COUNT_WINDOW`](Self::MAX_COUNT_WINDOW)
/// and the others below): a breaker's memory grows with its window, and a
/// registry holds one breaker per key.
#[must_use = "a builder does nothing until `build()`"]
pub struct CircuitBreakerBuilder<C = SystemClock, K = DefaultClassify> {
    name: Arc<str>,
    window: WindowSetting,
    /// `None`: 100, or the count window's size if smaller.
    minimum_calls: Option<u32>,
    failure_rate_threshold: f64,
    slow_call_rate_threshold: f64,
    slow_call_duration: Option<Duration>,
    consecutive_failures: Option<u32>,
    wait: OpenWait,
    /// The method that set `wait`, for error messages.
    wait_set_by: &'static str,
    half_open_calls: u32,
    max_wait_in_half_open: Option<Duration>,
    after_half_open_limit: State,
    initial_state: State,
    /// `None`: drawn from the name and the process's random state.
    seed: Option<u64>,
    subscribers: Subscribers,
    clock: C,
    classify: K,
}

impl<C: fmt::Debug, K: fmt::Debug> fmt::Debug for CircuitBreakerBuilder<C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerBuilder")
            .field("name", &self.name)
            .field("window", &self.window)
            .field("minimum_calls", &self.minimum_calls)
            .field("consecutive_failures", &self.consecutive_failures)
            .field("clock", &self.clock)
            .field("classify", &self.classify)
            .finish_non_exhaustive()
    }
}

impl CircuitBreakerBuilder {
    pub(crate) fn new(name: &str) -> Self {
        CircuitBreakerBuilder {
            name: name.into(),
            window: WindowSetting::Count(100),
            minimum_calls: None,
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration: None,
            consecutive_failures: None,
            wait: OpenWait {
                base: Duration::from_secs(60),
                multiplier: 1.0,
                max: Duration::from_secs(60),
                jitter: 0.0,
            },
            wait_set_by: "wait_in_open",
            half_open_calls: 10,
            max_wait_in_half_open: None,
            after_half_open_limit: State::Open,
            initial_state: State::Closed,
            seed: None,
            subscribers: Subscribers::new(),
            clock: SystemClock,
            classify: DefaultClassify,
        }
    }
}

impl<C, K> CircuitBreakerBuilder<C, K> {
    /// The largest count window: it costs a byte per call, in every breaker
    /// of a registry.
    pub const MAX_COUNT_WINDOW: u32 = 100_000;
    /// The longest time window, an hour: a breaker keeps a counter per
    /// second for each thread stripe (twice the cores, plus one), about
    /// 32 KiB per stripe at this length.
    pub const MAX_TIME_WINDOW: Duration = Duration::from_secs(3_600);
    /// The most calls `minimum_calls` may ask for (a count window caps it
    /// at its size).
    pub const MAX_MINIMUM_CALLS: u32 = 10_000_000;
    /// The longest run `consecutive_failures` may ask for.
    pub const MAX_CONSECUTIVE_FAILURES: u32 = 1_000_000;
    /// The most trial calls half-open may admit.
    pub const MAX_HALF_OPEN_CALLS: u32 = 100_000;
}

impl<C: Clock, K> CircuitBreakerBuilder<C, K> {
    /// Decide over the last `calls` recorded calls (one byte each; 1 to
    /// [`MAX_COUNT_WINDOW`](Self::MAX_COUNT_WINDOW)).
    pub fn count_window(mut self, calls: u32) -> Self {
        self.window = WindowSetting::Count(calls);
        self
    }

    /// Decide over the calls of the last `span` (whole seconds, one bucket
    /// per second, 1 s to [`MAX_TIME_WINDOW`](Self::MAX_TIME_WINDOW)).
    ///
    /// Every success reads the coarse clock to find its second. On a hot
    /// path, [`RecentClock`](crate::clock::RecentClock) makes that read a
    /// load from memory (about 4 ns less per call here) at the price of a
    /// ticker thread.
    pub fn time_window(mut self, span: Duration) -> Self {
        self.window = WindowSetting::Time(span);
        self
    }

    /// Fewest calls in the window before a rate can open the breaker
    /// (default 100, or the count window's size if that is smaller; 1 to
    /// the count window's size or [`MAX_MINIMUM_CALLS`](Self::MAX_MINIMUM_CALLS)).
    pub fn minimum_calls(mut self, calls: u32) -> Self {
        self.minimum_calls = Some(calls);
        self
    }

    /// Open when this percentage of the window's calls failed, in (0, 100].
    pub fn failure_rate_threshold(mut self, percent: f64) -> Self {
        self.failure_rate_threshold = percent;
        self
    }

    /// Open when this percentage of the window's calls were slow, in (0, 100].
    pub fn slow_call_rate_threshold(mut self, percent: f64) -> Self {
        self.slow_call_rate_threshold = percent;
        self
    }

    /// A call that takes longer than `duration` (precise clock) is slow.
    /// Turns slow-call detection on, which costs two precise clock readings
    /// per call.
    pub fn slow_call_duration(mut self, duration: Duration) -> Self {
        self.slow_call_duration = Some(duration);
        self
    }

    /// Instead of rates, open after `failures` failures in a row (failsafe's
    /// policy; 1 to [`MAX_CONSECUTIVE_FAILURES`](Self::MAX_CONSECUTIVE_FAILURES));
    /// in half-open, any failed trial reopens and `half_open_calls`
    /// successes close.
    pub fn consecutive_failures(mut self, failures: u32) -> Self {
        self.consecutive_failures = Some(failures);
        self
    }

    /// How long to stay open before letting trial calls through.
    pub fn wait_in_open(mut self, wait: Duration) -> Self {
        self.wait = OpenWait {
            base: wait,
            multiplier: 1.0,
            max: wait,
            jitter: self.wait.jitter,
        };
        self.wait_set_by = "wait_in_open";
        self
    }

    /// Wait `base` the first time it opens, then `multiplier` times longer
    /// each time it reopens from half-open, never more than `max`; back to
    /// `base` once it closes.
    pub fn wait_in_open_growing(mut self, base: Duration, multiplier: f64, max: Duration) -> Self {
        self.wait = OpenWait {
            base,
            multiplier,
            max,
            jitter: self.wait.jitter,
        };
        self.wait_set_by = "wait_in_open_growing";
        self
    }

    /// Spreads every open wait by up to `factor` of itself either way (in
    /// [0, 1]; Resilience4j's randomised interval): drawn uniformly from
    /// `wait * (1 - factor)` to `wait * (1 + factor)`, never past the
    /// growing wait's `max`. A fleet of clients whose breakers opened
    /// together then does not come back together.
    pub fn wait_in_open_jitter(mut self, factor: f64) -> Self {
        self.wait.jitter = factor;
        self
    }

    /// Seeds the open-wait jitter, so waits repeat exactly (tests). By
    /// default each breaker draws its own seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// How many trial calls half-open admits (1 to
    /// [`MAX_HALF_OPEN_CALLS`](Self::MAX_HALF_OPEN_CALLS)); the rest are
    /// rejected.
    pub fn half_open_calls(mut self, calls: u32) -> Self {
        self.half_open_calls = calls;
        self
    }

    /// Reopen a half-open breaker whose trials have not all reported back
    /// after `wait`. Trials that report later are stale and not counted.
    pub fn max_wait_in_half_open(self, wait: Duration) -> Self {
        self.max_wait_in_half_open_then(wait, State::Open)
    }

    /// As [`max_wait_in_half_open`](Self::max_wait_in_half_open), but go to
    /// `then` when the wait passes: [`State::Open`] (the default) or
    /// [`State::Closed`] (for dependencies that answer too rarely to finish
    /// their trials).
    pub fn max_wait_in_half_open_then(mut self, wait: Duration, then: State) -> Self {
        self.max_wait_in_half_open = Some(wait);
        self.after_half_open_limit = then;
        self
    }

    /// Starts the breaker in `state` without announcing a transition:
    /// [`State::Closed`] (the default), [`State::MetricsOnly`] (watch a new
    /// dependency before letting the breaker act), [`State::Disabled`] or
    /// [`State::ForcedOpen`].
    pub fn initial_state(mut self, state: State) -> Self {
        self.initial_state = state;
        self
    }

    /// Adds a subscriber to this breaker's events.
    pub fn on_event(mut self, subscriber: impl Subscriber) -> Self {
        self.subscribers.push(subscriber);
        self
    }

    /// Turns off the built-in `tracing` log of this breaker's events.
    pub fn without_logging(mut self) -> Self {
        self.subscribers.set_logging(false);
        self
    }

    /// Reads time from `clock` (a [`ManualClock`](crate::clock::ManualClock)
    /// in tests).
    pub fn clock<C2: Clock>(self, clock: C2) -> CircuitBreakerBuilder<C2, K> {
        self.map_parts(|_, classify| (clock, classify))
    }

    /// Classifies results with `classify` instead of [`DefaultClassify`].
    pub fn classify<K2>(self, classify: K2) -> CircuitBreakerBuilder<C, K2> {
        self.map_parts(|clock, _| (clock, classify))
    }

    fn map_parts<C2, K2>(self, f: impl FnOnce(C, K) -> (C2, K2)) -> CircuitBreakerBuilder<C2, K2> {
        let (clock, classify) = f(self.clock, self.classify);
        CircuitBreakerBuilder {
            name: self.name,
            window: self.window,
            minimum_calls: self.minimum_calls,
            failure_rate_threshold: self.failure_rate_threshold,
            slow_call_rate_threshold: self.slow_call_rate_threshold,
            slow_call_duration: self.slow_call_duration,
            consecutive_failures: self.consecutive_failures,
            wait: self.wait,
            wait_set_by: self.wait_set_by,
            half_open_calls: self.half_open_calls,
            max_wait_in_half_open: self.max_wait_in_half_open,
            after_half_open_limit: self.after_half_open_limit,
            initial_state: self.initial_state,
            seed: self.seed,
            subscribers: self.subscribers,
            clock,
            classify,
        }
    }

    /// Checks every setting and builds the breaker.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first setting that cannot work: a
    /// threshold outside (0, 100] (NaN included), a window outside its
    /// range or of fractional seconds, minimum calls outside theirs or more
    /// than a count window holds, consecutive failures or half-open calls
    /// outside theirs, a zero wait, a growth multiplier below 1 or not
    /// finite, a cap below the base wait, a zero half-open limit, or
    /// slow-call detection on a consecutive-failures breaker.
    pub fn build(self) -> Result<CircuitBreaker<C, K>, ConfigError> {
        let config = self.validate()?;
        Ok(CircuitBreaker::from_parts(
            config,
            self.clock,
            self.classify,
            self.subscribers,
            crate::stripes::stripe_count(),
        ))
    }

    /// Validates the settings and hands out the parts a registry builds its
    /// breakers from.
    pub(crate) fn into_template(self) -> Result<(Config, C, K, Subscribers), ConfigError> {
        let config = self.validate()?;
        Ok((config, self.clock, self.classify, self.subscribers))
    }

    fn validate(&self) -> Result<Config, ConfigError> {
        let check = Checks::named("circuit breaker", &self.name);
        let policy = match self.consecutive_failures {
            Some(failures) => {
                if let Some(slow) = self.slow_call_duration {
                    return Err(check.fail(
                        "slow_call_duration",
                        format!("{slow:?}"),
                        "no slow-call detection on a consecutive-failures breaker (use a window)",
                    ));
                }
                let failures = check.count(
                    "consecutive_failures",
                    failures,
                    1,
                    Self::MAX_CONSECUTIVE_FAILURES,
                    "failures",
                )?;
                Policy::Consecutive { failures }
            }
            None => self.rate_policy(&check)?,
        };
        check.positive(self.wait_set_by, self.wait.base)?;
        check.number("wait_in_open_growing", self.wait.multiplier, 1.0, f64::MAX)?;
        if self.wait.max < self.wait.base {
            return Err(check.fail(
                "wait_in_open_growing",
                format!("max {:?} < base {:?}", self.wait.max, self.wait.base),
                "a maximum no less than the base wait",
            ));
        }
        let half_open_calls = check.count(
            "half_open_calls",
            self.half_open_calls,
            1,
            Self::MAX_HALF_OPEN_CALLS,
            "trial calls",
        )?;
        if let Some(limit) = self.max_wait_in_half_open {
            check.positive("max_wait_in_half_open", limit)?;
        }
        if !matches!(self.after_half_open_limit, State::Open | State::Closed) {
            return Err(check.fail(
                "max_wait_in_half_open_then",
                self.after_half_open_limit,
                "open or closed",
            ));
        }
        if matches!(self.initial_state, State::Open | State::HalfOpen) {
            return Err(check.fail(
                "initial_state",
                self.initial_state,
                "closed, metrics_only, disabled or forced_open (open and half-open need a wait)",
            ));
        }
        check.number("wait_in_open_jitter", self.wait.jitter, 0.0, 1.0)?;
        let seed = self.seed.unwrap_or_else(|| {
            std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), &*self.name)
        });
        Ok(Config {
            name: self.name.clone(),
            policy,
            wait: self.wait,
            half_open_calls,
            max_wait_in_half_open: self.max_wait_in_half_open,
            after_half_open_limit: self.after_half_open_limit,
            initial_state: self.initial_state,
            seed,
        })
    }

    fn rate_policy(&self, check: &Checks) -> Result<Policy, ConfigError> {
        let window = match self.window {
            WindowSetting::Count(calls) => WindowKind::Count(check.count(
                "count_window",
                calls,
                1,
                Self::MAX_COUNT_WINDOW,
                "calls",
            )?),
            WindowSetting::Time(span) => {
                let span = check.duration(
                    "time_window",
                    span,
                    Duration::from_secs(1),
                    Self::MAX_TIME_WINDOW,
                )?;
                if span.subsec_nanos() != 0 {
                    return Err(check.fail(
                        "time_window",
                        format!("{span:?}"),
                        "a whole number of seconds",
                    ));
                }
                WindowKind::Time(span.as_secs() as u32)
            }
        };
        let (default_minimum, most) = match window {
            WindowKind::Count(size) => (size.min(DEFAULT_MINIMUM_CALLS), size),
            WindowKind::Time(_) => (DEFAULT_MINIMUM_CALLS, Self::MAX_MINIMUM_CALLS),
        };
        let minimum_calls = self.minimum_calls.unwrap_or(default_minimum);
        if let WindowKind::Count(size) = window
            && minimum_calls > size
        {
            return Err(check.fail(
                "minimum_calls",
                minimum_calls,
                format!(
                    "no more than the count window holds ({size}), or the breaker could never open"
                ),
            ));
        }
        let minimum_calls = check.count("minimum_calls", minimum_calls, 1, most, "calls")?;
        if let Some(slow) = self.slow_call_duration {
            check.positive("slow_call_duration", slow)?;
        }
        Ok(Policy::Rate {
            window,
            minimum_calls,
            failure_rate_threshold: check
                .percent("failure_rate_threshold", self.failure_rate_threshold)?,
            slow_call_rate_threshold: check
                .percent("slow_call_rate_threshold", self.slow_call_rate_threshold)?,
            slow_call_duration: self.slow_call_duration,
        })
    }
}
