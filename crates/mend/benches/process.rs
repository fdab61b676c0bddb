//! Restart latency of `mend::process`: a service that exits at once
//! (`/bin/true`, permanent, zero backoff) is restarted 1,000 times; each
//! cycle is the time from one start to the next (the start is when
//! `spawn` returned, which is after the child's `exec`), so it holds the
//! child's run, its exit, the supervisor noticing it through the pidfd,
//! checking its group is empty, reaping, deciding, and spawning again.
//! Beside it, in the same run, the floor: a bare loop that spawns the same
//! program and waits for it, timed the same way. The difference of the
//! two is what supervising costs a restart. Both isolation backends.
//!
//! A measuring program, not criterion: it reports percentiles of one
//! sample of cycles. Run with `cargo bench -p mend --features process
//! --bench process`; `-- --test` restarts 50 times, as CI does.

#![allow(
    clippy::disallowed_methods,
    reason = "a bench measures real time and spawns for real"
)]

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mend::observe::Event;
use mend::process::{
    Isolation, ProcessChange, ProcessEvent, ProcessSupervisor, ServiceSpec, ServiceState,
};
use mend::retry::{Backoff, Jitter};
use mend::supervise::RestartPlan;

const PROGRAM: &str = "/bin/true";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at]
}

fn cycles(starts: &[Instant]) -> Vec<Duration> {
    let mut cycles: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    cycles.sort();
    cycles
}

/// Spawns and waits `n` times; when each spawn returned.
fn bare(n: usize) -> Vec<Instant> {
    let mut starts = Vec::with_capacity(n);
    for _ in 0..n {
        let mut child = Command::new(PROGRAM)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        starts.push(Instant::now());
        child.wait().expect("wait");
    }
    starts
}

/// Supervises the program until it has started `n` times; when each start
/// was reported.
fn supervised(n: usize, isolation: Isolation) -> Vec<Instant> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let starts = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let recorded = starts.clone();
    runtime.block_on(async move {
        let spec = ServiceSpec::builder("restarted", [PROGRAM])
            .restarts(
                RestartPlan::builder()
                    .intensity(u32::try_from(n).unwrap() - 1, Duration::from_secs(3600))
                    .backoff(
                        Backoff::constant(Duration::ZERO),
                        Jitter::None,
                        Duration::from_secs(3600),
                    ),
            )
            .build()
            .unwrap();
        let handle = ProcessSupervisor::builder("bench")
            .isolation(isolation)
            .without_logging()
            .on_event(move |event: &Event| {
                if let Some(ProcessEvent {
                    change: ProcessChange::Started { .. },
                    ..
                }) = event.downcast_ref::<ProcessEvent>()
                {
                    recorded.lock().unwrap().push(Instant::now());
                }
            })
            .service(spec)
            .build()
            .unwrap()
            .start()
            .unwrap();
        while handle.status("restarted").unwrap().state != ServiceState::GaveUp {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        handle.shutdown().await;
    });
    Arc::try_unwrap(starts).unwrap().into_inner().unwrap()
}

fn report(name: &str, cycles: &[Duration], floor: &[Duration]) {
    let (p50, p99) = (percentile(cycles, 0.5), percentile(cycles, 0.99));
    let (f50, f99) = (percentile(floor, 0.5), percentile(floor, 0.99));
    println!(
        "{name:<28} p50 {:>8.3} ms  p99 {:>8.3} ms   (over bare: p50 +{:.3} ms, p99 +{:.3} ms)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        (p50.as_secs_f64() - f50.as_secs_f64()) * 1e3,
        (p99.as_secs_f64() - f99.as_secs_f64()) * 1e3,
    );
}

fn main() {
    let test = std::env::args().any(|a| a == "--test");
    let n = if test { 50 } else { 1000 };
    println!("restart cycle of {PROGRAM}, {n} starts each");
    let floor = cycles(&bare(n));
    report("bare spawn + wait", &floor, &floor);
    report(
        "mend, process group",
        &cycles(&supervised(n, Isolation::ProcessGroup)),
        &floor,
    );
    if std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| m.contains(" - cgroup2 "))
        && rustix::process::geteuid().is_root()
    {
        report(
            "mend, cgroup",
            &cycles(&supervised(n, Isolation::Auto)),
            &floor,
        );
    } else {
        println!("mend, cgroup: no writable cgroup v2 hierarchy here");
    }
}
