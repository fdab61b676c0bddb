//! What the limits count, for a metrics scrape. Admissions and refusals
//! are counted on the calling thread's stripe (no cache line another thread
//! writes); the rarer events (joining a bulkhead's queue, a timeout firing)
//! on shared atomics.

/// A snapshot of a [`Bulkhead`](super::Bulkhead)'s counters and gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkheadCounters {
    /// Calls given a slot, ever.
    pub admitted: u64,
    /// Calls refused ([`Rejected::Full`](crate::Rejected::Full)), ever.
    pub rejected: u64,
    /// Calls that waited in the queue (then got a slot or not), ever.
    pub queued: u64,
    /// Calls holding a slot now.
    pub in_flight: u64,
    /// Calls waiting in the queue now.
    pub waiting: u64,
}

/// A snapshot of a rate limiter's counters
/// ([`RateLimiter`](super::RateLimiter), [`KeyedRateLimiter`](super::KeyedRateLimiter)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimiterCounters {
    /// Calls the quota allowed, ever.
    pub admitted: u64,
    /// Calls refused ([`Rejected::Limited`](crate::Rejected::Limited)), ever.
    pub rejected: u64,
}

/// A snapshot of a [`Timeout`](super::Timeout)'s counters.
#[cfg(feature = "tokio")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimeoutCounters {
    /// Calls cut off at the limit ([`Elapsed`](crate::Elapsed)), ever.
    pub elapsed: u64,
}

/// Index of admissions in a rate limiter's [`Tally`](crate::tally::Tally)
/// (the bulkhead counts its admissions in its slot word instead).
#[cfg(feature = "rate-limit")]
pub(crate) const ADMITTED: usize = 0;
/// Index of refusals in a rate limiter's [`Tally`](crate::tally::Tally).
#[cfg(feature = "rate-limit")]
pub(crate) const REJECTED: usize = 1;
