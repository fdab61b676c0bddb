//! [`Retry`] around a stack: the one layer that calls its operation more
//! than once.

#[cfg(feature = "tokio")]
use std::future::Future;
use std::time::Duration;

#[cfg(feature = "tokio")]
use super::AsyncPolicy;
use super::Policy;
use crate::classify::Classify;
use crate::clock::Clock;
use crate::error::Error;
use crate::retry::{Retry, RetryError, RetryHint, Sleep};

/// Whether an attempt through a stack is worth another: the operation's own
/// errors as the retry classifies them, refusals whenever a wait can help
/// (the call never ran), timeouts as the classifier says of them.
fn transient<T, E, K: Classify<T, E>>(classify: &K, error: &Error<E>) -> bool {
    match error {
        Error::Inner(e) => classify.is_transient(e),
        Error::Rejected(r) => r.is_temporary(),
        Error::Elapsed(_) => classify.elapsed_is_transient(),
    }
}

/// The wait an attempt's error asks for: a refusal's own, or the hint the
/// retry finds in the operation's error.
fn hint<E, H: RetryHint<E>>(hints: &H, error: &Error<E>) -> Option<Duration> {
    match error {
        Error::Inner(e) => hints.retry_after(e),
        Error::Rejected(r) => crate::retry::hint::rejection_wait(r),
        Error::Elapsed(_) => None,
    }
}

/// A give-up from a stack: the last attempt's error, flattened.
fn flatten<E>(e: RetryError<Error<E>>) -> RetryError<E> {
    RetryError {
        error: match e.error {
            Error::Inner(inner) => inner,
            Error::Rejected(r) => Error::Rejected(r),
            Error::Elapsed(x) => Error::Elapsed(x),
        },
        attempts: e.attempts,
        reason: e.reason,
    }
}

impl<C: Clock, K, H, S: Sleep> Retry<C, K, H, S> {
    /// Runs `f` through `policies` (see [`compose`](crate::compose)), again
    /// after each transient failure or refusal.
    ///
    /// # Errors
    ///
    /// A [`RetryError`] with the last attempt's error: `f`'s own, or an
    /// inner policy's refusal or timeout.
    pub fn call_through<T, E, P, F>(&self, policies: &P, mut f: F) -> Result<T, RetryError<E>>
    where
        P: Policy<T, E>,
        F: FnMut() -> Result<T, E>,
        K: Classify<T, E>,
        H: RetryHint<E>,
    {
        let (classify, hints) = self.parts();
        self.run_sync(
            || policies.run(|| f().map_err(Error::Inner)),
            |e| transient(classify, e),
            |e| hint(hints, e),
        )
        .map_err(flatten)
    }
}

#[cfg(feature = "tokio")]
impl<C: Clock, K, H, S> Retry<C, K, H, S> {
    /// Runs the future `f` makes through `policies`, again after each
    /// transient failure or refusal; the deadline, if any, also cuts an
    /// attempt in flight. `f` is called to make each attempt's future before
    /// the policies decide; the future is polled only if they admit it (so
    /// keep the work inside the `async` block, as usual).
    ///
    /// # Errors
    ///
    /// As [`call_through`](Self::call_through), and [`Error::Elapsed`]
    /// when the deadline cut the last attempt short.
    pub async fn call_through_async<T, E, P, F, Fut>(
        &self,
        policies: &P,
        mut f: F,
    ) -> Result<T, RetryError<E>>
    where
        P: AsyncPolicy<T, E>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
        H: RetryHint<E>,
    {
        Self::run_async(
            self,
            || {
                let attempt = f();
                policies.run_async(|| async move { attempt.await.map_err(Error::Inner) })
            },
            |retry: &Self, e: &Error<E>| transient(retry.parts().0, e),
            |retry: &Self, e: &Error<E>| hint(retry.parts().1, e),
        )
        .await
        .map_err(flatten)
    }
}
