//! HTTP, classified: which responses count against a breaker and which a
//! retry sends again, and the `Retry-After` they carry.
//!
//! | response or error | breaker ([`HttpClassify`]) | retry ([`HttpRetry`]) |
//! |---|---|---|
//! | 5xx, 429 | failure | tried again, no sooner than its `Retry-After` |
//! | other 4xx | ignored (the caller's fault, not the dependency's) | answer |
//! | 1xx, 2xx, 3xx | success | answer |
//! | an error (connection refused or reset, a refusal, a timeout) | failure | as the retry's classifier says: by default transient |

use std::time::Duration;

use http::{HeaderMap, StatusCode, header::RETRY_AFTER};

use super::retry::{RetryPolicy, Verdict};
use crate::classify::{Classify, Outcome, default_is_transient};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::retry::parse_retry_after;

/// What a response status means for a dependency's health: 5xx and 429
/// are failures, other 4xx are ignored, the rest successes.
pub fn status_outcome(status: StatusCode) -> Outcome {
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        Outcome::Failure
    } else if status.is_client_error() {
        Outcome::Ignored
    } else {
        Outcome::Success
    }
}

/// The wait a response's `Retry-After` header asks for (seconds or an
/// HTTP-date measured from `now`); `None` without a readable one.
pub fn retry_after(headers: &HeaderMap, now: Timestamp) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, now)
}

/// A breaker's classifier for HTTP responses; errors are judged as by
/// [`DefaultClassify`](crate::classify::DefaultClassify). With
/// [`HttpRetry`] for the retry:
///
/// | response or error | breaker ([`HttpClassify`]) | retry ([`HttpRetry`]) |
/// |---|---|---|
/// | 5xx, 429 | failure | tried again, no sooner than its `Retry-After` |
/// | other 4xx | ignored (the caller's fault, not the dependency's) | answer |
/// | 1xx, 2xx, 3xx | success | answer |
/// | an error (connection refused or reset, a refusal, a timeout) | failure | as the retry's classifier says: by default transient |
///
/// # Examples
///
/// ```
/// use mend::breaker::CircuitBreaker;
/// use mend::layer::HttpClassify;
///
/// let breaker = CircuitBreaker::builder("payments-api")
///     .classify(HttpClassify)
///     .build()?;
/// # let _ = breaker;
/// # Ok::<(), mend::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpClassify;

impl<B, E: 'static> Classify<http::Response<B>, E> for HttpClassify {
    #[inline]
    fn outcome(&self, result: &Result<http::Response<B>, E>) -> Outcome {
        match result {
            Ok(response) => status_outcome(response.status()),
            Err(_) => Outcome::Failure,
        }
    }

    fn is_transient(&self, error: &E) -> bool {
        default_is_transient(error)
    }
}

/// The retry layer's policy for HTTP: replays requests whose body is
/// `Clone` (buffered, such as `Full<Bytes>`), and tries 5xx and 429
/// responses again after their `Retry-After`.
///
/// An HTTP-date `Retry-After` is measured from the clock's wall time.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpRetry<C = SystemClock> {
    clock: C,
}

impl HttpRetry {
    /// The policy, reading dates against the system clock.
    pub fn new() -> Self {
        HttpRetry { clock: SystemClock }
    }
}

impl<C: Clock> HttpRetry<C> {
    /// The policy, reading dates against `clock`.
    pub fn with_clock(clock: C) -> Self {
        HttpRetry { clock }
    }
}

impl<B: Clone, Res, C: Clock> RetryPolicy<http::Request<B>, http::Response<Res>> for HttpRetry<C> {
    #[inline]
    fn clone_request(&self, request: &http::Request<B>) -> Option<http::Request<B>> {
        Some(request.clone())
    }

    #[inline]
    fn verdict(&self, response: &http::Response<Res>) -> Verdict {
        if status_outcome(response.status()) == Outcome::Failure {
            Verdict::Retry(retry_after(response.headers(), self.clock.wall()))
        } else {
            Verdict::Done
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status_outcome(StatusCode::OK), Outcome::Success);
        assert_eq!(status_outcome(StatusCode::FOUND), Outcome::Success);
        assert_eq!(status_outcome(StatusCode::NOT_FOUND), Outcome::Ignored);
        assert_eq!(status_outcome(StatusCode::BAD_REQUEST), Outcome::Ignored);
        assert_eq!(
            status_outcome(StatusCode::TOO_MANY_REQUESTS),
            Outcome::Failure
        );
        assert_eq!(
            status_outcome(StatusCode::SERVICE_UNAVAILABLE),
            Outcome::Failure
        );
        assert_eq!(
            status_outcome(StatusCode::INTERNAL_SERVER_ERROR),
            Outcome::Failure
        );
    }

    #[test]
    fn a_failure_response_carries_its_retry_after() {
        let response = http::Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header(RETRY_AFTER, "2")
            .body(())
            .unwrap();
        let policy = HttpRetry::new();
        assert_eq!(
            RetryPolicy::<http::Request<()>, _>::verdict(&policy, &response),
            Verdict::Retry(Some(Duration::from_secs(2)))
        );
        let teapot = http::Response::builder().status(418).body(()).unwrap();
        assert_eq!(
            RetryPolicy::<http::Request<()>, _>::verdict(&policy, &teapot),
            Verdict::Done
        );
    }
}
