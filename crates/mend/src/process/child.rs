//! One run of a service: spawning it into its cgroup or process group,
//! waiting for its end through a pidfd, signalling everything it started,
//! and reaping exactly it (never another child of this program).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use rustix::process::{
    Pid, PidfdFlags, Signal, WaitId, WaitIdOptions, kill_process, kill_process_group, pidfd_open,
    pidfd_send_signal, waitid,
};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use mend_sys::BeforeExec;

use super::cgroup::Cgroup;
use super::exit::ExitReason;
use super::proc_stat::{live_in_group, runs_as};
use super::spec::ServiceSpec;
use super::tracked;

/// What holds everything one run of a service started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Group {
    /// A cgroup of its own: every descendant, `setsid` or not.
    Cgroup(Cgroup),
    /// Its own process group (the leader's pid): descendants that leave
    /// the group (`setsid`, `setpgid`) escape.
    ProcessGroup,
}

/// A service's process, running or exited but not yet reaped.
#[derive(Debug)]
pub(crate) struct Child {
    pub(crate) pid: i32,
    group: Group,
    /// Readable once the process has exited.
    pidfd: AsyncFd<OwnedFd>,
    reaped: bool,
    /// Adopted from a supervisor that died: not our child (its status is
    /// its new parent's), known by its start time.
    adopted: Option<u64>,
}

