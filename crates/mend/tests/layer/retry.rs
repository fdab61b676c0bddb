//! The retry layer on its own: which responses and errors are sent again,
//! what the caller gets when it gives up, and what happens to a request
//! that cannot be copied.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mend::layer::{CloneRequest, HttpRetry, RetryLayer, RetryPolicy, Verdict};
use mend::retry::{Backoff, Jitter, Retry};
use tower::{Layer, Service, ServiceExt, service_fn};

fn retry(attempts: u32) -> Retry {
    Retry::builder("layer")
        .max_attempts(attempts)
        .backoff(Backoff::constant(Duration::from_millis(1)))
        .jitter(Jitter::None)
        .without_logging()
        .build()
        .unwrap()
}

/// A service answering the statuses given, in turn, counting calls.
fn statuses(
    answers: &'static [u16],
    calls: Arc<AtomicU32>,
) -> impl Service<http::Request<String>, Response = http::Response<()>, Error = io::Error, Future: Send>
+ Clone
+ Send
+ 'static {
    service_fn(move |request: http::Request<String>| {
        let n = calls.fetch_add(1, Ordering::SeqCst) as usize;
        assert_eq!(request.body(), "payload", "the copy carries the body");
        let status = answers[n.min(answers.len() - 1)];
        async move { Ok(http::Response::builder().status(status).body(()).unwrap()) }
    })
}

fn post() -> http::Request<String> {
    http::Request::post("http://dependency/")
        .body("payload".to_owned())
        .unwrap()
}

#[tokio::test]
async fn failure_responses_are_sent_again_until_one_is_not() {
    let calls = Arc::new(AtomicU32::new(0));
    let mut service = RetryLayer::new(retry(5), HttpRetry::new())
        .layer(statuses(&[503, 429, 500, 404], Arc::clone(&calls)));
    let response = service.ready().await.unwrap().call(post()).await.unwrap();
    assert_eq!(response.status(), 404, "a 404 is an answer");
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn the_last_failure_response_is_handed_back() {
    let calls = Arc::new(AtomicU32::new(0));
    let retry = Arc::new(retry(3));
    let mut service = RetryLayer::new(Arc::clone(&retry), HttpRetry::new())
        .layer(statuses(&[502, 503], Arc::clone(&calls)));
    let response = service.ready().await.unwrap().call(post()).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(retry.counters().retries, 2);
}

#[tokio::test]
async fn transient_errors_are_retried_and_permanent_ones_are_not() {
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let mut service =
        RetryLayer::new(retry(5), CloneRequest).layer(service_fn(move |kind: io::ErrorKind| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { Err::<(), _>(io::Error::from(kind)) }
        }));
    let error = service
        .ready()
        .await
        .unwrap()
        .call(io::ErrorKind::ConnectionRefused)
        .await
        .unwrap_err();
    assert_eq!(calls.swap(0, Ordering::SeqCst), 5);
    assert_eq!(
        error.downcast_ref::<io::Error>().map(io::Error::kind),
        Some(io::ErrorKind::ConnectionRefused),
        "the last error is the inner service's own"
    );
    let _ = service
        .ready()
        .await
        .unwrap()
        .call(io::ErrorKind::NotFound)
        .await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a permanent error was retried"
    );
}

/// A policy for a body that cannot be copied (a stream): sent once.
#[derive(Clone)]
struct Streaming;

impl RetryPolicy<http::Request<String>, http::Response<()>> for Streaming {
    fn clone_request(&self, _: &http::Request<String>) -> Option<http::Request<String>> {
        None
    }

    fn verdict(&self, _: &http::Response<()>) -> Verdict {
        Verdict::Retry(None)
    }
}

#[tokio::test]
async fn a_request_that_cannot_be_copied_is_sent_once() {
    let calls = Arc::new(AtomicU32::new(0));
    let mut service =
        RetryLayer::new(retry(5), Streaming).layer(statuses(&[503, 200], Arc::clone(&calls)));
    let response = service.ready().await.unwrap().call(post()).await.unwrap();
    assert_eq!(response.status(), 503, "its answer is handed back as it is");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_deadline_cuts_the_retries_short() {
    let calls = Arc::new(AtomicU32::new(0));
    let retry = Retry::builder("deadline")
        .max_attempts(100)
        .backoff(Backoff::constant(Duration::from_millis(20)))
        .jitter(Jitter::None)
        .deadline(Duration::from_millis(200))
        .without_logging()
        .build()
        .unwrap();
    let mut service =
        RetryLayer::new(retry, HttpRetry::new()).layer(statuses(&[503], Arc::clone(&calls)));
    let response = service.ready().await.unwrap().call(post()).await.unwrap();
    assert_eq!(response.status(), 503);
    let calls = calls.load(Ordering::SeqCst);
    assert!((2..=11).contains(&calls), "{calls} attempts in 200 ms");
}
