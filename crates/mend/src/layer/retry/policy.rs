//! What the retry layer asks of a request and a response: a copy of the
//! request to send again, and whether a response (not only an error) is a
//! failure worth another attempt.

use std::time::Duration;

/// What the retry layer does with a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The response is the answer: hand it to the caller.
    Done,
    /// The response is a transient failure (a 503, a 429): try again, no
    /// sooner than the wait it asked for, if any. When the retry gives up,
    /// the caller gets this last response.
    Retry(Option<Duration>),
}

/// How the retry layer replays requests and judges responses.
///
/// Errors are judged by the [`Retry`](crate::retry::Retry)'s own
/// classifier and hint (on the boxed error); this policy judges what only
/// the request and response types know.
pub trait RetryPolicy<Req, Res> {
    /// A copy of `request` to send again, made before the first attempt.
    /// `None` if it cannot be copied (a streaming body): the request is
    /// then sent once, and its result, whatever it is, is the answer.
    ///
    /// A copy made here is copied again (by this method) for each further
    /// attempt, so it must return `Some` for a request it copied itself.
    fn clone_request(&self, request: &Req) -> Option<Req>;

    /// Whether `response` is a failure to try again.
    fn verdict(&self, response: &Res) -> Verdict;
}

/// Retries errors only, replaying any request that is `Clone`.
///
/// Every response is an answer. For HTTP, where a 503 is a response and
/// not an error, use [`HttpRetry`](crate::layer::HttpRetry).
#[derive(Debug, Clone, Copy, Default)]
pub struct CloneRequest;

impl<Req: Clone, Res> RetryPolicy<Req, Res> for CloneRequest {
    #[inline]
    fn clone_request(&self, request: &Req) -> Option<Req> {
        Some(request.clone())
    }

    #[inline]
    fn verdict(&self, _response: &Res) -> Verdict {
        Verdict::Done
    }
}

/// A copy of a request for a further attempt was refused by the policy
/// (its [`clone_request`](RetryPolicy::clone_request) returned `None` for
/// a copy it had made itself). Never retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the retry policy could not copy the request again")]
pub struct NotReplayable;
