//! The events a retry emits: a retry scheduled, a give-up. A call that
//! succeeds first time emits nothing, and so does one that fails with no
//! retry made (a permanent error, or a spent budget at the first failure):
//! those are per-call outcomes, not changes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::GiveUp;
use crate::clock::Timestamp;

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
            RetryEventKind::GaveUp { reason } => write!(
                f,
                "retry {}: gave up after {} attempts, {reason}",
                self.name, self.attempt
            ),
        }
    }
}
