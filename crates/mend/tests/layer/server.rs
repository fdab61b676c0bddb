//! An axum server behind mend's bulkhead and rate limit, under load from
//! concurrent clients: every request is answered, the overflow with 503
//! (bulkhead full) or 429 with `Retry-After` (rate limited).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::State;
use axum::routing::get;
use mend::layer::{BulkheadLayer, RateLimitLayer, handle_error};
use mend::limit::{Bulkhead, Quota, RateLimiter};
use tokio::sync::Semaphore;
use tower::ServiceBuilder;

use crate::support::{get as request, http_client, serve, wait_until};

/// A handler that holds every request until the test lets it go.
struct Gate {
    inside: AtomicUsize,
    open: Semaphore,
}

async fn held(State(gate): State<Arc<Gate>>) -> &'static str {
    gate.inside.fetch_add(1, Ordering::SeqCst);
    let _pass = gate.open.acquire().await.unwrap();
    "done"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflow_is_answered_503_and_429() {
    const SLOTS: usize = 2;
    const QUOTA: u32 = 4;
    const CLIENTS: usize = 12;
    let gate = Arc::new(Gate {
        inside: AtomicUsize::new(0),
        open: Semaphore::new(0),
    });
    let bulkhead = Arc::new(
        Bulkhead::builder("api")
            .max_concurrent(SLOTS)
            .without_logging()
            .build()
            .unwrap(),
    );
    let quota = Quota::per_minute(NonZeroU32::new(QUOTA).unwrap());
    let limiter = RateLimiter::builder("api", quota)
        .without_logging()
        .build()
        .unwrap();
    let app = Router::new()
        .route("/", get(held))
        .with_state(Arc::clone(&gate))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(handle_error))
                .layer(BulkheadLayer::new(Arc::clone(&bulkhead)))
                .layer(RateLimitLayer::new(limiter)),
        );
    let addr = serve(app).await;
    let client = http_client();

    // A burst from concurrent clients: two get in and are held, the rest
    // find the bulkhead full.
    let burst: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.request(request(addr, "/")).await.unwrap() })
        })
        .collect();
    wait_until("two requests inside the handler", || {
        let inside = gate.inside.load(Ordering::SeqCst);
        async move { inside == SLOTS }
    })
    .await;
    wait_until("every other request refused", || {
        let refused = bulkhead.counters().rejected;
        async move { refused == (CLIENTS - SLOTS) as u64 }
    })
    .await;
    gate.open.add_permits(Semaphore::MAX_PERMITS / 2);
    let mut statuses = Vec::new();
    for answer in burst {
        let response = answer.await.unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 503 {
            assert!(response.headers().get("retry-after").is_none());
        }
    }
    statuses.sort_unstable();
    let mut expected = vec![200; SLOTS];
    expected.extend(vec![503; CLIENTS - SLOTS]);
    expected.sort_unstable();
    assert_eq!(statuses, expected, "every request is answered");
    assert_eq!(bulkhead.in_flight(), 0);

    // The bulkhead refused before the limiter counted: the quota still has
    // room for two more, then answers 429 with the wait until the next.
    let concurrent: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.request(request(addr, "/")).await.unwrap() })
        })
        .collect();
    let mut ok = 0;
    let mut limited = 0;
    for answer in concurrent {
        let response = answer.await.unwrap();
        match response.status().as_u16() {
            200 => ok += 1,
            429 => {
                limited += 1;
                let wait: u64 = response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=15).contains(&wait), "Retry-After: {wait}");
            }
            503 => {} // the bulkhead, if two were still inside
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, QUOTA as usize - SLOTS, "the quota's rest was served");
    assert!(limited >= 1, "nobody was rate limited");
}
