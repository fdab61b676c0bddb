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
//! measuring a fast rejection.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use mend::breaker::{CircuitBreaker, State};

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

fn mend_time_window() -> CircuitBreaker {
    CircuitBreaker::builder("bench")
        .time_window(Duration::from_secs(3600))
        .minimum_calls(10)
        .without_logging()
        .build()
        .unwrap()
}

fn mend_count_window(size: u64) -> CircuitBreaker {
    CircuitBreaker::builder("bench")
        .count_window(u32::try_from(size.max(10)).unwrap())
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
        .time_window(Duration::from_secs(3600))
        .minimum_calls(10)
        .slow_call_duration(Duration::from_secs(1))
        .without_logging()
        .build()
        .unwrap()
}

/// Checks the breaker measured `iters` admitted, recorded successes.
fn assert_recorded(breaker: &CircuitBreaker, iters: u64, exact: bool) {
    let metrics = breaker.metrics();
    assert_eq!(
        metrics.state,
        State::Closed,
        "the bench must measure a closed breaker"
    );
    assert_eq!(metrics.not_permitted_calls, 0);
    if exact {
        assert_eq!(
            u64::from(metrics.buffered_calls),
            iters,
            "every call recorded"
        );
    }
    assert_eq!(metrics.failed_calls, 0);
}

/// Per-call cost of `make()`'s breaker on `workers` (None: this thread).
fn bench_mend(
    c: &mut Criterion,
    name: &str,
    workers: Option<&Workers>,
    make: fn(u64) -> CircuitBreaker,
    exact: bool,
) {
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let threads = workers.map_or(1, |w| w.jobs.len() as u64);
            let iters = iters / threads * threads;
            let breaker = Arc::new(make(iters));
            let elapsed = match workers {
                None => {
                    #[allow(clippy::disallowed_methods)] // benches time with the real clock
                    let start = Instant::now();
                    for _ in 0..iters {
                        let _ = black_box(breaker.call(dependency));
                    }
                    start.elapsed()
                }
                Some(w) => {
                    let shared = breaker.clone();
                    w.run(
                        iters,
                        Arc::new(move |n| {
                            for _ in 0..n {
                                let _ = black_box(shared.call(dependency));
                            }
                        }),
                    )
                }
            };
            assert_recorded(&breaker, iters, exact);
            elapsed
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
/// calls, and whether every call shows in its window.
type Variant = (&'static str, fn(u64) -> CircuitBreaker, bool);

fn mend_variants() -> [Variant; 4] {
    [
        ("mend time window", |_| mend_time_window(), true),
        ("mend count window", mend_count_window, true),
        ("mend consecutive", |_| mend_consecutive(), false),
        ("mend slow-call on", |_| mend_slow_call(), true),
    ]
}

fn one_thread(c: &mut Criterion) {
    for (name, call) in peers(1) {
        bench_peer(c, &format!("1 thread/{name}"), None, call);
    }
    for (name, make, exact) in mend_variants() {
        bench_mend(c, &format!("1 thread/{name}"), None, make, exact);
    }
}

fn two_threads(c: &mut Criterion) {
    let workers = Workers::new(2);
    for (name, call) in peers(2) {
        bench_peer(c, &format!("2 threads/{name}"), Some(&workers), call);
    }
    for (name, make, exact) in mend_variants() {
        bench_mend(c, &format!("2 threads/{name}"), Some(&workers), make, exact);
    }
    workers.finish();
}

criterion_group!(benches, one_thread, two_threads);
criterion_main!(benches);
