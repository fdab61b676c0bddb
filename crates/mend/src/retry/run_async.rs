//! The async loop: tokio's timer between attempts, and the deadline cutting
//! an attempt in flight.
//!
//! The success path is kept small, because an async call's cost is mostly
//! the size of its future: the first attempt runs inline holding only the
//! deadline, and the retry loop (with its jitter state and sleeps) is
//! started, boxed, only after a failure. With a deadline, the timer is armed
//! only if an attempt actually waits (its first `Pending`), from a fresh
//! precise reading, and boxed there: an attempt that completes at once
//! costs one clock reading and nothing else; one that waits costs the timer
//! any timeout costs, plus one small allocation.

use std::future::Future;
use std::ops::Deref;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::run::{Next, Run};
use super::{GiveUp, Retry, RetryError, RetryHint};
use crate::classify::Classify;
use crate::clock::{Clock, Tick};
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
    #[inline]
    pub fn call_async<T, E, F, Fut>(&self, f: F) -> impl Future<Output = Result<T, RetryError<E>>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
        H: RetryHint<E>,
    {
        // Closures that capture nothing take no room in the future.
        Self::run_async(
            self,
            f,
            |retry: &Self, e: &E| retry.parts().0.is_transient(e),
            |retry: &Self, e: &E| retry.parts().1.retry_after(e),
        )
    }

    /// Runs the future `f` makes, and a new one after each transient
    /// failure, in a future that keeps the retry alive: `'static` (and
    /// `Send`) whenever the operation's future is, so it can be spawned.
    ///
    /// # Errors
    ///
    /// As [`call_async`](Self::call_async).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{io, sync::Arc};
    /// use mend::retry::Retry;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let retry = Arc::new(Retry::builder("sync-job").build()?);
    /// let job = tokio::spawn(
    ///     Arc::clone(&retry).call_async_owned(|| async { Ok::<_, io::Error>("synced") }),
    /// );
    /// assert_eq!(job.await??, "synced");
    /// # Ok(())
    /// # }
    /// ```
    pub fn call_async_owned<T, E, F, Fut>(
        self: Arc<Self>,
        f: F,
    ) -> impl Future<Output = Result<T, RetryError<E>>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
        H: RetryHint<E>,
    {
        Self::run_async(
            self,
            f,
            |retry: &Self, e: &E| retry.parts().0.is_transient(e),
            |retry: &Self, e: &E| retry.parts().1.retry_after(e),
        )
    }

    /// The async loop through any handle to the retry (its future owns the
    /// handle), for any error type with its own transience and hint
    /// (functions of the retry, so they need not capture it).
    #[inline]
    pub(crate) async fn run_async<R, T, X, F, Fut>(
        retry: R,
        mut f: F,
        transient: impl Fn(&Self, &X) -> bool,
        hint: impl Fn(&Self, &X) -> Option<Duration>,
    ) -> Result<T, RetryError<X>>
    where
        R: Deref<Target = Self>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, X>>,
    {
        let this: &Self = &retry;
        let deadline = Run::begin(this);
        #[cfg(feature = "metrics")]
        let _timer = this.call_timer(deadline);
        let first = match deadline {
            None => f().await,
            Some(at) => {
                let mut attempt = pin!(f());
                let raced = Within {
                    attempt: attempt.as_mut(),
                    timer: None,
                    at,
                    clock: &this.clock,
                }
                .await;
                match raced {
                    Some(result) => result,
                    None => return Err(elapsed(&Run::resume(this, deadline))),
                }
            }
        };
        let error = match first {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let run = Run::resume(this, deadline);
        Box::pin(this.retry_loop(run, f, error, transient, hint)).await
    }

    /// The start of a call whose first attempt is made by someone else (the
    /// tower layer, which has its request in hand): counts the call and
    /// deposits into the budget as [`call_async`](Self::call_async) does;
    /// returns the deadline.
    #[cfg(feature = "tower")]
    #[inline]
    pub(crate) fn begin_call(&self) -> Option<Tick> {
        Run::begin(self)
    }

    /// A call begun with [`begin_call`](Self::begin_call): its first
    /// attempt `first` raced against the deadline, then every retry as
    /// [`run_async`](Self::run_async) makes them, in a future that owns
    /// the handle to the retry.
    #[cfg(feature = "tower")]
    pub(crate) async fn finish_owned<R, T, X, F, Fut, First>(
        retry: R,
        deadline: Option<Tick>,
        first: First,
        f: F,
        transient: impl Fn(&Self, &X) -> bool,
        hint: impl Fn(&Self, &X) -> Option<Duration>,
    ) -> Result<T, RetryError<X>>
    where
        R: Deref<Target = Self>,
        First: Future<Output = Result<T, X>>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, X>>,
    {
        let this: &Self = &retry;
        #[cfg(feature = "metrics")]
        let _timer = this.call_timer(deadline);
        let result = match deadline {
            None => first.await,
            Some(at) => {
                let mut attempt = pin!(first);
                let raced = Within {
                    attempt: attempt.as_mut(),
                    timer: None,
                    at,
                    clock: &this.clock,
                }
                .await;
                match raced {
                    Some(result) => result,
                    None => return Err(elapsed(&Run::resume(this, deadline))),
                }
            }
        };
        let error = match result {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let run = Run::resume(this, deadline);
        this.retry_loop(run, f, error, transient, hint).await
    }

    /// Every attempt after the first.
    async fn retry_loop<T, X, F, Fut>(
        &self,
        mut run: Run<'_, C, K, H, S>,
        mut f: F,
        mut error: X,
        transient: impl Fn(&Self, &X) -> bool,
        hint: impl Fn(&Self, &X) -> Option<Duration>,
    ) -> Result<T, RetryError<X>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, X>>,
    {
        loop {
            match run.after_failure(transient(self, &error), || hint(self, &error)) {
                Next::Sleep(delay) => tokio::time::sleep(delay).await,
                Next::Stop(reason) => {
                    return Err(RetryError {
                        error: Error::Inner(error),
                        attempts: run.attempts(),
                        reason,
                    });
                }
            }
            let result = match run.deadline_tick() {
                None => f().await,
                Some(at) => {
                    let mut attempt = pin!(f());
                    let raced = Within {
                        attempt: attempt.as_mut(),
                        timer: None,
                        at,
                        clock: &self.clock,
                    }
                    .await;
                    match raced {
                        Some(result) => result,
                        None => return Err(elapsed(&run)),
                    }
                }
            };
            error = match result {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
        }
    }
}

/// An attempt raced against the deadline: `None` if the tick `at` came
/// first. Holds the attempt by pinned reference, so it adds four words to
/// the call's future, and arms its timer only when the attempt waits.
struct Within<'a, Fut, C> {
    attempt: Pin<&'a mut Fut>,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    at: Tick,
    clock: &'a C,
}

impl<Fut: Future, C: Clock> Future for Within<'_, Fut, C> {
    type Output = Option<Fut::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self; // every field is Unpin
        if let Poll::Ready(output) = this.attempt.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        let (at, clock) = (this.at, this.clock);
        this.timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(at - clock.precise())))
            .as_mut()
            .poll(cx)
            .map(|()| None)
    }
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
