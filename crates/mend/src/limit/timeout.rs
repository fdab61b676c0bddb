//! A time limit on an async call: at the limit the call's future is dropped
//! (cancelled) and the caller gets [`Elapsed`].
//!
//! A sync call cannot be interrupted safely, so there is no sync timeout:
//! put a deadline on the retry around it instead, or give the operation its
//! own I/O timeouts.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::TimeoutCounters;
use super::episode::Reporter;
use super::event::LimitKind;
use crate::clock::{Clock, SystemClock};
use crate::config::{Checks, ConfigError};
use crate::error::{Elapsed, Error};
use crate::observe::{Subscriber, Subscribers};

/// Drops an async call that runs longer than its limit.
///
/// The wait itself is tokio's timer (`tokio::time::timeout`), so
/// `#[tokio::test(start_paused = true)]` drives it; the clock dates its
/// episodes and, with feature `metrics`, times its calls. Calls starting to time out, and finishing in time again,
/// are [`LimitEvent`](super::LimitEvent)s; every call cut off is counted
/// ([`counters`](Self::counters)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::limit::Timeout;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let timeout = Timeout::builder("thumbnails", Duration::from_millis(50)).build()?;
/// let slow = timeout
///     .call_async(|| async {
///         tokio::time::sleep(Duration::from_secs(1)).await;
///         Ok::<_, std::io::Error>(())
///     })
///     .await;
/// assert!(slow.unwrap_err().is_elapsed());
/// # Ok(())
/// # }
/// ```
pub struct Timeout<C = SystemClock> {
    limit: Duration,
    elapsed: AtomicU64,
    clock: C,
    reporter: Reporter,
    /// Call durations (tokio's timer reads the clock per call anyway).
    #[cfg(feature = "metrics")]
    durations: ::metrics::Histogram,
}

impl Timeout {
    /// Starts building a timeout called `name` of `limit`.
    pub fn builder(name: &str, limit: Duration) -> TimeoutBuilder {
        TimeoutBuilder {
            name: name.into(),
            limit,
            clock: SystemClock,
            subscribers: Subscribers::new(),
        }
    }
}

/// Builds a [`Timeout`]; made by [`Timeout::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build()`"]
pub struct TimeoutBuilder<C = SystemClock> {
    name: Arc<str>,
    limit: Duration,
    clock: C,
    subscribers: Subscribers,
}

impl<C: Clock> TimeoutBuilder<C> {
    /// Dates the timeout's events with `clock` (`TokioClock` in tests).
    pub fn clock<C2: Clock>(self, clock: C2) -> TimeoutBuilder<C2> {
        TimeoutBuilder {
            name: self.name,
            limit: self.limit,
            clock,
            subscribers: self.subscribers,
        }
    }

    /// Adds a subscriber to this timeout's events.
    pub fn on_event(mut self, subscriber: impl Subscriber) -> Self {
        self.subscribers.push(subscriber);
        self
    }

    /// Turns off the built-in `tracing` log of this timeout's events.
    pub fn without_logging(mut self) -> Self {
        self.subscribers.set_logging(false);
        self
    }

    /// Checks the limit and builds the timeout.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a zero limit.
    pub fn build(self) -> Result<Timeout<C>, ConfigError> {
        let check = Checks::named("timeout", &self.name);
        let limit = check.positive("limit", self.limit)?;
        Ok(Timeout {
            limit,
            elapsed: AtomicU64::new(0),
            clock: self.clock,
            #[cfg(feature = "metrics")]
            durations: super::metrics::timeout_duration_histogram(&self.name),
            reporter: Reporter::new(self.name, LimitKind::Timeout, self.subscribers),
        })
    }
}

impl<C: Clock> Timeout<C> {
    /// Its name, kind, subscribers and episodes.
    #[cfg(feature = "metrics")]
    pub(crate) fn reporter(&self) -> &super::episode::Reporter {
        &self.reporter
    }

    /// The timeout's name.
    pub fn name(&self) -> &str {
        &self.reporter.name
    }

    /// The limit.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Runs the future `f` makes, dropping it if it is still running after
    /// the limit.
    ///
    /// # Errors
    ///
    /// [`Error::Elapsed`] when the limit passed (the call's effects are
    /// unknown), [`Error::Inner`] with the call's own error otherwise.
    pub async fn call_async<T, E, F, Fut>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run(|| async { f().await.map_err(Error::Inner) }).await
    }

    /// Runs a call already speaking [`Error`], for the composition traits.
    pub(crate) async fn run<T, E, F, Fut>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        #[cfg(feature = "metrics")]
        let _timer = crate::metrics::CallTimer {
            histogram: &self.durations,
            clock: &self.clock,
            started: self.clock.precise(),
        };
        match tokio::time::timeout(self.limit, f()).await {
            Ok(result) => {
                self.reporter
                    .admitted(&self.clock, || self.elapsed.load(Ordering::Relaxed));
                result
            }
            Err(_) => Err(self.cut_off()),
        }
    }

    /// Notes a call that finished in time (the end of a timing-out
    /// episode, if one is running); for the tower layer.
    #[cfg(feature = "tower")]
    pub(crate) fn in_time(&self) {
        self.reporter
            .admitted(&self.clock, || self.elapsed.load(Ordering::Relaxed));
    }

    /// The start of a call, for [`took`](Self::took); for the tower layer.
    #[cfg(all(feature = "tower", feature = "metrics"))]
    pub(crate) fn started(&self) -> crate::clock::Tick {
        self.clock.precise()
    }

    /// Records a call begun at `started` into the durations histogram; for
    /// the tower layer.
    #[cfg(all(feature = "tower", feature = "metrics"))]
    pub(crate) fn took(&self, started: crate::clock::Tick) {
        let took = self.clock.precise() - started;
        self.durations.record(took.as_secs_f64());
    }

    /// Counts a call cut off at the limit, and says so.
    #[cold]
    fn cut_off<E>(&self) -> Error<E> {
        Error::Elapsed(self.cut_off_elapsed())
    }

    /// Counts a call cut off at the limit, says so, and returns what the
    /// caller gets (the tower layer boxes it).
    #[cold]
    pub(crate) fn cut_off_elapsed(&self) -> Elapsed {
        let elapsed = self.elapsed.fetch_add(1, Ordering::Relaxed) + 1;
        self.reporter.refused(&self.clock, || elapsed);
        Elapsed::new(self.limit)
    }

    /// What the timeout has counted (a read that changes nothing).
    pub fn counters(&self) -> TimeoutCounters {
        TimeoutCounters {
            elapsed: self.elapsed.load(Ordering::Relaxed),
        }
    }
}

impl<C> fmt::Debug for Timeout<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("name", &self.reporter.name)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}
