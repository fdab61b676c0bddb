//! What a monitor of many probes costs: 10,000 cheap checks at a 1 s
//! period on one tokio runtime (the default multi-threaded one; no thread
//! per check): its CPU share (process CPU time over wall time), the heap
//! each probe holds (counted by dhat) and the resident memory it adds;
//! beside it, the floor: 10,000 bare tokio tasks ticking an `interval` and
//! calling the same check, with no judging, timeout, report or events.
//! A measuring program, not criterion: what matters is a rate over a
//! minute, not a per-call time. Every figure comes from a process of its
//! own (heap counting slows allocation, and no side reuses memory another
//! freed).
//!
//! Run with: `cargo bench -p mend --features health --bench health`
//! (60 s of CPU each); `-- --test` measures 2 s each, as CI does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use mend::health::{CheckResult, Monitor, Probe};
use rustix::time::{ClockId, clock_gettime};

/// Bytes resident in this process (memory a user sees, allocator slack
/// and tokio's task memory included): `VmRSS` of /proc/self/status.
#[allow(clippy::disallowed_methods)] // /proc, not a checkpoint
fn resident_bytes() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: i64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in kB");
    kib * 1024
}

const CHECKS: usize = 10_000;
const PERIOD: Duration = Duration::from_secs(1);

fn seconds(clock: ClockId) -> f64 {
    let t = clock_gettime(clock);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// CPU time and wall time spent over `length`.
struct Share {
    cpu: f64,
    wall: f64,
}

async fn cpu_share(length: Duration) -> Share {
    let (cpu, wall) = (
        seconds(ClockId::ProcessCPUTime),
        seconds(ClockId::Monotonic),
    );
    tokio::time::sleep(length).await;
    Share {
        cpu: seconds(ClockId::ProcessCPUTime) - cpu,
        wall: seconds(ClockId::Monotonic) - wall,
    }
}

/// The cheap check both sides run: count, and pass.
fn check(
    runs: &Arc<AtomicU64>,
) -> impl Fn() -> std::future::Ready<CheckResult> + Send + Sync + 'static {
    let runs = runs.clone();
    move || {
        runs.fetch_add(1, Relaxed);
        std::future::ready(CheckResult::pass())
    }
}

/// dhat's allocator: a pass-through unless a profiler runs (only in the
/// heap-counting processes).
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// What to measure in this process.
#[derive(Clone, Copy, PartialEq)]
enum Measure {
    /// Heap bytes live after every probe ran twice.
    Heap,
    /// CPU share over the run, and resident memory added.
    Cpu(Duration),
}

/// Starts `CHECKS` probes one way, waits until each ran twice, measures,
/// and says what it measured.
async fn side<T>(what: &str, measure: Measure, start: impl FnOnce(&Arc<AtomicU64>) -> T) -> T {
    let runs = Arc::new(AtomicU64::new(0));
    let profiler = (measure == Measure::Heap).then(|| dhat::Profiler::builder().testing().build());
    let heap = || {
        profiler
            .as_ref()
            .map_or(0, |_| dhat::HeapStats::get().curr_bytes as i64)
    };
    let (heap_before, resident) = (heap(), resident_bytes());
    let started = start(&runs);
    tokio::time::sleep(PERIOD * 2).await; // every probe has run, twice
    let per_check = |bytes: i64| bytes / CHECKS as i64;
    match measure {
        Measure::Heap => {
            let bytes = heap() - heap_before;
            drop(profiler);
            println!("{what:<26} heap {:>5} bytes/check", per_check(bytes));
        }
        Measure::Cpu(length) => {
            let resident = resident_bytes() - resident;
            let counted = runs.load(Relaxed);
            let share = cpu_share(length).await;
            println!(
                "{what:<26} {:>5.2}% of one core  {:>6.0} checks/s  resident {:>5} bytes/check",
                100.0 * share.cpu / share.wall,
                (runs.load(Relaxed) - counted) as f64 / share.wall,
                per_check(resident),
            );
        }
    }
    started
}

/// `CHECKS` probes in a monitor, their first runs spread over a period.
async fn monitor(measure: Measure) {
    let handle = side("mend monitor", measure, |runs| {
        let mut builder = Monitor::builder().without_logging();
        for i in 0..CHECKS {
            builder = builder.probe(
                Probe::liveness(&format!("svc{i}"), "ping", check(runs))
                    .period(PERIOD)
                    .initial_delay(PERIOD.mul_f64(i as f64 / CHECKS as f64)),
            );
        }
        builder.build().expect("a valid monitor").start()
    })
    .await;
    assert!(handle.livez() && handle.readyz());
    handle.stop();
}

/// The floor: a task per check, an interval, nothing else.
async fn bare(measure: Measure) {
    let tasks = side("bare tokio interval tasks", measure, |runs| {
        (0..CHECKS)
            .map(|i| {
                let check = check(runs);
                tokio::spawn(async move {
                    tokio::time::sleep(PERIOD.mul_f64(i as f64 / CHECKS as f64)).await;
                    let mut every = tokio::time::interval(PERIOD);
                    loop {
                        every.tick().await;
                        std::hint::black_box(check().await);
                    }
                })
            })
            .collect::<Vec<_>>()
    })
    .await;
    for task in tasks {
        task.abort();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let test = args.iter().any(|a| a == "--test");
    let length = Duration::from_secs(if test { 2 } else { 60 });
    let arg = |name: &str| {
        let at = args.iter().position(|a| a == name)?;
        args.get(at + 1).cloned()
    };
    let Some(what) = arg("--side") else {
        println!("{CHECKS} checks every {PERIOD:?}, CPU measured over {length:?}:");
        for what in ["bare", "monitor"] {
            for measure in ["heap", "cpu"] {
                let mut command = std::process::Command::new(std::env::current_exe().unwrap());
                command.args(["--side", what, "--measure", measure]);
                if test {
                    command.arg("--test");
                }
                let status = command.status().expect("run a side");
                assert!(status.success(), "{what} {measure}: {status}");
            }
        }
        return;
    };
    let measure = match arg("--measure").as_deref() {
        Some("heap") => Measure::Heap,
        _ => Measure::Cpu(length),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match what.as_str() {
        "bare" => runtime.block_on(bare(measure)),
        _ => runtime.block_on(monitor(measure)),
    }
}
