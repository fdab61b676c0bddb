//! A soak of `mend run`: one service that crashes at once, restarted with
//! no backoff and no intensity limit (set explicitly: by default it would
//! give up), for 10,000 restarts beside 50 healthy services, each probed
//! by an exec liveness probe twice a second. Measured: mend's resident
//! memory and open descriptors after the first restarts and at the end
//! (they must stay flat), zombies left (0), and every start counted once:
//! the crasher appends a line to a file at each start, and
//! `mend_process_starts_total` in `mend metrics` must equal that count
//! (or exceed it by one: the start the final stop cut short before its
//! shell wrote).
//! Then SIGTERM (every service stopped) must leave no process.
//!
//! A measuring program, not criterion: `cargo bench -p mend-cli --bench
//! soak` (10,000 restarts, or `MEND_SOAK_RESTARTS`); `-- --test` makes
//! 300, as CI does.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "a soak measures a real daemon in real time"
)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HEALTHY: usize = 50;
const MARKER: &str = "MEND_SOAK";

fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Processes in state Z whose parent is `pid`.
fn zombies_of(pid: u32) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                return false;
            };
            let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
            rest[0] == "Z" && rest[1] == pid.to_string()
        })
        .count()
}

/// Live processes with the soak's marker in their environment.
fn marked() -> usize {
    let needle = format!("{MARKER}=1\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .count()
}

fn lines_in(path: &Path) -> u64 {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count() as u64)
}

/// `mend_process_starts_total` of the crasher, from `mend metrics`.
fn counted_starts(config: &Path) -> u64 {
    let out = Command::new(env!("CARGO_BIN_EXE_mend"))
        .arg("metrics")
        .arg(config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("mend_process_starts_total{") && l.contains("service=\"crasher\""))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no starts counter in:\n{text}"))
}

fn main() {
    let test = std::env::args().any(|a| a == "--test");
    let restarts: u64 = std::env::var("MEND_SOAK_RESTARTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if test { 300 } else { 10_000 });
    let dir = tempfile::tempdir().unwrap();
    let starts_file = dir.path().join("crasher.starts");
    let mut config = format!(
        "[services.crasher]\nshell = \"echo start >> {}; exit 1\"\n\
         restart_delay = \"0s\"\nrestart_delay_max = \"0s\"\n\
         start_limit_burst = 1000000\nstart_limit_interval = \"1s\"\n\
         environment = {{ {MARKER} = \"1\" }}\n\n",
        starts_file.display()
    );
    for i in 0..HEALTHY {
        config.push_str(&format!(
            "[services.healthy-{i}]\ncommand = [\"sleep\", \"100000\"]\n\
             liveness = {{ exec = [\"true\"], period = \"500ms\" }}\n\
             environment = {{ {MARKER} = \"1\" }}\n\n"
        ));
    }
    let file = dir.path().join("soak.toml");
    std::fs::write(&file, config).unwrap();
    let log = dir.path().join("mend.log");
    let mut mend = Command::new(env!("CARGO_BIN_EXE_mend"))
        .arg("run")
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = mend.id();
    let _stop = StopOnDrop(pid);
    let wait_for = |what: &str, target: u64, limit: Duration| {
        let deadline = Instant::now() + limit;
        while lines_in(&starts_file) < target {
            assert!(
                Instant::now() < deadline,
                "{what}: {} starts after {limit:?}; mend said:\n{}",
                lines_in(&starts_file),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for("warming up", 100, Duration::from_secs(60));
    let (rss0, fds0) = (resident_kib(pid), open_fds(pid));
    let t0 = Instant::now();
    wait_for("the soak", restarts, Duration::from_secs(1800));
    let elapsed = t0.elapsed();
    // The counter and the file agree once both are read at a quiet
    // moment: stop the crasher first.
    let stopped = Command::new(env!("CARGO_BIN_EXE_mend"))
        .args(["stop", "crasher"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(stopped.status.success(), "{stopped:?}");
    let rss1 = resident_kib(pid);
    let (started, counted) = (lines_in(&starts_file), counted_starts(&file));
    // A child that has just exited is a zombie until mend's reaper gets to
    // it, and a probe in flight holds a socket: what counts is what stays.
    // Give both a moment to clear (a leak does not).
    let settle = Instant::now() + Duration::from_secs(5);
    let (mut zombies, mut fds1) = (zombies_of(pid), open_fds(pid));
    while (zombies > 0 || fds1 > fds0 + 2) && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(10));
        (zombies, fds1) = (zombies_of(pid), open_fds(pid));
    }
    println!(
        "soak: {started} starts of a crashing service beside {HEALTHY} probed ones in {:.1} s \
         ({:.0} restarts/s); mend RSS {rss0} -> {rss1} KiB, open fds {fds0} -> {fds1}, \
         zombies {zombies}; mend_process_starts_total {counted}",
        elapsed.as_secs_f64(),
        (started - 100) as f64 / elapsed.as_secs_f64()
    );
    // The last start may have been stopped before its shell wrote its
    // line: one more counted than written, never fewer, never two more.
    assert!(
        counted == started || counted == started + 1,
        "every start counted once: {counted} counted, {started} written"
    );
    assert_eq!(zombies, 0);
    assert!(fds1 <= fds0 + 2, "descriptors leak: {fds0} -> {fds1}");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = mend.wait().unwrap();
    assert!(status.success(), "mend stopped with {status}");
    let left = marked();
    println!("after SIGTERM: {left} processes left");
    assert_eq!(left, 0);
}

/// Sends SIGTERM to mend when dropped (it stops its services).
struct StopOnDrop(u32);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0 as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}
