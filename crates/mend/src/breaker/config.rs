//! A breaker's validated settings, as the state machine reads them.

use std::sync::Arc;
use std::time::Duration;

use super::State;
use crate::clock::duration_nanos;
use crate::retry::SplitMix64;

/// What a breaker opens on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Policy {
    /// Resilience4j's: failure or slow-call rate over a sliding window.
    Rate {
        window: WindowKind,
        minimum_calls: u32,
        failure_rate_threshold: f64,
        slow_call_rate_threshold: f64,
        slow_call_duration: Option<Duration>,
    },
    /// failsafe's: N failures in a row.
    Consecutive { failures: u32 },
}

/// The shape of a rate-based breaker's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowKind {
    /// The last N recorded calls.
    Count(u32),
    /// The calls of the last N seconds (whole seconds of the coarse clock).
    Time(u32),
}

/// How long an open breaker waits before it lets trial calls through.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OpenWait {
    pub(crate) base: Duration,
    pub(crate) multiplier: f64,
    pub(crate) max: Duration,
    /// Spread of each wait, in [0, 1]: the wait is drawn uniformly from
    /// `wait * (1 - jitter) ..= wait * (1 + jitter)`, never over `max`.
    pub(crate) jitter: f64,
}

impl OpenWait {
    /// The wait after `reopens` reopenings, spread by the jitter with a
    /// draw from `rng` (none is drawn without jitter).
    pub(crate) fn draw(&self, reopens: u32, rng: &mut SplitMix64) -> Duration {
        let wait = self.after(reopens);
        if self.jitter == 0.0 {
            return wait;
        }
        let nanos = duration_nanos(wait);
        let spread = (nanos as f64 * self.jitter) as u64;
        let drawn = nanos - spread + rng.between(0, spread.saturating_mul(2));
        Duration::from_nanos(drawn).min(self.max)
    }

    /// The wait after the breaker has reopened from half-open `reopens` times
    /// in a row: `base * multiplier^reopens`, at most `max`.
    pub(crate) fn after(&self, reopens: u32) -> Duration {
        if self.multiplier == 1.0 || reopens == 0 {
            return self.base.min(self.max);
        }
        let exponent = i32::try_from(reopens).unwrap_or(i32::MAX);
        let secs = self.base.as_secs_f64() * self.multiplier.powi(exponent);
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            self.max
        } else {
            Duration::from_secs_f64(secs).min(self.max)
        }
    }
}

/// A breaker's validated settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub(crate) name: Arc<str>,
    pub(crate) policy: Policy,
    pub(crate) wait: OpenWait,
    pub(crate) half_open_calls: u32,
    pub(crate) max_wait_in_half_open: Option<Duration>,
    /// Where half-open goes when `max_wait_in_half_open` passes: Open
    /// (Resilience4j's default) or Closed.
    pub(crate) after_half_open_limit: State,
    /// The state a new breaker starts in (no event announces it).
    pub(crate) initial_state: State,
    /// Seeds the open-wait jitter.
    pub(crate) seed: u64,
}

impl Config {
    pub(crate) fn slow_call_duration(&self) -> Option<Duration> {
        match self.policy {
            Policy::Rate {
                slow_call_duration, ..
            } => slow_call_duration,
            Policy::Consecutive { .. } => None,
        }
    }
}
