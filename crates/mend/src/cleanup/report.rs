//! What a shutdown says when it is done: why it began, whether the tasks
//! finished in time, and how each hook went; or that it was forced.

use std::fmt;
use std::time::Duration;

/// Why a shutdown began.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownReason {
    /// [`Shutdown::trigger`](super::Shutdown::trigger) was called.
    Requested(String),
    /// A signal arrived: `"SIGINT"` or `"SIGTERM"`.
    Signal(&'static str),
}

impl fmt::Display for ShutdownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShutdownReason::Requested(why) => write!(f, "requested: {why}"),
            ShutdownReason::Signal(name) => write!(f, "{name}"),
        }
    }
}

/// How the tracked tasks ended after the token was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TasksOutcome {
    /// Every one finished, taking this long.
    Finished(Duration),
    /// Some were still running when the drain timeout passed (they are
    /// left to the runtime; the hooks ran anyway).
    TimedOut {
        /// The drain timeout.
        after: Duration,
        /// Tasks still running.
        still_running: usize,
    },
}

/// How one cleanup hook went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HookOutcome {
    /// It finished.
    Finished,
    /// It returned an error.
    Failed(String),
    /// It panicked.
    Panicked(String),
    /// It was still running at its timeout, and was dropped.
    TimedOut,
}

/// One hook's line in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HookReport {
    /// The name it was registered with.
    pub name: String,
    /// How it went.
    pub outcome: HookOutcome,
    /// How long it ran.
    pub took: Duration,
}

/// What a shutdown did, in order: hooks in the order they ran (reverse
/// registration).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Why it began.
    pub reason: ShutdownReason,
    /// How the tracked tasks ended.
    pub tasks: TasksOutcome,
    /// Each hook, in the order it ran.
    pub hooks: Vec<HookReport>,
    /// From the trigger to the last hook's end.
    pub took: Duration,
}

impl ShutdownReport {
    /// Whether everything finished in time and no hook failed.
    pub fn is_clean(&self) -> bool {
        matches!(self.tasks, TasksOutcome::Finished(_))
            && self
                .hooks
                .iter()
                .all(|h| h.outcome == HookOutcome::Finished)
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "shutdown ({}) in {:?}", self.reason, self.took)?;
        match self.tasks {
            TasksOutcome::Finished(took) => writeln!(f, "  tasks: all finished in {took:?}")?,
            TasksOutcome::TimedOut {
                after,
                still_running,
            } => writeln!(f, "  tasks: {still_running} still running after {after:?}")?,
        }
        for hook in &self.hooks {
            let outcome = match &hook.outcome {
                HookOutcome::Finished => "finished".to_owned(),
                HookOutcome::Failed(e) => format!("failed: {e}"),
                HookOutcome::Panicked(p) => format!("panicked: {p}"),
                HookOutcome::TimedOut => "timed out".to_owned(),
            };
            writeln!(f, "  hook {}: {outcome} ({:?})", hook.name, hook.took)?;
        }
        Ok(())
    }
}

/// A second trigger (a second Ctrl-C) came while the shutdown was running:
/// the caller should stop now. The library never exits the process; the
/// binary decides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("shutdown forced ({reason}) before it finished")]
#[non_exhaustive]
pub struct Forced {
    /// The trigger that forced it.
    pub reason: ShutdownReason,
}
