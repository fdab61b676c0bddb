//! The breaker as a tower layer: [`BreakerLayer`] puts one
//! [`CircuitBreaker`] in front of every service it makes, and
//! [`KeyedBreakerLayer`] one breaker per key (per host, per tenant) from a
//! [`BreakerRegistry`](crate::breaker::BreakerRegistry).
//!
//! The breaker is the same struct its `call` and `call_async` use, held by
//! `Arc`: every service the layer makes, and every clone of them, counts in
//! the one breaker, so a router that calls `layer()` once per route still
//! trips as one. The admission is decided in `call` (never in
//! `poll_ready`, see the [layer docs](super)); a refusal is the breaker's
//! [`Rejected`](crate::Rejected), boxed, and the inner service is not
//! called. The outcome is classified with the breaker's own classifier on
//! the inner service's `Result<Response, Error>`, before the error is
//! boxed: build the breaker with [`HttpClassify`](super::HttpClassify) to
//! count 5xx and 429 responses as failures.

mod future;
mod keyed;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::BoxError;
use crate::breaker::CircuitBreaker;
use crate::classify::{Classify, DefaultClassify};
use crate::clock::{Clock, SystemClock};

pub use future::ResponseFuture;
pub use keyed::{KeyedBreakerLayer, KeyedBreakerService};

/// Wraps services in one shared [`CircuitBreaker`]; see the
/// [module docs](self).
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
/// use mend::breaker::CircuitBreaker;
/// use mend::layer::BreakerLayer;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mend::layer::BoxError> {
/// let breaker = CircuitBreaker::builder("echo").consecutive_failures(5).build()?;
/// let mut echo = ServiceBuilder::new()
///     .layer(BreakerLayer::new(breaker))
///     .service_fn(|word: &'static str| async move { Ok::<_, Infallible>(word) });
/// assert_eq!(echo.ready().await?.call("hello").await?, "hello");
/// # Ok(())
/// # }
/// ```
pub struct BreakerLayer<C: Clock = SystemClock, K = DefaultClassify> {
    breaker: Arc<CircuitBreaker<C, K>>,
}

impl<C: Clock, K> BreakerLayer<C, K> {
    /// A layer over `breaker` (a breaker, or an `Arc` of one shared with
    /// other callers).
    pub fn new(breaker: impl Into<Arc<CircuitBreaker<C, K>>>) -> Self {
        BreakerLayer {
            breaker: breaker.into(),
        }
    }

    /// The breaker every service of this layer shares.
    pub fn breaker(&self) -> &Arc<CircuitBreaker<C, K>> {
        &self.breaker
    }
}

impl<C: Clock, K> Clone for BreakerLayer<C, K> {
    fn clone(&self) -> Self {
        BreakerLayer {
            breaker: Arc::clone(&self.breaker),
        }
    }
}

impl<C: Clock, K> fmt::Debug for BreakerLayer<C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerLayer")
            .field("breaker", &self.breaker)
            .finish()
    }
}

impl<S, C: Clock, K> Layer<S> for BreakerLayer<C, K> {
    type Service = BreakerService<S, C, K>;

    fn layer(&self, inner: S) -> Self::Service {
        BreakerService {
            inner,
            breaker: Arc::clone(&self.breaker),
        }
    }
}

/// A service whose calls go through a [`CircuitBreaker`]; made by
/// [`BreakerLayer`].
///
/// `poll_ready` is the inner service's readiness and takes no permit: the
/// breaker decides in `call`. A refused call's error is a boxed
/// [`Rejected`](crate::Rejected).
pub struct BreakerService<S, C: Clock = SystemClock, K = DefaultClassify> {
    inner: S,
    breaker: Arc<CircuitBreaker<C, K>>,
}

impl<S, C: Clock, K> BreakerService<S, C, K> {
    /// The breaker this service shares with its layer's other services.
    pub fn breaker(&self) -> &Arc<CircuitBreaker<C, K>> {
        &self.breaker
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

impl<S: Clone, C: Clock, K> Clone for BreakerService<S, C, K> {
    fn clone(&self) -> Self {
        BreakerService {
            inner: self.inner.clone(),
            breaker: Arc::clone(&self.breaker),
        }
    }
}

impl<S: fmt::Debug, C: Clock, K> fmt::Debug for BreakerService<S, C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerService")
            .field("inner", &self.inner)
            .field("breaker", &self.breaker)
            .finish()
    }
}

impl<S, Req, C, K> Service<Req> for BreakerService<S, C, K>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: Clock,
    K: Classify<S::Response, S::Error>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, C, K>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    #[inline]
    fn call(&mut self, request: Req) -> Self::Future {
        match Arc::clone(&self.breaker).try_acquire_owned() {
            Ok(permit) => ResponseFuture::running(self.inner.call(request), permit),
            Err(rejected) => ResponseFuture::refused(rejected.into()),
        }
    }
}
