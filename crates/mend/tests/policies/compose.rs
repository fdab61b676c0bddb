//! Stacks of policies: order, one flat error, retry around them all.

use std::cell::RefCell;
use std::future::pending;
use std::io;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use mend::breaker::{CircuitBreaker, State};
use mend::clock::{ManualClock, TokioClock};
use mend::compose::{Policy, stack};
use mend::limit::{Bulkhead, Quota, RateLimiter, Timeout};
use mend::retry::{Backoff, GiveUp, Jitter, Retry};
use mend::{Error, Rejected};
use tokio::time::Instant;

use crate::support::{MS, reset};

/// A layer that writes its name when a call enters it.
struct Named<'a>(&'static str, &'a RefCell<Vec<&'static str>>);

impl<T, E> Policy<T, E> for Named<'_> {
    fn run<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
        self.1.borrow_mut().push(self.0);
        f()
    }
}

#[test]
fn layers_are_entered_outermost_first() {
    let log = RefCell::new(Vec::new());
    let policies = stack(Named("breaker", &log))
        .then(Named("limit", &log))
        .then(Named("bulkhead", &log));
    let got: Result<u8, Error<io::Error>> = policies.run(|| {
        log.borrow_mut().push("call");
        Ok(1)
    });
    assert_eq!(got.unwrap(), 1);
    assert_eq!(*log.borrow(), ["breaker", "limit", "bulkhead", "call"]);
}

#[test]
fn retry_around_breaker_bulkhead_and_limit_recovers() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder("dep")
        .consecutive_failures(2)
        .wait_in_open(Duration::from_secs(1))
        .half_open_calls(1)
        .clock(clock.clone())
        .without_logging()
        .build()
        .unwrap();
    let bulkhead = Bulkhead::builder("dep").max_concurrent(4).build().unwrap();
    let limiter = RateLimiter::builder("dep", Quota::per_second(NonZeroU32::new(100).unwrap()))
        .clock(clock.clone())
        .build()
        .unwrap();
    let retry = Retry::builder("dep")
        .max_attempts(6)
        .backoff(Backoff::constant(MS * 10))
        .jitter(Jitter::None)
        .manual_clock(&clock)
        .build()
        .unwrap();
    let policies = stack(&breaker).then(&limiter).then(&bulkhead);
    let mut ran = Vec::new();
    let got = retry.call_through(&policies, || {
        ran.push(clock.elapsed());
        if ran.len() <= 2 {
            Err(reset())
        } else {
            Ok("up")
        }
    });
    assert_eq!(got.unwrap(), "up");
    // Two failures open the breaker at 10 ms; the third attempt (20 ms) is
    // refused with 990 ms to wait, which the retry honours (plus the slack
    // for the breaker's coarse clock): it runs at 1.015 s.
    assert_eq!(ran, [Duration::ZERO, MS * 10, MS * 1010]);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(bulkhead.in_flight(), 0);
}

#[test]
fn a_refusal_is_not_a_failure_of_the_dependency() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder("dep")
        .consecutive_failures(1)
        .clock(clock.clone())
        .without_logging()
        .build()
        .unwrap();
    let bulkhead = Bulkhead::builder("dep").max_concurrent(1).build().unwrap();
    let retry = Retry::builder("dep")
        .max_attempts(1)
        .manual_clock(&clock)
        .build()
        .unwrap();
    let _held = bulkhead.try_acquire().unwrap();
    let err = retry
        .call_through(&stack(&breaker).then(&bulkhead), || Ok::<_, io::Error>(()))
        .unwrap_err();
    assert!(matches!(err.error, Error::Rejected(Rejected::Full)));
    assert_eq!(
        breaker.state(),
        State::Closed,
        "a full bulkhead says nothing of the dependency"
    );
}

#[tokio::test(start_paused = true)]
async fn async_stack_times_out_a_hung_attempt_and_retries() {
    let clock = TokioClock::new();
    let breaker = Arc::new(
        CircuitBreaker::builder("dep")
            .count_window(10)
            .minimum_calls(10)
            .clock(clock)
            .without_logging()
            .build()
            .unwrap(),
    );
    let bulkhead = Arc::new(Bulkhead::builder("dep").max_concurrent(2).build().unwrap());
    let timeout = Timeout::builder("timeout", MS * 200).build().unwrap();
    let retry = Arc::new(
        Retry::builder("dep")
            .max_attempts(3)
            .backoff(Backoff::constant(MS * 50))
            .jitter(Jitter::None)
            .clock(clock)
            .build()
            .unwrap(),
    );
    let task = {
        let (breaker, bulkhead, retry) = (breaker.clone(), bulkhead.clone(), retry.clone());
        // Spawned: the composed future is Send.
        tokio::spawn(async move {
            let policies = stack(&*breaker).then(&*bulkhead).then(&timeout);
            let mut n = 0;
            retry
                .call_through_async(&policies, || {
                    n += 1;
                    let n = n;
                    async move {
                        if n == 1 {
                            pending::<()>().await;
                        }
                        Ok::<_, io::Error>(n)
                    }
                })
                .await
        })
    };
    let start = Instant::now();
    assert_eq!(task.await.unwrap().unwrap(), 2);
    assert_eq!(
        start.elapsed(),
        MS * 250,
        "timed out at 200 ms, slept 50 ms"
    );
    assert_eq!(
        breaker.metrics().failed_calls,
        1,
        "the timeout counted as a failure"
    );
    assert_eq!(bulkhead.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn async_give_up_keeps_the_last_error_flat() {
    let retry = Retry::builder("dep")
        .max_attempts(2)
        .backoff(Backoff::constant(MS))
        .clock(TokioClock::new())
        .build()
        .unwrap();
    let timeout = Timeout::builder("timeout", MS * 100).build().unwrap();
    let err = retry
        .call_through_async(&stack(&timeout), || async { Err::<(), _>(reset()) })
        .await
        .unwrap_err();
    assert_eq!((err.attempts, err.reason), (2, GiveUp::Attempts));
    assert_eq!(
        err.into_inner().map(|e| e.kind()),
        Some(io::ErrorKind::ConnectionReset)
    );
}
