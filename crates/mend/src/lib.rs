//! mend: self-healing for Rust services.
//!
//! One crate of resilience mechanisms that share one clock, one error model
//! and one event stream:
//!
//! | module | what it is for |
//! |---|---|
//! | [`breaker`] | stop calling a dependency that keeps failing, try it again after a wait |
//! | [`retry`] | call again after transient failures: backoff, jitter, deadline, `Retry-After`, budgets |
//! | [`limit`] | timeout, bulkhead (concurrency), rate limit (governor), per key |
//! | [`compose`] | stack policies in an explicit order, sync and async, one flat error |
//! | [`checkpoint`] | crash-safe state: snapshots and a journal that never lose an acknowledged write |
//! | [`clock`] | the three readings of time every policy uses, and clocks tests can drive |
//! | [`classify`] | which results are successes, failures or ignored; which errors are transient |
//! | [`observe`] | state-change events, subscribers, the `tracing` bridge |
//! | [`error`] | [`Rejected`] (refused to run), [`Elapsed`] (ran out of time), [`Error<E>`] |
//!
//! Every policy has the same shape: a plain struct built by a builder that
//! validates, with a sync `call(|| ...)` and an async `call_async(|| async
//! { ... })`, generic over its [`Clock`](clock::Clock) with the system clock as
//! the default.
//!
//! # Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `tracing` | yes | [`observe::LogEvents`] writes every event to `tracing` |
//! | `tokio` | yes | [`clock::TokioClock`], so paused-time tokio tests drive policies |
//!
//! # Examples
//!
//! ```
//! use std::{io, time::Duration};
//! use mend::breaker::{CircuitBreaker, State};
//! use mend::clock::ManualClock;
//!
//! let clock = ManualClock::new();
//! let breaker = CircuitBreaker::builder("inventory")
//!     .consecutive_failures(3)
//!     .wait_in_open(Duration::from_secs(10))
//!     .half_open_calls(1)
//!     .clock(clock.clone())
//!     .build()?;
//!
//! let refused = || Err::<u32, _>(io::Error::from(io::ErrorKind::ConnectionRefused));
//! for _ in 0..3 {
//!     let _ = breaker.call(refused);
//! }
//! assert_eq!(breaker.state(), State::Open);
//! assert!(breaker.call(|| Ok::<_, io::Error>(1)).unwrap_err().is_rejected());
//!
//! clock.advance(Duration::from_secs(10));
//! assert_eq!(breaker.call(|| Ok::<_, io::Error>(2))?, 2); // the trial heals it
//! assert_eq!(breaker.state(), State::Closed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod breaker;
pub mod checkpoint;
pub mod classify;
pub mod clock;
pub mod compose;
mod config;
pub mod error;
pub mod limit;
pub mod observe;
pub mod retry;
mod stripes;
mod sync;
mod tally;

pub use config::ConfigError;
pub use error::{Elapsed, Error, Rejected};

/// The README's example, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctest;
