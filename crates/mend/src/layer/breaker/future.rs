//! The future of a call through a breaker layer: it holds the call's
//! [`OwnedPermit`] while the inner service works, and records the outcome
//! when the response (or error) arrives.
//!
//! Shared by [`BreakerService`](super::BreakerService) and
//! [`KeyedBreakerService`](super::KeyedBreakerService): both decide in
//! `call`, then hand the permit (or the refusal) to this future. Nothing is
//! boxed on the way: an admitted call costs the permit (one `Arc` clone)
//! and the record.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::breaker::OwnedPermit;
use crate::classify::Classify;
use crate::clock::Clock;

use super::super::BoxError;

pin_project! {
    #[project = StateProj]
    enum State<F, C: Clock, K> {
        Running {
            #[pin]
            call: F,
            permit: Option<OwnedPermit<C, K>>,
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
    /// slot it held, as a dropped [`OwnedPermit`] does.
    pub struct ResponseFuture<F, C: Clock, K> {
        #[pin]
        state: State<F, C, K>,
    }
}

impl<F, C: Clock, K> ResponseFuture<F, C, K> {
    /// An admitted call: `call` runs under `permit`.
    #[inline]
    pub(crate) fn running(call: F, permit: OwnedPermit<C, K>) -> Self {
        ResponseFuture {
            state: State::Running {
                call,
                permit: Some(permit),
            },
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

impl<F, T, E, C, K> Future for ResponseFuture<F, C, K>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
    C: Clock,
    K: Classify<T, E>,
{
    type Output = Result<T, BoxError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Running { call, permit } => {
                let result = std::task::ready!(call.poll(cx));
                if let Some(permit) = permit.take() {
                    permit.record_result(&result);
                }
                Poll::Ready(result.map_err(Into::into))
            }
            StateProj::Refused { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| "breaker layer future polled after completion".into()))),
        }
    }
}

impl<F, C: Clock, K> fmt::Debug for ResponseFuture<F, C, K> {
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
