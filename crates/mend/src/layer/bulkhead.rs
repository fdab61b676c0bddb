//! The bulkhead as a tower layer: [`BulkheadLayer`] lets at most the
//! shared [`Bulkhead`]'s `max_concurrent` calls run at once through every
//! service it makes, and refuses the rest at once with
//! [`Rejected::Full`](crate::Rejected::Full), boxed.
//!
//! The slot is taken in `call`, not in `poll_ready` (which is the inner
//! service's): a service polled ready and then cloned or dropped holds no
//! slot. The slot is held by the response future until the inner call
//! ends, or until the future is dropped. The layer never waits in the
//! bulkhead's queue (a queue set on the builder serves its `call` and
//! `call_async` only): a server answers a full bulkhead at once, with 503
//! from [`error_response`](super::error_response).

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::{BoxError, GuardedFuture};
use crate::clock::{Clock, SystemClock};
use crate::limit::{Bulkhead, OwnedBulkheadPermit};

/// Wraps services in one shared [`Bulkhead`]: at most its
/// `max_concurrent` calls at once through every service the layer makes;
/// the rest are refused at once with
/// [`Rejected::Full`](crate::Rejected::Full), boxed. The slot is taken in
/// `call` and held by the response future until the inner call ends (or
/// the future is dropped). The layer never waits in the bulkhead's queue (a
/// queue set on the builder serves its `call` and `call_async` only).
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
/// use mend::Rejected;
/// use mend::layer::BulkheadLayer;
/// use mend::limit::Bulkhead;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mend::layer::BoxError> {
/// let bulkhead = Bulkhead::builder("uploads").max_concurrent(1).build()?;
/// let mut uploads = ServiceBuilder::new()
///     .layer(BulkheadLayer::new(bulkhead))
///     .service_fn(|n: u32| async move { Ok::<_, Infallible>(n) });
/// let first = uploads.ready().await?.call(1); // holds the only slot
/// let second = uploads.ready().await?.call(2).await.unwrap_err();
/// assert_eq!(second.downcast_ref::<Rejected>(), Some(&Rejected::Full));
/// assert_eq!(first.await?, 1);
/// # Ok(())
/// # }
/// ```
pub struct BulkheadLayer<C = SystemClock> {
    bulkhead: Arc<Bulkhead<C>>,
}

impl<C> BulkheadLayer<C> {
    /// A layer over `bulkhead` (or an `Arc` of one).
    pub fn new(bulkhead: impl Into<Arc<Bulkhead<C>>>) -> Self {
        BulkheadLayer {
            bulkhead: bulkhead.into(),
        }
    }

    /// The bulkhead every service of this layer shares.
    pub fn bulkhead(&self) -> &Arc<Bulkhead<C>> {
        &self.bulkhead
    }
}

impl<C> Clone for BulkheadLayer<C> {
    fn clone(&self) -> Self {
        BulkheadLayer {
            bulkhead: Arc::clone(&self.bulkhead),
        }
    }
}

impl<C> fmt::Debug for BulkheadLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkheadLayer")
            .field("bulkhead", &self.bulkhead)
            .finish()
    }
}

impl<S, C> Layer<S> for BulkheadLayer<C> {
    type Service = BulkheadService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        BulkheadService {
            inner,
            bulkhead: Arc::clone(&self.bulkhead),
        }
    }
}

/// A service whose calls each hold a [`Bulkhead`] slot; made by
/// [`BulkheadLayer`].
pub struct BulkheadService<S, C = SystemClock> {
    inner: S,
    bulkhead: Arc<Bulkhead<C>>,
}

impl<S, C> BulkheadService<S, C> {
    /// The bulkhead this service shares with its layer's other services.
    pub fn bulkhead(&self) -> &Arc<Bulkhead<C>> {
        &self.bulkhead
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

impl<S: Clone, C> Clone for BulkheadService<S, C> {
    fn clone(&self) -> Self {
        BulkheadService {
            inner: self.inner.clone(),
            bulkhead: Arc::clone(&self.bulkhead),
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for BulkheadService<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkheadService")
            .field("inner", &self.inner)
            .field("bulkhead", &self.bulkhead)
            .finish()
    }
}

impl<S, Req, C> Service<Req> for BulkheadService<S, C>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: Clock,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = GuardedFuture<S::Future, OwnedBulkheadPermit<C>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    #[inline]
    fn call(&mut self, request: Req) -> Self::Future {
        match Arc::clone(&self.bulkhead).try_acquire_owned() {
            Ok(slot) => GuardedFuture::running(self.inner.call(request), slot),
            Err(full) => GuardedFuture::refused(full.into()),
        }
    }
}
