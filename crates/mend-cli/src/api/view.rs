//! What the API says about a service: [`ServiceView`], the JSON form of
//! the library's `ServiceStatus`, with what an operator wants at a glance:
//! uptime, backoff left, CPU and memory (from its cgroup or `/proc`).

use mend::clock::{Clock, SystemClock};
use mend::process::{ResourceUsage, ServiceState, ServiceStatus};
use serde::{Deserialize, Serialize};

/// One service, as `mend status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct ServiceView {
    pub(crate) name: String,
    pub(crate) state: String,
    pub(crate) ready: bool,
    pub(crate) pid: Option<i32>,
    pub(crate) uptime_seconds: Option<f64>,
    pub(crate) starts: u64,
    pub(crate) restarts: u64,
    pub(crate) last_exit: Option<String>,
    pub(crate) waiting_for: Option<String>,
    pub(crate) status_text: Option<String>,
    pub(crate) probes: Vec<ProbeView>,
    pub(crate) isolation: String,
    /// While restarting: seconds of backoff left.
    pub(crate) restart_in_seconds: Option<f64>,
    /// CPU time of its processes (see `ResourceUsage` for what counts).
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) memory_bytes: Option<u64>,
    /// Live processes: the service's and what it started.
    pub(crate) processes: Option<usize>,
    pub(crate) exits_failed: u64,
    pub(crate) give_ups: u64,
}

/// One probe's health.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct ProbeView {
    pub(crate) key: String,
    pub(crate) kind: String,
    pub(crate) health: String,
}

impl ServiceView {
    pub(crate) fn of(status: &ServiceStatus, usage: Option<ResourceUsage>) -> Self {
        let now = SystemClock.wall().as_unix_nanos();
        ServiceView {
            name: status.name.to_string(),
            state: status.state.as_str().to_owned(),
            ready: status.ready,
            pid: status.pid,
            uptime_seconds: status
                .since
                .map(|since| now.saturating_sub(since.as_unix_nanos()) as f64 / 1e9),
            starts: status.starts,
            restarts: status.restarts,
            last_exit: status.last_exit.as_ref().map(ToString::to_string),
            waiting_for: status.waiting_for.clone(),
            status_text: status.notify_status.clone(),
            probes: status
                .probes
                .iter()
                .map(|p| ProbeView {
                    key: p.key.clone(),
                    kind: p.kind.as_str().to_owned(),
                    health: format!("{:?}", p.health).to_lowercase(),
                })
                .collect(),
            isolation: status.backend.as_str().to_owned(),
            restart_in_seconds: status
                .restart_due
                .map(|due| due.as_unix_nanos().saturating_sub(now) as f64 / 1e9),
            cpu_seconds: usage.map(|u| u.cpu.as_secs_f64()),
            memory_bytes: usage.map(|u| u.memory_bytes),
            processes: usage.map(|u| u.processes),
            exits_failed: status.exits.failed,
            give_ups: status.give_ups,
        }
    }

    /// How it counts in `/health`: `pass`, `warn` (on its way: starting,
    /// restarting, waiting) or `fail` (gave up, a one-shot that failed, or
    /// running but not ready).
    pub(crate) fn health(status: &ServiceStatus) -> &'static str {
        match status.state {
            ServiceState::Running if status.ready => "pass",
            ServiceState::Running => "warn",
            ServiceState::Exited if status.last_exit_normal => "pass",
            ServiceState::Stopped => "pass",
            ServiceState::Restarting { .. } | ServiceState::Waiting | ServiceState::Stopping => {
                "warn"
            }
            _ => "fail",
        }
    }
}
