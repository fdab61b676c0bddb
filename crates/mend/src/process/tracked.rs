//! The processes mend's process supervisors started in this program, for
//! the orphan reaper: the leaders (each reaped by its own supervisor,
//! through its pidfd) and the process groups of services (where their
//! orphaned descendants are found). Process-wide, like the reaping it
//! serves.

use std::collections::HashSet;
use std::sync::LazyLock;

use parking_lot::Mutex;
use rustix::process::{Pid, test_kill_process_group};

#[derive(Debug, Default)]
struct Tracked {
    /// Service processes a supervisor reaps itself.
    leaders: HashSet<i32>,
    /// Process groups of services (the leader's pid), kept until empty.
    groups: HashSet<i32>,
}

static TRACKED: LazyLock<Mutex<Tracked>> = LazyLock::new(Mutex::default);

/// A service process was just spawned as the leader of group `pid`. The
/// leader is recorded before its group, so the reaper never sees the
/// group as a service's while its leader is not yet known as tracked.
pub(crate) fn add(pid: i32) {
    let mut tracked = TRACKED.lock();
    tracked.leaders.insert(pid);
    tracked.groups.insert(pid);
}

/// The leader `pid` was reaped by its supervisor.
pub(crate) fn reaped(pid: i32) {
    TRACKED.lock().leaders.remove(&pid);
}

/// Forgets the groups with no process left, zombies included (a group
/// whose orphans wait to be reaped stays known until they are).
pub(crate) fn sweep() {
    let mut tracked = TRACKED.lock();
    let Tracked { leaders, groups } = &mut *tracked;
    groups.retain(|&pgid| {
        leaders.contains(&pgid)
            || Pid::from_raw(pgid).is_some_and(|p| test_kill_process_group(p).is_ok())
    });
}

/// Whether a supervisor reaps `pid` itself.
pub(crate) fn is_leader(pid: i32) -> bool {
    TRACKED.lock().leaders.contains(&pid)
}

/// Whether `pgid` is the group of a service.
pub(crate) fn is_service_group(pgid: i32) -> bool {
    TRACKED.lock().groups.contains(&pgid)
}
