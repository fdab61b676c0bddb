//! The events a retry emits: a retry scheduled, a give-up. A call that
//! succeeds first time emits nothing, and so does one that fails with no
//! retry made (a permanent error, or a spent budget at the first failure).
//!
//! These are per call, not changes of the retry's state, and they stay
//! events because they are what a person debugging one call wants to see
//! (which attempt, which delay, why it stopped). They are not how to count:
//! the retry's [`counters`](super::Retry::counters) are. And they do not
//! flood the log: a scheduled retry is a `DEBUG` line, and a give-up, a
//! `WARN`, is logged at most once a second per retry, the line saying how
//! many give-ups went unlogged since the last one (every subscriber still
//! receives every event).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::GiveUp;
use crate::clock::Timestamp;
#[cfg(feature = "tracing")]
use crate::observe::log_at;
use crate::observe::{AreaEvent, Level};

/// Something a retry did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryEvent {
    /// The retry's name.
    pub name: Arc<str>,
    /// Wall-clock time it happened.
    pub at: Timestamp,
    /// The attempt that just failed (1 for the first).
    pub attempt: u32,
    /// What the retry does about it.
    pub kind: RetryEventKind,
    /// For a give-up: give-ups of this retry that were not logged since the
    /// last one that was (the log keeps to one give-up line a second).
    pub unlogged_before: u64,
    /// Whether the built-in log writes this event.
    pub(super) log_line: bool,
}

/// What a retry does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryEventKind {
    /// It sleeps for `delay`, then tries again.
    Scheduled {
        /// The sleep before the next attempt.
        delay: Duration,
    },
    /// It stops, returning the last error.
    GaveUp {
        /// Why.
        reason: GiveUp,
    },
}

impl fmt::Display for RetryEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RetryEventKind::Scheduled { delay } => write!(
                f,
                "retry {}: attempt {} failed, trying again in {delay:?}",
                self.name, self.attempt
            ),
            RetryEventKind::GaveUp { reason } => {
                write!(
                    f,
                    "retry {}: gave up after {} attempts, {reason}",
                    self.name, self.attempt
                )?;
                if self.unlogged_before > 0 {
                    write!(
                        f,
                        " ({} more give-ups since the last line)",
                        self.unlogged_before
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl AreaEvent for RetryEvent {
    fn area(&self) -> &'static str {
        "retry"
    }

    fn component(&self) -> &str {
        &self.name
    }

    fn at(&self) -> Timestamp {
        self.at
    }

    /// A give-up is a warning (a caller got an error); a scheduled retry is
    /// detail.
    fn level(&self) -> Level {
        match self.kind {
            RetryEventKind::Scheduled { .. } => Level::Debug,
            RetryEventKind::GaveUp { .. } => Level::Warn,
        }
    }

    #[cfg(feature = "tracing")]
    fn log(&self) {
        if !self.log_line {
            return;
        }
        match self.kind {
            RetryEventKind::Scheduled { delay } => log_at!(
                self.level(),
                target: "mend::retry",
                retry = %self.name,
                attempt = self.attempt,
                delay_ms = delay.as_millis() as u64,
                "{self}"
            ),
            RetryEventKind::GaveUp { reason } => log_at!(
                self.level(),
                target: "mend::retry",
                retry = %self.name,
                attempts = self.attempt,
                reason = %reason,
                unlogged_before = self.unlogged_before,
                "{self}"
            ),
        }
    }
}
