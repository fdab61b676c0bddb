//! Retry: call an operation again after a transient failure, with backoff,
//! jitter, a deadline, server hints and a shared budget.
//!
//! Use it around calls that fail now and then for reasons that pass (a
//! dropped connection, a busy server), and whose effects are safe to repeat.
//! Each failed attempt is classified: only transient errors
//! ([`Classify::is_transient`], or
//! your predicate) are tried again, after a delay from the [`Backoff`]
//! spread by [`Jitter`]. The retry stops at the first of:
//!
//! - a permanent error;
//! - `max_attempts` attempts;
//! - the **deadline**: the whole operation, attempts and sleeps together,
//!   ends by `deadline` after it began (precise monotonic time, not the sum
//!   of sleeps). A sleep that would end at or past it is not started: the
//!   retry gives up at once. In [`call_async`](Retry::call_async) an attempt
//!   still running at the deadline is dropped (cancelled) and the caller
//!   gets [`Error::Elapsed`]; a sync attempt cannot be
//!   interrupted, so [`call`](Retry::call) may overrun by one attempt;
//! - an empty [`RetryBudget`], shared by every caller of a dependency, so
//!   retries cannot multiply an outage;
//! - a server hint (`Retry-After`, an open breaker's wait) longer than
//!   `max_retry_after`. Shorter hints are honoured: the retry never fires
//!   before them ([`RetryHint`]).
//!
//! # Around mend's own policies
//!
//! `retry.call(|| breaker.call(op))` works as it reads: the default
//! classification and hint look under mend's wrappers
//! ([`cause_of`](crate::classify::cause_of)), so a permanent I/O error is
//! still permanent, a refusal is retried after the wait it carries, and a
//! timeout is retried unless the classifier is
//! [`non_idempotent`](crate::classify::non_idempotent). They can only look
//! inside types they can name, though: under an `Error<YourError>` they
//! find nothing, not even the breaker's refusal, so the retry falls back on
//! its backoff. [`call_through`](Retry::call_through) has no such limit:
//! it sees the policies' refusals and timeouts by their variant, and hands
//! only your own error to your classifier. Prefer it around a breaker or a
//! [`compose`](crate::compose) stack.
//!
//! The give-up error, [`RetryError`], keeps the last error, the number of
//! attempts and the reason. A retry scheduled and a give-up are
//! [`RetryEvent`]s (see their docs for why they are events and how the log
//! keeps them few); a first-attempt success emits nothing. What a metrics
//! scrape reads is [`Retry::counters`].
//!
//! # Cost
//!
//! A first-attempt success with no deadline and no budget reads no clock,
//! touches no atomic and allocates nothing (sync or async). A deadline adds
//! one precise clock reading per attempt (async: plus, only if the attempt
//! waits, a second reading and a boxed tokio timer to cut it off); a budget
//! adds one short lock to deposit. Jitter state is set up only when a retry
//! is first scheduled.
//!
//! Main types: [`Retry`] and its [`RetryBuilder`], [`Backoff`], [`Jitter`],
//! [`RetryBudget`], [`RetryAfter`], [`RetryError`].
//!
//! [`Classify::is_transient`]: crate::classify::Classify::is_transient
//!
//! # Examples
//!
//! ```
//! use std::{io, time::Duration};
//! use mend::clock::ManualClock;
//! use mend::retry::{Backoff, Jitter, Retry};
//!
//! let clock = ManualClock::new();
//! let retry = Retry::builder("inventory")
//!     .max_attempts(4)
//!     .backoff(Backoff::exponential(Duration::from_millis(100), 2.0))
//!     .jitter(Jitter::None)
//!     .deadline(Duration::from_secs(2))
//!     .manual_clock(&clock) // tests: sleeping advances the clock
//!     .build()?;
//!
//! let mut calls = 0;
//! let n = retry.call(|| {
//!     calls += 1;
//!     if calls < 3 { Err(io::Error::from(io::ErrorKind::ConnectionReset)) } else { Ok(calls) }
//! })?;
//! assert_eq!(n, 3);
//! assert_eq!(clock.elapsed(), Duration::from_millis(300)); // slept 100 ms + 200 ms
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backoff;
mod budget;
mod builder;
mod counters;
mod delays;
mod error;
mod event;
pub(crate) mod hint;
mod jitter;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
mod run;
#[cfg(feature = "tokio")]
mod run_async;
mod sleep;

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

pub use backoff::Backoff;
pub use budget::{BudgetSnapshot, RetryBudget, RetryBudgetBuilder};
pub use builder::RetryBuilder;
pub use counters::{GiveUps, RetryCounters};
pub use delays::Delays;
pub use error::{GiveUp, RetryError};
pub use event::{RetryEvent, RetryEventKind};
pub use hint::{DefaultHint, FromError, HintFn, RetryAfter, RetryHint, hint_fn, parse_retry_after};
pub use jitter::{Jitter, SplitMix64};
pub use sleep::{ManualSleep, Sleep, ThreadSleep};

