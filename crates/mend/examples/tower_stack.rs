//! Run with: cargo run -p mend --example tower_stack --features tower
//!
//! An axum server protected by mend's bulkhead and rate limit, and a
//! hyper-util client with mend's retry, breaker and timeout, run against
//! each other on a local socket. The server answers 503 with
//! `Retry-After: 1` to its first five requests, then heals. Watch the
//! client's retry wait as asked, its breaker open and turn attempts away
//! without sending them, and a trial close it once the server is back;
//! then a burst of concurrent requests meets the server's bulkhead (503)
//! and rate limit (429). Exits by itself after a few seconds.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mend::breaker::CircuitBreaker;
use mend::layer::{
    BoxError, BreakerLayer, BulkheadLayer, HttpClassify, HttpRetry, RateLimitLayer, RetryLayer,
    TimeoutLayer, handle_error,
};
use mend::limit::{Bulkhead, Quota, RateLimiter, Timeout};
use mend::observe::Event;
use mend::retry::{Backoff, Retry};
use tower::{Service, ServiceBuilder, ServiceExt};

/// Fails the first five requests (503, `Retry-After: 1`), then answers,
/// taking 50 ms over each answer so a burst finds the bulkhead busy.
async fn prices(
    State(seen): State<Arc<AtomicU32>>,
) -> (StatusCode, [(&'static str, &'static str); 1]) {
    let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
    if n <= 5 {
        println!("  server: request {n}: 503, come back in 1 s");
        return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "1")]);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    println!("  server: request {n}: 200");
    (StatusCode::OK, [("x-price", "42")])
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // The server: at most 10 requests a second (429 beyond), and of
    // those at most 3 at once (503 beyond).
    let bulkhead = Bulkhead::builder("server")
        .max_concurrent(3)
        .without_logging()
        .build()?;
    let quota = Quota::per_second(NonZeroU32::new(10).ok_or("zero")?);
    let limiter = RateLimiter::builder("server", quota)
        .without_logging()
        .build()?;
    let app = Router::new()
        .route("/prices", get(prices))
        .with_state(Arc::new(AtomicU32::new(0)))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(handle_error))
                .layer(RateLimitLayer::new(limiter))
                .layer(BulkheadLayer::new(bulkhead)),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/prices", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("server on {url}");

    // The client: retry outermost, so each attempt meets the breaker and
    // gets its own timeout.
    let print = |event: &Event| println!("  client event: {event}");
    let retry = Retry::builder("prices")
        .max_attempts(4)
        .backoff(Backoff::exponential(Duration::from_millis(50), 2.0))
        .max_retry_after(Duration::from_secs(2))
        .on_event(print)
        .without_logging()
        .build()?;
    let breaker = CircuitBreaker::builder("prices")
        .consecutive_failures(3)
        .wait_in_open(Duration::from_millis(500))
        .half_open_calls(1)
        .classify(HttpClassify)
        .on_event(print)
        .without_logging()
        .build()?;
    let timeout = Timeout::builder("prices", Duration::from_secs(1)).build()?;
    let mut client = ServiceBuilder::new()
        .layer(RetryLayer::new(retry, HttpRetry::new()))
        .layer(BreakerLayer::new(breaker))
        .layer(TimeoutLayer::new(timeout))
        .service(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>());

    for call in 1..=3 {
        let request = http::Request::get(&url).body(Full::default())?;
        let response = client.ready().await?.call(request).await?;
        println!("call {call}: {}", response.status());
    }

    println!("a burst of 20 concurrent requests:");
    let plain = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let (plain, url) = (plain.clone(), url.clone());
            tokio::spawn(async move {
                let request = http::Request::get(url).body(Full::default())?;
                Ok::<_, BoxError>(plain.request(request).await?.status().as_u16())
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for answer in burst {
        statuses.push(answer.await??);
    }
    statuses.sort_unstable();
    println!("burst answered: {statuses:?}");
    Ok(())
}
