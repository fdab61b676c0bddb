//! One breaker per key: [`KeyedBreakerLayer`] finds the breaker for each
//! request's key (its host, its tenant) in a shared
//! [`BreakerRegistry`], so one failing host opens only its own breaker.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::ResponseFuture;
use super::handle::Held;
use crate::breaker::{BreakerRegistry, CircuitBreaker};
use crate::classify::{Classify, DefaultClassify};
use crate::clock::{Clock, SystemClock};
use crate::layer::BoxError;

/// Wraps services in a [`BreakerRegistry`]: each request is guarded by
/// the breaker of the key `key(&request)` gives.
///
/// The registry is shared by every service the layer makes. A request
/// whose key is new while the registry is full is refused with the
/// registry's [`RegistryFull`](crate::breaker::RegistryFull), boxed (the
/// inner service is not called; [`error_response`](crate::layer::error_response)
/// answers it with 503).
///
/// # Examples
///
/// One breaker per host:
///
/// ```
/// use std::convert::Infallible;
/// use mend::breaker::{BreakerRegistry, CircuitBreaker};
/// use mend::layer::KeyedBreakerLayer;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mend::layer::BoxError> {
/// let registry = BreakerRegistry::builder(CircuitBreaker::builder("hosts"))
///     .max_keys(1_000)
///     .build()?;
/// let host = |request: &http::Request<()>| {
///     request.uri().host().unwrap_or_default().to_owned()
/// };
/// let mut client = ServiceBuilder::new()
///     .layer(KeyedBreakerLayer::new(registry, host))
///     .service_fn(|_: http::Request<()>| async { Ok::<_, Infallible>(200) });
/// let request = http::Request::get("http://a.example/").body(())?;
/// assert_eq!(client.ready().await?.call(request).await?, 200);
/// # Ok(())
/// # }
/// ```
pub struct KeyedBreakerLayer<Key, F, C: Clock = SystemClock, K = DefaultClassify> {
    registry: Arc<BreakerRegistry<Key, C, K>>,
    key: F,
}

impl<Key, F, C: Clock, K> KeyedBreakerLayer<Key, F, C, K> {
    /// A layer over `registry` (or an `Arc` of one), keying requests with
    /// `key`.
    pub fn new(registry: impl Into<Arc<BreakerRegistry<Key, C, K>>>, key: F) -> Self {
        KeyedBreakerLayer {
            registry: registry.into(),
            key,
        }
    }

    /// The registry every service of this layer shares.
    pub fn registry(&self) -> &Arc<BreakerRegistry<Key, C, K>> {
        &self.registry
    }
}

impl<Key, F: Clone, C: Clock, K> Clone for KeyedBreakerLayer<Key, F, C, K> {
    fn clone(&self) -> Self {
        KeyedBreakerLayer {
            registry: Arc::clone(&self.registry),
            key: self.key.clone(),
        }
    }
}

impl<Key, F, C: Clock, K> fmt::Debug for KeyedBreakerLayer<Key, F, C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBreakerLayer")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl<S, Key, F: Clone, C: Clock, K> Layer<S> for KeyedBreakerLayer<Key, F, C, K> {
    type Service = KeyedBreakerService<S, Key, F, C, K>;

    fn layer(&self, inner: S) -> Self::Service {
        KeyedBreakerService {
            inner,
            registry: Arc::clone(&self.registry),
            key: self.key.clone(),
        }
    }
}

/// A service whose calls go through the breaker of their key; made by
/// [`KeyedBreakerLayer`]. `poll_ready` is the inner service's, as for
/// [`BreakerService`](super::BreakerService).
pub struct KeyedBreakerService<S, Key, F, C: Clock = SystemClock, K = DefaultClassify> {
    inner: S,
    registry: Arc<BreakerRegistry<Key, C, K>>,
    key: F,
}

impl<S, Key, F, C: Clock, K> KeyedBreakerService<S, Key, F, C, K> {
    /// The registry this service shares with its layer's other services.
    pub fn registry(&self) -> &Arc<BreakerRegistry<Key, C, K>> {
        &self.registry
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

impl<S: Clone, Key, F: Clone, C: Clock, K> Clone for KeyedBreakerService<S, Key, F, C, K> {
    fn clone(&self) -> Self {
        KeyedBreakerService {
            inner: self.inner.clone(),
            registry: Arc::clone(&self.registry),
            key: self.key.clone(),
        }
    }
}

impl<S: fmt::Debug, Key, F, C: Clock, K> fmt::Debug for KeyedBreakerService<S, Key, F, C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBreakerService")
            .field("inner", &self.inner)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl<S, Req, Key, F, C, K> Service<Req> for KeyedBreakerService<S, Key, F, C, K>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    Key: Hash + Eq + Clone + fmt::Display,
    F: Fn(&Req) -> Key,
    C: Clock,
    K: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, Arc<CircuitBreaker<C, K>>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let key = (self.key)(&request);
        let breaker = match self.registry.get(&key) {
            Ok(breaker) => breaker,
            Err(full) => return ResponseFuture::refused(full.into()),
        };
        match breaker.admit() {
            Ok(ticket) => {
                ResponseFuture::running(self.inner.call(request), Held::new(breaker, ticket))
            }
            Err(rejected) => ResponseFuture::refused(rejected.into()),
        }
    }
}