impl Child {
    /// Starts `spec`'s argv in `group`, stdout and stderr on `out`/`err`.
    pub(crate) fn spawn(
        spec: &ServiceSpec,
        group: Group,
        out: Stdio,
        err: Stdio,
        extra_env: &[(&str, String)],
    ) -> io::Result<Child> {
        let mut command = Command::new(&spec.argv[0]);
        command
            .args(&spec.argv[1..])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group in both backends: a stop signal reaches
            // the whole group, and the orphan reaper knows its orphans.
            .process_group(0);
        if let Some(dir) = &spec.dir {
            command.current_dir(dir);
        }
        if spec.clean_env {
            command.env_clear();
        }
        // The supervisor's own line to its service manager (systemd) is
        // never a service's: one that inherited it could report for the
        // supervisor. A notify service gets its own in `extra_env`.
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            command.env_remove(key);
        }
        command.envs(spec.env.iter().map(|(k, v)| (k, v)));
        command.envs(extra_env.iter().map(|(k, v)| (k, v)));
        let cgroup_procs = match &group {
            Group::Cgroup(cgroup) => Some(cgroup.procs_for_join()?),
            Group::ProcessGroup => None,
        };
        BeforeExec {
            cgroup_procs,
            limits: spec.limits.clone(),
            credentials: spec.credentials.clone(),
        }
        .install(&mut command);
        let child = command.spawn()?;
        let pid = i32::try_from(child.id()).map_err(io::Error::other)?;
        // Dropping std's handle neither kills nor reaps: the pidfd does
        // both from here on.
        drop(child);
        tracked::add(pid);
        let opened = Pid::from_raw(pid)
            .ok_or_else(|| io::Error::other("pid 0"))
            .and_then(|p| Ok(pidfd_open(p, PidfdFlags::empty())?));
        let pidfd = match opened.and_then(|fd| {
            // tokio deprecates the safe constructor because a type's
            // `as_raw_fd` could change while registered; an `OwnedFd` owned
            // by the `AsyncFd` always gives the same open descriptor.
            #[allow(deprecated)]
            AsyncFd::with_interest(fd, Interest::READABLE)
        }) {
            Ok(fd) => fd,
            Err(e) => {
                // Our child, not reapable through a pidfd: kill and reap it
                // by pid (a child's pid stays ours until reaped).
                if let Some(p) = Pid::from_raw(pid) {
                    let _ = kill_process_group(p, Signal::KILL);
                    let _ = waitid(WaitId::Pid(p), WaitIdOptions::EXITED);
                }
                tracked::reaped(pid);
                return Err(e);
            }
        };
        Ok(Child {
            pid,
            group,
            pidfd,
            reaped: false,
            adopted: None,
        })
    }

    /// Adopts `pid`, a service process a supervisor that died started, if
    /// it is still the process that started at `start_time` (clock ticks
    /// after boot): checked again after its pidfd is open, so the pidfd
    /// names that process and no other that reused the pid.
    pub(crate) fn adopt(pid: i32, start_time: u64, group: Group) -> io::Result<Child> {
        let same = || runs_as(pid, start_time);
        let gone = || io::Error::new(io::ErrorKind::NotFound, format!("pid {pid} is gone"));
        if !same() {
            return Err(gone());
        }
        let pidfd = pidfd_open(Pid::from_raw(pid).ok_or_else(gone)?, PidfdFlags::empty())?;
        if !same() {
            return Err(gone());
        }
        Ok(Child {
            pid,
            group,
            pidfd: {
                #[allow(
                    deprecated,
                    reason = "as in `spawn`: an owned descriptor cannot change"
                )]
                AsyncFd::with_interest(pidfd, Interest::READABLE)?
            },
            reaped: false,
            adopted: Some(start_time),
        })
    }

    /// Waits until the process exits; its status, read without reaping it
    /// (the zombie keeps its pid, and so its process group id, reserved
    /// while the rest of the group is cleaned up).
    pub(crate) async fn exited(&self) -> io::Result<ExitReason> {
        if self.adopted.is_some() {
            // A pidfd turns readable when its process exits, child or not.
            let _ = self.pidfd.readable().await?;
            return Ok(ExitReason::Unsupervised);
        }
        loop {
            let mut ready = self.pidfd.readable().await?;
            if let Some(status) = self.peek()? {
                return Ok(status);
            }
            ready.clear_ready();
        }
    }

    /// Its status if it has exited, without reaping it.
    fn peek(&self) -> io::Result<Option<ExitReason>> {
        if let Some(start_time) = self.adopted {
            return Ok((!runs_as(self.pid, start_time)).then_some(ExitReason::Unsupervised));
        }
        let status = waitid(
            WaitId::PidFd(self.pidfd.get_ref().as_fd()),
            WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
        )?;
        Ok(status
            .filter(|s| s.exited() || s.killed() || s.dumped())
            .map(|s| ExitReason::from_status(&s)))
    }

    /// Sends `signal` to every process of the service.
    pub(crate) fn signal_all(&self, signal: Signal) {
        // The leader through its pidfd: it cannot have been replaced.
        let _ = pidfd_send_signal(self.pidfd.get_ref(), signal);
        match &self.group {
            Group::Cgroup(cgroup) => {
                for pid in cgroup.pids().unwrap_or_default() {
                    if let Some(pid) = Pid::from_raw(pid) {
                        let _ = kill_process(pid, signal);
                    }
                }
            }
            Group::ProcessGroup => {
                if let Some(pgid) = Pid::from_raw(self.pid) {
                    // ESRCH: nobody left.
                    let _ = kill_process_group(pgid, signal);
                }
            }
        }
    }

    /// SIGKILL to every process of the service at once.
    pub(crate) fn kill_all(&self) {
        if let Group::Cgroup(cgroup) = &self.group
            && cgroup.kill().is_ok()
        {
            let _ = pidfd_send_signal(self.pidfd.get_ref(), Signal::KILL);
            return;
        }
        self.signal_all(Signal::KILL);
    }

    /// Whether no live process of the service is left, leader included
    /// (zombies do not count: they are only waiting to be reaped).
    pub(crate) fn is_empty(&self) -> bool {
        let leader_gone = matches!(self.peek(), Ok(Some(_)) | Err(_));
        leader_gone
            && match &self.group {
                Group::Cgroup(cgroup) => !cgroup.populated().unwrap_or(false),
                Group::ProcessGroup => live_in_group(self.pid).is_empty(),
            }
    }

    /// Asks everything to stop with `signal`, waits up to `grace` for it
    /// all to end, kills what is left, and waits for that too. Whether the
    /// grace ran out.
    pub(crate) async fn stop_all(&self, signal: Signal, grace: Duration) -> bool {
        if self.is_empty() {
            return false;
        }
        self.signal_all(signal);
        if self.wait_empty(grace).await {
            return false;
        }
        self.kill_all();
        // SIGKILL cannot be refused; the wait is only the kernel's time to
        // tear the processes down. Signal again in case a process forked
        // in between (cgroup.kill covers those; a process group may not).
        while !self.wait_empty(Duration::from_secs(1)).await {
            self.kill_all();
        }
        true
    }

    /// Waits up to `limit` for [`is_empty`](Self::is_empty).
    async fn wait_empty(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        let mut pause = Duration::from_millis(1);
        loop {
            if self.is_empty() {
                return true;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return false;
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Reaps the leader (it must have exited): its exact status.
    pub(crate) fn reap(mut self) -> io::Result<ExitReason> {
        self.reap_now()
    }

    fn reap_now(&mut self) -> io::Result<ExitReason> {
        if self.adopted.is_some() {
            // Not ours to reap: its new parent does.
            self.reaped = true;
            return Ok(ExitReason::Unsupervised);
        }
        let status = waitid(
            WaitId::PidFd(self.pidfd.get_ref().as_fd()),
            WaitIdOptions::EXITED,
        )?
        .ok_or_else(|| io::Error::other("no status"))?;
        self.reaped = true;
        tracked::reaped(self.pid);
        tracked::sweep();
        Ok(ExitReason::from_status(&status))
    }
}

impl Drop for Child {
    /// Dropped while running (its supervisor's task was aborted): nothing
    /// it started may live on. Kill it all, and reap the leader off this
    /// thread, since it takes a moment to die.
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        self.kill_all();
        if self.adopted.is_some() {
            return;
        }
        let pid = self.pid;
        if let Ok(fd) = self.pidfd.get_ref().try_clone() {
            let _ = std::thread::Builder::new()
                .name("mend-reap".into())
                .spawn(move || {
                    let _ = waitid(WaitId::PidFd(fd.as_fd()), WaitIdOptions::EXITED);
                    tracked::reaped(pid);
                });
        }
    }
}
