//! One policy, however many services a layer makes: axum calls `layer()`
//! once per route and clones services per connection, and every one of
//! them must count in the same breaker.

use std::sync::Arc;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::routing::get;
use mend::breaker::CircuitBreaker;
use mend::layer::{BreakerLayer, HttpClassify, handle_error};
use tower::ServiceBuilder;

use crate::support::{get as request, http_client, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_counts_in_the_one_breaker() {
    let breaker = Arc::new(
        CircuitBreaker::builder("routes")
            .classify(HttpClassify)
            .without_logging()
            .build()
            .unwrap(),
    );
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .route("/b", get(|| async { "b" }))
        .route("/c", get(|| async { "c" }))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(handle_error))
                .layer(BreakerLayer::new(Arc::clone(&breaker))),
        );
    let addr = serve(app).await;
    let client = http_client();
    const N: u64 = 30;
    for i in 0..N {
        let path = ["/a", "/b", "/c"][i as usize % 3];
        let response = client.request(request(addr, path)).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    // A layer that built a breaker per `layer()` call would leave this one
    // untouched (or see a third of the calls).
    assert_eq!(breaker.counters().successes, N);
}
