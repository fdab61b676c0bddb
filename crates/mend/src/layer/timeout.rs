//! The timeout as a tower layer: [`TimeoutLayer`] drops a call still
//! running after the shared [`Timeout`]'s limit and answers
//! [`Elapsed`](crate::Elapsed), boxed.
//!
//! The timer starts in `call` (`poll_ready` is the inner service's and is
//! not timed), on tokio's clock, as [`Timeout::call_async`] does; the
//! layer counts and reports cut-off calls in the same `Timeout`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::BoxError;
use crate::clock::{Clock, SystemClock};
use crate::limit::Timeout;

/// Wraps services in one shared [`Timeout`]: a call still running at its
/// limit is dropped and answered with [`Elapsed`](crate::Elapsed), boxed.
/// The timer starts in `call`; `poll_ready` is not timed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::Elapsed;
/// use mend::layer::TimeoutLayer;
/// use mend::limit::Timeout;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), mend::layer::BoxError> {
/// let timeout = Timeout::builder("render", Duration::from_millis(100)).build()?;
/// let mut render = ServiceBuilder::new()
///     .layer(TimeoutLayer::new(timeout))
///     .service_fn(|_: ()| async {
///         tokio::time::sleep(Duration::from_secs(5)).await;
///         Ok::<_, std::io::Error>("done")
///     });
/// let error = render.ready().await?.call(()).await.unwrap_err();
/// assert!(error.is::<Elapsed>());
/// # Ok(())
/// # }
/// ```
pub struct TimeoutLayer<C = SystemClock> {
    timeout: Arc<Timeout<C>>,
}

impl<C> TimeoutLayer<C> {
    /// A layer over `timeout` (or an `Arc` of one).
    pub fn new(timeout: impl Into<Arc<Timeout<C>>>) -> Self {
        TimeoutLayer {
            timeout: timeout.into(),
        }
    }

    /// The timeout every service of this layer shares.
    pub fn timeout(&self) -> &Arc<Timeout<C>> {
        &self.timeout
    }
}

impl<C> Clone for TimeoutLayer<C> {
    fn clone(&self) -> Self {
        TimeoutLayer {
            timeout: Arc::clone(&self.timeout),
        }
    }
}

impl<C> fmt::Debug for TimeoutLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutLayer")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<S, C> Layer<S> for TimeoutLayer<C> {
    type Service = TimeoutService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        TimeoutService {
            inner,
            timeout: Arc::clone(&self.timeout),
        }
    }
}

/// A service whose calls are cut off at a [`Timeout`]'s limit; made by
/// [`TimeoutLayer`].
pub struct TimeoutService<S, C = SystemClock> {
    inner: S,
    timeout: Arc<Timeout<C>>,
}

impl<S, C> TimeoutService<S, C> {
    /// The timeout this service shares with its layer's other services.
    pub fn timeout(&self) -> &Arc<Timeout<C>> {
        &self.timeout
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

impl<S: Clone, C> Clone for TimeoutService<S, C> {
    fn clone(&self) -> Self {
        TimeoutService {
            inner: self.inner.clone(),
            timeout: Arc::clone(&self.timeout),
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for TimeoutService<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutService")
            .field("inner", &self.inner)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<S, Req, C> Service<Req> for TimeoutService<S, C>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: Clock,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, C>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        ResponseFuture {
            #[cfg(feature = "metrics")]
            started: self.timeout.started(),
            #[cfg(not(feature = "metrics"))]
            started: (),
            call: tokio::time::timeout(self.timeout.limit(), self.inner.call(request)),
            timeout: Arc::clone(&self.timeout),
        }
    }
}

/// When a call started, if metrics time it.
#[cfg(feature = "metrics")]
type Started = crate::clock::Tick;
#[cfg(not(feature = "metrics"))]
type Started = ();

pin_project! {
    /// The response future of [`TimeoutService`].
    pub struct ResponseFuture<F, C> {
        #[pin]
        call: tokio::time::Timeout<F>,
        timeout: Arc<Timeout<C>>,
        started: Started,
    }
}

impl<F, T, E, C> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
    C: Clock,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outcome = std::task::ready!(this.call.poll(cx));
        #[cfg(feature = "metrics")]
        this.timeout.took(*this.started);
        #[cfg(not(feature = "metrics"))]
        let _ = this.started;
        Poll::Ready(match outcome {
            Ok(result) => {
                this.timeout.in_time();
                result.map_err(Into::into)
            }
            Err(_) => Err(this.timeout.cut_off_elapsed().into()),
        })
    }
}

impl<F, C> fmt::Debug for ResponseFuture<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
