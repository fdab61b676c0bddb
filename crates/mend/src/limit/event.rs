//! The event a limit emits when it starts or stops refusing calls.

use std::fmt;
use std::sync::Arc;

use crate::clock::Timestamp;
#[cfg(feature = "tracing")]
use crate::observe::log_at;
use crate::observe::{AreaEvent, Level};

/// Which limit an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// A [`Bulkhead`](super::Bulkhead): refusing means full.
    Bulkhead,
    /// A [`RateLimiter`](super::RateLimiter): refusing means over quota.
    RateLimiter,
    /// A [`KeyedRateLimiter`](super::KeyedRateLimiter): some key over its quota.
    KeyedRateLimiter,
    /// A [`Timeout`](super::Timeout): "refusing" means calls time out.
    Timeout,
}

impl LimitKind {
    /// The kind as a metrics label: `"bulkhead"`, `"rate_limiter"`,
    /// `"keyed_rate_limiter"`, `"timeout"`.
    pub fn label(self) -> &'static str {
        match self {
            LimitKind::Bulkhead => "bulkhead",
            LimitKind::RateLimiter => "rate_limiter",
            LimitKind::KeyedRateLimiter => "keyed_rate_limiter",
            LimitKind::Timeout => "timeout",
        }
    }

    /// The kind's name: `"bulkhead"`, `"rate limiter"`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Bulkhead => "bulkhead",
            LimitKind::RateLimiter => "rate limiter",
            LimitKind::KeyedRateLimiter => "keyed rate limiter",
            LimitKind::Timeout => "timeout",
        }
    }
}

/// A limit began or ended an episode of refusing calls (see the
/// [`limit`](super) docs): never one event per refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitEvent {
    /// The limit's name.
    pub name: Arc<str>,
    /// Wall-clock time of the change.
    pub at: Timestamp,
    /// Which kind of limit.
    pub limit: LimitKind,
    /// What changed.
    pub change: LimitChange,
}

/// The change a [`LimitEvent`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitChange {
    /// It started refusing calls (a timeout: calls started timing out).
    Refusing,
    /// It admits calls again (a timeout: calls finish in time again), a
    /// second or more after its last refusal.
    Recovered {
        /// Calls refused (timed out) during the episode.
        refused: u64,
    },
}

impl fmt::Display for LimitEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.limit.as_str(), self.name)?;
        match (self.limit, self.change) {
            (LimitKind::Timeout, LimitChange::Refusing) => f.write_str("calls are timing out"),
            (LimitKind::Timeout, LimitChange::Recovered { refused }) => write!(
                f,
                "calls finish in time again ({refused} timed out meanwhile)"
            ),
            (LimitKind::Bulkhead, LimitChange::Refusing) => f.write_str("full, refusing calls"),
            (_, LimitChange::Refusing) => f.write_str("over quota, refusing calls"),
            (_, LimitChange::Recovered { refused }) => {
                write!(f, "admitting calls again ({refused} refused meanwhile)")
            }
        }
    }
}

impl AreaEvent for LimitEvent {
    fn area(&self) -> &'static str {
        "limit"
    }

    fn component(&self) -> &str {
        &self.name
    }

    fn at(&self) -> Timestamp {
        self.at
    }

    /// Refusing is a warning; recovering is news.
    fn level(&self) -> Level {
        match self.change {
            LimitChange::Refusing => Level::Warn,
            LimitChange::Recovered { .. } => Level::Info,
        }
    }

    #[cfg(feature = "tracing")]
    fn log(&self) {
        let refused = match self.change {
            LimitChange::Refusing => 0,
            LimitChange::Recovered { refused } => refused,
        };
        log_at!(
            self.level(),
            target: "mend::limit",
            limit = self.limit.as_str(),
            name = %self.name,
            refused,
            "{self}"
        );
    }
}
