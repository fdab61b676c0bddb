//! The cost of mend's tower layers over a bare `service_fn`, in the loop
//! every tower caller runs (`ready().await`, then `call().await`), beside
//! the peers in the same run: tower-resilience 0.13's circuit-breaker
//! layer, and tower 0.5's `Retry`, with a policy that never retries and
//! with the budget policy tower's docs show (an `Arc<TpsBudget>`, a
//! deposit per success), beside mend's retry without and with a budget.
//!
//! Run with: `cargo bench -p mend --bench layer --features tower -- --warm-up-time 1 --measurement-time 3`
//!
//! The figure to read is each layer's time minus the bare service's. The
//! loop runs inside one future driven by a no-op waker on the bench thread
//! (every service here answers at once), so it measures the layers, not a
//! runtime.

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use mend::breaker::{CircuitBreaker, State};
use mend::layer::{BreakerLayer, CloneRequest, RetryLayer};
use mend::retry::{Retry, RetryBudget};
use tower::retry::budget::{Budget, TpsBudget};
use tower::{Layer, Service, ServiceExt, service_fn};

/// Runs a future that never waits on anything outside itself.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// The bare service: answers its request at once.
fn bare()
-> impl Service<u64, Response = u64, Error = Infallible, Future = Ready<Result<u64, Infallible>>> + Clone
{
    service_fn(|n: u64| ready(Ok(black_box(n))))
}

/// `iters` rounds of `ready().await` + `call().await`, in one async loop
/// (as a caller's task runs them), timed from inside.
#[allow(clippy::disallowed_methods)] // a bench: real time is the point
fn rounds<S: Service<u64, Response = u64>>(service: &mut S, iters: u64) -> Duration
where
    S::Error: std::fmt::Debug,
{
    block_on(async {
        let started = Instant::now();
        for n in 0..iters {
            let answer = service
                .ready()
                .await
                .unwrap()
                .call(black_box(n))
                .await
                .unwrap();
            black_box(answer);
        }
        started.elapsed()
    })
}

/// tower's retry policy that never retries (the success path only).
#[derive(Clone, Copy)]
struct NeverRetry;

impl<E> tower::retry::Policy<u64, u64, E> for NeverRetry {
    type Future = Ready<()>;

    fn retry(&mut self, _: &mut u64, _: &mut Result<u64, E>) -> Option<Self::Future> {
        None
    }

    fn clone_request(&mut self, request: &u64) -> Option<u64> {
        Some(*request)
    }
}

/// tower's retry policy with a budget, as tower's docs write it: the
/// budget shared by `Arc` (so the policy, cloned per call, holds one) and a
/// deposit per success.
#[derive(Clone)]
struct BudgetRetry(std::sync::Arc<TpsBudget>);

impl<E> tower::retry::Policy<u64, u64, E> for BudgetRetry {
    type Future = Ready<()>;

    fn retry(&mut self, _: &mut u64, result: &mut Result<u64, E>) -> Option<Self::Future> {
        match result {
            Ok(_) => {
                self.0.deposit();
                None
            }
            Err(_) => self.0.withdraw().then(|| ready(())),
        }
    }

    fn clone_request(&mut self, request: &u64) -> Option<u64> {
        Some(*request)
    }
}

fn breaker_layers(c: &mut Criterion) {
    // tower-resilience's layer takes tokio's mutex; give it a runtime to
    // be in, though nothing here waits on it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _in_runtime = runtime.enter();

    let mut g = c.benchmark_group("layer/breaker");
    let mut plain = bare();
    g.bench_function("bare service_fn", |b| {
        b.iter_custom(|iters| rounds(&mut plain, iters))
    });

    let breaker = std::sync::Arc::new(
        CircuitBreaker::builder("bench")
            .count_window(100)
            .without_logging()
            .build()
            .unwrap(),
    );
    let mut mend = BreakerLayer::new(std::sync::Arc::clone(&breaker)).layer(bare());
    g.bench_function("mend BreakerLayer (Arc)", |b| {
        b.iter_custom(|iters| rounds(&mut mend, iters))
    });
    assert_eq!(breaker.state(), State::Closed);

    let breaker: &'static CircuitBreaker = Box::leak(Box::new(
        CircuitBreaker::builder("bench")
            .count_window(100)
            .without_logging()
            .build()
            .unwrap(),
    ));
    let mut mend = BreakerLayer::from_static(breaker).layer(bare());
    g.bench_function("mend BreakerLayer (static)", |b| {
        b.iter_custom(|iters| rounds(&mut mend, iters))
    });
    assert_eq!(breaker.state(), State::Closed);

    let peer = tower_resilience::circuitbreaker::CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_size(100)
        .build()
        .unwrap();
    let mut peer = peer.layer(bare());
    g.bench_function("tower-resilience CircuitBreakerLayer", |b| {
        b.iter_custom(|iters| rounds(&mut peer, iters))
    });
    g.finish();
}

fn retry_layers(c: &mut Criterion) {
    let mut g = c.benchmark_group("layer/retry");
    let mut plain = bare();
    g.bench_function("bare service_fn", |b| {
        b.iter_custom(|iters| rounds(&mut plain, iters))
    });

    let mut tower_retry = tower::retry::RetryLayer::new(NeverRetry).layer(bare());
    g.bench_function("tower Retry (never retries)", |b| {
        b.iter_custom(|iters| rounds(&mut tower_retry, iters))
    });

    let retry = Retry::builder("bench").without_logging().build().unwrap();
    let mut mend = RetryLayer::new(retry, CloneRequest).layer(bare());
    g.bench_function("mend RetryLayer (Arc)", |b| {
        b.iter_custom(|iters| rounds(&mut mend, iters))
    });

    // With a budget each: tower's policy holds it by `Arc` (cloned per
    // call, as tower's `Retry` clones its policy), mend's retry holds it.
    let budget = std::sync::Arc::new(TpsBudget::new(Duration::from_secs(10), 10, 0.2));
    let mut tower_retry = tower::retry::RetryLayer::new(BudgetRetry(budget)).layer(bare());
    g.bench_function("tower Retry (TpsBudget)", |b| {
        b.iter_custom(|iters| rounds(&mut tower_retry, iters))
    });

    let retry = Retry::builder("bench")
        .budget(std::sync::Arc::new(RetryBudget::builder().build().unwrap()))
        .without_logging()
        .build()
        .unwrap();
    let mut mend = RetryLayer::new(retry, CloneRequest).layer(bare());
    g.bench_function("mend RetryLayer (Arc, budget)", |b| {
        b.iter_custom(|iters| rounds(&mut mend, iters))
    });

    let retry: &'static Retry = Box::leak(Box::new(
        Retry::builder("bench").without_logging().build().unwrap(),
    ));
    let mut mend = RetryLayer::from_static(retry, CloneRequest).layer(bare());
    g.bench_function("mend RetryLayer (static)", |b| {
        b.iter_custom(|iters| rounds(&mut mend, iters))
    });
    g.finish();
}

criterion_group!(benches, breaker_layers, retry_layers);
criterion_main!(benches);
