//! [`Shutdown`]: one token every task sees, cancelled by a signal or a
//! call; then the tracked tasks drain (bounded), then the cleanup hooks run
//! in reverse order of registration, each under its own timeout; a report
//! says how it went, and a second trigger returns [`Forced`] at once.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::report::{
    Forced, HookOutcome, HookReport, ShutdownReason, ShutdownReport, TasksOutcome,
};
use crate::clock::{Clock, SystemClock};
use crate::config::{Checks, ConfigError};
use crate::panics;

/// A hook's future, boxed.
type HookFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

struct Hook {
    name: String,
    timeout: Duration,
    run: Box<dyn FnOnce() -> HookFuture + Send>,
}

/// What a hook may return: nothing, or a `Result` whose error is reported.
pub trait HookResult: Send + 'static {
    /// The failure to report, if it failed.
    fn into_error(self) -> Option<String>;
}

impl HookResult for () {
    fn into_error(self) -> Option<String> {
        None
    }
}

impl<E: fmt::Display + Send + 'static> HookResult for Result<(), E> {
    fn into_error(self) -> Option<String> {
        self.err().map(|e| e.to_string())
    }
}

/// The triggers so far: how many, and why each.
#[derive(Debug, Default, Clone)]
struct Triggers(Vec<ShutdownReason>);

struct Inner<C> {
    token: CancellationToken,
    tracker: TaskTracker,
    hooks: Mutex<Vec<Hook>>,
    triggers: watch::Sender<Triggers>,
    drain: Duration,
    clock: C,
}

/// A program's shutdown (see the [module docs](super)). Cheap to clone;
/// every clone is the same shutdown.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::cleanup::{HookOutcome, Shutdown};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let shutdown = Shutdown::builder().build()?;
/// let token = shutdown.token();
/// shutdown.tracker().spawn(async move {
///     token.cancelled().await; // a server loop would select on this
/// });
/// shutdown.on_shutdown("flush the journal", Duration::from_secs(5), || async {});
/// shutdown.trigger("deploy");
/// let report = shutdown.wait().await?;
/// assert!(report.is_clean());
/// assert_eq!(report.hooks[0].outcome, HookOutcome::Finished);
/// # Ok(())
/// # }
/// ```
pub struct Shutdown<C = SystemClock> {
    inner: Arc<Inner<C>>,
}

/// Builds a [`Shutdown`]; made by [`Shutdown::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build()`"]
pub struct ShutdownBuilder<C = SystemClock> {
    drain: Duration,
    clock: C,
}

impl Shutdown {
    /// The longest drain timeout.
    pub const MAX_DRAIN: Duration = Duration::from_secs(24 * 3600);

    /// Starts building a shutdown: tasks get 30 s to drain, on the system
    /// clock.
    pub fn builder() -> ShutdownBuilder {
        ShutdownBuilder {
            drain: Duration::from_secs(30),
            clock: SystemClock,
        }
    }
}

impl<C: Clock> ShutdownBuilder<C> {
    /// How long the tracked tasks get to finish after the token is
    /// cancelled, before the hooks run anyway.
    pub fn drain_timeout(mut self, drain: Duration) -> Self {
        self.drain = drain;
        self
    }

