//! The workspace's only `unsafe` code, kept small so it can be read whole.
//!
//! `mend` forbids `unsafe`; the one thing it needs that safe Rust cannot
//! do is run code in a freshly forked child before `exec`: joining the
//! service's cgroup there is what makes the child (and everything it will
//! ever start) a member from its first instruction, with no window in
//! which it could fork outside the cgroup. Moving it after `spawn()`
//! returns races with the child forking first.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes the child that `command` spawns join a cgroup before it execs:
/// `procs` is the target cgroup's `cgroup.procs`, opened for writing by
/// the caller (in the parent, where opening and allocating are allowed).
/// The child writes `0` to it, which moves the writer itself. If the write
/// fails the spawn fails with that error, so a service never runs outside
/// its cgroup.
///
/// The descriptor is moved into the hook, which the `Command` keeps: it is
/// closed when the `Command` is dropped.
///
/// # Examples
///
/// ```no_run
/// use std::fs::OpenOptions;
/// use std::process::Command;
///
/// let procs = OpenOptions::new().write(true).open("/sys/fs/cgroup/mend/web/cgroup.procs")?;
/// let mut command = Command::new("sleep");
/// command.arg("60");
/// mend_sys::join_cgroup_before_exec(&mut command, procs.into());
/// let child = command.spawn()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn join_cgroup_before_exec(command: &mut Command, procs: OwnedFd) {
    let hook = move || -> io::Result<()> {
        // `write` on a descriptor opened before the fork: one system call,
        // no allocation, no lock (rustix's `write` neither allocates nor
        // locks), so it is async-signal-safe.
        match rustix::io::write(&procs, b"0") {
            Ok(_) => Ok(()),
            Err(errno) => Err(io::Error::from_raw_os_error(errno.raw_os_error())),
        }
    };
    // SAFETY: `pre_exec` requires the hook to be safe to run in a forked
    // copy of a possibly multi-threaded process, between fork and exec: it
    // may only make async-signal-safe calls, and must not allocate, take
    // locks or touch state another thread may have left half-updated. The
    // hook above makes one `write(2)` on an fd it owns and builds an
    // `io::Error` from a raw errno on failure, which allocates nothing
    // (`from_raw_os_error` stores the code inline).
    unsafe {
        command.pre_exec(hook);
    }
}
