//! The events a supervisor emits: a child started, ended, is to restart;
//! the supervisor gave up.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::plan::Exit;
use crate::clock::Timestamp;
#[cfg(feature = "tracing")]
use crate::observe::log_at;
use crate::observe::{AreaEvent, Level};

/// Something happened to one of a supervisor's children.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SuperviseEvent {
    /// The supervisor.
    pub supervisor: Arc<str>,
    /// The child (for a restart or a give-up: the child that caused it).
    pub child: Arc<str>,
    /// Wall-clock time.
    pub at: Timestamp,
    /// What happened.
    pub change: SuperviseChange,
}

/// What a [`SuperviseEvent`] reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SuperviseChange {
    /// The child started; `restarts` times before (0: its first start).
    Started {
        /// Times it was started before.
        restarts: u64,
    },
    /// The child ended.
    Exited {
        /// Normal, failed or stopped.
        exit: Exit,
        /// What it returned, its panic, or why it was stopped.
        reason: String,
    },
    /// Children will start again after `delay`.
    Restarting {
        /// The children, in start order (the cause among them).
        children: Vec<Arc<str>>,
        /// The cause's backoff.
        delay: Duration,
        /// The cause's restarts in a row, this one included.
        attempt: u32,
    },
    /// Past its intensity: the supervisor stopped every child and ended.
    GaveUp {
        /// Restarts within the period, the refused one included.
        restarts: u32,
        /// The most allowed.
        max: u32,
        /// The intensity's period.
        period: Duration,
    },
}

impl fmt::Display for SuperviseEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "supervisor {}: {}: ", self.supervisor, self.child)?;
        match &self.change {
            SuperviseChange::Started { restarts: 0 } => f.write_str("started"),
            SuperviseChange::Started { restarts } => {
                write!(f, "started again (restart {restarts})")
            }
            SuperviseChange::Exited { exit, reason } => {
                let how = match exit {
                    Exit::Normal => "ended",
                    Exit::Failed => "failed",
                    Exit::Stopped => "stopped",
                };
                write!(f, "{how}: {reason}")
            }
            SuperviseChange::Restarting {
                children,
                delay,
                attempt,
            } => {
                f.write_str("restarting ")?;
                for (i, child) in children.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(child)?;
                }
                write!(f, " in {delay:?} (restart {attempt} in a row)")
            }
            SuperviseChange::GaveUp {
                restarts,
                max,
                period,
            } => write!(
                f,
                "gave up: {restarts} restarts within {period:?}, more than the {max} allowed; every child stopped"
            ),
        }
    }
}

impl AreaEvent for SuperviseEvent {
    fn area(&self) -> &'static str {
        "supervise"
    }

    fn component(&self) -> &str {
        &self.supervisor
    }

    fn at(&self) -> Timestamp {
        self.at
    }

    /// A failure and a restart are warnings, giving up an error; starts,
    /// normal ends and stops are news.
    fn level(&self) -> Level {
        match &self.change {
            SuperviseChange::Exited {
                exit: Exit::Failed, ..
            }
            | SuperviseChange::Restarting { .. } => Level::Warn,
            SuperviseChange::GaveUp { .. } => Level::Error,
            _ => Level::Info,
        }
    }

    #[cfg(feature = "tracing")]
    fn log(&self) {
        log_at!(
            self.level(),
            target: "mend::supervise",
            supervisor = %self.supervisor,
            child = %self.child,
            "{self}"
        );
    }
}
