//! [`ChildSpec`]: what a supervisor needs to run a child again and again:
//! its name, a factory that makes its future afresh for each start, its
//! restart kind and how it is stopped.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::plan::Restart;

/// The error a child may end with.
pub type ChildError = Box<dyn StdError + Send + Sync>;

/// A child's future, boxed: a supervisor holds children of many types.
pub type ChildFuture = Pin<Box<dyn Future<Output = Result<(), ChildError>> + Send>>;

/// Makes a child's future for one start.
pub(crate) type Factory = Arc<dyn Fn(ChildContext) -> ChildFuture + Send + Sync>;

/// How a child is stopped (for a group restart, a removal, a restart on
/// request, a shutdown): OTP's `shutdown` field of a child spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Cancel its token, wait up to this long for it to return, then abort
    /// it (OTP's timeout; 5 s by default, as in OTP).
    Grace(Duration),
    /// Abort it at once (OTP's `brutal_kill`).
    Immediate,
    /// Cancel its token and wait as long as it takes (OTP's `infinity`,
    /// the default for a nested supervisor, which stops its own children).
    Infinity,
}

impl Default for Stop {
    fn default() -> Self {
        Stop::Grace(Duration::from_secs(5))
    }
}

/// What a child gets for one start: its name and the token cancelled when
/// it is to stop. A child that ignores the token is aborted after its
/// grace, which takes effect at its next `.await`.
#[derive(Debug, Clone)]
pub struct ChildContext {
    pub(crate) name: Arc<str>,
    pub(crate) token: CancellationToken,
}

impl ChildContext {
    /// The child's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Completes when the child is asked to stop.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    /// Whether the child has been asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The token itself, to hand to what the child starts.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

/// A child a supervisor runs: `factory` makes its future afresh for each
/// start.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::supervise::{ChildError, ChildSpec, Restart, Stop};
///
/// let worker = ChildSpec::new("worker", |ctx| async move {
///     tokio::select! {
///         () = ctx.cancelled() => Ok(()), // asked to stop: a clean end
///         () = std::future::pending::<()>() => Err(ChildError::from("the queue went away")),
///     }
/// })
/// .restart(Restart::Transient)
/// .stop(Stop::Grace(Duration::from_secs(1)));
/// assert_eq!(worker.name(), "worker");
/// ```
#[derive(Clone)]
#[must_use = "a child spec does nothing until a supervisor runs it"]
pub struct ChildSpec {
    pub(crate) name: Arc<str>,
    pub(crate) restart: Restart,
    pub(crate) stop: Stop,
    pub(crate) factory: Factory,
}

impl ChildSpec {
    /// A permanent child called `name`, stopped with a 5 s grace, whose
    /// future `factory` makes.
    pub fn new<F, Fut, E>(name: &str, factory: F) -> Self
    where
        F: Fn(ChildContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<ChildError>,
    {
        ChildSpec {
            name: name.into(),
            restart: Restart::Permanent,
            stop: Stop::default(),
            factory: Arc::new(move |ctx| {
                let run = factory(ctx);
                Box::pin(async move { run.await.map_err(Into::into) })
            }),
        }
    }

    /// When it is restarted.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// How it is stopped.
    pub fn stop(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("name", &self.name)
            .field("restart", &self.restart)
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}
