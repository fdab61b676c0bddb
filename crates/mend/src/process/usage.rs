//! [`ResourceUsage`]: the CPU time and memory a service's processes use,
//! read when asked (nothing is sampled in the background) from its cgroup
//! or, under the process-group fallback, from `/proc`.

use std::time::Duration;

use super::cgroup::Cgroup;
use super::proc_stat::{ProcStat, live_in_group};
use super::sys;

/// What a service's processes use, as read from the kernel when asked.
///
/// With a cgroup of its own, CPU time is the cgroup's `usage_usec`: every
/// process the service ever ran since it was added, restarts included, so
/// a crash loop shows. Memory is the cgroup's `memory.current` (page cache
/// included) where the memory controller is on, else the sum of its live
/// processes' resident sets. Under the process-group fallback both are the
/// sums over the live processes of its group: CPU time of runs that ended
/// is not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceUsage {
    /// CPU time, user and kernel.
    pub cpu: Duration,
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// Live processes.
    pub processes: usize,
}

impl ResourceUsage {
    /// Reads a service's usage from its cgroup.
    pub(crate) fn of_cgroup(cgroup: &Cgroup) -> Option<ResourceUsage> {
        let pids = cgroup.pids().ok()?;
        let cpu_stat = sys::read(cgroup.path().join("cpu.stat")).ok()?;
        let usage_usec: u64 = cpu_stat
            .lines()
            .find_map(|line| line.strip_prefix("usage_usec "))?
            .trim()
            .parse()
            .ok()?;
        let memory_bytes = match sys::read(cgroup.path().join("memory.current")) {
            Ok(text) => text.trim().parse().ok()?,
            Err(_) => resident(&pids),
        };
        Some(ResourceUsage {
            cpu: Duration::from_micros(usage_usec),
            memory_bytes,
            processes: pids.len(),
        })
    }

    /// Sums the usage of the live processes of process group `pgid`.
    pub(crate) fn of_group(pgid: i32) -> ResourceUsage {
        let pids = live_in_group(pgid);
        let ticks: u64 = pids
            .iter()
            .filter_map(|&pid| ProcStat::read(pid).ok())
            .map(|stat| stat.user_ticks + stat.system_ticks)
            .sum();
        let per_second = rustix::param::clock_ticks_per_second().max(1);
        ResourceUsage {
            cpu: Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / per_second),
            memory_bytes: resident(&pids),
            processes: pids.len(),
        }
    }
}

/// The sum of the resident sets of `pids`.
fn resident(pids: &[i32]) -> u64 {
    let page = rustix::param::page_size() as u64;
    pids.iter()
        .filter_map(|&pid| ProcStat::read(pid).ok())
        .map(|stat| stat.rss_pages * page)
        .sum()
}
