//! Server hints: `Retry-After` (both forms), an open breaker's wait; the
//! retry never fires before them.

use std::time::Duration;

use mend::breaker::CircuitBreaker;
use mend::clock::ManualClock;
use mend::retry::{Backoff, GiveUp, Jitter, Retry, RetryAfter};

use crate::support::{MS, reset};

#[derive(Debug)]
struct Busy(Duration);

impl RetryAfter for Busy {
    fn retry_after(&self) -> Option<Duration> {
        Some(self.0)
    }
}

#[test]
fn retry_after_is_honoured_and_never_fired_before() {
    let clock = ManualClock::new();
    let retry = Retry::builder("t")
        .backoff(Backoff::constant(MS * 100))
        .jitter(Jitter::None)
        .hint_from_error()
        .manual_clock(&clock)
        .build()
        .unwrap();
    let mut first = true;
    let got = retry.call(|| {
        if std::mem::take(&mut first) {
            Err(Busy(Duration::from_secs(5)))
        } else {
            Ok(())
        }
    });
    assert!(got.is_ok());
    assert_eq!(clock.elapsed(), Duration::from_secs(5));

    let too_long = Retry::builder("t")
        .max_retry_after(Duration::from_secs(1))
        .hint_from_error()
        .manual_clock(&clock)
        .build()
        .unwrap();
    let err = too_long
        .call(|| Err::<(), _>(Busy(Duration::from_secs(5))))
        .unwrap_err();
    assert_eq!((err.attempts, err.reason), (1, GiveUp::RetryAfter));
}

#[test]
fn an_open_breaker_is_not_retried_before_its_wait() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder("dep")
        .consecutive_failures(1)
        .wait_in_open(Duration::from_secs(2))
        .half_open_calls(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    let retry = Retry::builder("t")
        .max_attempts(5)
        .backoff(Backoff::constant(MS * 10))
        .jitter(Jitter::None)
        .manual_clock(&clock)
        .build()
        .unwrap();
    let mut ran = Vec::new();
    let got = retry.call(|| {
        breaker.call(|| {
            ran.push(clock.elapsed());
            if ran.len() == 1 { Err(reset()) } else { Ok(7) }
        })
    });
    assert_eq!(got.unwrap(), 7);
    // Ran at 0, was rejected at 10 ms (open until 2 s), ran again at 2 s
    // (plus the slack for the breaker's coarse clock), never before.
    assert_eq!(ran, [Duration::ZERO, Duration::from_secs(2)]);
}

/// An HTTP-ish error: a status and the raw `Retry-After` header.
#[derive(Debug)]
struct Http {
    status: u16,
    retry_after: Option<&'static str>,
}

#[test]
fn a_retry_after_header_in_either_form_is_honoured() {
    use mend::clock::Clock;
    use mend::retry::parse_retry_after;

    let clock = ManualClock::new(); // wall: 2026-01-01T00:00:00Z
    let wall = clock.clone();
    let retry = Retry::builder("t")
        .max_attempts(5)
        .backoff(Backoff::constant(MS * 10))
        .jitter(Jitter::None)
        .retry_if(|e: &Http| e.status == 503)
        .retry_after_fn(move |e: &Http| {
            e.retry_after
                .and_then(|value| parse_retry_after(value, wall.wall()))
        })
        .manual_clock(&clock)
        .build()
        .unwrap();
    let mut answers = [
        Err(Http {
            status: 503,
            retry_after: Some("Thu, 01 Jan 2026 00:00:03 GMT"),
        }),
        Err(Http {
            status: 503,
            retry_after: Some("2"),
        }),
        Ok("done"),
    ]
    .into_iter();
    let got = retry.call(|| answers.next().unwrap());
    assert_eq!(got.unwrap(), "done");
    assert_eq!(
        clock.elapsed(),
        Duration::from_secs(5),
        "3 s to the date, then 2 s"
    );

    let mut calls = 0;
    let err = retry
        .call(|| {
            calls += 1;
            Err::<(), _>(Http {
                status: 400,
                retry_after: Some("1"),
            })
        })
        .unwrap_err();
    assert_eq!(
        (calls, err.reason),
        (1, GiveUp::Permanent),
        "a 400 is not retried"
    );
}
