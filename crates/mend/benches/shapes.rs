//! The breaker's closed-state success for the shapes users write: return
//! types `()`, `u64`, a `String` (moved through, not built per call) and a
//! 64-byte struct; error types `()`, `io::Error` and a boxed error. Each
//! shape beside the bare call and failsafe and recloser given exactly the
//! same operation, in the same run; then every window kind on one thread
//! and two.
//!
//! Run with: `cargo bench -p mend --bench shapes -- --warm-up-time 1 --measurement-time 2`
//!
//! The figure to read is the overhead over the bare call of the same shape.

use std::cell::Cell;
use std::error::Error as StdError;
use std::hint::black_box;
use std::io;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use mend::breaker::{CircuitBreaker, State};

type Boxed = Box<dyn StdError + Send + Sync>;

/// A 64-byte result.
#[derive(Clone, Copy)]
#[allow(dead_code)] // only its size matters
struct Wide([u64; 8]);

#[inline(never)]
fn unit<E>() -> Result<(), E> {
    black_box(Ok(()))
}

#[inline(never)]
fn number<E>() -> Result<u64, E> {
    Ok(black_box(1))
}

#[inline(never)]
fn wide<E>() -> Result<Wide, E> {
    Ok(black_box(Wide([3; 8])))
}

#[inline(never)]
fn moved<E>(s: String) -> Result<String, E> {
    Ok(black_box(s))
}

fn consecutive() -> CircuitBreaker {
    CircuitBreaker::builder("shapes")
        .consecutive_failures(5)
        .without_logging()
        .build()
        .unwrap()
}

fn count_window() -> CircuitBreaker {
    CircuitBreaker::builder("shapes")
        .count_window(100)
        .without_logging()
        .build()
        .unwrap()
}

fn time_window() -> CircuitBreaker {
    CircuitBreaker::builder("shapes")
        .time_window(Duration::from_secs(60))
        .without_logging()
        .build()
        .unwrap()
}

/// One shape: bare, mend, failsafe, recloser on one thread.
macro_rules! shape {
    ($c:expr, $label:literal, $op:expr) => {{
        let mut g = $c.benchmark_group(concat!("shape/", $label));
        g.bench_function("bare", |b| b.iter(|| black_box($op())));
        let breaker = consecutive();
        g.bench_function("mend", |b| b.iter(|| black_box(breaker.call($op))));
        assert_eq!(breaker.state(), State::Closed);
        let failsafe = failsafe::Config::new().build();
        g.bench_function("failsafe", |b| b.iter(|| black_box(failsafe.call($op))));
        let recloser = recloser::Recloser::default();
        g.bench_function("recloser", |b| b.iter(|| black_box(recloser.call($op))));
        g.finish();
    }};
}

fn return_and_error_types(c: &mut Criterion) {
    shape!(c, "() / ()", unit::<()>);
    shape!(c, "() / io::Error", unit::<io::Error>);
    shape!(c, "() / Box<dyn Error>", unit::<Boxed>);
    shape!(c, "u64 / ()", number::<()>);
    shape!(c, "u64 / io::Error", number::<io::Error>);
    shape!(c, "u64 / Box<dyn Error>", number::<Boxed>);
    shape!(c, "64-byte struct / ()", wide::<()>);
    shape!(c, "64-byte struct / io::Error", wide::<io::Error>);
    shape!(c, "64-byte struct / Box<dyn Error>", wide::<Boxed>);
    strings::<()>(c, "String / ()");
    strings::<io::Error>(c, "String / io::Error");
    strings::<Boxed>(c, "String / Box<dyn Error>");
}

/// A `String` moved into the call and back out, each time.
fn strings<E: std::fmt::Debug + 'static>(c: &mut Criterion, label: &str) {
    let slot = Cell::new(Some(String::from("a string moved through")));
    let round = |call: &dyn Fn(String) -> String| {
        let s = slot.take().unwrap();
        slot.set(Some(call(s)));
    };
    let mut g = c.benchmark_group(format!("shape/{label}"));
    g.bench_function("bare", |b| b.iter(|| round(&|s| moved::<E>(s).unwrap())));
    let breaker = consecutive();
    g.bench_function("mend", |b| {
        b.iter(|| round(&|s| breaker.call(|| moved::<E>(s)).unwrap()))
    });
    let failsafe = failsafe::Config::new().build();
    g.bench_function("failsafe", |b| {
        b.iter(|| round(&|s| failsafe.call(|| moved::<E>(s)).unwrap()))
    });
    let recloser = recloser::Recloser::default();
    g.bench_function("recloser", |b| {
        b.iter(|| round(&|s| recloser.call(|| moved::<E>(s)).unwrap()))
    });
    g.finish();
}

/// Wall time per call, `iters` calls split over two threads.
#[allow(clippy::disallowed_methods)] // benches time with the real clock
fn on_two_threads(iters: u64, call: &(dyn Fn() + Sync)) -> Duration {
    let share = iters.div_ceil(2);
    let start = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..share {
                    call();
                }
            });
        }
    });
    start.elapsed().mul_f64(iters as f64 / (share * 2) as f64)
}

/// The `()` and `u64` shapes in every window kind, on one thread and two.
fn window_kinds(c: &mut Criterion) {
    for (kind, make) in [
        ("consecutive", consecutive as fn() -> CircuitBreaker),
        ("count window", count_window),
        ("time window", time_window),
    ] {
        let mut g = c.benchmark_group(format!("windows/{kind}"));
        let breaker = make();
        g.bench_function("() / io::Error, 1 thread", |b| {
            b.iter(|| black_box(breaker.call(unit::<io::Error>)))
        });
        g.bench_function("u64 / io::Error, 1 thread", |b| {
            b.iter(|| black_box(breaker.call(number::<io::Error>)))
        });
        g.bench_function("() / io::Error, 2 threads", |b| {
            b.iter_custom(|n| {
                on_two_threads(n, &|| {
                    black_box(breaker.call(unit::<io::Error>)).unwrap();
                })
            })
        });
        g.bench_function("u64 / io::Error, 2 threads", |b| {
            b.iter_custom(|n| {
                on_two_threads(n, &|| {
                    black_box(breaker.call(number::<io::Error>)).unwrap();
                })
            })
        });
        assert_eq!(breaker.state(), State::Closed);
        g.finish();
    }
}

criterion_group!(benches, return_and_error_types, window_kinds);
criterion_main!(benches);
