//! mend's policies beside their peers, on the success path they spend
//! nearly all their life on.
//!
//! Run with: `cargo bench -p mend --bench policies -- --warm-up-time 1 --measurement-time 2`
//!
//! Async benches poll each future once with a no-op waker inside an entered
//! tokio runtime: a success never waits, so this measures the policy's own
//! cost without a scheduler's. Every bench checks that the success path was
//! the one measured: the operation ran exactly once per call (no retry) and
//! every call succeeded.

use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mend::limit::{Bulkhead, Quota, RateLimiter};
use mend::retry::{Retry, RetryBudget};

/// Makes a future in place and polls it once; the success path must not
/// wait. (Made inside rather than passed in, so that no bench pays for
/// moving its future into this frame.)
#[inline(always)]
fn poll_once<F: Future>(make: impl FnOnce() -> F) -> F::Output {
    let mut f = pin!(make());
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the success path waited"),
    }
}

/// Counts calls and operation runs; they must match (no retry happened).
#[derive(Default)]
struct Count {
    calls: Cell<u64>,
    ops: Cell<u64>,
}

impl Count {
    #[inline]
    fn op(&self, x: u64) -> Result<u64, std::io::Error> {
        self.ops.set(self.ops.get() + 1);
        Ok(black_box(x) + 1)
    }

    #[inline]
    fn call(&self) {
        self.calls.set(self.calls.get() + 1);
    }

    /// (A bench filtered out on the command line measured nothing: fine.)
    fn check(&self, name: &str) {
        assert_eq!(self.calls.get(), self.ops.get(), "{name}: a retry happened");
    }
}

fn retry_sync(c: &mut Criterion) {
    use backon::{BlockingRetryable, ExponentialBuilder};
    let mut g = c.benchmark_group("retry_sync");
    let plain = Retry::builder("b").without_logging().build().unwrap();
    let deadline = Retry::builder("b")
        .deadline(Duration::from_secs(5))
        .without_logging()
        .build()
        .unwrap();
    let budget = Arc::new(RetryBudget::builder().build().unwrap());
    let budgeted = Retry::builder("b")
        .budget(budget)
        .without_logging()
        .build()
        .unwrap();

    let n = Count::default();
    g.bench_function("bare", |b| {
        b.iter(|| {
            n.call();
            n.op(1).unwrap()
        })
    });
    n.check("bare");
    for (name, retry) in [
        ("mend", &plain),
        ("mend_deadline", &deadline),
        ("mend_budget", &budgeted),
    ] {
        let n = Count::default();
        g.bench_function(name, |b| {
            b.iter(|| {
                n.call();
                retry.call(|| n.op(1)).unwrap()
            })
        });
        n.check(name);
    }
    let n = Count::default();
    g.bench_function("backon", |b| {
        b.iter(|| {
            n.call();
            (|| n.op(1))
                .retry(ExponentialBuilder::default())
                .call()
                .unwrap()
        })
    });
    n.check("backon");
    g.finish();
}

#[derive(Clone)]
struct NeverRetry;

impl<Req: Clone, Res, E> tower::retry::Policy<Req, Res, E> for NeverRetry {
    type Future = std::future::Ready<()>;

    fn retry(&mut self, _: &mut Req, _: &mut Result<Res, E>) -> Option<Self::Future> {
        None
    }

    fn clone_request(&mut self, req: &Req) -> Option<Req> {
        Some(req.clone())
    }
}

fn retry_async(c: &mut Criterion) {
    use backon::{ExponentialBuilder, Retryable};
    use tower::{Service, ServiceExt};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let mut g = c.benchmark_group("retry_async");
    let plain = Retry::builder("b").without_logging().build().unwrap();
    let deadline = Retry::builder("b")
        .deadline(Duration::from_secs(5))
        .without_logging()
        .build()
        .unwrap();

    let n = Count::default();
    g.bench_function("bare", |b| {
        b.iter(|| {
            n.call();
            poll_once(|| async { n.op(1) }).unwrap()
        })
    });
    n.check("bare");
    for (name, retry) in [("mend", &plain), ("mend_deadline", &deadline)] {
        let n = Count::default();
        g.bench_function(name, |b| {
            b.iter(|| {
                n.call();
                poll_once(|| retry.call_async(|| async { n.op(1) })).unwrap()
            })
        });
        n.check(name);
    }
    let n = Count::default();
    g.bench_function("backon", |b| {
        b.iter(|| {
            n.call();
            poll_once(|| (|| async { n.op(1) }).retry(ExponentialBuilder::default())).unwrap()
        })
    });
    n.check("backon");

    let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let ops = n.clone();
    let inner = tower::service_fn(move |x: u64| {
        ops.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::future::ready(Ok::<_, std::io::Error>(x + 1))
    });
    let mut svc = tower::retry::Retry::new(NeverRetry, inner);
    let calls = Cell::new(0u64);
    g.bench_function("tower_never_retry", |b| {
        b.iter(|| {
            calls.set(calls.get() + 1);
            poll_once(|| async {
                let ready = svc.ready().await.unwrap();
                ready.call(black_box(1)).await.unwrap()
            })
        })
    });
    assert_eq!(calls.get(), n.load(std::sync::atomic::Ordering::Relaxed));
    g.finish();
}

