//! mend under systemd (`Type=notify`): when the service manager gives mend
//! a `NOTIFY_SOCKET`, mend reports on it, the protocol of `sd_notify(3)`:
//! `READY=1` once every service marked `required` is ready (once all are
//! started when none is marked), `STATUS=` with a one-line summary when
//! it changes, `WATCHDOG=1` at half of `WATCHDOG_USEC` while its runtime
//! answers, and `STOPPING=1` when it begins to stop. Written here rather
//! than taken from a crate: the protocol is one datagram of `KEY=VALUE`
//! lines, and the crates that speak it add a dependency for ten lines.
//! The unit file is `contrib/mend.service`.

use std::io;
use std::os::linux::net::SocketAddrExt as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use mend::process::{ProcessHandle, ServiceStatus};

/// The service manager's notification socket, if mend runs under one.
#[derive(Debug)]
pub(crate) struct Manager {
    socket: UnixDatagram,
    target: SocketAddr,
    /// The watchdog period the manager expects pings within.
    watchdog: Option<Duration>,
}

impl Manager {
    /// From `NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace)
    /// and `WATCHDOG_USEC` (ignored when `WATCHDOG_PID` names another
    /// process); `None` when mend was not started by a service manager.
    pub(crate) fn from_env() -> io::Result<Option<Manager>> {
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return Ok(None);
        };
        let target = match path.as_bytes().strip_prefix(b"@") {
            Some(name) => SocketAddr::from_abstract_name(name)?,
            None => SocketAddr::from_pathname(&path)?,
        };
        let ours = std::env::var("WATCHDOG_PID")
            .map_or(true, |pid| pid.trim() == std::process::id().to_string());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|usec| usec.trim().parse::<u64>().ok())
            .filter(|&usec| usec > 0 && ours)
            .map(Duration::from_micros);
        Ok(Some(Manager {
            socket: UnixDatagram::unbound()?,
            target,
            watchdog,
        }))
    }

    /// Sends `KEY=VALUE` lines; a manager that went away is not mend's
    /// failure, so errors are only logged.
    fn notify(&self, lines: &str) {
        if let Err(e) = self.socket.send_to_addr(lines.as_bytes(), &self.target) {
            tracing::warn!("telling the service manager {lines:?}: {e}");
        }
    }

    /// Reports until the task is dropped: `READY=1` once `required` are
    /// ready, `STATUS=` on change, `WATCHDOG=1` at half the period.
    pub(crate) async fn report(&self, handle: ProcessHandle, required: Vec<String>) {
        let tick = self.watchdog.map_or(Duration::from_millis(500), |w| {
            (w / 2).min(Duration::from_millis(500))
        });
        let half = self.watchdog.map(|w| w / 2);
        let mut ready = false;
        let mut said = String::new();
        let mut since_ping = Duration::ZERO;
        let mut interval = tokio::time::interval(tick);
        loop {
            interval.tick().await;
            let services = handle.services();
            let mut lines = String::new();
            if !ready && is_ready(&services, &required) {
                ready = true;
                lines.push_str("READY=1\n");
            }
            let status = summary(&services);
            if status != said {
                lines.push_str(&format!("STATUS={status}\n"));
                said = status;
            }
            since_ping += tick;
            if let Some(half) = half
                && since_ping >= half
            {
                since_ping = Duration::ZERO;
                lines.push_str("WATCHDOG=1\n");
            }
            if !lines.is_empty() {
                self.notify(&lines);
            }
        }
    }

    /// `STOPPING=1`: mend has begun to stop its services.
    pub(crate) fn stopping(&self, services: usize) {
        self.notify(&format!(
            "STOPPING=1\nSTATUS=stopping {services} services\n"
        ));
    }
}

/// Whether every required service is ready (at once when none is: mend
/// has started its services).
fn is_ready(services: &[ServiceStatus], required: &[String]) -> bool {
    required
        .iter()
        .all(|name| services.iter().any(|s| &*s.name == name && s.ready))
}

/// "6 services: 4 running (3 ready), 1 restarting, 1 exited".
pub(crate) fn summary(services: &[ServiceStatus]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for s in services {
        let state = s.state.as_str();
        match counts.iter_mut().find(|(name, _)| *name == state) {
            Some((_, n)) => *n += 1,
            None => counts.push((state, 1)),
        }
    }
    let ready = services.iter().filter(|s| s.ready).count();
    let parts: Vec<String> = counts
        .iter()
        .map(|(state, n)| match *state {
            "running" => format!("{n} running ({ready} ready)"),
            _ => format!("{n} {state}"),
        })
        .collect();
    format!("{} services: {}", services.len(), parts.join(", "))
}
