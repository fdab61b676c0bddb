//! The client of the dependency: hyper-util's HTTP client behind mend's
//! tower layers, outermost first:
//!
//! 1. **retry** (`quotes`): up to 3 attempts, exponential backoff from
//!    20 ms with full jitter, a wait no longer than 1 s even if the
//!    server asks for more, and a retry budget shared by every call (20 %
//!    of first attempts over 10 s, plus 1 retry a second), so a failing
//!    dependency gets at most that much extra load;
//! 2. **circuit breaker** (`quotes`): over the last 10 calls (at least 5),
//!    opens when half fail or half are slower than 200 ms; stays open 2 s,
//!    then lets 2 trial calls through. 5xx and 429 are failures, other
//!    4xx say nothing about the dependency ([`HttpClassify`]);
//! 3. **timeout** (`quotes`): 1 s per attempt.
//!
//! Retry is outermost so each attempt meets the breaker and has its own
//! timeout; an open breaker's refusal carries a 2 s wait, longer than the
//! retry will wait, so while it is open calls fail at once.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mend::breaker::CircuitBreaker;
use mend::layer::{BoxError, BreakerLayer, HttpClassify, HttpRetry, RetryLayer, TimeoutLayer};
use mend::limit::Timeout;
use mend::metrics::Collector;
use mend::retry::{Backoff, Retry, RetryBudget};
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};

use crate::errors::ApplicationError;

/// The breaker's type: system time, HTTP classification.
pub(crate) type QuotesBreaker = CircuitBreaker<mend::clock::SystemClock, HttpClassify>;

type HttpService = BoxCloneSyncService<
    http::Request<Full<Bytes>>,
    http::Response<hyper::body::Incoming>,
    BoxError,
>;

/// Asks the quote service for a price, through the policies above.
#[derive(Clone)]
pub(crate) struct Quotes {
    url: String,
    service: HttpService,
    breaker: Arc<QuotesBreaker>,
}

impl Quotes {
    /// The client of the quote service at `addr`, its policies registered
    /// with `collector`.
    pub(crate) fn new(addr: std::net::SocketAddr, collector: &Collector) -> Result<Self, BoxError> {
        let budget = Arc::new(
            RetryBudget::builder()
                .ratio(0.2)
                .min_retries_per_sec(1)
                .ttl(Duration::from_secs(10))
                .build()?,
        );
        let retry = Arc::new(
            Retry::builder("quotes")
                .max_attempts(3)
                .backoff(Backoff::exponential(Duration::from_millis(20), 2.0))
                .max_retry_after(Duration::from_secs(1))
                .budget(budget)
                .build()?,
        );
        let breaker = Arc::new(
            CircuitBreaker::builder("quotes")
                .count_window(10)
                .minimum_calls(5)
                .failure_rate_threshold(50.0)
                .slow_call_duration(Duration::from_millis(200))
                .slow_call_rate_threshold(50.0)
                .wait_in_open(Duration::from_secs(2))
                .half_open_calls(2)
                .classify(HttpClassify)
                .build()?,
        );
        let timeout = Arc::new(Timeout::builder("quotes", Duration::from_secs(1)).build()?);
        collector.register(&retry);
        collector.register(&breaker);
        collector.register(&timeout);

        // No idle connections kept: each call connects anew, so a
        // dependency that goes down is seen by the very next call.
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http::<Full<Bytes>>();
        let service = ServiceBuilder::new()
            .layer(RetryLayer::new(retry, HttpRetry::new()))
            .layer(BreakerLayer::new(breaker.clone()))
            .layer(TimeoutLayer::new(timeout))
            .service(client);
        Ok(Quotes {
            url: format!("http://{addr}/quote"),
            service: BoxCloneSyncService::new(service),
            breaker,
        })
    }

    /// The current quote.
    pub(crate) async fn quote(&self) -> Result<u64, ApplicationError> {
        let request = http::Request::get(&self.url)
            .body(Full::default())
            .map_err(|e| ApplicationError::Dependency(e.into()))?;
        let response = self.service.clone().oneshot(request).await?;
        if !response.status().is_success() {
            return Err(ApplicationError::DependencyStatus(response.status()));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ApplicationError::Dependency(e.into()))?
            .to_bytes();
        std::str::from_utf8(&body)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .ok_or_else(|| ApplicationError::Dependency("the quote is not a number".into()))
    }

    /// The breaker in front of the dependency (the readiness probe reads it).
    pub(crate) fn breaker(&self) -> Arc<QuotesBreaker> {
        self.breaker.clone()
    }
}
