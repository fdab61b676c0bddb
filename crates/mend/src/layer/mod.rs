//! Tower layers over mend's policies: breaker, keyed breaker, retry,
//! timeout, bulkhead and rate limit, for any `tower::Service`, with HTTP
//! classification and HTTP answers for the refusals (feature `tower`).
//!
//! Use them where a service stack is built with tower's `ServiceBuilder`:
//! a hyper-util client, an axum server, a tonic channel. Each layer wraps
//! the same struct its sync and async APIs use, held by `Arc`:
//!
//! | layer | wraps | refuses with |
//! |---|---|---|
//! | [`BreakerLayer`] | a [`CircuitBreaker`](crate::breaker::CircuitBreaker) | [`Rejected::Open`](crate::Rejected::Open), [`Rejected::ForcedOpen`](crate::Rejected::ForcedOpen) |
//! | [`KeyedBreakerLayer`] | a [`BreakerRegistry`](crate::breaker::BreakerRegistry) and a key function (one breaker per host) | as the breaker, or [`RegistryFull`](crate::breaker::RegistryFull) |
//! | [`RetryLayer`] | a [`Retry`](crate::retry::Retry) (with its budget) and a [`RetryPolicy`] | never: gives back the last response or error |
//! | [`TimeoutLayer`] | a [`Timeout`](crate::limit::Timeout) | [`Elapsed`](crate::Elapsed) |
//! | [`BulkheadLayer`] | a [`Bulkhead`](crate::limit::Bulkhead) | [`Rejected::Full`](crate::Rejected::Full) |
//! | `RateLimitLayer` | a [`RateLimiter`](crate::limit::RateLimiter) (feature `rate-limit`) | [`Rejected::Limited`](crate::Rejected::Limited) |
//!
//! Errors are boxed ([`BoxError`], as tower's own layers do), and the
//! refusal types are public, so a caller can `downcast_ref` them;
//! [`error_response`] turns them into 503, 429 (with `Retry-After`) and
//! 504 responses for axum's `HandleErrorLayer`.
//!
//! # Shared state
//!
//! The policy is made once, by you, and every service a layer makes (and
//! every clone of those) shares it. axum calls `layer()` once per route
//! and clones services per connection: all of them count in the one
//! breaker, take from the one quota.
//!
//! # `poll_ready`
//!
//! Every mend layer's `poll_ready` is its inner service's readiness,
//! nothing more: no permit, slot or quota is taken there, so a service
//! polled ready and then cloned or dropped holds nothing. The policy
//! decides in `call`, and a refusal comes out of the response future as an
//! error without the inner service being called (its readiness, reserved
//! by `poll_ready`, is simply not used).
//!
//! # HTTP
//!
//! [`HttpClassify`] makes a breaker count 5xx and 429 as failures and
//! ignore other 4xx (the caller's fault); [`HttpRetry`] makes the retry
//! send a request again after a 5xx or 429, no sooner than its
//! `Retry-After`. Connection errors are transient by the default
//! classification.
//!
//! # Examples
//!
//! A server that sheds load: at most 64 requests at once, 100 a second;
//! the rest are answered 503 and 429 at once.
//!
//! ```no_run
//! use std::num::NonZeroU32;
//! use axum::{Router, error_handling::HandleErrorLayer, routing::get};
//! use mend::layer::{BulkheadLayer, RateLimitLayer, handle_error};
//! use mend::limit::{Bulkhead, Quota, RateLimiter};
//! use tower::ServiceBuilder;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bulkhead = Bulkhead::builder("api").max_concurrent(64).build()?;
//! let quota = Quota::per_second(NonZeroU32::new(100).unwrap());
//! let limiter = RateLimiter::builder("api", quota).build()?;
//! let app = Router::new().route("/", get(|| async { "hello" })).layer(
//!     ServiceBuilder::new()
//!         .layer(HandleErrorLayer::new(handle_error))
//!         .layer(BulkheadLayer::new(bulkhead))
//!         .layer(RateLimitLayer::new(limiter)),
//! );
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! A client that heals: retries 5xx, 429 and connection errors after their
//! `Retry-After`, stops calling a dependency that keeps failing, and gives
//! each attempt two seconds.
//!
//! ```no_run
//! use std::time::Duration;
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use hyper_util::{client::legacy::Client, rt::TokioExecutor};
//! use mend::{breaker::CircuitBreaker, limit::Timeout, retry::Retry};
//! use mend::layer::{BreakerLayer, HttpClassify, HttpRetry, RetryLayer, TimeoutLayer};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), mend::layer::BoxError> {
//! let breaker = CircuitBreaker::builder("catalog").classify(HttpClassify).build()?;
//! let mut client = ServiceBuilder::new()
//!     .layer(RetryLayer::new(Retry::builder("catalog").build()?, HttpRetry::new()))
//!     .layer(BreakerLayer::new(breaker))
//!     .layer(TimeoutLayer::new(Timeout::builder("catalog", Duration::from_secs(2)).build()?))
//!     .service(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>());
//! let request = http::Request::get("http://127.0.0.1:8080/").body(Full::default())?;
//! let response = client.ready().await?.call(request).await?;
//! println!("{}", response.status());
//! # Ok(())
//! # }
//! ```

mod breaker;
mod bulkhead;
mod guarded;
mod http;
#[cfg(feature = "rate-limit")]
mod rate;
mod response;
mod retry;
mod timeout;

/// The error of every mend layer's service: the inner service's error,
/// boxed, or a policy's refusal ([`Rejected`](crate::Rejected),
/// [`Elapsed`](crate::Elapsed)), boxed. The same type as tower's
/// `BoxError`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub use self::http::{HttpClassify, HttpRetry, retry_after, status_outcome};
pub use breaker::{
    BreakerLayer, BreakerService, KeyedBreakerLayer, KeyedBreakerService,
    ResponseFuture as BreakerFuture, SharedBreaker,
};
pub use bulkhead::{BulkheadLayer, BulkheadService};
pub use guarded::GuardedFuture;
#[cfg(feature = "rate-limit")]
pub use rate::{RateLimitLayer, RateLimitService};
pub use response::{error_response, handle_error, status_for};
pub use retry::{
    CloneRequest, NotReplayable, Replay, ResponseFuture as RetryFuture, RetryLayer, RetryPolicy,
    RetryService, Verdict,
};
pub use timeout::{ResponseFuture as TimeoutFuture, TimeoutLayer, TimeoutService};
