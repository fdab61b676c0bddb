//! Owned policies: permits, futures and whole stacks that are `Send +
//! 'static` under generic code, so they can be spawned, stored and stacked.
//!
//! The `assert_*` helpers are generic: they prove the property from the
//! traits' bounds alone, not from one concrete type's auto traits.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mend::breaker::{CircuitBreaker, OwnedPermit, State};
use mend::classify::{Classify, DefaultClassify};
use mend::clock::{Clock, SystemClock, TokioClock};
use mend::compose::{AsyncPolicy, SendAsyncPolicy, Stack, stack};
use mend::limit::{Bulkhead, KeyedRateLimiter, OwnedBulkheadPermit, Quota, RateLimiter, Timeout};
use mend::retry::{DefaultHint, Retry, RetryHint, Sleep};
use mend::{Error, Rejected};

use crate::support::MS;

fn assert_send_static<T: Send + 'static>(_: &T) {}

/// A stack as a user keeps it in a struct field.
type Guarded = Stack<(
    Arc<CircuitBreaker>,
    Arc<RateLimiter>,
    Arc<Bulkhead>,
    Arc<Timeout>,
)>;

/// Any `SendAsyncPolicy` held by a `'static` handle makes a spawnable future.
fn spawn_through<P>(policy: &P) -> tokio::task::JoinHandle<Result<u32, Error<io::Error>>>
where
    P: SendAsyncPolicy<u32, io::Error> + 'static,
{
    let future = policy.run_send(|| async { Ok(7) });
    assert_send_static(&future);
    tokio::spawn(future)
}

/// Any `AsyncPolicy` held by a `'static` handle makes a `'static` future
/// (not necessarily `Send`: it runs on the current thread).
fn keep<P>(policy: &P) -> impl Future<Output = Result<u32, Error<io::Error>>> + 'static
where
    P: AsyncPolicy<u32, io::Error> + 'static,
{
    policy.run_async(|| async { Ok(8) })
}

/// A retry's owned future, for any clock, classifier, hint and sleep.
fn retry_future<C, K, H, S>(
    retry: Arc<Retry<C, K, H, S>>,
) -> impl Future<Output = Result<u32, mend::retry::RetryError<io::Error>>> + Send + 'static
where
    C: Clock + Send + Sync + 'static,
    K: Classify<u32, io::Error> + Send + Sync + 'static,
    H: RetryHint<io::Error> + Send + Sync + 'static,
    S: Sleep + Send + Sync + 'static,
{
    retry.call_async_owned(|| async { Ok(9) })
}

fn gates() -> (
    Arc<CircuitBreaker>,
    Arc<Bulkhead>,
    Arc<RateLimiter>,
    Arc<Timeout>,
) {
    (
        Arc::new(
            CircuitBreaker::builder("owned")
                .without_logging()
                .build()
                .unwrap(),
        ),
        Arc::new(
            Bulkhead::builder("owned")
                .max_concurrent(4)
                .build()
                .unwrap(),
        ),
        Arc::new(
            RateLimiter::builder(
                "owned",
                Quota::per_second(std::num::NonZeroU32::new(1000).unwrap()),
            )
            .build()
            .unwrap(),
        ),
        Arc::new(
            Timeout::builder("timeout", Duration::from_secs(5))
                .build()
                .unwrap(),
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_policy_and_a_whole_stack_spawn_from_generic_code() {
    let (breaker, bulkhead, limiter, timeout) = gates();
    assert_eq!(spawn_through(&breaker).await.unwrap().unwrap(), 7);
    assert_eq!(spawn_through(&bulkhead).await.unwrap().unwrap(), 7);
    assert_eq!(spawn_through(&limiter).await.unwrap().unwrap(), 7);
    assert_eq!(spawn_through(&timeout).await.unwrap().unwrap(), 7);

    // A stack a struct can hold, its type written out.
    let policies: Guarded = stack(breaker.clone())
        .then(limiter)
        .then(bulkhead.clone())
        .then(timeout);
    assert_eq!(spawn_through(&policies).await.unwrap().unwrap(), 7);
    assert_eq!(keep(&policies).await.unwrap(), 8);
    assert_eq!(keep(&breaker).await.unwrap(), 8);

    let retry = Arc::new(Retry::builder("owned").without_logging().build().unwrap());
    assert_eq!(tokio::spawn(retry_future(retry)).await.unwrap().unwrap(), 9);
    assert_eq!(
        breaker.metrics().buffered_calls,
        4,
        "one breaker saw every call"
    );
    assert_eq!(bulkhead.in_flight(), 0);
}

#[test]
fn owned_permits_are_send_and_static() {
    fn assert_type<T: Send + Sync + 'static>() {}
    assert_type::<OwnedPermit<SystemClock, DefaultClassify>>();
    assert_type::<OwnedPermit<TokioClock, DefaultClassify>>();
    assert_type::<OwnedBulkheadPermit>();
    let _ = DefaultHint;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owned_trial_permit_dropped_in_another_task_frees_its_slot() {
    let breaker = Arc::new(
        CircuitBreaker::builder("trial")
            .consecutive_failures(1)
            .wait_in_open(Duration::from_millis(1))
            .half_open_calls(1)
            .without_logging()
            .build()
            .unwrap(),
    );
    let _ = breaker.call(|| Err::<(), _>(io::Error::other("down")));
    let deadline = std::time::Duration::from_secs(10);
    let permit = tokio::time::timeout(deadline, async {
        loop {
            match breaker.clone().try_acquire_owned() {
                Ok(permit) => break permit,
                Err(_) => tokio::task::yield_now().await,
            }
        }
    })
    .await
    .expect("half-open within 10 s");
    assert!(permit.is_trial());
    assert!(
        breaker.clone().try_acquire_owned().is_err(),
        "the only slot is taken"
    );
    tokio::spawn(async move { drop(permit) }).await.unwrap();
    let again = breaker
        .clone()
        .try_acquire_owned()
        .expect("the slot came back");
    again.success();
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owned_bulkhead_slot_is_held_across_tasks() {
    let bulkhead = Arc::new(
        Bulkhead::builder("slots")
            .max_concurrent(1)
            .build()
            .unwrap(),
    );
    let slot = bulkhead.clone().acquire_async_owned().await.unwrap();
    assert_eq!(
        bulkhead.clone().try_acquire_owned().unwrap_err(),
        Rejected::Full
    );
    let held = Arc::new(AtomicU32::new(0));
    let task = tokio::spawn({
        let held = held.clone();
        async move {
            held.store(slot.bulkhead().in_flight() as u32, Ordering::SeqCst);
            drop(slot);
        }
    });
    task.await.unwrap();
    assert_eq!(held.load(Ordering::SeqCst), 1);
    assert_eq!(bulkhead.in_flight(), 0);
    drop(bulkhead.acquire_owned().unwrap());
}

#[tokio::test(start_paused = true)]
async fn the_keyed_limiter_calls_async() {
    let limiter = KeyedRateLimiter::builder(
        "per-user",
        Quota::per_minute(std::num::NonZeroU32::new(1).unwrap()),
    )
    .clock(TokioClock::new())
    .build()
    .unwrap();
    let ok = limiter
        .call_async(&"ann", || async { Ok::<_, io::Error>(1) })
        .await;
    assert_eq!(ok.unwrap(), 1);
    let refused = limiter
        .call_async(&"ann", || async { Ok::<_, io::Error>(2) })
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Rejected(Rejected::Limited { .. })));
    let other = limiter
        .call_async(&"bob", || async { Ok::<_, io::Error>(3) })
        .await;
    assert_eq!(other.unwrap(), 3);
    let _ = MS;
}
