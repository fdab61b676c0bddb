//! The breaker's closed-state success path, beside its Rust peers, on one
//! thread and on two threads sharing one breaker.
//!
//! Run with: cargo bench --bench breaker
//!
//! Every figure is wall time per call. Two-thread rows run `iters / 2` calls
//! on each of two threads that live across iterations (so per-thread setup is
//! not measured), and time until both are done: half the one-thread figure
//! means perfect scaling. After each mend sample the breaker must still be
//! closed with exactly `iters` calls recorded, so a bench can never be
//! measuring a fast rejection. (To check that, the count-window rows use a
//! window as long as the sample; "count window of 100" is the everyday
//! shape, checked for state only.)

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Barrier, OnceLock, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use dashmap::DashMap;
use failsafe::CircuitBreaker as _;
use mend::breaker::{BreakerRegistry, CircuitBreaker, State};
use mend::clock::{Clock, RecentClock, SystemClock};

type Job = Arc<dyn Fn(u64) + Send + Sync>;

/// Worker threads that live across criterion's iterations.
struct Workers {
    jobs: Vec<Sender<(Job, u64)>>,
    done: Receiver<()>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    fn new(count: usize) -> Self {
        let (done_tx, done) = channel();
        let mut jobs = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..count {
            let (tx, rx) = channel::<(Job, u64)>();
            let done_tx = done_tx.clone();
            handles.push(std::thread::spawn(move || {
                for (job, iters) in rx {
                    job(iters);
                    let _ = done_tx.send(());
                }
            }));
            jobs.push(tx);
        }
        Workers {
            jobs,
            done,
            handles,
        }
    }

    /// Runs `job` for `iters` calls split across the workers; wall time.
    fn run(&self, iters: u64, job: Job) -> Duration {
        let share = iters / self.jobs.len() as u64;
        let barrier = Arc::new(Barrier::new(self.jobs.len() + 1));
        let gated: Job = {
            let barrier = barrier.clone();
            Arc::new(move |n| {
                barrier.wait();
                job(n);
            })
        };
        for tx in &self.jobs {
            tx.send((gated.clone(), share)).unwrap();
        }
        barrier.wait();
        #[allow(clippy::disallowed_methods)] // benches time with the real clock
        let start = Instant::now();
        for _ in &self.jobs {
            self.done.recv().unwrap();
        }
        start.elapsed()
    }

    fn finish(self) {
        drop(self.jobs);
        for h in self.handles {
            h.join().unwrap();
        }
    }
}

#[inline(never)]
fn dependency() -> Result<u64, ()> {
    Ok(black_box(1))
}

#[inline(never)]
fn failing_dependency() -> Result<u64, ()> {
    black_box(Err(()))
}

/// `n` calls through `breaker`, every `fail_every`-th one failing (the
/// first included).
#[inline(always)]
fn calls<C: Clock>(breaker: &CircuitBreaker<C>, n: u64, fail_every: Option<u64>) {
    match fail_every {
        None => {
            for _ in 0..n {
                let _ = black_box(breaker.call(dependency));
            }
        }
        Some(every) => {
            for i in 0..n {
                let f = if i % every == 0 {
                    failing_dependency
                } else {
                    dependency
                };
                let _ = black_box(breaker.call(f));
            }
        }
    }
}

fn mend_time_window() -> CircuitBreaker {
    CircuitBreaker::builder("bench")
        .time_window(Duration::from_secs(60))
        .minimum_calls(10)
        .without_logging()
        .build()
        .unwrap()
}

/// The time window on [`RecentClock`]; all such breakers share one clock
/// (one ticker thread).
fn mend_time_window_recent() -> CircuitBreaker<RecentClock> {
    static CLOCK: OnceLock<RecentClock> = OnceLock::new();
    let clock = CLOCK.get_or_init(|| RecentClock::new().unwrap()).clone();
    CircuitBreaker::builder("bench")
        .time_window(Duration::from_secs(60))
        .minimum_calls(10)
        .clock(clock)
        .without_logging()
        .build()
        .unwrap()
}

/// The largest count window a breaker takes (`MAX_COUNT_WINDOW`): a
/// longer run wraps it, as a service's window does.
const COUNT_WINDOW_MAX: u64 = 100_000;

fn mend_count_window(size: u64) -> CircuitBreaker {
    CircuitBreaker::builder("bench")
        .count_window(u32::try_from(size.clamp(10, COUNT_WINDOW_MAX)).unwrap())
        .minimum_calls(10)
        .without_logging()
        .build()
        .unwrap()
}

