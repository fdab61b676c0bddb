//! The events of the process supervisor: a service started, ended (and
//! how, exactly), will restart, was killed after its stop grace, gave up.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::exit::ExitReason;
use crate::clock::Timestamp;
use crate::health::Kind;
#[cfg(feature = "tracing")]
use crate::observe::log_at;
use crate::observe::{AreaEvent, Level};
use crate::supervise::Exit;

/// Something happened to a supervised service.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProcessEvent {
    /// The supervisor.
    pub supervisor: Arc<str>,
    /// The service.
    pub service: Arc<str>,
    /// Wall-clock time.
    pub at: Timestamp,
    /// What happened.
    pub change: ProcessChange,
}

/// What a [`ProcessEvent`] reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProcessChange {
    /// Its process started.
    Started {
        /// The process id.
        pid: i32,
        /// Restarts before this start.
        restarts: u64,
    },
    /// Its process, started by a supervisor that died, still runs and
    /// is watched again (see [`ledger`](super::ProcessSupervisorBuilder::ledger)).
    Adopted {
        /// The process id.
        pid: i32,
    },
    /// Its process ended.
    Exited {
        /// The process id.
        pid: Option<i32>,
        /// Exactly how (code, signal, core dump), or why it did not start.
        reason: ExitReason,
        /// Normal, failed or stopped on purpose, as restarting sees it.
        exit: Exit,
        /// It ended within its start grace: a failed start.
        failed_start: bool,
        /// How long it ran.
        ran_for: Duration,
    },
    /// A liveness probe turned unhealthy, or a startup probe ran out of
    /// budget: the run is stopped, and counts as a failure.
    ProbeFailed {
        /// Which kind of probe.
        kind: Kind,
    },
    /// It did not send `WATCHDOG=1` within its watchdog period: the run is
    /// stopped, and counts as a failure.
    WatchdogMissed {
        /// The period.
        period: Duration,
    },
    /// Its group restarts (another member ended): it is stopped, to start
    /// again with the group.
    GroupRestart {
        /// The group.
        group: Arc<str>,
    },
    /// A service it starts after is down for good: it is stopped, and
    /// waits for it again.
    DependencyDown {
        /// The service it starts after.
        dependency: Arc<str>,
    },
    /// Its give-up command ran.
    GiveUpCommand {
        /// How it ended.
        outcome: String,
    },
    /// Something of it outlived the stop grace and was killed.
    Killed {
        /// The grace that ran out.
        grace: Duration,
    },
    /// It starts again after `delay`.
    Restarting {
        /// The backoff.
        delay: Duration,
        /// Restarts in a row, this one included.
        attempt: u32,
    },
    /// Past its intensity: it stays down until started by hand.
    GaveUp {
        /// Restarts within the period, the refused one included.
        restarts: u32,
        /// The most allowed.
        max: u32,
        /// The intensity's period.
        period: Duration,
        /// When set, it starts afresh after this long.
        cooldown: Option<Duration>,
    },
}

impl fmt::Display for ProcessEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service {}: ", self.service)?;
        match &self.change {
            ProcessChange::Started { pid, restarts: 0 } => write!(f, "started (pid {pid})"),
            ProcessChange::Adopted { pid } => {
                write!(f, "adopted (pid {pid}, left running by a mend that died)")
            }
            ProcessChange::Started { pid, restarts } => {
                write!(f, "started again (pid {pid}, restart {restarts})")
            }
            ProcessChange::Exited {
                reason,
                exit,
                failed_start,
                ran_for,
                ..
            } => {
                let how = match (exit, failed_start) {
                    (_, true) => "failed to start",
                    (Exit::Normal, _) => "ended",
                    (Exit::Failed, _) => "failed",
                    (Exit::Stopped, _) => "stopped",
                };
                write!(f, "{how}: {reason} after {ran_for:.1?}")
            }
            ProcessChange::ProbeFailed {
                kind: Kind::Startup,
            } => f.write_str("its startup probe ran out of budget: stopping it, a failed start"),
            ProcessChange::ProbeFailed { kind } => {
                write!(
                    f,
                    "its {kind} probe failed: stopping it, to restart it as after a crash"
                )
            }
            ProcessChange::WatchdogMissed { period } => write!(
                f,
                "no WATCHDOG=1 within {period:?}: stopping it, to restart it as after a crash"
            ),
            ProcessChange::GroupRestart { group } => {
                write!(f, "stopping it: its group {group} restarts")
            }
            ProcessChange::DependencyDown { dependency } => {
                write!(
                    f,
                    "stopping it: {dependency}, which it starts after, is down"
                )
            }
            ProcessChange::GiveUpCommand { outcome } => {
                write!(f, "its give-up command ran: {outcome}")
            }
            ProcessChange::Killed { grace } => {
                write!(f, "still running {grace:?} after the stop signal: killed")
            }
            ProcessChange::Restarting { delay, attempt } if delay.is_zero() => {
                write!(f, "restarting at once (restart {attempt} in a row)")
            }
            ProcessChange::Restarting { delay, attempt } => {
                write!(f, "restarting in {delay:.1?} (restart {attempt} in a row)")
            }
            ProcessChange::GaveUp {
                restarts,
                max,
                period,
                cooldown,
            } => {
                write!(
                    f,
                    "gave up: {restarts} restarts within {period:?}, more than the {max} allowed; "
                )?;
                match cooldown {
                    None => f.write_str("it stays down until started by hand"),
                    Some(cooldown) => write!(f, "it starts afresh in {cooldown:?}"),
                }
            }
        }
    }
}

impl AreaEvent for ProcessEvent {
    fn area(&self) -> &'static str {
        "process"
    }

    fn component(&self) -> &str {
        &self.service
    }

    fn at(&self) -> Timestamp {
        self.at
    }

    /// A failure, a restart and a kill are warnings, giving up an error;
    /// starts, normal ends and stops are news.
    fn level(&self) -> Level {
        match &self.change {
            ProcessChange::Exited {
                exit: Exit::Failed, ..
            }
            | ProcessChange::Restarting { .. }
            | ProcessChange::ProbeFailed { .. }
            | ProcessChange::WatchdogMissed { .. }
            | ProcessChange::Killed { .. } => Level::Warn,
            ProcessChange::GaveUp { .. } => Level::Error,
            _ => Level::Info,
        }
    }

    #[cfg(feature = "tracing")]
    fn log(&self) {
        log_at!(
            self.level(),
            target: "mend::process",
            supervisor = %self.supervisor,
            service = %self.service,
            "{self}"
        );
    }
}
