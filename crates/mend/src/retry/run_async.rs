//! The async loop: tokio's timer between attempts, and the deadline cutting
//! an attempt in flight.
//!
//! The success path is kept small: the first attempt runs inline, and only
//! after it fails is the retry loop started (boxed, once per retried call,
//! so the future a first-attempt success builds does not carry it). With a
//! deadline, the timer is armed only if the attempt actually waits (its
//! first `Pending`), from a fresh precise reading, so an attempt that
//! completes at once costs no timer and no second clock reading.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use super::run::{Next, Run};
use super::{GiveUp, Retry, RetryError, RetryHint};
use crate::classify::Classify;
use crate::clock::Clock;
use crate::error::{Elapsed, Error};

impl<C: Clock, K, H, S> Retry<C, K, H, S> {
    /// Runs the future `f` makes, and a new one after each transient
    /// failure, sleeping on tokio's timer between attempts. With a
    /// deadline, an attempt still running when it passes is dropped.
    ///
    /// # Errors
    ///
    /// A [`RetryError`] with `f`'s last error ([`Error::Inner`]), or
    /// [`Error::Elapsed`] when the deadline cut the last attempt short.
    pub async fn call_async<T, E, F, Fut>(&self, f: F) -> Result<T, RetryError<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
        H: RetryHint<E>,
    {
        let (classify, hints) = self.parts();
        self.run_async(f, |e| classify.is_transient(e), |e| hints.retry_after(e))
            .await
    }

    /// The async loop, for any error type with its own transience and hint.
    pub(crate) async fn run_async<T, X, F, Fut>(
        &self,
        mut f: F,
        transient: impl Fn(&X) -> bool,
        hint: impl Fn(&X) -> Option<Duration>,
    ) -> Result<T, RetryError<X>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, X>>,
    {
        let run = Run::start(self);
        let error = match attempt(&run, f()).await {
            Some(Ok(value)) => return Ok(value),
            Some(Err(error)) => error,
            None => return Err(elapsed(&run)),
        };
        Box::pin(retry_loop(run, f, error, transient, hint)).await
    }
}

/// Every attempt after the first.
async fn retry_loop<C: Clock, K, H, S, T, X, F, Fut>(
    mut run: Run<'_, C, K, H, S>,
    mut f: F,
    mut error: X,
    transient: impl Fn(&X) -> bool,
    hint: impl Fn(&X) -> Option<Duration>,
) -> Result<T, RetryError<X>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, X>>,
{
    loop {
        match run.after_failure(transient(&error), || hint(&error)) {
            Next::Sleep(delay) => tokio::time::sleep(delay).await,
            Next::Stop(reason) => {
                return Err(RetryError {
                    error: Error::Inner(error),
                    attempts: run.attempts(),
                    reason,
                });
            }
        }
        error = match attempt(&run, f()).await {
            Some(Ok(value)) => return Ok(value),
            Some(Err(e)) => e,
            None => return Err(elapsed(&run)),
        };
    }
}

/// Runs one attempt; `None` when the deadline passed first.
async fn attempt<C: Clock, K, H, S, O>(
    run: &Run<'_, C, K, H, S>,
    fut: impl Future<Output = O>,
) -> Option<O> {
    if run.deadline().is_none() {
        return Some(fut.await);
    }
    let mut fut = pin!(fut);
    let mut timer = pin!(None::<tokio::time::Sleep>);
    poll_fn(|cx| {
        if let Poll::Ready(output) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        if timer.is_none() {
            let left = run.remaining().unwrap_or(Duration::ZERO);
            timer.set(Some(tokio::time::sleep(left)));
        }
        match timer.as_mut().as_pin_mut() {
            Some(sleep) => sleep.poll(cx).map(|()| None),
            None => Poll::Ready(None),
        }
    })
    .await
}

/// The give-up when the deadline cut an attempt short.
fn elapsed<C: Clock, K, H, S, X>(run: &Run<'_, C, K, H, S>) -> RetryError<X> {
    run.give_up(GiveUp::Deadline);
    RetryError {
        error: Error::Elapsed(Elapsed::new(run.deadline().unwrap_or_default())),
        attempts: run.attempts(),
        reason: GiveUp::Deadline,
    }
}
