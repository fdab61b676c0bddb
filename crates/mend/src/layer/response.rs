//! The layers' errors as HTTP responses, for servers whose services must
//! not fail (axum's): a refusal is 503 or 429, a timeout 504.
//!
//! | error (anywhere in the source chain, or wrapped in an `io::Error`) | status | `Retry-After` |
//! |---|---|---|
//! | [`Rejected::Limited`] (rate limited) | 429 Too Many Requests | the limiter's wait, in whole seconds rounded up |
//! | [`Rejected::Open`] (breaker open) | 503 Service Unavailable | the breaker's wait, rounded up |
//! | [`Rejected::ForcedOpen`], [`Rejected::Full`] (bulkhead full), [`RegistryFull`] | 503 Service Unavailable | none |
//! | [`Elapsed`] (timed out) | 504 Gateway Timeout | none |
//! | anything else | 500 Internal Server Error | none |
//!
//! The body is the refusal's message (plain text); for any other error it
//! is only "internal server error", so nothing internal leaks to clients.

use std::error::Error as StdError;
use std::time::Duration;

use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};

use super::BoxError;
use crate::breaker::RegistryFull;
use crate::error::{Elapsed, Rejected};

/// The status (and the `Retry-After` wait) for a layer's error: see the
/// table at [`error_response`].
pub fn status_for(error: &(dyn StdError + 'static)) -> (StatusCode, Option<Duration>) {
    let mut link = Some(error);
    while let Some(error) = link {
        if let Some(rejected) = error.downcast_ref::<Rejected>() {
            return match rejected {
                Rejected::Limited { retry_after } => {
                    (StatusCode::TOO_MANY_REQUESTS, Some(*retry_after))
                }
                Rejected::Open { retry_after } => {
                    (StatusCode::SERVICE_UNAVAILABLE, Some(*retry_after))
                }
                Rejected::ForcedOpen | Rejected::Full => (StatusCode::SERVICE_UNAVAILABLE, None),
            };
        }
        if error.is::<RegistryFull>() {
            return (StatusCode::SERVICE_UNAVAILABLE, None);
        }
        if error.is::<Elapsed>() {
            return (StatusCode::GATEWAY_TIMEOUT, None);
        }
        // An `io::Error` wrapping an error reports that error's source,
        // skipping the error itself: look at what it wraps.
        link = match error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => error.source(),
        };
    }
    (StatusCode::INTERNAL_SERVER_ERROR, None)
}

/// A response for a layer's error:
///
/// | error (anywhere in the source chain, or wrapped in an `io::Error`) | status | `Retry-After` |
/// |---|---|---|
/// | [`Rejected::Limited`] (rate limited) | 429 Too Many Requests | the limiter's wait, in whole seconds rounded up |
/// | [`Rejected::Open`] (breaker open) | 503 Service Unavailable | the breaker's wait, rounded up |
/// | [`Rejected::ForcedOpen`], [`Rejected::Full`] (bulkhead full), [`RegistryFull`] | 503 Service Unavailable | none |
/// | [`Elapsed`] (timed out) | 504 Gateway Timeout | none |
/// | anything else | 500 Internal Server Error | none |
///
/// The body is the refusal's message (plain text); for any other error it
/// is only "internal server error", so nothing internal leaks to clients.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::Rejected;
/// use mend::layer::error_response;
///
/// let limited = Rejected::Limited { retry_after: Duration::from_millis(1_500) };
/// let response = error_response(limited.into());
/// assert_eq!(response.status(), 429);
/// assert_eq!(response.headers()["retry-after"], "2");
/// ```
pub fn error_response(error: BoxError) -> Response<String> {
    let (status, wait) = status_for(&*error);
    let body = if status == StatusCode::INTERNAL_SERVER_ERROR {
        "internal server error".to_owned()
    } else {
        error.to_string()
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Some(wait) = wait {
        headers.insert(RETRY_AFTER, HeaderValue::from(whole_seconds(wait)));
    }
    response
}

/// [`error_response`] as an async fn, ready for axum's
/// `HandleErrorLayer::new(mend::layer::handle_error)`.
pub async fn handle_error(error: BoxError) -> Response<String> {
    error_response(error)
}

/// A wait in whole seconds, rounded up, and at least one (a zero would
/// invite a client to come straight back).
fn whole_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(error: impl Into<BoxError>) -> (u16, Option<String>) {
        let response = error_response(error.into());
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), retry_after)
    }

    #[test]
    fn every_refusal_has_its_status() {
        let secs = |s| Duration::from_secs(s);
        assert_eq!(
            status(Rejected::Open {
                retry_after: secs(3)
            }),
            (503, Some("3".into()))
        );
        assert_eq!(status(Rejected::Full), (503, None));
        assert_eq!(status(Rejected::ForcedOpen), (503, None));
        assert_eq!(
            status(Rejected::Limited {
                retry_after: Duration::from_millis(10)
            }),
            (429, Some("1".into()))
        );
        assert_eq!(status(Elapsed::new(secs(1))), (504, None));
        assert_eq!(status(RegistryFull { max_keys: 1 }), (503, None));
        assert_eq!(status("disk on fire"), (500, None));
        assert_eq!(
            error_response("disk on fire".into()).into_body(),
            "internal server error"
        );
    }

    #[test]
    fn a_refusal_is_found_under_other_errors() {
        let wrapped = std::io::Error::other(Rejected::Full);
        assert_eq!(status(wrapped), (503, None));
    }
}
