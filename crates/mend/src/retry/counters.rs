//! What a retry counts, for a metrics scrape: calls, retries, and give-ups
//! by reason. The first attempt of a call is counted on the calling thread's
//! stripe (the success path writes no shared line); retries and give-ups,
//! on failure paths that sleep anyway, on shared atomics.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::GiveUp;
use crate::observe::LineThrottle;
use crate::tally::Tally;

/// A snapshot of a retry's counters, from [`Retry::counters`](super::Retry::counters).
/// Every count only grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryCounters {
    /// Calls made through the retry (first attempts).
    pub calls: u64,
    /// Attempts after the first.
    pub retries: u64,
    /// Calls that ended in an error, by why no further attempt was made.
    pub gave_up: GiveUps,
}

impl RetryCounters {
    /// Every attempt made: calls plus retries.
    pub fn attempts(&self) -> u64 {
        self.calls + self.retries
    }
}

/// Calls that ended in an error, by [`GiveUp`] reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GiveUps {
    /// The error was not transient.
    pub permanent: u64,
    /// Every allowed attempt was made.
    pub attempts: u64,
    /// The deadline passed or would have.
    pub deadline: u64,
    /// The retry budget refused a retry (the budget's refusals by this retry).
    pub budget: u64,
    /// A server asked to wait longer than allowed.
    pub retry_after: u64,
}

impl GiveUps {
    /// The count for `reason`.
    pub fn get(&self, reason: GiveUp) -> u64 {
        match reason {
            GiveUp::Permanent => self.permanent,
            GiveUp::Attempts => self.attempts,
            GiveUp::Deadline => self.deadline,
            GiveUp::Budget => self.budget,
            GiveUp::RetryAfter => self.retry_after,
        }
    }

    /// Every give-up, whatever the reason.
    pub fn total(&self) -> u64 {
        self.permanent + self.attempts + self.deadline + self.budget + self.retry_after
    }
}

fn index(reason: GiveUp) -> usize {
    match reason {
        GiveUp::Permanent => 0,
        GiveUp::Attempts => 1,
        GiveUp::Deadline => 2,
        GiveUp::Budget => 3,
        GiveUp::RetryAfter => 4,
    }
}

/// The live counters inside a retry.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    calls: Tally<1>,
    retries: AtomicU64,
    gave_up: [AtomicU64; 5],
    /// One give-up log line a second.
    pub(crate) give_up_log: LineThrottle,
}

impl Counts {
    #[inline(always)]
    pub(crate) fn call(&self) {
        self.calls.add(0);
    }

    pub(crate) fn retry(&self) {
        self.retries.fetch_add(1, Relaxed);
    }

    pub(crate) fn gave_up(&self, reason: GiveUp) {
        self.gave_up[index(reason)].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RetryCounters {
        let g = |reason| self.gave_up[index(reason)].load(Relaxed);
        RetryCounters {
            calls: self.calls.get(0),
            retries: self.retries.load(Relaxed),
            gave_up: GiveUps {
                permanent: g(GiveUp::Permanent),
                attempts: g(GiveUp::Attempts),
                deadline: g(GiveUp::Deadline),
                budget: g(GiveUp::Budget),
                retry_after: g(GiveUp::RetryAfter),
            },
        }
    }
}
