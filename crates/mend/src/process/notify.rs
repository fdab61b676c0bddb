//! systemd's readiness protocol for services that report it themselves:
//! a Unix datagram socket per run of the service, named to it in
//! `NOTIFY_SOCKET`, on which it sends newline-separated `KEY=VALUE`
//! messages: `READY=1` (it is ready), `STATUS=...` (a line for people),
//! `WATCHDOG=1` (it is alive; with a watchdog period, a missed one is a
//! liveness failure), `STOPPING=1`.
//!
//! The socket is a file in the supervisor's runtime directory (mode 0711:
//! others may reach a socket there, not list it), made only for the
//! service's user (mode 0600, owned by the user it runs as), so no other
//! local user can send it `READY=1`.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::UnixDatagram;

use super::sys;
use super::user::Credentials;

/// A service reports readiness through `NOTIFY_SOCKET` (and, with a
/// period, keeps a watchdog fed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotifySpec {
    pub(crate) watchdog: Option<Duration>,
}

/// What a service said on its socket.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Said {
    pub(crate) ready: bool,
    pub(crate) status: Option<String>,
    pub(crate) watchdog: bool,
    pub(crate) stopping: bool,
}

impl Said {
    /// Reads one datagram.
    pub(crate) fn parse(datagram: &[u8]) -> Said {
        let mut said = Said::default();
        for line in String::from_utf8_lossy(datagram).lines() {
            match line.split_once('=') {
                Some(("READY", "1")) => said.ready = true,
                Some(("WATCHDOG", "1")) => said.watchdog = true,
                Some(("STOPPING", "1")) => said.stopping = true,
                Some(("STATUS", text)) => said.status = Some(text.to_owned()),
                _ => {}
            }
        }
        said
    }
}

/// One run's socket; removed when dropped.
#[derive(Debug)]
pub(crate) struct NotifySocket {
    path: PathBuf,
    socket: UnixDatagram,
}

impl NotifySocket {
    /// Binds `DIR/SERVICE.notify` (replacing a stale one), for `owner`.
    pub(crate) fn bind(dir: &Path, service: &str, owner: Option<&Credentials>) -> io::Result<Self> {
        sys::create_dir_all(dir)?;
        sys::set_mode(dir, 0o711)?;
        let path = dir.join(format!("{service}.notify"));
        sys::remove_file(&path)?;
        let socket = UnixDatagram::bind(&path)?;
        sys::set_mode(&path, 0o600)?;
        if let Some(owner) = owner {
            std::os::unix::fs::chown(&path, Some(owner.uid), Some(owner.gid))?;
        }
        Ok(NotifySocket { path, socket })
    }

    /// The path to give the service as `NOTIFY_SOCKET`.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The next message.
    pub(crate) async fn recv(&self) -> io::Result<Said> {
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).await?;
        Ok(Said::parse(&buf[..n]))
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        let _ = sys::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::Said;

    #[test]
    fn messages_are_read_line_by_line() {
        let said = Said::parse(b"READY=1\nSTATUS=serving 3 clients\nWATCHDOG=1\n");
        assert!(said.ready && said.watchdog && !said.stopping);
        assert_eq!(said.status.as_deref(), Some("serving 3 clients"));
        assert_eq!(
            Said::parse(b"READY=0\nBOGUS\nSTOPPING=1"),
            Said {
                stopping: true,
                ..Said::default()
            }
        );
    }
}
