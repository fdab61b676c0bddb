//! The retry as a tower layer: [`RetryLayer`] sends a request again after
//! a transient failure, with the backoff, jitter, hints, deadline and
//! budget of one shared [`Retry`].
//!
//! See [`RetryLayer`] for what the layer does.

mod future;
mod policy;
mod replay;

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::BoxError;
use crate::classify::Classify;
use crate::clock::Clock;
use crate::retry::{Retry, RetryHint};

pub use future::ResponseFuture;
pub use policy::{CloneRequest, NotReplayable, RetryPolicy, Verdict};
pub use replay::Replay;

/// Sends requests again after transient failures, with one shared
/// [`Retry`].
///
/// The retry is the same struct its `call_async` uses, held by `Arc`, and
/// runs the same loop. Two things are the layer's own:
///
/// - **The request must be copied to be sent again.** A [`RetryPolicy`]
///   copies it before the first attempt: [`CloneRequest`] for any `Clone`
///   request, [`HttpRetry`](super::HttpRetry) for an `http::Request<B>`
///   whose body `B` is `Clone` (a buffered body such as
///   `http_body_util::Full<Bytes>`). A policy that cannot copy a request
///   returns `None`, and that request is sent once, its result handed back
///   as it is. A streaming body type (hyper's `Incoming`, axum's `Body`) is
///   not `Clone`, so `HttpRetry` does not accept it at all: buffer the body
///   first, or leave the retry out of that stack.
/// - **A response can be the failure.** The policy's
///   [`verdict`](RetryPolicy::verdict) says which responses to try again
///   (`HttpRetry`: 5xx and 429) and the wait they ask for (`Retry-After`).
///   When the retry gives up on responses, the caller gets the last
///   response; when it gives up on errors, the last error (boxed as the
///   inner service boxed it), or [`Elapsed`](crate::Elapsed) when the
///   retry's deadline cut an attempt short.
///
/// Errors are judged by the retry's own classifier and hint, on the boxed
/// error: by default a refusal from an inner breaker is retried after the
/// wait it carries, a connection refused or reset is transient, and an
/// error of an unknown type is transient too.
///
/// `poll_ready` is the inner service's. The first attempt is the call made
/// on the service that was polled ready; each further attempt is made on a
/// clone of it, after waiting for that clone to be ready.
///
/// # Cost
///
/// A first-attempt success with no deadline copies the request, clones the
/// inner service, the policy handle and the retry's `Arc` (as tower's own
/// `Retry` clones itself), and allocates nothing. The retry loop is boxed,
/// once, when the first attempt fails; a retry with a deadline is boxed
/// from the start (its first attempt races the deadline's timer).
///
/// # Examples
///
/// ```
/// use std::io;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use mend::layer::{BoxError, CloneRequest, RetryLayer};
/// use mend::retry::{Backoff, Retry};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), BoxError> {
/// let retry = Retry::builder("lookup")
///     .max_attempts(3)
///     .backoff(Backoff::constant(Duration::from_millis(1)))
///     .build()?;
/// static CALLS: AtomicU32 = AtomicU32::new(0);
/// let mut lookup = ServiceBuilder::new()
///     .layer(RetryLayer::new(retry, CloneRequest))
///     .service_fn(|key: String| async move {
///         if CALLS.fetch_add(1, Ordering::Relaxed) == 0 {
///             return Err(io::Error::from(io::ErrorKind::ConnectionReset));
///         }
///         Ok::<_, io::Error>(key.len())
///     });
/// assert_eq!(lookup.ready().await?.call("user:7".to_owned()).await?, 6);
/// assert_eq!(CALLS.load(Ordering::Relaxed), 2); // reset, then done
/// # Ok(())
/// # }
/// ```
///
/// The layer holds the retry by `Arc` ([`new`](RetryLayer::new)) or, for
/// one that lives as long as the program, by `&'static`
/// ([`from_static`](RetryLayer::from_static)), which spares each call an
/// `Arc` clone and drop.
pub struct RetryLayer<P, R> {
    retry: R,
    policy: P,
}

