//! What `/proc/PID/stat` says about a process: its state, parent, process
//! group, session and start time; and [`ProcessIdentity`], the triple
//! (pid, start time, boot id) that names one process across a
//! supervisor's restart, since a pid alone is reused.

use std::io;

use super::sys;

/// The fields of `/proc/PID/stat` mend reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    /// `R`, `S`, `D`, `Z` (zombie), `T`, ...
    pub(crate) state: char,
    pub(crate) ppid: i32,
    pub(crate) pgrp: i32,
    pub(crate) session: i32,
    /// CPU time in user mode, in clock ticks.
    pub(crate) user_ticks: u64,
    /// CPU time in the kernel on its behalf, in clock ticks.
    pub(crate) system_ticks: u64,
    /// Clock ticks after boot.
    pub(crate) start_time: u64,
    /// Resident pages.
    pub(crate) rss_pages: u64,
}

impl ProcStat {
    /// Reads `/proc/PID/stat`.
    pub(crate) fn read(pid: i32) -> io::Result<ProcStat> {
        let text = sys::read(format!("/proc/{pid}/stat"))?;
        ProcStat::parse(&text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("/proc/{pid}/stat: unexpected format"),
            )
        })
    }

    /// Parses the text of a stat file. The command name (field 2) is in
    /// parentheses and may itself hold spaces and parentheses, so the
    /// fields are counted from the *last* `)`.
    pub(crate) fn parse(text: &str) -> Option<ProcStat> {
        let rest = &text[text.rfind(')')? + 1..];
        let mut fields = rest.split_ascii_whitespace();
        // Field 3 onwards: state, ppid, pgrp, session; utime and stime are
        // fields 14 and 15, the start time 22, the resident pages 24.
        let state = fields.next()?.chars().next()?;
        let ppid = fields.next()?.parse().ok()?;
        let pgrp = fields.next()?.parse().ok()?;
        let session = fields.next()?.parse().ok()?;
        let user_ticks = fields.nth(7)?.parse().ok()?;
        let system_ticks = fields.next()?.parse().ok()?;
        let start_time = fields.nth(6)?.parse().ok()?;
        let rss_pages = fields.nth(1)?.parse().ok()?;
        Some(ProcStat {
            state,
            ppid,
            pgrp,
            session,
            user_ticks,
            system_ticks,
            start_time,
            rss_pages,
        })
    }

    /// Whether the process has exited and waits to be reaped.
    pub(crate) fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }
}

/// One process, named so that a reused pid is never mistaken for it: its
/// pid, its start time (clock ticks after boot, from `/proc/PID/stat`) and
/// the boot it ran in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ProcessIdentity {
    /// The process id.
    pub pid: i32,
    /// Field 22 of `/proc/PID/stat`: when it started, in clock ticks after
    /// boot.
    pub start_time: u64,
    /// `/proc/sys/kernel/random/boot_id` at the time.
    pub boot_id: String,
}

impl ProcessIdentity {
    /// The identity of the running process `pid`.
    ///
    /// # Errors
    ///
    /// When `/proc` cannot be read (the process is gone, say).
    pub fn of(pid: i32) -> io::Result<ProcessIdentity> {
        Ok(ProcessIdentity {
            pid,
            start_time: ProcStat::read(pid)?.start_time,
            boot_id: boot_id()?,
        })
    }

    /// Whether `pid` still names this process (same start time, same
    /// boot), rather than a process that reused its pid.
    pub fn is_alive(&self) -> bool {
        match ProcessIdentity::of(self.pid) {
            Ok(now) => now == *self,
            Err(_) => false,
        }
    }
}

/// Whether `pid` is still the live (not zombie) process that started at
/// `start_time`: a reused pid has another start time.
pub(crate) fn runs_as(pid: i32, start_time: u64) -> bool {
    ProcStat::read(pid).is_ok_and(|stat| stat.start_time == start_time && !stat.is_zombie())
}

/// How long ago a process that started at `start_time` (clock ticks after
/// boot) started, from `/proc/uptime`.
pub(crate) fn age(start_time: u64) -> Option<std::time::Duration> {
    let uptime: f64 = sys::read("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let per_second = rustix::param::clock_ticks_per_second().max(1) as f64;
    let age = uptime - start_time as f64 / per_second;
    (age >= 0.0).then(|| std::time::Duration::from_secs_f64(age))
}

/// This boot's id.
pub(crate) fn boot_id() -> io::Result<String> {
    Ok(sys::read("/proc/sys/kernel/random/boot_id")?
        .trim()
        .to_owned())
}

/// The live (not zombie) processes whose process group is `pgid`, from a
/// scan of `/proc`.
pub(crate) fn live_in_group(pgid: i32) -> Vec<i32> {
    let Ok(names) = sys::list("/proc") else {
        return Vec::new();
    };
    names
        .iter()
        .filter_map(|name| name.parse::<i32>().ok())
        .filter(|&pid| ProcStat::read(pid).is_ok_and(|stat| stat.pgrp == pgid && !stat.is_zombie()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_counted_from_the_last_parenthesis() {
        let text = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    1 2 0 0 20 0 1 0 987654 12345678 100 18446744073709551615";
        let stat = ProcStat::parse(text).unwrap();
        assert_eq!(
            stat,
            ProcStat {
                state: 'S',
                ppid: 1,
                pgrp: 4242,
                session: 4242,
                user_ticks: 1,
                system_ticks: 2,
                start_time: 987_654,
                rss_pages: 100,
            }
        );
        assert!(!stat.is_zombie());
        assert_eq!(ProcStat::parse("12 (x) Z 1 2").map(|s| s.state), None);
        assert_eq!(ProcStat::parse("no parenthesis"), None);
    }

    #[test]
    fn this_process_has_an_identity_that_holds() {
        let me = ProcessIdentity::of(std::process::id() as i32).unwrap();
        assert!(me.start_time > 0);
        assert_eq!(me.boot_id.len(), 36);
        assert!(me.is_alive());
        let reused = ProcessIdentity {
            start_time: me.start_time + 1,
            ..me.clone()
        };
        assert!(!reused.is_alive(), "another start time is another process");
    }
}
