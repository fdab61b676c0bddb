//! Every policy's counters: what a metrics scrape reads. Counts only grow,
//! add up across threads, and a read changes nothing.

use std::io;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use mend::clock::{ManualClock, TokioClock};
use mend::limit::{Bulkhead, KeyedRateLimiter, Quota, RateLimiter, Timeout};
use mend::retry::{Backoff, GiveUp, Jitter, Retry, RetryBudget};

use crate::support::{MS, not_found, reset};

#[test]
fn a_retry_counts_calls_retries_and_give_ups_by_reason() {
    let clock = ManualClock::new();
    let budget = Arc::new(
        RetryBudget::builder()
            .ratio(0.0)
            .min_retries_per_sec(0)
            .clock(clock.clone())
            .build()
            .unwrap(),
    );
    let retry = Retry::builder("counted")
        .max_attempts(3)
        .backoff(Backoff::constant(MS))
        .jitter(Jitter::None)
        .without_logging()
        .manual_clock(&clock)
        .build()
        .unwrap();
    let _ = retry.call(|| Ok::<_, io::Error>(()));
    let _ = retry.call(|| Err::<(), _>(not_found())); // permanent at once
    let _ = retry.call(|| Err::<(), _>(reset())); // 3 attempts
    let mut n = 0;
    let _ = retry.call(|| {
        n += 1;
        if n < 2 { Err(reset()) } else { Ok(()) }
    });
    let counted = retry.counters();
    assert_eq!(
        (counted.calls, counted.retries, counted.attempts()),
        (4, 3, 7)
    );
    assert_eq!(counted.gave_up.get(GiveUp::Permanent), 1);
    assert_eq!(counted.gave_up.get(GiveUp::Attempts), 1);
    assert_eq!(counted.gave_up.total(), 2);
    assert_eq!(retry.counters(), counted, "a read changes nothing");

    let budgeted = Retry::builder("budgeted")
        .budget(budget)
        .without_logging()
        .manual_clock(&clock)
        .build()
        .unwrap();
    let _ = budgeted.call(|| Err::<(), _>(reset()));
    assert_eq!(budgeted.counters().gave_up.budget, 1, "a budget refusal");
}

#[test]
fn retry_counts_add_up_across_threads() {
    let retry = Retry::builder("threads")
        .max_attempts(1)
        .without_logging()
        .build()
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..12 {
            s.spawn(|| {
                for i in 0..500 {
                    let _ = retry.call(|| if i % 5 == 0 { Err(reset()) } else { Ok(()) });
                }
            });
        }
    });
    let counted = retry.counters();
    assert_eq!(counted.calls, 6_000);
    assert_eq!(counted.gave_up.attempts, 1_200);
}

#[tokio::test(start_paused = true)]
async fn a_bulkhead_counts_admissions_refusals_and_waits() {
    let bulkhead = Bulkhead::builder("counted")
        .max_concurrent(2)
        .queue(1, Duration::from_millis(1))
        .build()
        .unwrap();
    let a = bulkhead.try_acquire().unwrap();
    let b = bulkhead.try_acquire().unwrap();
    assert!(bulkhead.try_acquire().is_err());
    assert!(
        bulkhead.acquire_async().await.is_err(),
        "waits 1 ms in the queue, then refused"
    );
    let now = bulkhead.counters();
    assert_eq!(
        (
            now.admitted,
            now.rejected,
            now.queued,
            now.in_flight,
            now.waiting
        ),
        (2, 2, 1, 2, 0)
    );
    drop((a, b));
    assert_eq!(bulkhead.call(|| Ok::<_, io::Error>(())).ok(), Some(()));
    let now = bulkhead.counters();
    assert_eq!((now.admitted, now.in_flight), (3, 0));
    assert_eq!(bulkhead.counters(), now, "a read changes nothing");
}

#[test]
fn rate_limiters_count_admissions_and_refusals() {
    let clock = ManualClock::new();
    let quota = Quota::per_second(NonZeroU32::new(2).unwrap());
    let limiter = RateLimiter::builder("counted", quota)
        .clock(clock.clone())
        .build()
        .unwrap();
    for _ in 0..5 {
        let _ = limiter.check();
    }
    let now = limiter.counters();
    assert_eq!((now.admitted, now.rejected), (2, 3));
    let keyed = KeyedRateLimiter::builder("per-key", quota)
        .clock(clock)
        .build()
        .unwrap();
    for key in ["a", "a", "a", "b"] {
        let _ = keyed.check(&key);
    }
    let now = keyed.counters();
    assert_eq!((now.admitted, now.rejected), (3, 1));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_counts_the_calls_it_cut_off() {
    let timeout = Timeout::builder("timeout", MS * 10).build().unwrap();
    let _ = timeout
        .call_async(|| async { Ok::<_, io::Error>(()) })
        .await;
    let _ = timeout
        .call_async(|| async {
            tokio::time::sleep(MS * 20).await;
            Ok::<_, io::Error>(())
        })
        .await;
    let through_stack = mend::compose::stack(&timeout)
        .call_async(|| async {
            std::future::pending::<()>().await;
            Ok::<_, io::Error>(())
        })
        .await;
    assert!(through_stack.unwrap_err().is_elapsed());
    assert_eq!(timeout.counters().elapsed, 2);
    let _ = TokioClock::new();
}