fn mend_consecutive() -> CircuitBreaker {
    CircuitBreaker::builder("bench")
        .consecutive_failures(5)
        .without_logging()
        .build()
        .unwrap()
}

fn mend_slow_call() -> CircuitBreaker {
    CircuitBreaker::builder("bench")
        .time_window(Duration::from_secs(60))
        .minimum_calls(10)
        .slow_call_duration(Duration::from_secs(1))
        .without_logging()
        .build()
        .unwrap()
}

/// Checks the breaker measured `iters` admitted, recorded calls, of which
/// `failures` failed.
fn assert_recorded<C: Clock>(breaker: &CircuitBreaker<C>, iters: u64, failures: u64, exact: bool) {
    let metrics = breaker.metrics();
    assert_eq!(
        metrics.state,
        State::Closed,
        "must measure a closed breaker"
    );
    assert_eq!(metrics.not_permitted_calls, 0);
    let buffered = u64::from(metrics.buffered_calls);
    if exact && iters > COUNT_WINDOW_MAX && buffered == COUNT_WINDOW_MAX {
        // A count window, wrapped: full, and nothing more to check.
    } else if exact {
        assert_eq!(
            u64::from(metrics.buffered_calls),
            iters,
            "every call recorded"
        );
        assert_eq!(u64::from(metrics.failed_calls), failures);
    }
}

/// Per-call cost of `make()`'s breaker on `workers` (None: this thread),
/// every `fail_every`-th call failing.
fn bench_mend<C: Clock>(
    c: &mut Criterion,
    name: &str,
    workers: Option<&Workers>,
    variant: &Variant<C>,
) {
    let &(_, make, exact, fail_every) = variant;
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let threads = workers.map_or(1, |w| w.jobs.len() as u64);
            let share = iters.max(threads) / threads;
            let breaker = Arc::new(make(share * threads));
            let elapsed = match workers {
                None => {
                    #[allow(clippy::disallowed_methods)] // benches time with the real clock
                    let start = Instant::now();
                    calls(&breaker, share, fail_every);
                    start.elapsed()
                }
                Some(w) => {
                    let shared = breaker.clone();
                    w.run(
                        share * threads,
                        Arc::new(move |n| calls(&shared, n, fail_every)),
                    )
                }
            };
            let failures = fail_every.map_or(0, |every| share.div_ceil(every)) * threads;
            assert_recorded(&breaker, share * threads, failures, exact);
            elapsed.mul_f64(share as f64 * threads as f64 / iters as f64)
        })
    });
}

fn bench_peer(c: &mut Criterion, name: &str, workers: Option<&Workers>, call: Job) {
    c.bench_function(name, |b| {
        b.iter_custom(|iters| match workers {
            None => {
                #[allow(clippy::disallowed_methods)] // benches time with the real clock
                let start = Instant::now();
                call(iters);
                start.elapsed()
            }
            Some(w) => w.run(iters, call.clone()),
        })
    });
}

fn peers(threads: usize) -> Vec<(&'static str, Job)> {
    let counter = Arc::new(AtomicU64::new(0));
    let failsafe = Arc::new(failsafe::Config::new().build());
    let recloser = Arc::new(recloser::Recloser::default());
    let _ = threads;
    vec![
        (
            "bare call",
            Arc::new(|n| {
                for _ in 0..n {
                    let _ = black_box(dependency());
                }
            }),
        ),
        (
            "one atomic add",
            Arc::new(move |n| {
                for _ in 0..n {
                    counter.fetch_add(1, Ordering::Relaxed);
                    let _ = black_box(dependency());
                }
            }),
        ),
        (
            "failsafe 1.3",
            Arc::new(move |n| {
                for _ in 0..n {
                    let _ = black_box(failsafe.call(dependency));
                }
            }),
        ),
        (
            "recloser 1.4",
            Arc::new(move |n| {
                for _ in 0..n {
                    let _ = black_box(recloser.call(dependency));
                }
            }),
        ),
    ]
}

/// A mend configuration to bench: its name, how to build it for `iters`
/// calls, whether every call shows in its window, and how often a call
/// fails.
type Variant<C = SystemClock> = (
    &'static str,
    fn(u64) -> CircuitBreaker<C>,
    bool,
    Option<u64>,
);

