//! [`OrphanReaper`]: an opt-in for a program that owns all its children,
//! such as the `mend` daemon. It makes the program a child subreaper, so
//! processes orphaned below it (a service's grandchild whose parent died,
//! a daemon that double-forked) are re-parented to it rather than to
//! pid 1, and it reaps them.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use rustix::process::{Pid, WaitOptions, getpid, set_child_subreaper, waitpid};
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

use super::proc_stat::ProcStat;
use super::{sys, tracked};

/// Reaps the orphans of supervised services: an opt-in for a program that
/// owns all its children, such as the `mend` daemon. It makes the program
/// a child subreaper, so processes orphaned below it (a service's
/// grandchild whose parent died, a daemon that double-forked) are
/// re-parented to it rather than to pid 1, and it reaps them.
///
/// # Why it is separate, and what it never takes
///
/// Reaping "any child" (`waitpid(-1)`) would take exit statuses that other
/// code in the program is waiting for (`tokio::process`,
/// `std::process::Command`): their owners would get `ECHILD`. The process
/// supervisor never does that; it reaps each service process through that
/// process's own pidfd. The orphan reaper looks at its children in `/proc`
/// first and reaps (by pid) only a zombie that
///
/// - is not a service process a supervisor reaps itself, and
/// - is an orphan of a service: it is in a service's process group (and
///   does not lead it), or in a session other than the program's own (it
///   escaped with `setsid`).
///
/// A child the program started itself with `tokio::process` or `std`
/// stays in the program's session, outside every service group, so its
/// status is always left to its owner, with no race to win. One that
/// calls `setsid` itself looks like an escapee and would be reaped: don't
/// run such children beside the orphan reaper.
///
/// Being a subreaper is process-wide and stays set after the reaper is
/// dropped: once set, every orphan below must be reaped or it stays a
/// zombie, so keep the reaper running as long as services may leave
/// orphans.
#[derive(Debug)]
pub struct OrphanReaper {
    task: JoinHandle<()>,
    reaped: Arc<AtomicU64>,
}

impl OrphanReaper {
    /// Makes this program a child subreaper and starts reaping orphans, at
    /// every `SIGCHLD` and every 2 s in case one was missed.
    ///
    /// # Errors
    ///
    /// When the kernel refuses `PR_SET_CHILD_SUBREAPER` or tokio cannot
    /// listen for `SIGCHLD`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start() -> io::Result<OrphanReaper> {
        set_child_subreaper(Some(getpid()))?;
        let mut sigchld = signal(SignalKind::child())?;
        let reaped = Arc::new(AtomicU64::new(0));
        let counted = reaped.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                tokio::select! {
                    _ = sigchld.recv() => {}
                    _ = tick.tick() => {}
                }
                counted.fetch_add(reap_orphans(), Relaxed);
            }
        });
        Ok(OrphanReaper { task, reaped })
    }

    /// Orphans reaped so far.
    pub fn reaped(&self) -> u64 {
        self.reaped.load(Relaxed)
    }

    /// Reaps the orphans that are zombies now, at once; how many.
    pub fn reap_now(&self) -> u64 {
        let n = reap_orphans();
        self.reaped.fetch_add(n, Relaxed);
        n
    }
}

impl Drop for OrphanReaper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One pass: reaps every zombie child that is a service's orphan.
fn reap_orphans() -> u64 {
    // The session from /proc, not `getsid`: when the session's leader is
    // outside this pid namespace (a container started by another process),
    // the kernel reports session 0, which rustix's `getsid` refuses with a
    // panic. /proc reports the same 0 for every process in that session, so
    // the comparison below still holds.
    let ours = ProcStat::read(getpid().as_raw_nonzero().get())
        .ok()
        .map(|stat| stat.session);
    let mut reaped = 0;
    for pid in children() {
        if tracked::is_leader(pid) {
            continue;
        }
        let Ok(stat) = ProcStat::read(pid) else {
            continue;
        };
        // An orphan in a service's group never leads it (the leader is the
        // service's own process, reaped by its supervisor): a zombie that
        // leads its group is someone's child not yet known as tracked,
        // perhaps with the number of a group that just emptied.
        let in_service_group = stat.pgrp != pid && tracked::is_service_group(stat.pgrp);
        let orphan = in_service_group || ours.is_some_and(|sid| sid != stat.session);
        if !stat.is_zombie() || !orphan {
            continue;
        }
        if let Some(p) = Pid::from_raw(pid)
            && let Ok(Some(_)) = waitpid(Some(p), WaitOptions::NOHANG)
        {
            reaped += 1;
        }
    }
    tracked::sweep();
    reaped
}

/// This program's children, from every thread's `children` file (a child
/// is listed under the thread that forked it, or that it was re-parented
/// to).
fn children() -> Vec<i32> {
    let Ok(tasks) = sys::list("/proc/self/task") else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = tasks
        .iter()
        .filter_map(|tid| sys::read(format!("/proc/self/task/{tid}/children")).ok())
        .flat_map(|text| {
            text.split_ascii_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}
