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
//!
//! Where the compiler happens to place each function and loop moves these
//! figures by up to 0.9 ns from one build to the next, with no change in
//! the code. To compare shapes, pin the layout (every function and every
//! jump target aligned):
//! `RUSTFLAGS="-C llvm-args=-align-all-functions=6 -C llvm-args=-align-all-nofallthru-blocks=5" cargo bench -p mend --bench shapes`
//! (in a target directory of its own, as the flags rebuild everything).

use std::error::Error as StdError;
use std::hint::black_box;
use std::io;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
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

/// Takes a result as a caller does: looks at which it is and keeps the
/// value. Not `black_box` of the whole `Result`: that stores it and reads
/// it back at once, which stalls some shapes' loops (the bare `u64 / ()`
/// call measured 5 ns that way, 0.9 ns with `u64 / io::Error`), so the bare
/// figure the overheads are taken from would depend on the shape.
#[inline(never)]
fn keep<T, E>(result: Result<T, E>) {
    match result {
        Ok(value) => {
            black_box(&value);
        }
        Err(error) => {
            black_box(&error);
        }
    }
}

/// The operation called straight, in a function of its own: the shape of
/// a caller's function that returns what the operation returns.
#[inline(never)]
fn straight<T, E>(op: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    op()
}

/// The operation through mend's breaker, in a function of its own (as a
/// caller's `fn fetch(&self) -> Result<T, mend::Error<E>>` would be).
#[inline(never)]
fn through_mend<T, E: 'static>(
    breaker: &CircuitBreaker,
    op: impl FnOnce() -> Result<T, E>,
) -> Result<T, mend::Error<E>> {
    breaker.call(op)
}

/// The operation through failsafe's breaker, likewise.
#[inline(never)]
fn through_failsafe<T, E>(
    breaker: &impl failsafe::CircuitBreaker,
    op: impl FnOnce() -> Result<T, E>,
) -> Result<T, failsafe::Error<E>> {
    breaker.call(op)
}

/// The operation through recloser's breaker, likewise.
#[inline(never)]
fn through_recloser<T, E>(
    breaker: &recloser::Recloser,
    op: impl FnOnce() -> Result<T, E>,
) -> Result<T, recloser::Error<E>> {
    breaker.call(op)
}

/// One shape: bare, mend, failsafe, recloser on one thread. Each is a
/// function of its own that the loop calls (so the figure is the breaker's
/// code, not how the loop around it happens to be laid out) and whose
/// result it looks at.
macro_rules! shape {
    ($c:expr, $label:literal, $op:expr) => {{
        let mut g = $c.benchmark_group(concat!("shape/", $label));
        g.bench_function("bare", |b| b.iter(|| keep(straight($op))));
        let breaker = consecutive();
        g.bench_function("mend", |b| b.iter(|| keep(through_mend(&breaker, $op))));
        assert_eq!(breaker.state(), State::Closed);
        let failsafe = failsafe::Config::new().build();
        g.bench_function("failsafe", |b| {
            b.iter(|| keep(through_failsafe(&failsafe, $op)))
        });
        let recloser = recloser::Recloser::default();
        g.bench_function("recloser", |b| {
            b.iter(|| keep(through_recloser(&recloser, $op)))
        });
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
    let mut held = Some(String::from("a string moved through"));
    let mut g = c.benchmark_group(format!("shape/{label}"));
    g.bench_function("bare", |b| {
        b.iter(|| pass(&mut held, |s| straight(|| moved::<E>(s))))
    });
    let breaker = consecutive();
    g.bench_function("mend", |b| {
        b.iter(|| pass(&mut held, |s| through_mend(&breaker, || moved::<E>(s))))
    });
    let failsafe = failsafe::Config::new().build();
    g.bench_function("failsafe", |b| {
        b.iter(|| pass(&mut held, |s| through_failsafe(&failsafe, || moved::<E>(s))))
    });
    let recloser = recloser::Recloser::default();
    g.bench_function("recloser", |b| {
        b.iter(|| pass(&mut held, |s| through_recloser(&recloser, || moved::<E>(s))))
    });
    g.finish();
}

/// Moves the held `String` through `call` and keeps what comes back.
#[inline(always)]
fn pass<X: std::fmt::Debug>(
    held: &mut Option<String>,
    call: impl FnOnce(String) -> Result<String, X>,
) {
    let s = held.take().expect("the string came back");
    *held = Some(call(s).expect("the call succeeds"));
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
            b.iter(|| keep(breaker.call(unit::<io::Error>)))
        });
        g.bench_function("u64 / io::Error, 1 thread", |b| {
            b.iter(|| keep(breaker.call(number::<io::Error>)))
        });
        g.bench_function("() / io::Error, 2 threads", |b| {
            b.iter_custom(|n| {
                on_two_threads(n, &|| {
                    keep(breaker.call(unit::<io::Error>));
                })
            })
        });
        g.bench_function("u64 / io::Error, 2 threads", |b| {
            b.iter_custom(|n| {
                on_two_threads(n, &|| {
                    keep(breaker.call(number::<io::Error>));
                })
            })
        });
        assert_eq!(breaker.state(), State::Closed);
        g.finish();
    }
}

criterion_group!(benches, return_and_error_types, window_kinds);
criterion_main!(benches);
