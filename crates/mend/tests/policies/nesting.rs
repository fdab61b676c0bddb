//! The default classification and hint see through mend's own wrappers:
//! a retry around a breaker, around a stack, around a retry of a stack
//! retries exactly what it would retry around the bare operation.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use mend::breaker::CircuitBreaker;
use mend::classify::non_idempotent;
use mend::clock::{ManualClock, TokioClock};
use mend::compose::stack;
use mend::limit::{Bulkhead, Timeout};
use mend::retry::{Backoff, GiveUp, Jitter, Retry, RetryError};
use mend::{Error, Rejected};

use crate::support::{MS, not_found, reset};

fn retry(
    clock: &ManualClock,
    attempts: u32,
) -> Retry<
    ManualClock,
    mend::classify::DefaultClassify,
    mend::retry::DefaultHint,
    mend::retry::ManualSleep,
> {
    Retry::builder("nesting")
        .max_attempts(attempts)
        .backoff(Backoff::constant(MS * 10))
        .jitter(Jitter::None)
        .without_logging()
        .manual_clock(clock)
        .build()
        .unwrap()
}

fn breaker(clock: &ManualClock) -> CircuitBreaker<ManualClock> {
    CircuitBreaker::builder("nesting")
        .consecutive_failures(100)
        .without_logging()
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[test]
fn retry_around_a_breaker_gives_up_at_once_on_a_permanent_error() {
    let clock = ManualClock::new();
    let (retry, breaker) = (retry(&clock, 4), breaker(&clock));
    let mut calls = 0;
    let err = retry
        .call(|| {
            calls += 1;
            breaker.call(|| Err::<(), _>(not_found()))
        })
        .unwrap_err();
    assert_eq!((calls, err.reason), (1, GiveUp::Permanent));

    // And a transient one is retried, as around the bare operation.
    let mut calls = 0;
    let err = retry
        .call(|| {
            calls += 1;
            breaker.call(|| Err::<(), _>(reset()))
        })
        .unwrap_err();
    assert_eq!((calls, err.reason), (4, GiveUp::Attempts));
}

#[test]
fn retry_around_a_stack_gives_up_at_once_on_a_permanent_error() {
    let clock = ManualClock::new();
    let (retry, breaker) = (retry(&clock, 4), breaker(&clock));
    let bulkhead = Bulkhead::builder("nesting")
        .max_concurrent(2)
        .build()
        .unwrap();
    let policies = stack(&breaker).then(&bulkhead);
    let mut calls = 0;
    let err = retry
        .call(|| {
            calls += 1;
            policies.call(|| Err::<(), _>(not_found()))
        })
        .unwrap_err();
    assert_eq!((calls, err.reason), (1, GiveUp::Permanent));
}

#[test]
fn retry_around_a_retry_of_a_stack_sees_the_operations_error() {
    let clock = ManualClock::new();
    let (outer, inner, breaker) = (retry(&clock, 3), retry(&clock, 2), breaker(&clock));
    let policies = stack(&breaker);
    let mut calls = 0;
    // The outer retry sees RetryError<Error<io::Error>>.
    let err: RetryError<RetryError<Error<io::Error>>> = outer
        .call(|| {
            inner.call(|| {
                calls += 1;
                policies.call(|| Err::<(), _>(not_found()))
            })
        })
        .unwrap_err();
    assert_eq!((calls, err.attempts), (1, 1), "neither retry tried again");

    let mut calls = 0;
    let _ = outer.call(|| {
        inner.call(|| {
            calls += 1;
            policies.call(|| Err::<(), _>(reset()))
        })
    });
    assert_eq!(calls, 3 * 2, "both retried a transient error");
}

#[test]
fn a_refusal_under_wrappers_is_retried_after_its_wait() {
    let clock = ManualClock::new();
    let retry = retry(&clock, 2);
    let breaker = CircuitBreaker::builder("open")
        .consecutive_failures(1)
        .wait_in_open(Duration::from_secs(3))
        .without_logging()
        .clock(clock.clone())
        .build()
        .unwrap();
    let _ = breaker.call(|| Err::<(), _>(reset())); // opens it
    let mut attempts = Vec::new();
    // A retry around a retry around the breaker: the refusal is two deep.
    let inner = Retry::builder("inner")
        .max_attempts(1)
        .without_logging()
        .manual_clock(&clock)
        .build()
        .unwrap();
    let got = retry.call(|| {
        attempts.push(clock.elapsed());
        inner.call(|| breaker.call(|| Ok::<_, io::Error>("up")))
    });
    assert_eq!(got.unwrap(), "up");
    assert_eq!(attempts.len(), 2);
    assert!(
        attempts[1] >= Duration::from_secs(3),
        "slept the breaker's wait, not the 10 ms backoff: {attempts:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_retried_by_default_and_not_when_non_idempotent() {
    let clock = TokioClock::new();
    let timeout = Timeout::builder("timeout", MS * 100).build().unwrap();
    let hang = || async {
        std::future::pending::<()>().await;
        Ok::<(), io::Error>(())
    };
    let base = || {
        Retry::builder("charge")
            .max_attempts(3)
            .backoff(Backoff::constant(MS))
            .without_logging()
            .clock(clock)
    };

    // Through a stack (the timeout is an inner layer).
    let err = base()
        .build()
        .unwrap()
        .call_through_async(&stack(&timeout), hang)
        .await
        .unwrap_err();
    assert_eq!((err.attempts, err.reason), (3, GiveUp::Attempts));
    let err = base()
        .classify(non_idempotent(mend::classify::DefaultClassify))
        .build()
        .unwrap()
        .call_through_async(&stack(&timeout), hang)
        .await
        .unwrap_err();
    assert_eq!((err.attempts, err.reason), (1, GiveUp::Permanent));
    assert!(err.error.is_elapsed());

    // Around a timeout's own call (the timeout is inside the error).
    let err = base()
        .classify(non_idempotent(mend::classify::DefaultClassify))
        .build()
        .unwrap()
        .call_async(|| timeout.call_async(hang))
        .await
        .unwrap_err();
    assert_eq!((err.attempts, err.reason), (1, GiveUp::Permanent));
}

#[test]
fn a_full_bulkhead_is_a_refusal_wherever_it_is_found() {
    let clock = ManualClock::new();
    let retry = retry(&clock, 3);
    let bulkhead = Arc::new(Bulkhead::builder("full").max_concurrent(1).build().unwrap());
    let _held = bulkhead.clone().try_acquire_owned().unwrap();
    let err = retry
        .call(|| bulkhead.call(|| Ok::<_, io::Error>(())))
        .unwrap_err();
    assert_eq!(err.attempts, 3, "a refusal is always worth another attempt");
    assert!(matches!(
        err.error,
        Error::Inner(Error::Rejected(Rejected::Full))
    ));
}
