//! The future of a call through a breaker layer: it holds the call's
//! permit (and, through a [`SharedBreaker`], the breaker) while the inner
//! service works, and records the outcome when the response (or error)
//! arrives.
//!
//! Shared by [`BreakerService`](super::BreakerService) and
//! [`KeyedBreakerService`](super::KeyedBreakerService): both decide in
//! `call`, then hand the permit (or the refusal) to this future. Nothing is
//! boxed on the way: an admitted call costs the admission, the handle's
//! clone (an `Arc`'s two atomic operations; nothing for a `&'static`) and
//! the record.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::handle::{Held, SharedBreaker};
use crate::classify::Classify;
use crate::layer::BoxError;

pin_project! {
    #[project = StateProj]
    enum State<F, B: SharedBreaker> {
        Running {
            #[pin]
            call: F,
            permit: Held<B>,
        },
        Refused {
            error: Option<BoxError>,
        },
    }
}

pin_project! {
    /// The response future of a breaker layer's service.
    ///
    /// Dropped before the inner call finishes, it records nothing for
    /// the call (it counts as ignored) and gives back any half-open trial
    /// slot it held, as a dropped
    /// [`OwnedPermit`](crate::breaker::OwnedPermit) does.
    pub struct ResponseFuture<F, B: SharedBreaker> {
        #[pin]
        state: State<F, B>,
    }
}

impl<F, B: SharedBreaker> ResponseFuture<F, B> {
    /// An admitted call: `call` runs under `permit`.
    #[inline(always)]
    pub(crate) fn running(call: F, permit: Held<B>) -> Self {
        ResponseFuture {
            state: State::Running { call, permit },
        }
    }

    /// A refused call: the inner service was not called.
    #[cold]
    pub(crate) fn refused(error: BoxError) -> Self {
        ResponseFuture {
            state: State::Refused { error: Some(error) },
        }
    }
}

impl<F, T, E, B> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
    B: SharedBreaker,
    B::Classify: Classify<T, E>,
{
    type Output = Result<T, BoxError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Running { call, permit } => {
                let result = std::task::ready!(call.poll(cx));
                let outcome = permit.breaker().classifier().outcome(&result);
                permit.finish(outcome);
                Poll::Ready(result.map_err(Into::into))
            }
            StateProj::Refused { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| "breaker layer future polled after completion".into()))),
        }
    }
}

impl<F, B: SharedBreaker> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Running { .. } => "running",
            State::Refused { .. } => "refused",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
