//! A hyper-util client behind mend's retry, breaker and timeout, against
//! a real axum server that answers 503 with `Retry-After` for a while:
//! the retries wait as the server asked, the breaker opens while the
//! server fails and keeps calls off it, and the client heals with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State as Shared;
use axum::http::StatusCode;
use axum::routing::get;
use mend::Elapsed;
use mend::breaker::{CircuitBreaker, State};
use mend::layer::{BreakerLayer, HttpClassify, HttpRetry, RetryLayer, TimeoutLayer};
use mend::limit::Timeout;
use mend::retry::{Backoff, Jitter, Retry};
use parking_lot::Mutex;
use tower::{Service, ServiceBuilder, ServiceExt};

use crate::support::{get as request, http_client, serve, wait_until};

/// A dependency that fails (503, `Retry-After: 1`) until told to heal,
/// and notes when each request arrived.
#[derive(Default)]
struct Flaky {
    healed: AtomicBool,
    arrivals: Mutex<Vec<Instant>>,
}

impl Flaky {
    fn hits(&self) -> usize {
        self.arrivals.lock().len()
    }
}

#[allow(clippy::disallowed_methods)] // real time: the server notes arrivals
async fn flaky(
    Shared(flaky): Shared<Arc<Flaky>>,
) -> (StatusCode, [(&'static str, &'static str); 1]) {
    flaky.arrivals.lock().push(Instant::now());
    if flaky.healed.load(Ordering::SeqCst) {
        (StatusCode::OK, [("x-state", "healed")])
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "1")])
    }
}

#[allow(clippy::disallowed_methods)] // real time, measured
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_waits_as_asked_stops_calling_and_heals() {
    let server = Arc::new(Flaky::default());
    let addr = serve(
        Router::new()
            .route("/", get(flaky))
            .with_state(Arc::clone(&server)),
    )
    .await;

    let wait_in_open = Duration::from_millis(300);
    let breaker = Arc::new(
        CircuitBreaker::builder("upstream")
            .consecutive_failures(2)
            .wait_in_open(wait_in_open)
            .half_open_calls(1)
            .classify(HttpClassify)
            .without_logging()
            .build()
            .unwrap(),
    );
    let retry = Retry::builder("upstream")
        .max_attempts(2)
        .backoff(Backoff::constant(Duration::from_millis(10)))
        .jitter(Jitter::None)
        .max_retry_after(Duration::from_secs(5))
        .without_logging()
        .build()
        .unwrap();
    let timeout = Timeout::builder("upstream", Duration::from_secs(2))
        .without_logging()
        .build()
        .unwrap();
    let mut client = ServiceBuilder::new()
        .layer(RetryLayer::new(retry, HttpRetry::new()))
        .layer(BreakerLayer::new(Arc::clone(&breaker)))
        .layer(TimeoutLayer::new(timeout))
        .service(http_client());

    // Two attempts, a second apart as `Retry-After: 1` asked (the backoff
    // alone is 10 ms); the retry gives up with the last response, and two
    // failures in a row open the breaker.
    let response = client
        .ready()
        .await
        .unwrap()
        .call(request(addr, "/"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    {
        let arrivals = server.arrivals.lock();
        assert_eq!(arrivals.len(), 2);
        let gap = arrivals[1] - arrivals[0];
        assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    }
    assert_eq!(breaker.state(), State::Open);

    // Open: the first attempt never reaches the server; the retry waits
    // out the breaker's wait, and the trial finds the server still down.
    let started = Instant::now();
    let response = client
        .ready()
        .await
        .unwrap()
        .call(request(addr, "/"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.hits(), 3, "an open breaker let a call through");
    assert!(
        started.elapsed() >= wait_in_open / 2,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(breaker.state(), State::Open);

    // The server heals; so does the client.
    server.healed.store(true, Ordering::SeqCst);
    wait_until("a 200 through the stack", || {
        let mut client = client.clone();
        async move {
            let response = client.ready().await.unwrap().call(request(addr, "/")).await;
            response.is_ok_and(|r| r.status() == StatusCode::OK)
        }
    })
    .await;
    assert_eq!(breaker.state(), State::Closed);
    let response = client
        .ready()
        .await
        .unwrap()
        .call(request(addr, "/"))
        .await
        .unwrap();
    assert_eq!(response.headers()["x-state"], "healed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_is_cut_off_and_counted() {
    let addr = serve(Router::new().route("/", get(std::future::pending::<&'static str>))).await;
    let breaker = Arc::new(
        CircuitBreaker::builder("hung")
            .consecutive_failures(1)
            .without_logging()
            .build()
            .unwrap(),
    );
    let timeout = Arc::new(
        Timeout::builder("hung", Duration::from_millis(200))
            .without_logging()
            .build()
            .unwrap(),
    );
    let mut client = ServiceBuilder::new()
        .layer(BreakerLayer::new(Arc::clone(&breaker)))
        .layer(TimeoutLayer::new(Arc::clone(&timeout)))
        .service(http_client());
    let error = client
        .ready()
        .await
        .unwrap()
        .call(request(addr, "/"))
        .await
        .unwrap_err();
    assert!(error.is::<Elapsed>(), "{error}");
    assert_eq!(mend::layer::error_response(error).status(), 504);
    assert_eq!(timeout.counters().elapsed, 1);
    assert_eq!(breaker.state(), State::Open, "a timeout is a failure");
}
