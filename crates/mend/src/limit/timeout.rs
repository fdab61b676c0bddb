//! A time limit on an async call: at the limit the call's future is dropped
//! (cancelled) and the caller gets [`Elapsed`].
//!
//! A sync call cannot be interrupted safely, so there is no sync timeout:
//! put a deadline on the retry around it instead, or give the operation its
//! own I/O timeouts.

use std::future::Future;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};

use super::{BuildError, TimeoutCounters};
use crate::error::{Elapsed, Error};

/// Drops an async call that runs longer than its limit.
///
/// Reads tokio's time, so `#[tokio::test(start_paused = true)]` drives it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::limit::Timeout;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let timeout = Timeout::new(Duration::from_millis(50))?;
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
#[derive(Debug)]
pub struct Timeout {
    limit: Duration,
    elapsed: AtomicU64,
}

impl Timeout {
    /// A timeout of `limit`.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] for a zero limit.
    pub fn new(limit: Duration) -> Result<Self, BuildError> {
        if limit.is_zero() {
            return Err(BuildError {
                limit: "timeout".into(),
                field: "limit",
                value: "0ns".into(),
                expected: "a positive duration",
            });
        }
        Ok(Timeout {
            limit,
            elapsed: AtomicU64::new(0),
        })
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
        match tokio::time::timeout(self.limit, f()).await {
            Ok(result) => result.map_err(Error::Inner),
            Err(_) => Err(self.cut_off()),
        }
    }

    /// Counts a call cut off at the limit, and says so.
    #[cold]
    pub(crate) fn cut_off<E>(&self) -> Error<E> {
        self.elapsed.fetch_add(1, Ordering::Relaxed);
        Error::Elapsed(Elapsed::new(self.limit))
    }

    /// What the timeout has counted (a read that changes nothing).
    pub fn counters(&self) -> TimeoutCounters {
        TimeoutCounters {
            elapsed: self.elapsed.load(Ordering::Relaxed),
        }
    }
}
