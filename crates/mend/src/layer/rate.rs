//! The rate limiter as a tower layer: [`RateLimitLayer`] takes one call
//! from the shared [`RateLimiter`]'s quota per request, for every service
//! it makes, and refuses the rest at once with
//! [`Rejected::Limited`](crate::Rejected::Limited) (carrying the wait until
//! the next call may go), boxed.
//!
//! The quota is taken in `call`, not in `poll_ready` (which is the inner
//! service's). [`error_response`](super::error_response) answers a refusal
//! with 429 and `Retry-After`.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::{BoxError, GuardedFuture};
use crate::clock::{Clock, SystemClock};
use crate::limit::RateLimiter;

/// Wraps services in one shared [`RateLimiter`]: each call takes one from
/// its quota, in `call`; the rest are refused at once with
/// [`Rejected::Limited`](crate::Rejected::Limited) (the wait until the
/// next call may go), boxed.
///
/// # Examples
///
/// ```
/// use std::{convert::Infallible, num::NonZeroU32};
/// use mend::Rejected;
/// use mend::layer::RateLimitLayer;
/// use mend::limit::{Quota, RateLimiter};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mend::layer::BoxError> {
/// let limiter = RateLimiter::builder("search", Quota::per_minute(NonZeroU32::MIN)).build()?;
/// let mut search = ServiceBuilder::new()
///     .layer(RateLimitLayer::new(limiter))
///     .service_fn(|q: &'static str| async move { Ok::<_, Infallible>(q.len()) });
/// assert_eq!(search.ready().await?.call("mend").await?, 4);
/// let error = search.ready().await?.call("again").await.unwrap_err();
/// assert!(matches!(error.downcast_ref(), Some(Rejected::Limited { .. })));
/// # Ok(())
/// # }
/// ```
pub struct RateLimitLayer<C: Clock = SystemClock> {
    limiter: Arc<RateLimiter<C>>,
}

impl<C: Clock> RateLimitLayer<C> {
    /// A layer over `limiter` (or an `Arc` of one).
    pub fn new(limiter: impl Into<Arc<RateLimiter<C>>>) -> Self {
        RateLimitLayer {
            limiter: limiter.into(),
        }
    }

    /// The limiter every service of this layer shares.
    pub fn limiter(&self) -> &Arc<RateLimiter<C>> {
        &self.limiter
    }
}

impl<C: Clock> Clone for RateLimitLayer<C> {
    fn clone(&self) -> Self {
        RateLimitLayer {
            limiter: Arc::clone(&self.limiter),
        }
    }
}

impl<C: Clock> fmt::Debug for RateLimitLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("limiter", &self.limiter)
            .finish()
    }
}

impl<S, C: Clock> Layer<S> for RateLimitLayer<C> {
    type Service = RateLimitService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            limiter: Arc::clone(&self.limiter),
        }
    }
}

/// A service whose calls each take one from a [`RateLimiter`]'s quota;
/// made by [`RateLimitLayer`].
pub struct RateLimitService<S, C: Clock = SystemClock> {
    inner: S,
    limiter: Arc<RateLimiter<C>>,
}

impl<S, C: Clock> RateLimitService<S, C> {
    /// The limiter this service shares with its layer's other services.
    pub fn limiter(&self) -> &Arc<RateLimiter<C>> {
        &self.limiter
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, C: Clock> Clone for RateLimitService<S, C> {
    fn clone(&self) -> Self {
        RateLimitService {
            inner: self.inner.clone(),
            limiter: Arc::clone(&self.limiter),
        }
    }
}

impl<S: fmt::Debug, C: Clock> fmt::Debug for RateLimitService<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitService")
            .field("inner", &self.inner)
            .field("limiter", &self.limiter)
            .finish()
    }
}

impl<S, Req, C> Service<Req> for RateLimitService<S, C>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: Clock,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = GuardedFuture<S::Future, ()>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    #[inline]
    fn call(&mut self, request: Req) -> Self::Future {
        match self.limiter.check() {
            Ok(()) => GuardedFuture::running(self.inner.call(request), ()),
            Err(limited) => GuardedFuture::refused(limited.into()),
        }
    }
}