    /// Times the report with `clock` (`TokioClock` in paused-time tests).
    pub fn clock<C2: Clock>(self, clock: C2) -> ShutdownBuilder<C2> {
        ShutdownBuilder {
            drain: self.drain,
            clock,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a drain timeout of zero or above
    /// [`MAX_DRAIN`](Shutdown::MAX_DRAIN).
    pub fn build(self) -> Result<Shutdown<C>, ConfigError> {
        let check = Checks::unnamed("shutdown");
        check.duration(
            "drain_timeout",
            self.drain,
            Duration::from_nanos(1),
            Shutdown::MAX_DRAIN,
        )?;
        Ok(Shutdown {
            inner: Arc::new(Inner {
                token: CancellationToken::new(),
                tracker: TaskTracker::new(),
                hooks: Mutex::new(Vec::new()),
                triggers: watch::Sender::new(Triggers::default()),
                drain: self.drain,
                clock: self.clock,
            }),
        })
    }
}

impl<C: Clock> Shutdown<C> {
    /// The token cancelled when the shutdown begins; hand a clone (or a
    /// child token) to every task.
    pub fn token(&self) -> CancellationToken {
        self.inner.token.clone()
    }

    /// The tasks the shutdown waits for (up to its drain timeout) before
    /// the hooks run: spawn them with `tracker().spawn(..)`.
    pub fn tracker(&self) -> &TaskTracker {
        &self.inner.tracker
    }

    /// Registers a cleanup hook: at shutdown, after the tasks drained,
    /// hooks run one at a time in reverse order of registration (what was
    /// opened last is closed first), each dropped if still running after
    /// `timeout`. A hook that fails or panics is reported; the others run.
    pub fn on_shutdown<F, Fut, R>(&self, name: &str, timeout: Duration, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: HookResult,
    {
        let run: Box<dyn FnOnce() -> HookFuture + Send> = Box::new(move || {
            Box::pin(async move {
                match hook().await.into_error() {
                    None => Ok(()),
                    Some(error) => Err(error),
                }
            })
        });
        self.inner
            .hooks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Hook {
                name: name.to_owned(),
                timeout,
                run,
            });
    }

    /// Begins the shutdown (a second call, during it, forces it).
    pub fn trigger(&self, why: &str) {
        self.push(ShutdownReason::Requested(why.to_owned()));
    }

    pub(crate) fn push(&self, reason: ShutdownReason) {
        self.inner.triggers.send_modify(|t| t.0.push(reason));
    }

    /// Whether the shutdown has begun.
    pub fn is_triggered(&self) -> bool {
        !self.inner.triggers.borrow().0.is_empty()
    }

    /// Waits for the trigger, then shuts down: cancels the token, waits
    /// for the tracked tasks (up to the drain timeout), runs the hooks.
    /// Call it once; the hooks run in the first call.
    ///
    /// # Errors
    ///
    /// [`Forced`] as soon as a second trigger comes during the shutdown
    /// (the hook then running is dropped; the rest do not run).
    pub async fn wait(&self) -> Result<ShutdownReport, Forced> {
        let mut triggers = self.inner.triggers.subscribe();
        let reason = {
            let seen = triggers
                .wait_for(|t| !t.0.is_empty())
                .await
                .expect("the shutdown holds its own sender");
            seen.0[0].clone()
        };
        let began = self.inner.clock.precise();
        self.inner.token.cancel();
        self.inner.tracker.close();
        let sequence = self.run();
        tokio::select! {
            biased;
            forced = triggers.wait_for(|t| t.0.len() >= 2) => {
                let second = forced.expect("the shutdown holds its own sender").0[1].clone();
                Err(Forced { reason: second })
            }
            (tasks, hooks) = sequence => Ok(ShutdownReport {
                reason,
                tasks,
                hooks,
                took: self.inner.clock.precise() - began,
            }),
        }
    }

    /// The drain, then the hooks.
    async fn run(&self) -> (TasksOutcome, Vec<HookReport>) {
        let clock = &self.inner.clock;
        let started = clock.precise();
        let tasks = match tokio::time::timeout(self.inner.drain, self.inner.tracker.wait()).await {
            Ok(()) => TasksOutcome::Finished(clock.precise() - started),
            Err(_) => TasksOutcome::TimedOut {
                after: self.inner.drain,
                still_running: self.inner.tracker.len(),
            },
        };
        let hooks = std::mem::take(
            &mut *self
                .inner
                .hooks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        let mut reports = Vec::with_capacity(hooks.len());
        for hook in hooks.into_iter().rev() {
            let started = clock.precise();
            let run = hook.run;
            let outcome = match tokio::time::timeout(
                hook.timeout,
                panics::caught(async move { run().await }),
            )
            .await
            {
                Ok(Ok(Ok(()))) => HookOutcome::Finished,
                Ok(Ok(Err(error))) => HookOutcome::Failed(error),
                Ok(Err(panic)) => HookOutcome::Panicked(panic),
                Err(_) => HookOutcome::TimedOut,
            };
            reports.push(HookReport {
                name: hook.name,
                outcome,
                took: clock.precise() - started,
            });
        }
        (tasks, reports)
    }
}

impl<C: Clock + Send + Sync + 'static> Shutdown<C> {
    /// Triggers the shutdown on SIGINT and SIGTERM, every time one comes
    /// (so a second Ctrl-C forces it). Needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// The error installing a signal handler.
    pub fn listen_for_signals(&self) -> std::io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                let name = tokio::select! {
                    Some(()) = interrupt.recv() => "SIGINT",
                    Some(()) = terminate.recv() => "SIGTERM",
                    else => return,
                };
                this.push(ShutdownReason::Signal(name));
            }
        });
        Ok(())
    }

    /// Starts `supervisor` under this shutdown: its children see the token
    /// (a child of it), and the shutdown waits for it to stop them, in
    /// reverse start order with their graces, before the hooks run.
    pub fn supervise<C2: Clock + Send + Sync + 'static>(
        &self,
        supervisor: crate::supervise::Supervisor<C2>,
    ) -> crate::supervise::SupervisorHandle {
        supervisor.start_with(self.inner.token.child_token(), |run| {
            self.inner.tracker.spawn(run);
        })
    }
}

impl<C> Clone for Shutdown<C> {
    fn clone(&self) -> Self {
        Shutdown {
            inner: self.inner.clone(),
        }
    }
}

impl<C> fmt::Debug for Shutdown<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("triggered", &!self.inner.triggers.borrow().0.is_empty())
            .field("tasks", &self.inner.tracker.len())
            .finish_non_exhaustive()
    }
}
