//! The future of a call that a gate admitted or refused in `call`: the
//! bulkhead's (which holds its slot until the call ends) and the rate
//! limiter's (which holds nothing).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::BoxError;

pin_project! {
    #[project = StateProj]
    enum State<F, G> {
        Running {
            #[pin]
            call: F,
            guard: Option<G>,
        },
        Refused {
            error: Option<BoxError>,
        },
    }
}

pin_project! {
    /// The response future of [`BulkheadService`](super::BulkheadService)
    /// and [`RateLimitService`](super::RateLimitService): the inner call,
    /// holding the gate's `G` (a bulkhead slot) until it ends, or the
    /// gate's refusal.
    pub struct GuardedFuture<F, G> {
        #[pin]
        state: State<F, G>,
    }
}

impl<F, G> GuardedFuture<F, G> {
    /// An admitted call, holding `guard` while it runs.
    #[inline]
    pub(crate) fn running(call: F, guard: G) -> Self {
        GuardedFuture {
            state: State::Running {
                call,
                guard: Some(guard),
            },
        }
    }

    /// A refused call: the inner service was not called.
    #[cold]
    pub(crate) fn refused(error: BoxError) -> Self {
        GuardedFuture {
            state: State::Refused { error: Some(error) },
        }
    }
}

impl<F, G, T, E> Future for GuardedFuture<F, G>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Running { call, guard } => {
                let result = std::task::ready!(call.poll(cx));
                drop(guard.take()); // the slot is free as soon as the call ends
                Poll::Ready(result.map_err(Into::into))
            }
            StateProj::Refused { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| "layer future polled after completion".into()))),
        }
    }
}

impl<F, G> fmt::Debug for GuardedFuture<F, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Running { .. } => "running",
            State::Refused { .. } => "refused",
        };
        f.debug_struct("GuardedFuture")
            .field("state", &state)
            .finish()
    }
}