impl<P, C, K, H, Sl> RetryLayer<P, Arc<Retry<C, K, H, Sl>>> {
    /// A layer over `retry` (or an `Arc` of one), copying requests and
    /// judging responses with `policy`.
    pub fn new(retry: impl Into<Arc<Retry<C, K, H, Sl>>>, policy: P) -> Self {
        RetryLayer {
            retry: retry.into(),
            policy,
        }
    }
}

impl<P, C, K, H, Sl> RetryLayer<P, &'static Retry<C, K, H, Sl>> {
    /// A layer over a retry that lives as long as the program (a `static`,
    /// or one leaked with `Box::leak`): no call clones an `Arc`.
    pub fn from_static(retry: &'static Retry<C, K, H, Sl>, policy: P) -> Self {
        RetryLayer { retry, policy }
    }
}

impl<P, R: Deref> RetryLayer<P, R> {
    /// The retry every service of this layer shares.
    pub fn retry(&self) -> &R::Target {
        &self.retry
    }
}

impl<P: Clone, R: Clone> Clone for RetryLayer<P, R> {
    fn clone(&self) -> Self {
        RetryLayer {
            retry: self.retry.clone(),
            policy: self.policy.clone(),
        }
    }
}

impl<P: fmt::Debug, R: Deref<Target: fmt::Debug>> fmt::Debug for RetryLayer<P, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryLayer")
            .field("retry", &&*self.retry)
            .field("policy", &self.policy)
            .finish()
    }
}

impl<S, P: Clone, R: Clone> Layer<S> for RetryLayer<P, R> {
    type Service = RetryService<S, P, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RetryService {
            inner,
            policy: self.policy.clone(),
            retry: self.retry.clone(),
        }
    }
}

/// A service whose failed calls are tried again; made by [`RetryLayer`].
pub struct RetryService<S, P, R> {
    inner: S,
    policy: P,
    retry: R,
}

impl<S, P, R: Deref> RetryService<S, P, R> {
    /// The retry this service shares with its layer's other services.
    pub fn retry(&self) -> &R::Target {
        &self.retry
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

impl<S: Clone, P: Clone, R: Clone> Clone for RetryService<S, P, R> {
    fn clone(&self) -> Self {
        RetryService {
            inner: self.inner.clone(),
            policy: self.policy.clone(),
            retry: self.retry.clone(),
        }
    }
}

impl<S: fmt::Debug, P: fmt::Debug, R: Deref<Target: fmt::Debug>> fmt::Debug
    for RetryService<S, P, R>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryService")
            .field("inner", &self.inner)
            .field("policy", &self.policy)
            .field("retry", &&*self.retry)
            .finish()
    }
}

impl<S, Req, P, R, C, K, H, Sl> Service<Req> for RetryService<S, P, R>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Into<BoxError>,
    Req: Send + 'static,
    P: RetryPolicy<Req, S::Response> + Clone + Send + Sync + 'static,
    R: Deref<Target = Retry<C, K, H, Sl>> + Clone + Send + Sync + 'static,
    C: Clock + Send + Sync + 'static,
    K: Classify<S::Response, BoxError> + Send + Sync + 'static,
    H: RetryHint<BoxError> + Send + Sync + 'static,
    Sl: Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, S::Response, Replay<S, Req, P, R>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    #[inline]
    fn call(&mut self, request: Req) -> Self::Future {
        let deadline = self.retry.begin_call();
        let copy = self.policy.clone_request(&request);
        let call = self.inner.call(request);
        let Some(request) = copy else {
            return ResponseFuture::first(call, None);
        };
        let replay = Replay {
            service: self.inner.clone(),
            request,
            policy: self.policy.clone(),
            retry: self.retry.clone(),
        };
        if deadline.is_none() {
            return ResponseFuture::first(call, Some(replay));
        }
        let policy = self.policy.clone();
        let first = async move { replay::judge(&policy, call.await) };
        ResponseFuture::again(replay.resume(deadline, first))
    }
}
