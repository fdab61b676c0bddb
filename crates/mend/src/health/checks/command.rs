//! [`CommandCheck`]: does a command exit 0?

use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};

use rustix::process::{Pid, PidfdFlags, Signal, kill_process_group, pidfd_open};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::health::{CheckFuture, CheckResult, HealthCheck};

/// Passes when the command exits 0. It is run from its argv (no shell,
/// unless the argv names one), with stdin, stdout and stderr on
/// `/dev/null`, in a process group of its own; when it ends, or when the
/// monitor's timeout cancels it, the whole group is killed, so nothing it
/// started is left running. (A process that leaves the group, with
/// `setsid` say, escapes: `mend::process` tracks those for the daemon.)
#[derive(Debug, Clone)]
pub struct CommandCheck {
    argv: Vec<String>,
    dir: Option<PathBuf>,
}

impl CommandCheck {
    /// A check that runs `argv[0]` with the rest as its arguments.
    ///
    /// # Panics
    ///
    /// If `argv` is empty.
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Self {
        let argv: Vec<String> = argv.into_iter().map(Into::into).collect();
        assert!(!argv.is_empty(), "a command needs a program to run");
        CommandCheck { argv, dir: None }
    }

    /// Runs the command in `dir`.
    #[must_use]
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }
}

impl HealthCheck for CommandCheck {
    fn check(&self) -> CheckFuture {
        let this = self.clone();
        Box::pin(async move {
            match this.run().await {
                Ok(status) => judge(status),
                Err(e) => CheckResult::fail(format!("{}: {e}", this.argv[0])),
            }
        })
    }
}

impl CommandCheck {
    async fn run(&self) -> io::Result<ExitStatus> {
        let mut command = Command::new(&self.argv[0]);
        command
            .args(&self.argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        let child = command.spawn()?;
        let mut group = Group::new(child)?;
        // The pidfd turns readable when the process exits (and until it
        // is reaped, it is a zombie holding its pid, so its group's id is
        // not reused before the group is killed).
        let pidfd = pidfd_open(group.pid, PidfdFlags::empty())?;
        // tokio deprecates the safe constructor because a type's
        // `as_raw_fd` could change while registered; an `OwnedFd` owned by
        // the `AsyncFd` always gives the same open descriptor, which is the
        // condition its unsafe replacement states.
        #[allow(deprecated)]
        let exited = AsyncFd::with_interest(pidfd, Interest::READABLE)?;
        let _ = exited.readable().await?;
        group.kill();
        group.reap()
    }
}

/// The command's exit, as a result.
fn judge(status: ExitStatus) -> CheckResult {
    match (status.code(), status.signal()) {
        (Some(0), _) => CheckResult::pass(),
        (Some(code), _) => CheckResult::fail(format!("exited with code {code}")),
        (None, Some(signal)) => CheckResult::fail(format!("killed by signal {signal}")),
        (None, None) => CheckResult::fail(format!("ended: {status}")),
    }
}

/// A running command and its process group: killed and reaped however the
/// check ends.
struct Group {
    child: Option<Child>,
    pid: Pid,
}

impl Group {
    fn new(child: Child) -> io::Result<Self> {
        let pid = i32::try_from(child.id())
            .ok()
            .and_then(Pid::from_raw)
            .ok_or_else(|| io::Error::other("the child has no pid"))?;
        Ok(Group {
            child: Some(child),
            pid,
        })
    }

    /// Kills every process left in the group (the leader, by then, is at
    /// worst a zombie).
    fn kill(&self) {
        // ESRCH: nobody left. Any other error cannot be acted on here.
        let _ = kill_process_group(self.pid, Signal::KILL);
    }

    /// Reaps the leader, which has exited.
    fn reap(&mut self) -> io::Result<ExitStatus> {
        match self.child.take() {
            Some(mut child) => child.wait(),
            None => Err(io::Error::other("already reaped")),
        }
    }
}

impl Drop for Group {
    /// Cancelled (the monitor's timeout): kill the group, and reap the
    /// leader off this thread, since it takes a moment to die.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            self.kill();
            let _ = std::thread::Builder::new()
                .name("mend-reap".into())
                .spawn(move || child.wait());
        }
    }
}
