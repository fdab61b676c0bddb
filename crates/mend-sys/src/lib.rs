//! The workspace's only `unsafe` code, kept small so it can be read whole.
//!
//! `mend` forbids `unsafe`; the one thing it needs that safe Rust cannot
//! do is run code in a freshly forked child before `exec`. There a service
//! joins its cgroup (so it, and everything it will ever start, is a member
//! from its first instruction: moving it after `spawn()` returns races with
//! the child forking first), gets its resource limits (while still root,
//! so a hard limit can be raised), and drops to its user and groups (last,
//! so the steps before still have the rights they need).

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use rustix::process::{Gid, Uid};
use rustix::process::{Resource, Rlimit, setrlimit};
use rustix::thread::{set_thread_gid, set_thread_groups, set_thread_uid};

/// A user and groups to run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user id.
    pub uid: u32,
    /// The primary group id.
    pub gid: u32,
    /// The supplementary groups (replacing the supervisor's own).
    pub groups: Vec<u32>,
}

/// A resource limit to set (`setrlimit`); `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Which resource.
    pub resource: Resource,
    /// The soft limit.
    pub soft: Option<u64>,
    /// The hard limit.
    pub hard: Option<u64>,
}

/// What a child does between fork and exec, in this order: join a cgroup,
/// set resource limits, drop to a user and groups.
#[derive(Debug, Default)]
pub struct BeforeExec {
    /// The target cgroup's `cgroup.procs`, opened for writing by the
    /// caller (in the parent, where opening and allocating are allowed);
    /// the child writes `0` to it, which moves the writer itself.
    pub cgroup_procs: Option<OwnedFd>,
    /// Resource limits.
    pub limits: Vec<Limit>,
    /// The user and groups to run as (needs the rights to change them:
    /// root, or `CAP_SETUID`/`CAP_SETGID`).
    pub credentials: Option<Credentials>,
}

impl BeforeExec {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.cgroup_procs.is_none() && self.limits.is_empty() && self.credentials.is_none()
    }

    /// Makes the child that `command` spawns do these steps before it
    /// execs. If one fails the spawn fails with its error, so a service
    /// never runs outside its cgroup, above its limits or as the wrong
    /// user.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::fs::OpenOptions;
    /// use std::process::Command;
    /// use mend_sys::{BeforeExec, Credentials};
    ///
    /// let procs = OpenOptions::new().write(true).open("/sys/fs/cgroup/mend/web/cgroup.procs")?;
    /// let mut command = Command::new("sleep");
    /// command.arg("60");
    /// BeforeExec {
    ///     cgroup_procs: Some(procs.into()),
    ///     credentials: Some(Credentials { uid: 65534, gid: 65534, groups: vec![] }),
    ///     ..BeforeExec::default()
    /// }
    /// .install(&mut command);
    /// let child = command.spawn()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn install(self, command: &mut Command) {
        if self.is_empty() {
            return;
        }
        // Built here, in the parent: the child only reads them.
        let groups: Vec<Gid> = self
            .credentials
            .iter()
            .flat_map(|c| c.groups.iter().map(|&g| Gid::from_raw(g)))
            .collect();
        let hook = move || -> io::Result<()> {
            if let Some(procs) = &self.cgroup_procs {
                rustix::io::write(procs, b"0").map_err(errno)?;
            }
            for limit in &self.limits {
                let new = Rlimit {
                    current: limit.soft,
                    maximum: limit.hard,
                };
                setrlimit(limit.resource, new).map_err(errno)?;
            }
            if let Some(credentials) = &self.credentials {
                // Groups first, while still allowed to change them; the
                // user last, since it gives up that right.
                set_thread_groups(&groups).map_err(errno)?;
                set_thread_gid(Gid::from_raw(credentials.gid)).map_err(errno)?;
                set_thread_uid(Uid::from_raw(credentials.uid)).map_err(errno)?;
            }
            Ok(())
        };
        // SAFETY: `pre_exec` requires the hook to be safe to run in a
        // forked copy of a possibly multi-threaded process, between fork
        // and exec: it may only make async-signal-safe calls, and must not
        // allocate, take locks or touch state another thread may have left
        // half-updated. The hook only reads what it owns (built before the
        // fork) and makes raw system calls through rustix: `write(2)` on an
        // fd it owns, `setrlimit(2)`, and the raw `setgroups(2)`,
        // `setgid(2)`, `setuid(2)` syscalls (rustix's `set_thread_*`, not
        // libc's wrappers, which signal every thread of the process and
        // are not async-signal-safe; after fork the child has one thread,
        // so the thread's credentials are the process's). On failure it
        // builds an `io::Error` from a raw errno, which allocates nothing.
        unsafe {
            command.pre_exec(hook);
        }
    }
}

fn errno(e: rustix::io::Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}
