//! Everything after a failed first attempt: the request sent again through
//! clones of the inner service, by the same loop [`Retry::call_async`]
//! runs (backoff, jitter, hints, deadline, budget), in one boxed future.
//!
//! A failure response (a 503 the policy says to retry) travels through
//! that loop as an error carrying the response and its wait, so the loop
//! honours `Retry-After`; when the retry gives up, the caller gets the
//! last response back, not an error.

use std::fmt;
use std::future::{Future, poll_fn};
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tower_service::Service;

use super::policy::{NotReplayable, RetryPolicy, Verdict};
use crate::classify::Classify;
use crate::clock::{Clock, Tick};
use crate::error::Error;
use crate::layer::BoxError;
use crate::retry::{Retry, RetryError, RetryHint};

/// A boxed future of a response.
pub(super) type BoxFuture<Res> = Pin<Box<dyn Future<Output = Result<Res, BoxError>> + Send>>;

/// How one attempt failed.
pub(super) enum Attempt<Res> {
    /// With a response the policy wants tried again, and its wait.
    Response(Res, Option<Duration>),
    /// With the inner service's error.
    Error(BoxError),
    /// The policy could not copy the request again.
    Spent,
}

/// What a retry layer's call keeps to send its request again: a clone of
/// the inner service, a copy of the request, the policy and the retry.
/// (The call's deadline is not kept here: a call with one goes straight
/// into the boxed loop, so a first attempt that waits with a `Replay` has
/// none.)
pub struct Replay<S, Req, P, R> {
    pub(super) service: S,
    pub(super) request: Req,
    pub(super) policy: P,
    pub(super) retry: R,
}

impl<S, Req, P, R> fmt::Debug for Replay<S, Req, P, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replay").finish_non_exhaustive()
    }
}

/// An attempt's result as the retry loop sees it.
#[inline]
pub(super) fn judge<Req, Res, E, P>(policy: &P, result: Result<Res, E>) -> Result<Res, Attempt<Res>>
where
    P: RetryPolicy<Req, Res>,
    E: Into<BoxError>,
{
    match result {
        Ok(response) => match policy.verdict(&response) {
            Verdict::Done => Ok(response),
            Verdict::Retry(after) => Err(Attempt::Response(response, after)),
        },
        Err(error) => Err(Attempt::Error(error.into())),
    }
}

impl<S, Req, P, R, C, K, H, Sl> Replay<S, Req, P, R>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Into<BoxError>,
    Req: Send + 'static,
    P: RetryPolicy<Req, S::Response> + Send + Sync + 'static,
    R: Deref<Target = Retry<C, K, H, Sl>> + Clone + Send + Sync + 'static,
    C: Clock + Send + Sync + 'static,
    K: Classify<S::Response, BoxError> + Send + Sync + 'static,
    H: RetryHint<BoxError> + Send + Sync + 'static,
    Sl: Send + Sync + 'static,
{
    /// The rest of the call, once `first` (the first attempt, already
    /// judged) is known or running, against the call's `deadline`.
    pub(super) fn resume<First>(
        self,
        deadline: Option<Tick>,
        first: First,
    ) -> BoxFuture<S::Response>
    where
        First: Future<Output = Result<S::Response, Attempt<S::Response>>> + Send + 'static,
    {
        let Replay {
            service,
            request,
            policy,
            retry,
        } = self;
        // Each attempt's future owns what it needs: a clone of the
        // service, a copy of the request, and the policy (shared) to judge
        // the response by.
        let policy = Arc::new(policy);
        let again = move || {
            let copy = policy.clone_request(&request);
            let mut service = service.clone();
            let policy = Arc::clone(&policy);
            async move {
                let Some(request) = copy else {
                    return Err(Attempt::Spent);
                };
                poll_fn(|cx| service.poll_ready(cx))
                    .await
                    .map_err(|e| Attempt::Error(e.into()))?;
                judge(&*policy, service.call(request).await)
            }
        };
        Box::pin(async move {
            let result = Retry::finish_owned(
                retry,
                deadline,
                first,
                again,
                |retry: &Retry<C, K, H, Sl>, attempt: &Attempt<S::Response>| match attempt {
                    Attempt::Response(..) => true,
                    Attempt::Error(error) => retry.parts().0.is_transient(error),
                    Attempt::Spent => false,
                },
                |retry: &Retry<C, K, H, Sl>, attempt: &Attempt<S::Response>| match attempt {
                    Attempt::Response(_, after) => *after,
                    Attempt::Error(error) => retry.parts().1.retry_after(error),
                    Attempt::Spent => None,
                },
            )
            .await;
            settle(result)
        })
    }
}

/// The caller's answer when the retry ended: the last failure response
/// is handed back as the response; an error as the inner service's own
/// (boxed), or [`Elapsed`](crate::Elapsed) when the deadline cut the last
/// attempt short.
fn settle<Res>(result: Result<Res, RetryError<Attempt<Res>>>) -> Result<Res, BoxError> {
    match result {
        Ok(response) => Ok(response),
        Err(gave_up) => match gave_up.error {
            Error::Inner(Attempt::Response(response, _)) => Ok(response),
            Error::Inner(Attempt::Error(error)) => Err(error),
            Error::Inner(Attempt::Spent) => Err(NotReplayable.into()),
            Error::Elapsed(elapsed) => Err(elapsed.into()),
            Error::Rejected(rejected) => Err(rejected.into()),
        },
    }
}
