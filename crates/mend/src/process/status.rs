//! [`ServiceStatus`]: what a supervised service is doing, as a handle
//! reads it (a copy: reading changes nothing).

use std::path::PathBuf;
use std::sync::Arc;

use super::exit::ExitReason;
use crate::health::{Health, Kind};

/// One probe of a service, as its monitor judges it now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeHealth {
    /// `"service:measurement"`.
    pub key: String,
    /// Liveness, readiness or startup.
    pub kind: Kind,
    /// Healthy, unhealthy, or not judged yet.
    pub health: Health,
}
use crate::clock::{Tick, Timestamp};

/// Which isolation holds a service's processes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// A cgroup v2 of its own (this directory): everything it starts is
    /// tracked and killed, `setsid` escapees included.
    Cgroup(PathBuf),
    /// A process group of its own: a descendant that leaves the group
    /// (`setsid`, `setpgid`) escapes stop signals.
    ProcessGroup,
}

impl Backend {
    /// `"cgroup"` or `"process-group"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Backend::Cgroup(_) => "cgroup",
            Backend::ProcessGroup => "process-group",
        }
    }
}

/// Where a service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceState {
    /// Not running, and not to be started unless asked.
    Stopped,
    /// Running.
    Running,
    /// Being stopped (its stop signal sent, its grace running).
    Stopping,
    /// Ended and waiting out its backoff until `at` (the supervisor's
    /// clock).
    Restarting {
        /// When it starts again.
        at: Tick,
    },
    /// Ended, and not restarted by its restart kind.
    Exited,
    /// Restarted more often than its intensity allows: down until started
    /// by hand.
    GaveUp,
    /// Waiting for the services it starts after to be ready
    /// ([`ServiceStatus::waiting_for`] says which, and why).
    Waiting,
}

impl ServiceState {
    /// `"running"`, `"stopped"`, ...
    pub fn as_str(&self) -> &'static str {
        match self {
            ServiceState::Stopped => "stopped",
            ServiceState::Running => "running",
            ServiceState::Stopping => "stopping",
            ServiceState::Restarting { .. } => "restarting",
            ServiceState::Exited => "exited",
            ServiceState::GaveUp => "gave-up",
            ServiceState::Waiting => "waiting",
        }
    }
}

/// How a service's runs have ended so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExitTally {
    /// With a success code.
    pub normal: u64,
    /// With another code, a signal, or a failed start or spawn.
    pub failed: u64,
    /// Stopped on purpose.
    pub stopped: u64,
}

/// A service, as its supervisor sees it now.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServiceStatus {
    /// Its name.
    pub name: Arc<str>,
    /// Where it is.
    pub state: ServiceState,
    /// While [`ServiceState::Restarting`]: when (wall clock) it starts
    /// again, so a reader can say how much of its backoff is left.
    pub restart_due: Option<Timestamp>,
    /// Its process, while one runs.
    pub pid: Option<i32>,
    /// When the current process started (wall clock).
    pub since: Option<Timestamp>,
    /// Starts so far.
    pub starts: u64,
    /// Restarts so far (starts after an end, not by hand).
    pub restarts: u64,
    /// How its last run ended.
    pub last_exit: Option<ExitReason>,
    /// Ends so far, by kind.
    pub exits: ExitTally,
    /// Stops whose grace ran out (something was killed).
    pub kills: u64,
    /// Times it gave up.
    pub give_ups: u64,
    /// The isolation that holds it.
    pub backend: Backend,
    /// Ready for the services that start after it: running and passing its
    /// readiness and startup probes (for a one-shot: finished with
    /// success).
    pub ready: bool,
    /// The last `STATUS=` it sent on `NOTIFY_SOCKET` in this run.
    pub notify_status: Option<String>,
    /// Each probe's health during the current run.
    pub probes: Vec<ProbeHealth>,
    /// While [`ServiceState::Waiting`]: the services it waits for, and why
    /// they are not ready (`"db (gave up)"`).
    pub waiting_for: Option<String>,
    /// Whether its last run ended normally (a success code).
    pub last_exit_normal: bool,
    /// Output file rotations, and bytes they could not keep.
    pub rotations: u64,
    /// Bytes rotations truncated (kept in copies or not).
    pub rotated_bytes: u64,
    /// Bytes rotation truncated that no copy holds.
    pub rotation_lost_bytes: u64,
}
