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
//! Each is built by a builder named after it, has subscribers for its
//! [`LimitEvent`]s, and counts every call for a metrics scrape. A limit
//! reports episodes, not refusals: "started refusing" at the first refusal
//! after a calm stretch, "admitting again" (with how many it refused) at
//! the first admitted call in a later second than the last refusal, so a
//! limit refusing every second stays in one episode. A timeout's episode is
//! calls timing out.
//!
//! Waits: the async bulkhead queue and [`Timeout`] wait on tokio's timer
//! (tests drive them with `#[tokio::test(start_paused = true)]`); the sync
//! bulkhead queue waits on a condition variable for at most its `max_wait`,
//! measured by the policy's clock. Every other reading of time goes through
//! the policy's [`Clock`](crate::clock::Clock).
//!
//! Main types: [`Timeout`] (feature `tokio`), [`Bulkhead`] and its
//! [`BulkheadPermit`], [`RateLimiter`], [`KeyedRateLimiter`], [`Quota`]
//! (governor's), [`LimitEvent`].
//!
//! # Examples
//!
//! ```
//! use std::{io, num::NonZeroU32};
//! use mend::limit::{Bulkhead, Quota, RateLimiter};
//!
//! let bulkhead = Bulkhead::builder("db").max_concurrent(8).build()?;
//! let limiter = RateLimiter::builder("api", Quota::per_second(NonZeroU32::new(100).unwrap()))
//!     .build()?;
//!
//! // Nested by hand, the errors nest too (`Error<Error<io::Error>>`);
//! // [`compose`](crate::compose) stacks policies with one flat error.
//! let rows = bulkhead.call(|| limiter.call(|| Ok::<_, io::Error>(3)))?;
//! assert_eq!(rows, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bulkhead;
mod counters;
mod episode;
mod event;
#[cfg(feature = "rate-limit")]
mod governed;
#[cfg(feature = "rate-limit")]
mod keyed;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
#[cfg(feature = "rate-limit")]
mod rate;
#[cfg(feature = "tokio")]
mod timeout;

pub use bulkhead::{Bulkhead, BulkheadBuilder, BulkheadPermit, OwnedBulkheadPermit};
#[cfg(feature = "tokio")]
pub use counters::TimeoutCounters;
pub use counters::{BulkheadCounters, LimiterCounters};
pub use event::{LimitChange, LimitEvent, LimitKind};
#[cfg(feature = "rate-limit")]
pub use governor::Quota;
#[cfg(feature = "rate-limit")]
pub use keyed::{KeyedRateLimiter, KeyedRateLimiterBuilder};
#[cfg(feature = "rate-limit")]
pub use rate::{RateLimiter, RateLimiterBuilder};
#[cfg(feature = "tokio")]
pub use timeout::{Timeout, TimeoutBuilder};
