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
mod handle;
mod keyed;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::BoxError;
use crate::breaker::CircuitBreaker;
use crate::classify::Classify;
use crate::clock::Clock;
use handle::Held;

pub use future::ResponseFuture;
pub use handle::SharedBreaker;
pub use keyed::{KeyedBreakerLayer, KeyedBreakerService};

/// Wraps services in one shared [`CircuitBreaker`]: every service the
/// layer makes, and every clone, counts in it. The breaker decides in
/// `call` (see [`poll_ready`](crate::layer#poll_ready)); a refusal is its
/// [`Rejected`](crate::Rejected), boxed, and the inner service is not
/// called. Outcomes are classified by the breaker's own classifier on the
/// inner `Result<Response, Error>`: build it with
/// [`HttpClassify`](crate::layer::HttpClassify) to count 5xx and 429
/// responses as failures.
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
///
/// The layer holds the breaker by `Arc` ([`new`](BreakerLayer::new)) or,
/// for a breaker that lives as long as the program,
/// by `&'static` ([`from_static`](BreakerLayer::from_static)), which spares
/// each call an `Arc` clone and drop.
pub struct BreakerLayer<B> {
    breaker: B,
}

impl<C: Clock, K> BreakerLayer<Arc<CircuitBreaker<C, K>>> {
    /// A layer over `breaker` (a breaker, or an `Arc` of one shared with
    /// other callers).
    pub fn new(breaker: impl Into<Arc<CircuitBreaker<C, K>>>) -> Self {
        BreakerLayer {
            breaker: breaker.into(),
        }
    }
}

impl<C: Clock, K> BreakerLayer<&'static CircuitBreaker<C, K>> {
    /// A layer over a breaker that lives as long as the program (a
    /// `static`, or one leaked with `Box::leak`): the cheapest form, since
    /// no call clones an `Arc`.
    pub fn from_static(breaker: &'static CircuitBreaker<C, K>) -> Self {
        BreakerLayer { breaker }
    }
}

impl<B: SharedBreaker> BreakerLayer<B> {
    /// The breaker every service of this layer shares.
    pub fn breaker(&self) -> &CircuitBreaker<B::Clock, B::Classify> {
        self.breaker.breaker()
    }
}

impl<B: Clone> Clone for BreakerLayer<B> {
    fn clone(&self) -> Self {
        BreakerLayer {
            breaker: self.breaker.clone(),
        }
    }
}

impl<B: SharedBreaker> fmt::Debug for BreakerLayer<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerLayer")
            .field("breaker", self.breaker.breaker())
            .finish()
    }
}

impl<S, B: Clone> Layer<S> for BreakerLayer<B> {
    type Service = BreakerService<S, B>;

    fn layer(&self, inner: S) -> Self::Service {
        BreakerService {
            inner,
            breaker: self.breaker.clone(),
        }
    }
}

/// A service whose calls go through a [`CircuitBreaker`]; made by
/// [`BreakerLayer`].
///
/// `poll_ready` is the inner service's readiness and takes no permit: the
/// breaker decides in `call`. A refused call's error is a boxed
/// [`Rejected`](crate::Rejected).
pub struct BreakerService<S, B> {
    inner: S,
    breaker: B,
}

impl<S, B: SharedBreaker> BreakerService<S, B> {
    /// The breaker this service shares with its layer's other services.
    pub fn breaker(&self) -> &CircuitBreaker<B::Clock, B::Classify> {
        self.breaker.breaker()
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

impl<S: Clone, B: Clone> Clone for BreakerService<S, B> {
    fn clone(&self) -> Self {
        BreakerService {
            inner: self.inner.clone(),
            breaker: self.breaker.clone(),
        }
    }
}

impl<S: fmt::Debug, B: SharedBreaker> fmt::Debug for BreakerService<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerService")
            .field("inner", &self.inner)
            .field("breaker", self.breaker.breaker())
            .finish()
    }
}

impl<S, Req, B> Service<Req> for BreakerService<S, B>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    B: SharedBreaker,
    B::Classify: Classify<S::Response, S::Error>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, B>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    #[inline]
    fn call(&mut self, request: Req) -> Self::Future {
        match self.breaker.breaker().admit() {
            Ok(ticket) => ResponseFuture::running(
                self.inner.call(request),
                Held::new(self.breaker.clone(), ticket),
            ),
            Err(rejected) => ResponseFuture::refused(rejected.into()),
        }
    }
}
