//! What the API says about a service: [`ServiceView`], the JSON form of
//! the library's `ServiceStatus`, with what an operator wants at a glance
//! (uptime, memory) read from `/proc`.

use mend::clock::{Clock, SystemClock};
use mend::process::{ServiceState, ServiceStatus};
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
    pub(crate) memory_bytes: Option<u64>,
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
    pub(crate) fn of(status: &ServiceStatus) -> Self {
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
            memory_bytes: status.pid.and_then(resident_bytes),
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

/// The resident memory of `pid` (its main process), from `/proc`.
fn resident_bytes(pid: i32) -> Option<u64> {
    #[allow(clippy::disallowed_methods, reason = "/proc, not a checkpoint")]
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}
