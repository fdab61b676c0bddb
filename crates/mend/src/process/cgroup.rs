//! cgroup v2 isolation: where the writable hierarchy is, a cgroup per
//! service under the supervisor's own, and what the kernel offers there
//! (every process of a service listed, `cgroup.kill`, `cgroup.events`).
//!
//! The v2 hierarchy is found in `/proc/self/mountinfo` (filesystem type
//! `cgroup2`), never at a fixed path: on hybrid hosts it is often
//! `/sys/fs/cgroup/unified`, on pure-v2 hosts `/sys/fs/cgroup`. mend's
//! cgroups go under the cgroup this process is in (from
//! `/proc/self/cgroup`), so under systemd with `Delegate=yes` they land in
//! the delegated subtree; the supervisor makes a directory of its own
//! there, and each service a leaf in it, so the "no internal processes"
//! rule of enabled controllers never bites.

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use super::sys;

/// A cgroup v2 directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cgroup {
    path: PathBuf,
}

impl Cgroup {
    /// The cgroup this process is in, in the v2 hierarchy: `None` when no
    /// v2 hierarchy is mounted.
    pub(crate) fn own() -> io::Result<Option<Cgroup>> {
        let Some((mount, root)) = v2_mount(&sys::read("/proc/self/mountinfo")?) else {
            return Ok(None);
        };
        let own = v2_path(&sys::read("/proc/self/cgroup")?).unwrap_or_else(|| "/".to_owned());
        // The mount shows the hierarchy from `root`; our path is absolute
        // in the hierarchy.
        let relative = own.strip_prefix(root.as_str()).unwrap_or(&own);
        Ok(Some(Cgroup {
            path: mount.join(relative.trim_start_matches('/')),
        }))
    }

    /// The cgroup at `path` (an existing directory of a v2 hierarchy).
    pub(crate) fn at(path: impl Into<PathBuf>) -> Cgroup {
        Cgroup { path: path.into() }
    }

    /// Its directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The child cgroup `name`, created if missing.
    pub(crate) fn child(&self, name: &str) -> io::Result<Cgroup> {
        let path = self.path.join(name);
        sys::create_dir_all(&path)?;
        Ok(Cgroup { path })
    }

    /// Makes its directory again if it is gone.
    pub(crate) fn ensure(&self) -> io::Result<()> {
        sys::create_dir_all(&self.path)
    }

    /// Its `cgroup.procs`, opened for a child to write itself into before
    /// exec.
    pub(crate) fn procs_for_join(&self) -> io::Result<OwnedFd> {
        Ok(sys::open_for_write(self.path.join("cgroup.procs"))?.into())
    }

    /// The processes in it now (live ones: a process that exited leaves
    /// the list, zombie or not).
    pub(crate) fn pids(&self) -> io::Result<Vec<i32>> {
        Ok(sys::read(self.path.join("cgroup.procs"))?
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect())
    }

    /// Whether any live process is in it or below it (`cgroup.events`).
    pub(crate) fn populated(&self) -> io::Result<bool> {
        let events = sys::read(self.path.join("cgroup.events"))?;
        Ok(events.lines().any(|line| line.trim() == "populated 1"))
    }

    /// SIGKILL to every process in it and below it, at once (`cgroup.kill`,
    /// Linux 5.14+).
    pub(crate) fn kill(&self) -> io::Result<()> {
        sys::write(self.path.join("cgroup.kill"), "1")
    }

    /// Removes it (it must be empty).
    pub(crate) fn remove(&self) -> io::Result<()> {
        sys::remove_dir(&self.path)
    }

    /// Whether this cgroup can hold a supervisor's services: a test
    /// cgroup made and removed in it.
    pub(crate) fn is_writable(&self) -> bool {
        let probe = self.path.join(format!("mend-probe-{}", std::process::id()));
        match sys::create_dir_all(&probe) {
            Ok(()) => sys::remove_dir(&probe).is_ok(),
            Err(_) => false,
        }
    }
}

/// The mount point and root of the cgroup2 filesystem in a mountinfo
/// text: fields are `id parent major:minor root mountpoint options
/// [optional...] - fstype source superoptions`.
fn v2_mount(mountinfo: &str) -> Option<(PathBuf, String)> {
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        if after.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mut fields = before.split_whitespace();
        let root = fields.nth(3)?;
        let mount = fields.next()?;
        Some((PathBuf::from(unescape(mount)), unescape(root)))
    })
}

/// mountinfo writes a space as `\040` (and tab, newline, backslash alike).
fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The v2 line (`0::/path`) of a `/proc/PID/cgroup` text.
fn v2_path(cgroup: &str) -> Option<String> {
    cgroup
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(|path| path.trim().trim_end_matches(" (deleted)").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v2_hierarchy_is_found_wherever_it_is_mounted() {
        let hybrid = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
                      32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
                      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n";
        assert_eq!(
            v2_mount(hybrid),
            Some((PathBuf::from("/sys/fs/cgroup/unified"), "/".to_owned()))
        );
        let pure = "25 30 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(v2_mount(pure).unwrap().0, PathBuf::from("/sys/fs/cgroup"));
        let spaced = "1 2 0:1 /a\\040b /mnt/my\\040cg rw - cgroup2 none rw\n";
        assert_eq!(
            v2_mount(spaced),
            Some((PathBuf::from("/mnt/my cg"), "/a b".to_owned()))
        );
        assert_eq!(v2_mount("1 2 0:1 / /x rw - cgroup cgroup rw,cpu\n"), None);
    }

    #[test]
    fn the_own_cgroup_is_the_v2_line() {
        let text = "9:name=systemd:/\n0::/system.slice/mend.service\n";
        assert_eq!(v2_path(text).as_deref(), Some("/system.slice/mend.service"));
        assert_eq!(v2_path("9:name=systemd:/\n"), None);
    }
}
