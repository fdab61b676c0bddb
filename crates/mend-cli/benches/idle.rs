//! What `mend run` costs while nothing happens: 100 sleeping services
//! supervised, mend's own CPU time (user + system, from `/proc/PID/stat`)
//! over a minute as a share of one core, and its resident memory (VmRSS).
//! Goal: under 1% of a core and under 30 MB. Then the same with 100 HTTP
//! services (`mend demo http`), each with an HTTP liveness probe every
//! second. Goal: under 2% of a core and under 40 MB.
//!
//! A measuring program, not criterion. Run with `cargo bench -p mend-cli
//! --bench idle` (60 s); `-- --test` measures 2 s, as CI does.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "a bench measures a real daemon in real time"
)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SERVICES: usize = 100;

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("mend's stat");
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    // Fields 14 and 15 of stat, counted from field 3 (the state).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn resident_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("mend's status");
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib / 1024.0
}

/// Live children of `pid` (its services).
fn children(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| {
            std::fs::read_to_string(format!(
                "/proc/{pid}/task/{}/children",
                t.ok()?.file_name().to_str()?
            ))
            .ok()
        })
        .map(|c| c.split_whitespace().count())
        .sum()
}

fn main() {
    let test = std::env::args().any(|a| a == "--test");
    let measure = Duration::from_secs(if test { 2 } else { 60 });
    let mut sleepers = String::new();
    for i in 0..SERVICES {
        sleepers.push_str(&format!(
            "[services.sleeper-{i}]\ncommand = [\"sleep\", \"100000\"]\n\n"
        ));
    }
    measure_mend("sleeping services", &sleepers, measure, "< 1% and < 30 MB");
    // 100 distinct free ports: all held at once while the config is
    // written (one at a time, the system may hand out a port it just got
    // back), released before mend starts.
    let held: Vec<std::net::TcpListener> = (0..SERVICES)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let mut probed = String::new();
    for (i, listener) in held.iter().enumerate() {
        let port = listener.local_addr().unwrap().port();
        probed.push_str(&format!(
            "[services.web-{i}]\ncommand = [\"mend\", \"demo\", \"http\", \"--listen\", \"127.0.0.1:{port}\"]\n\
             liveness = {{ http = \"http://127.0.0.1:{port}/\", period = \"1s\" }}\n\n"
        ));
    }
    drop(held);
    measure_mend(
        "HTTP services, each probed every second",
        &probed,
        measure,
        "< 2% and < 40 MB",
    );
}

fn measure_mend(what: &str, config: &str, measure: Duration, goal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("idle.toml");
    std::fs::write(&file, config).unwrap();
    let mut mend = Command::new(env!("CARGO_BIN_EXE_mend"))
        .arg("run")
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("mend.log")).unwrap())
        .spawn()
        .unwrap();
    let pid = mend.id();
    // However this ends (a failed assertion included), mend and its
    // services do not outlive the bench.
    let _stop = StopOnDrop(pid);
    let deadline = Instant::now() + Duration::from_secs(30);
    while children(pid) < SERVICES {
        assert!(
            Instant::now() < deadline,
            "the services did not start ({} of {SERVICES} run); mend said:\n{}",
            children(pid),
            std::fs::read_to_string(dir.path().join("mend.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the start settle, then measure.
    std::thread::sleep(Duration::from_secs(1));
    let ticks_per_second = rustix::param::clock_ticks_per_second() as f64;
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    std::thread::sleep(measure);
    let (elapsed, used) = (t0.elapsed(), cpu_ticks(pid) - c0);
    let share = used as f64 / ticks_per_second / elapsed.as_secs_f64() * 100.0;
    let rss = resident_mib(pid);
    println!(
        "mend with {SERVICES} {what}, over {:.0} s: CPU {share:.3}% of one core ({used} ticks), resident {rss:.1} MiB (goal: {goal})",
        elapsed.as_secs_f64()
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = mend.wait().unwrap();
    assert!(status.success(), "mend stopped with {status}");
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
