//! [`Builder`]: every setting of a breaker, checked in `build()`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::CircuitBreaker;
use super::config::{Config, OpenWait, Policy, WindowKind};
use crate::classify::DefaultClassify;
use crate::clock::{Clock, SystemClock};
use crate::observe::{Subscriber, Subscribers};

/// `minimum_calls` unless set (capped at a count window's size, as
/// Resilience4j does).
const DEFAULT_MINIMUM_CALLS: u32 = 100;

/// The longest time window: one bucket per second is kept, and a failure
/// scans the window's buckets, so a day (86,400 buckets, 1.4 MB) is the
/// limit.
const MAX_TIME_WINDOW_SECS: u32 = 86_400;

/// A setting given to [`Builder`] that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("circuit breaker `{breaker}`: invalid `{field}` = {value}: expected {expected}")]
pub struct BuildError {
    /// The breaker's name.
    pub breaker: String,
    /// The builder method (and setting) at fault.
    pub field: &'static str,
    /// The value given.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static str,
}

/// Builds a [`CircuitBreaker`]; made by [`CircuitBreaker::builder`].
///
/// Defaults follow Resilience4j: a count window of the last 100 calls, at
/// least 100 calls (or the count window's size) before deciding, open at a 50 % failure rate, slow-call
/// detection off (turn it on with [`slow_call_duration`](Builder::slow_call_duration)),
/// 60 s in open, 10 trial calls in half-open, no limit on half-open.
#[must_use = "a builder does nothing until `build()`"]
pub struct Builder<C = SystemClock, K = DefaultClassify> {
    name: Arc<str>,
    window: WindowKind,
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
    subscribers: Subscribers,
    clock: C,
    classify: K,
}

impl<C: fmt::Debug, K: fmt::Debug> fmt::Debug for Builder<C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("name", &self.name)
            .field("window", &self.window)
            .field("minimum_calls", &self.minimum_calls)
            .field("consecutive_failures", &self.consecutive_failures)
            .field("clock", &self.clock)
            .field("classify", &self.classify)
            .finish_non_exhaustive()
    }
}

impl Builder {
    pub(crate) fn new(name: &str) -> Self {
        Builder {
            name: name.into(),
            window: WindowKind::Count(100),
            minimum_calls: None,
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration: None,
            consecutive_failures: None,
            wait: OpenWait {
                base: Duration::from_secs(60),
                multiplier: 1.0,
                max: Duration::from_secs(60),
            },
            wait_set_by: "wait_in_open",
            half_open_calls: 10,
            max_wait_in_half_open: None,
            subscribers: Subscribers::new(),
            clock: SystemClock,
            classify: DefaultClassify,
        }
    }
}

impl<C: Clock, K> Builder<C, K> {
    /// Decide over the last `calls` recorded calls (one byte each).
    pub fn count_window(mut self, calls: u32) -> Self {
        self.window = WindowKind::Count(calls);
        self
    }

    /// Decide over the calls of the last `span` (whole seconds, one bucket
    /// per second, at most one day).
    ///
    /// Every success reads the coarse clock to find its second. On a hot
    /// path, [`RecentClock`](crate::clock::RecentClock) makes that read a
    /// load from memory (about 4 ns less per call here) at the price of a
    /// ticker thread.
    pub fn time_window(mut self, span: Duration) -> Self {
        let secs = span.as_secs();
        self.window = WindowKind::Time(if span.subsec_nanos() != 0 {
            // Rejected by build(): windows are whole seconds.
            u32::MAX
        } else {
            u32::try_from(secs).unwrap_or(u32::MAX)
        });
        self
    }

