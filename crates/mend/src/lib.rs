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
//! | [`compose`] | stack policies in an explicit order, sync and async, owned or borrowed, one flat error |
//! | `layer` | tower `Layer`s over the breaker (one, or one per key), retry, timeout, bulkhead and rate limit; HTTP classification; refusals as 503 / 429 / 504 responses (feature `tower`) |
//! | [`checkpoint`] | crash-safe state: snapshots and a journal that never lose an acknowledged write |
//! | [`clock`] | the three readings of time every policy uses, and clocks tests can drive |
//! | [`classify`] | which results are successes, failures or ignored; which errors are transient |
//! | [`observe`] | state-change events (each area owns its own), subscribers, the `tracing` bridge |
//! | `health` | health checks with Kubernetes probe semantics that trigger recovery; health+json reports (feature `health`) |
//! | `supervise` | Erlang/OTP supervision of tasks, and the restart state machine processes reuse (feature `supervise`) |
//! | `process` | supervise OS processes: cgroup v2 or process group per service, pidfd reaping, rotated output files, the orphan reaper (feature `process`, Linux) |
//! | [`cleanup`] | commit-or-rollback guards; a program's orderly shutdown on signals (feature `supervise`); SQLite transactions (feature `sqlite`) |
//! | `metrics` | every policy's counters through the `metrics` facade, Prometheus text (features `metrics`, `prometheus`) |
//! | [`error`] | [`Rejected`] (refused to run), [`Elapsed`] (ran out of time), [`Error<E>`] |
//!
//! Every policy has the same shape: a plain struct built by a builder named
//! after it (`CircuitBreaker::builder` makes a
//! [`CircuitBreakerBuilder`](breaker::CircuitBreakerBuilder)) whose
//! `build()` checks every setting and returns one [`ConfigError`]; a sync
//! `call(|| ...)` and an async `call_async(|| async { ... })`; a
//! [`Clock`](clock::Clock) with the system clock as the default; subscribers
//! for its events; `counters()` a metrics scrape reads without changing
//! anything; and owned forms for `Arc`s ([`compose`]).
//!
//! # Features
//!
//! | feature | default | adds | pulls in |
//! |---|---|---|---|
//! | `tracing` | yes | [`observe::LogEvents`] writes every event to `tracing` | tracing |
//! | `tokio` | yes | [`clock::TokioClock`]; the async waits (`Timeout`, the async bulkhead queue, async retry sleeps and deadlines) | tokio |
//! | `rate-limit` | yes | [`limit::RateLimiter`], [`limit::KeyedRateLimiter`] | governor |
//! | `http-date` | yes | the HTTP-date form of `Retry-After` in [`retry::parse_retry_after`] | httpdate |
//! | `serde` | yes | `Serialize` / `Deserialize` for [`clock::Tick`] and [`clock::Timestamp`] | serde |
//! | `checkpoint` | yes | [`checkpoint`] | serde, serde_json, crc32c, rustix's `fs` |
//! | `metrics` | no | [`metrics`]: every policy's counters through the `metrics` facade | metrics |
//! | `health` | no | [`health`]: TCP, HTTP and command checks, a monitor with liveness, readiness and startup probes that trigger recovery, health+json reports, `/health` `/livez` `/readyz` handlers | tokio (net), hyper, hyper-util, http-body-util, bytes, futures-util, axum, serde_json, humantime, rustix's `process` |
//! | `supervise` | no | [`supervise`]: supervisors of tokio tasks (one-for-one, one-for-all, rest-for-one; permanent, transient, temporary; intensity; backoff), nesting, dynamic children, restart by name; the plain `RestartMachine`; `cleanup::Shutdown` (signals, drain, hooks, report) | tokio (signal), tokio-util, futures-util |
//! | `process` | no | `process`: OS processes supervised with the `supervise` restart machine: spawn into a cgroup v2 (or a process group), stop signal then kill after a grace, nothing left behind, exact exit reasons, reaping by pidfd, output files rotated by size, an opt-in orphan reaper (Linux) | everything `supervise` pulls in, tokio (signal, net), rustix's `process` and `fs`, mend-sys (the pre-exec hook) |
//! | `sqlite` | no | `cleanup::sqlite`: transactions that commit or roll back, on rusqlite's own | rusqlite (SQLite bundled) |
//! | `prometheus` | no | [`metrics::prometheus`]: the Prometheus text, a scrape endpoint, an axum router | metrics-exporter-prometheus, axum, tokio |
//! | `tower` | no | [`layer`]: `BreakerLayer`, `KeyedBreakerLayer`, `RetryLayer`, `TimeoutLayer`, `BulkheadLayer`, `RateLimitLayer` (with `rate-limit`); `HttpClassify`, `HttpRetry`; `error_response` for axum's `HandleErrorLayer` | tokio, tower-layer, tower-service, http, pin-project-lite |
//!
//! With `default-features = false` a breaker (with its registry, retry,
//! bulkhead and composition) needs only dashmap, foldhash, parking_lot,
//! rustix and thiserror.
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
#[cfg(feature = "checkpoint")]
pub mod checkpoint;
pub mod classify;
pub mod cleanup;
pub mod clock;
pub mod compose;
mod config;
pub mod error;
#[cfg(feature = "health")]
pub mod health;
#[cfg(feature = "tower")]
pub mod layer;
pub mod limit;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod observe;
#[cfg(any(feature = "health", feature = "supervise"))]
mod panics;
#[cfg(all(feature = "process", target_os = "linux"))]
pub mod process;
pub mod retry;
mod stripes;
#[cfg(feature = "supervise")]
pub mod supervise;
mod sync;
mod tally;

pub use config::ConfigError;
pub use error::{Elapsed, Error, Rejected};

/// The README's example, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctest;
