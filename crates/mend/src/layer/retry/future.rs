//! The future of a call through the retry layer: the first attempt runs
//! inline, unboxed; only a failure (or a retry with a deadline, whose
//! first attempt races its timer) moves the call into the boxed loop of
//! [`Replay`].

use std::fmt;
use std::future::{Future, ready};
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_service::Service;

use super::policy::RetryPolicy;
use super::replay::{Attempt, BoxFuture, Replay, judge};
use crate::classify::Classify;
use crate::clock::Clock;
use crate::layer::BoxError;
use crate::retry::{Retry, RetryHint};

pin_project! {
    #[project = StateProj]
    enum State<F, Res, R> {
        First {
            #[pin]
            call: F,
            replay: Option<R>,
        },
        Again {
            future: BoxFuture<Res>,
        },
    }
}

pin_project! {
    /// The response future of [`RetryService`](super::RetryService).
    pub struct ResponseFuture<F, Res, R> {
        #[pin]
        state: State<F, Res, R>,
    }
}

impl<F, Res, R> ResponseFuture<F, Res, R> {
    /// The first attempt `call`, with what it takes to try again (`None`:
    /// the request could not be copied; it is sent once).
    #[inline]
    pub(super) fn first(call: F, replay: Option<R>) -> Self {
        ResponseFuture {
            state: State::First { call, replay },
        }
    }

    /// A call already in the boxed loop.
    pub(super) fn again(future: BoxFuture<Res>) -> Self {
        ResponseFuture {
            state: State::Again { future },
        }
    }
}

impl<S, Req, P, R, C, K, H, Sl> Future
    for ResponseFuture<S::Future, S::Response, Replay<S, Req, P, R>>
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
    type Output = Result<S::Response, BoxError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = match self.as_mut().project().state.project() {
            StateProj::Again { future } => return future.as_mut().poll(cx),
            StateProj::First { call, replay } => {
                let result = std::task::ready!(call.poll(cx));
                // Judged in place: a success leaves the replay where it is
                // (dropped with the future), as moving it out costs more
                // than the rest of the success path.
                let failed = match replay {
                    None => return Poll::Ready(result.map_err(Into::into)),
                    Some(replay) => match judge(&replay.policy, result) {
                        Ok(response) => return Poll::Ready(Ok(response)),
                        Err(failed) => failed,
                    },
                };
                let Some(replay) = replay.take() else {
                    unreachable!("the replay was there a moment ago")
                };
                replay.resume(None, ready(Err::<S::Response, Attempt<_>>(failed)))
            }
        };
        self.set(ResponseFuture::again(future));
        self.poll(cx)
    }
}

impl<F, Res, R> fmt::Debug for ResponseFuture<F, Res, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::First { .. } => "first attempt",
            State::Again { .. } => "retrying",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
