//! Limits on a call: how long it may run ([`Timeout`]), how many may run at
//! once ([`Bulkhead`]) and how often ([`RateLimiter`], [`KeyedRateLimiter`]).
//!
//! Use a timeout so a hung dependency cannot hold a caller forever, a
//! bulkhead so one slow dependency cannot take every thread or task, and a
//! rate limiter to stay under a quota (yours or a server's). Each is a plain
//! struct with `call` / `call_async`, like every policy in mend; a refusal is
//! [`Rejected::Full`](crate::Rejected::Full) or
//! [`Rejected::Limited`](crate::Rejected::Limited) (which says when the next
//! call may go), a timeout is [`Elapsed`](crate::Elapsed).
//!
//! Main types: [`Timeout`] (feature `tokio`), [`Bulkhead`] and its
//! [`BulkheadPermit`], [`RateLimiter`], [`KeyedRateLimiter`], [`Quota`]
//! (governor's).
//!
//! # Examples
//!
//! ```
//! use std::{io, num::NonZeroU32};
//! use mend::limit::{Bulkhead, Quota, RateLimiter};
//!
//! let bulkhead = Bulkhead::builder("db").max_concurrent(8).build()?;
//! let limiter = RateLimiter::new("api", Quota::per_second(NonZeroU32::new(100).unwrap()));
//!
//! // Nested by hand, the errors nest too (`Error<Error<io::Error>>`);
//! // [`compose`](crate::compose) stacks policies with one flat error.
//! let rows = bulkhead.call(|| limiter.call(|| Ok::<_, io::Error>(3)))?;
//! assert_eq!(rows, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bulkhead;
mod counters;
mod governed;
mod keyed;
mod rate;
#[cfg(feature = "tokio")]
mod timeout;

pub use bulkhead::{Bulkhead, BulkheadBuilder, BulkheadPermit, OwnedBulkheadPermit};
#[cfg(feature = "tokio")]
pub use counters::TimeoutCounters;
pub use counters::{BulkheadCounters, LimiterCounters};
pub use governed::{GovernorClock, GovernorInstant};
pub use governor::Quota;
pub use keyed::KeyedRateLimiter;
pub use rate::RateLimiter;
#[cfg(feature = "tokio")]
pub use timeout::Timeout;

/// A setting given to a limit that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("{limit}: invalid `{field}` = {value}: expected {expected}")]
pub struct BuildError {
    /// What was being built, e.g. "bulkhead `db`".
    pub limit: String,
    /// The setting at fault.
    pub field: &'static str,
    /// The value given.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static str,
}