    /// Fewest calls in the window before a rate can open the breaker
    /// (default 100, or the count window's size if that is smaller).
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
    /// policy); in half-open, any failed trial reopens and `half_open_calls`
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
        };
        self.wait_set_by = "wait_in_open_growing";
        self
    }

    /// How many trial calls half-open admits; the rest are rejected.
    pub fn half_open_calls(mut self, calls: u32) -> Self {
        self.half_open_calls = calls;
        self
    }

    /// Reopen a half-open breaker whose trials have not all reported back
    /// after `wait`.
    pub fn max_wait_in_half_open(mut self, wait: Duration) -> Self {
        self.max_wait_in_half_open = Some(wait);
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
    pub fn clock<C2: Clock>(self, clock: C2) -> Builder<C2, K> {
        self.map_parts(|_, classify| (clock, classify))
    }

    /// Classifies results with `classify` instead of [`DefaultClassify`].
    pub fn classify<K2>(self, classify: K2) -> Builder<C, K2> {
        self.map_parts(|clock, _| (clock, classify))
    }

    fn map_parts<C2, K2>(self, f: impl FnOnce(C, K) -> (C2, K2)) -> Builder<C2, K2> {
        let (clock, classify) = f(self.clock, self.classify);
        Builder {
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
            subscribers: self.subscribers,
            clock,
            classify,
        }
    }

    /// Checks every setting and builds the breaker.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] naming the first setting that cannot work: a
    /// threshold outside (0, 100], a zero or fractional-second window, zero
    /// minimum calls or more than a count window holds, zero consecutive
    /// failures, zero half-open calls, a zero wait, a growth multiplier below
    /// 1, a cap below the base wait, a zero half-open limit, or slow-call
    /// detection on a consecutive-failures breaker.
    pub fn build(self) -> Result<CircuitBreaker<C, K>, BuildError> {
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
    pub(crate) fn into_template(self) -> Result<(Config, C, K, Subscribers), BuildError> {
        let config = self.validate()?;
        Ok((config, self.clock, self.classify, self.subscribers))
    }

    fn validate(&self) -> Result<Config, BuildError> {
        let fail = |field: &'static str, value: String, expected: &'static str| BuildError {
            breaker: self.name.to_string(),
            field,
            value,
            expected,
        };
        let percent = |field, value: f64| {
            if value > 0.0 && value <= 100.0 {
                Ok(value)
            } else {
                Err(fail(field, value.to_string(), "a percentage in (0, 100]"))
            }
        };
        let policy = match self.consecutive_failures {
            Some(0) => {
                return Err(fail(
                    "consecutive_failures",
                    "0".into(),
                    "at least 1 failure",
                ));
            }
            Some(_) if self.slow_call_duration.is_some() => {
                return Err(fail(
                    "slow_call_duration",
                    format!("{:?}", self.slow_call_duration.unwrap_or_default()),
                    "no slow-call detection on a consecutive-failures breaker (use a window)",
                ));
            }
            Some(failures) => Policy::Consecutive { failures },
            None => {
                match self.window {
                    WindowKind::Count(0) => {
                        return Err(fail("count_window", "0".into(), "at least 1 call"));
                    }
                    WindowKind::Time(0) => {
                        return Err(fail("time_window", "0s".into(), "at least 1 second"));
                    }
                    WindowKind::Time(seconds) if seconds > MAX_TIME_WINDOW_SECS => {
                        return Err(fail(
                            "time_window",
                            if seconds == u32::MAX {
                                "a fractional or huge duration".into()
                            } else {
                                format!("{seconds}s")
                            },
                            "a whole number of seconds, at most one day (86400)",
                        ));
                    }
                    _ => {}
                }
                let minimum_calls = match (self.minimum_calls, self.window) {
                    (Some(calls), _) => calls,
                    (None, WindowKind::Count(size)) => size.min(DEFAULT_MINIMUM_CALLS),
                    (None, WindowKind::Time(_)) => DEFAULT_MINIMUM_CALLS,
                };
                if minimum_calls == 0 {
                    return Err(fail("minimum_calls", "0".into(), "at least 1 call"));
                }
                if let WindowKind::Count(size) = self.window
                    && minimum_calls > size
                {
                    return Err(fail(
                        "minimum_calls",
                        minimum_calls.to_string(),
                        "no more than the count window holds, or the breaker could never open",
                    ));
                }
                if self.slow_call_duration == Some(Duration::ZERO) {
                    return Err(fail(
                        "slow_call_duration",
                        "0ns".into(),
                        "a positive duration",
                    ));
                }
                Policy::Rate {
                    window: self.window,
                    minimum_calls,
                    failure_rate_threshold: percent(
                        "failure_rate_threshold",
                        self.failure_rate_threshold,
                    )?,
                    slow_call_rate_threshold: percent(
                        "slow_call_rate_threshold",
                        self.slow_call_rate_threshold,
                    )?,
                    slow_call_duration: self.slow_call_duration,
                }
            }
        };
        if self.wait.base.is_zero() {
            return Err(fail(self.wait_set_by, "0ns".into(), "a positive base wait"));
        }
        if !(self.wait.multiplier >= 1.0 && self.wait.multiplier.is_finite()) {
            return Err(fail(
                "wait_in_open_growing",
                format!("multiplier {}", self.wait.multiplier),
                "a finite multiplier of at least 1",
            ));
        }
        if self.wait.max < self.wait.base {
            return Err(fail(
                "wait_in_open_growing",
                format!("max {:?} < base {:?}", self.wait.max, self.wait.base),
                "a maximum no less than the base wait",
            ));
        }
        if self.half_open_calls == 0 {
            return Err(fail("half_open_calls", "0".into(), "at least 1 trial call"));
        }
        if self.max_wait_in_half_open == Some(Duration::ZERO) {
            return Err(fail(
                "max_wait_in_half_open",
                "0ns".into(),
                "a positive duration",
            ));
        }
        Ok(Config {
            name: self.name.clone(),
            policy,
            wait: self.wait,
            half_open_calls: self.half_open_calls,
            max_wait_in_half_open: self.max_wait_in_half_open,
        })
    }
}