use crate::classify::{Classify, DefaultClassify};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::observe::Subscribers;
use builder::Config;
use run::{Next, Run};

/// Calls an operation again after transient failures. See the
/// [module docs](self).
///
/// Share it by reference or in an `Arc`; every method takes `&self`.
pub struct Retry<C = SystemClock, K = DefaultClassify, H = DefaultHint, S = ThreadSleep> {
    config: Config,
    subscribers: Subscribers,
    clock: C,
    classify: K,
    hint: H,
    sleep: S,
    /// Jitter streams handed out, so concurrent calls draw different delays.
    streams: AtomicU64,
    counts: counters::Counts,
    /// Whole-call durations, for a retry with a deadline (feature `metrics`).
    #[cfg(feature = "metrics")]
    durations: Option<::metrics::Histogram>,
}

impl Retry {
    /// Starts building a retry called `name` (used in events).
    pub fn builder(name: &str) -> RetryBuilder {
        RetryBuilder::new(name)
    }
}

impl<C: Clock, K, H, S: Sleep> Retry<C, K, H, S> {
    /// The retry's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Runs `f`, and again after each transient failure, sleeping on the
    /// calling thread between attempts.
    ///
    /// # Errors
    ///
    /// A [`RetryError`] with `f`'s last error ([`Error::Inner`]) when the
    /// retry gave up.
    #[inline]
    pub fn call<T, E, F>(&self, f: F) -> Result<T, RetryError<E>>
    where
        F: FnMut() -> Result<T, E>,
        K: Classify<T, E>,
        H: RetryHint<E>,
    {
        self.run_sync(
            f,
            |e| self.classify.is_transient(e),
            |e| self.hint.retry_after(e),
        )
    }

    /// The sync path, for any error type with its own transience and hint.
    /// The first attempt runs inline; the loop of retries, only reached
    /// after a failure, is a function of its own (so the success path
    /// stays small enough to be inlined into the caller).
    #[inline]
    pub(crate) fn run_sync<T, X, F>(
        &self,
        mut f: F,
        transient: impl Fn(&X) -> bool,
        hint: impl Fn(&X) -> Option<Duration>,
    ) -> Result<T, RetryError<X>>
    where
        F: FnMut() -> Result<T, X>,
    {
        let deadline = Run::begin(self);
        #[cfg(feature = "metrics")]
        let _timer = self.call_timer(deadline);
        match f() {
            Ok(value) => Ok(value),
            Err(error) => {
                self.retry_loop_sync(Run::resume(self, deadline), f, error, transient, hint)
            }
        }
    }

    /// Every attempt after the first.
    #[inline(never)]
    fn retry_loop_sync<T, X, F>(
        &self,
        mut run: Run<'_, C, K, H, S>,
        mut f: F,
        mut error: X,
        transient: impl Fn(&X) -> bool,
        hint: impl Fn(&X) -> Option<Duration>,
    ) -> Result<T, RetryError<X>>
    where
        F: FnMut() -> Result<T, X>,
    {
        loop {
            match run.after_failure(transient(&error), || hint(&error)) {
                Next::Sleep(delay) => self.sleep.sleep(delay),
                Next::Stop(reason) => {
                    return Err(RetryError {
                        error: Error::Inner(error),
                        attempts: run.attempts(),
                        reason,
                    });
                }
            }
            error = match f() {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
        }
    }
}

impl<C, K, H, S> Retry<C, K, H, S> {
    /// Times a call that has a deadline (started at `deadline - the
    /// retry's deadline`) into the durations histogram.
    #[cfg(feature = "metrics")]
    pub(crate) fn call_timer(
        &self,
        deadline: Option<crate::clock::Tick>,
    ) -> Option<crate::metrics::CallTimer<'_, C>>
    where
        C: Clock,
    {
        let (histogram, at, whole) = (self.durations.as_ref()?, deadline?, self.config.deadline?);
        Some(crate::metrics::CallTimer {
            histogram,
            clock: &self.clock,
            started: crate::clock::Tick::from_nanos(
                at.as_nanos()
                    .saturating_sub(crate::clock::duration_nanos(whole)),
            ),
        })
    }

    /// The retry's name, whatever its clock.
    #[cfg(feature = "metrics")]
    pub(crate) fn name_str(&self) -> &str {
        &self.config.name
    }

    /// What the retry has counted so far (a read that changes nothing).
    pub fn counters(&self) -> RetryCounters {
        self.counts.snapshot()
    }

    /// Its classifier and hint finder, for the composed call paths.
    pub(crate) fn parts(&self) -> (&K, &H) {
        (&self.classify, &self.hint)
    }
}

impl<C, K, H, S> fmt::Debug for Retry<C, K, H, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