fn mend_variants() -> [Variant; 7] {
    [
        ("mend time window", |_| mend_time_window(), true, None),
        ("mend count window", mend_count_window, true, None),
        ("mend consecutive", |_| mend_consecutive(), false, None),
        ("mend slow-call on", |_| mend_slow_call(), true, None),
        (
            "mend time window, 1 in 128 fails",
            |_| mend_time_window(),
            true,
            Some(128),
        ),
        (
            "mend count window, 1 in 128 fails",
            mend_count_window,
            true,
            Some(128),
        ),
        (
            "mend count window of 100, 1 in 128 fails",
            |_| mend_count_window(100),
            false,
            Some(128),
        ),
    ]
}

/// The time window again on [`RecentClock`]: what the coarse clock read
/// costs the success path.
fn recent_clock_variants() -> [Variant<RecentClock>; 2] {
    [
        (
            "mend time window, RecentClock",
            |_| mend_time_window_recent(),
            true,
            None,
        ),
        (
            "mend time window, RecentClock, 1 in 128 fails",
            |_| mend_time_window_recent(),
            true,
            Some(128),
        ),
    ]
}

fn one_thread(c: &mut Criterion) {
    for (name, call) in peers(1) {
        bench_peer(c, &format!("1 thread/{name}"), None, call);
    }
    for variant in mend_variants() {
        bench_mend(c, &format!("1 thread/{}", variant.0), None, &variant);
    }
    for variant in recent_clock_variants() {
        bench_mend(c, &format!("1 thread/{}", variant.0), None, &variant);
    }
}

fn two_threads(c: &mut Criterion) {
    let workers = Workers::new(2);
    for (name, call) in peers(2) {
        bench_peer(c, &format!("2 threads/{name}"), Some(&workers), call);
    }
    for variant in mend_variants() {
        bench_mend(
            c,
            &format!("2 threads/{}", variant.0),
            Some(&workers),
            &variant,
        );
    }
    for variant in recent_clock_variants() {
        bench_mend(
            c,
            &format!("2 threads/{}", variant.0),
            Some(&workers),
            &variant,
        );
    }
    workers.finish();
}

/// Looking a key's breaker up: mend's registry beside the two maps one
/// would otherwise reach for, each handing out an `Arc` to the breaker.
fn registry_lookup(c: &mut Criterion) {
    const KEYS: usize = 1_000;
    let keys: Arc<Vec<String>> =
        Arc::new((0..KEYS).map(|i| format!("host-{i}.internal")).collect());
    let registry = Arc::new(
        BreakerRegistry::builder(CircuitBreaker::builder("hosts").without_logging())
            .max_keys(KEYS)
            .build::<String>()
            .unwrap(),
    );
    let rwlock: Arc<RwLock<HashMap<String, Arc<CircuitBreaker>>>> = Arc::default();
    let dashmap: Arc<DashMap<String, Arc<CircuitBreaker>>> = Arc::default();
    for key in keys.iter() {
        let _ = registry.get(key).unwrap();
        rwlock
            .write()
            .unwrap()
            .insert(key.clone(), Arc::new(mend_time_window()));
        dashmap.insert(key.clone(), Arc::new(mend_time_window()));
    }
    let lookups: Vec<(&str, Job)> = vec![
        ("mend BreakerRegistry::get", {
            let (keys, registry) = (keys.clone(), registry.clone());
            Arc::new(move |n| {
                for i in 0..n as usize {
                    black_box(registry.get(&keys[i % KEYS]).unwrap());
                }
            })
        }),
        ("RwLock<HashMap> read + clone", {
            let (keys, map) = (keys.clone(), rwlock.clone());
            Arc::new(move |n| {
                for i in 0..n as usize {
                    black_box(map.read().unwrap().get(&keys[i % KEYS]).cloned());
                }
            })
        }),
        ("DashMap get + clone", {
            let (keys, map) = (keys.clone(), dashmap.clone());
            Arc::new(move |n| {
                for i in 0..n as usize {
                    black_box(map.get(&keys[i % KEYS]).map(|b| b.clone()));
                }
            })
        }),
    ];
    let workers = Workers::new(2);
    for (name, lookup) in &lookups {
        bench_peer(c, &format!("1 thread/lookup/{name}"), None, lookup.clone());
        bench_peer(
            c,
            &format!("2 threads/lookup/{name}"),
            Some(&workers),
            lookup.clone(),
        );
    }
    workers.finish();
    assert_eq!(registry.len(), KEYS, "every lookup hit an existing key");
}

criterion_group!(benches, one_thread, two_threads, registry_lookup);
criterion_main!(benches);