fn budget(c: &mut Criterion) {
    use tower::retry::budget::{Budget, TpsBudget};
    let mut g = c.benchmark_group("budget_deposit_withdraw");
    let mend = RetryBudget::builder().build().unwrap();
    g.bench_function("mend", |b| {
        b.iter(|| {
            mend.deposit();
            black_box(mend.try_withdraw())
        })
    });
    let tower = TpsBudget::new(Duration::from_secs(10), 10, 0.2);
    g.bench_function("tower_tps", |b| {
        b.iter(|| {
            tower.deposit();
            black_box(tower.withdraw())
        })
    });
    g.finish();
}

fn bulkhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let mut g = c.benchmark_group("bulkhead_acquire_release");
    let mend = Bulkhead::builder("b").max_concurrent(64).build().unwrap();
    let tokio = tokio::sync::Semaphore::new(64);
    g.bench_function("mend_sync", |b| {
        b.iter(|| drop(black_box(mend.try_acquire().unwrap())))
    });
    g.bench_function("tokio_semaphore_sync", |b| {
        b.iter(|| drop(black_box(tokio.try_acquire().unwrap())))
    });
    g.bench_function("mend_async", |b| {
        b.iter(|| drop(black_box(poll_once(|| mend.acquire_async()).unwrap())))
    });
    g.bench_function("tokio_semaphore_async", |b| {
        b.iter(|| drop(black_box(poll_once(|| tokio.acquire()).unwrap())))
    });
    assert_eq!(mend.in_flight(), 0);
    g.finish();
}

fn rate(c: &mut Criterion) {
    let mut g = c.benchmark_group("rate_check");
    let quota = Quota::per_second(NonZeroU32::new(u32::MAX).unwrap());
    let quanta = governor::RateLimiter::direct(quota);
    let mend = RateLimiter::builder("b", quota).build().unwrap();
    g.bench_function("governor_quanta", |b| b.iter(|| quanta.check().unwrap()));
    g.bench_function("mend", |b| b.iter(|| mend.check().unwrap()));
    g.finish();
}

/// Wall time per call of `call` run `iters` times in all, split over two
/// threads: half of the one-thread figure is perfect scaling.
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

/// The success paths again, shared by two threads: the counters each
/// policy keeps must not make its threads fight over a cache line.
fn two_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("two_threads");
    let op = |x: u64| -> Result<u64, std::io::Error> { Ok(black_box(x) + 1) };
    let retry = Retry::builder("b").without_logging().build().unwrap();
    let bulkhead = Bulkhead::builder("b").max_concurrent(64).build().unwrap();
    let quota = Quota::per_second(NonZeroU32::new(u32::MAX).unwrap());
    let limiter = RateLimiter::builder("b", quota).build().unwrap();
    let governor = governor::RateLimiter::direct(quota);
    let tokio_semaphore = tokio::sync::Semaphore::new(64);
    g.bench_function("bare", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, &|| {
                black_box(op(1).unwrap());
            })
        })
    });
    g.bench_function("retry_sync_mend", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, &|| {
                black_box(retry.call(|| op(1)).unwrap());
            })
        })
    });
    g.bench_function("retry_async_mend", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, &|| {
                black_box(poll_once(|| retry.call_async(|| async { op(1) })).unwrap());
            })
        })
    });
    g.bench_function("bulkhead_mend", |b| {
        b.iter_custom(|n| on_two_threads(n, &|| drop(black_box(bulkhead.try_acquire().unwrap()))))
    });
    g.bench_function("bulkhead_tokio_semaphore", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, &|| {
                drop(black_box(tokio_semaphore.try_acquire().unwrap()))
            })
        })
    });
    g.bench_function("rate_mend", |b| {
        b.iter_custom(|n| on_two_threads(n, &|| limiter.check().unwrap()))
    });
    g.bench_function("rate_governor_quanta", |b| {
        b.iter_custom(|n| on_two_threads(n, &|| governor.check().unwrap()))
    });
    assert_eq!(bulkhead.in_flight(), 0);
    g.finish();
}

criterion_group!(
    benches,
    retry_sync,
    retry_async,
    budget,
    bulkhead,
    rate,
    two_threads
);
criterion_main!(benches);
