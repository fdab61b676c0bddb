//! Sync retries driven by a `ManualClock`: delays, limits, hints, events.

use std::io;
use std::time::Duration;

use mend::clock::ManualClock;
use mend::retry::{Backoff, GiveUp, Jitter, Retry, RetryEvent, RetryEventKind, SplitMix64};

use crate::support::{Events, MS, not_found, reset};

fn always_failing(clock: &ManualClock, jitter: Jitter, seed: u64) -> (Events, u32) {
    let events = Events::default();
    let retry = Retry::builder("t")
        .max_attempts(5)
        .backoff(Backoff::exponential(MS * 100, 2.0).with_cap(MS * 1000))
        .jitter(jitter)
        .seed(seed)
        .on_event(events.sink())
        .manual_clock(clock)
        .build()
        .unwrap();
    let err = retry.call(|| Err::<(), _>(reset())).unwrap_err();
    assert_eq!(err.reason, GiveUp::Attempts);
    (events, err.attempts)
}

#[test]
fn exponential_without_jitter_sleeps_exactly_the_backoff() {
    let clock = ManualClock::new();
    let (events, attempts) = always_failing(&clock, Jitter::None, 0);
    assert_eq!(attempts, 5);
    assert_eq!(events.delays(), [MS * 100, MS * 200, MS * 400, MS * 800]);
    assert_eq!(clock.elapsed(), MS * 1500);
}

#[test]
fn full_and_equal_jitter_follow_the_aws_formulas_exactly() {
    let seed = 99;
    let temps = [100_000_000u64, 200_000_000, 400_000_000, 800_000_000];

    let clock = ManualClock::new();
    let (events, _) = always_failing(&clock, Jitter::Full, seed);
    let mut rng = SplitMix64::new(seed);
    let full: Vec<_> = temps
        .iter()
        .map(|&t| Duration::from_nanos(rng.between(0, t)))
        .collect();
    assert_eq!(events.delays(), full);

    let (events, _) = always_failing(&clock, Jitter::Equal, seed);
    let mut rng = SplitMix64::new(seed);
    let equal: Vec<_> = temps
        .iter()
        .map(|&t| Duration::from_nanos(t / 2 + rng.between(0, t / 2)))
        .collect();
    assert_eq!(events.delays(), equal);
}

#[test]
fn decorrelated_jitter_grows_from_the_previous_sleep() {
    let seed = 5;
    let clock = ManualClock::new();
    let (events, _) = always_failing(&clock, Jitter::Decorrelated, seed);
    let mut rng = SplitMix64::new(seed);
    let (base, cap) = (100_000_000u64, 1_000_000_000u64);
    let mut prev = base;
    let expected: Vec<_> = (0..4)
        .map(|_| {
            prev = rng.between(base, prev * 3).min(cap);
            Duration::from_nanos(prev)
        })
        .collect();
    assert_eq!(events.delays(), expected);
}

#[test]
fn succeeds_after_transient_failures_and_emits_nothing_on_first_success() {
    let clock = ManualClock::new();
    let events = Events::default();
    let retry = Retry::builder("t")
        .jitter(Jitter::None)
        .on_event(events.sink())
        .manual_clock(&clock)
        .build()
        .unwrap();
    assert_eq!(retry.call(|| Ok::<_, io::Error>(1)).unwrap(), 1);
    assert!(
        events.all().is_empty(),
        "no event for a first-attempt success"
    );

    let mut n = 0;
    let got = retry.call(|| {
        n += 1;
        if n < 3 { Err(reset()) } else { Ok(n) }
    });
    assert_eq!(got.unwrap(), 3);
    assert_eq!(events.delays().len(), 2);
}

#[test]
fn permanent_errors_and_the_predicate_stop_at_once() {
    let clock = ManualClock::new();
    let retry = Retry::builder("t").manual_clock(&clock).build().unwrap();
    let mut calls = 0;
    let err = retry
        .call(|| {
            calls += 1;
            Err::<(), _>(not_found())
        })
        .unwrap_err();
    assert_eq!((calls, err.attempts, err.reason), (1, 1, GiveUp::Permanent));
    assert_eq!(
        err.inner().map(io::Error::kind),
        Some(io::ErrorKind::NotFound)
    );

    let only_odd = Retry::builder("t")
        .max_attempts(10)
        .retry_if(|e: &u32| e % 2 == 1)
        .manual_clock(&clock)
        .build()
        .unwrap();
    let mut codes = [1u32, 3, 4, 5].into_iter();
    let err = only_odd
        .call(|| Err::<(), _>(codes.next().unwrap()))
        .unwrap_err();
    assert_eq!((err.into_inner(),), (Some(4),));
}

#[test]
fn give_up_error_says_how_many_attempts_and_why() {
    let clock = ManualClock::new();
    let retry = Retry::builder("t")
        .max_attempts(2)
        .manual_clock(&clock)
        .build()
        .unwrap();
    let err = retry.call(|| Err::<(), _>(reset())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "gave up after 2 attempt(s), no attempts left"
    );
    assert_eq!(err.attempts, 2);
}

#[test]
fn a_sleep_that_would_overrun_the_deadline_is_skipped() {
    let clock = ManualClock::new();
    let retry = Retry::builder("t")
        .max_attempts(10)
        .backoff(Backoff::constant(MS * 400))
        .jitter(Jitter::None)
        .deadline(Duration::from_secs(1))
        .manual_clock(&clock)
        .build()
        .unwrap();
    let mut calls = 0;
    let err = retry
        .call(|| {
            calls += 1;
            clock.advance(MS * 100); // each attempt takes 100 ms
            Err::<(), _>(reset())
        })
        .unwrap_err();
    // 0-100 fail, sleep to 500, 500-600 fail; 600 + 400 reaches the deadline.
    assert_eq!((calls, err.reason), (2, GiveUp::Deadline));
    assert_eq!(clock.elapsed(), MS * 600);
}

#[test]
fn events_say_scheduled_and_gave_up() {
    let clock = ManualClock::new();
    let events = Events::default();
    let retry = Retry::builder("orders")
        .max_attempts(2)
        .jitter(Jitter::None)
        .backoff(Backoff::constant(MS * 5))
        .on_event(events.sink())
        .manual_clock(&clock)
        .build()
        .unwrap();
    let _ = retry.call(|| Err::<(), _>(reset()));
    let kinds: Vec<_> = events
        .all()
        .into_iter()
        .map(|e| match e.downcast_ref::<RetryEvent>() {
            Some(r) => (r.attempt, r.kind),
            None => panic!("unexpected {e}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (1, RetryEventKind::Scheduled { delay: MS * 5 }),
            (
                2,
                RetryEventKind::GaveUp {
                    reason: GiveUp::Attempts
                }
            ),
        ]
    );
    assert_eq!(
        events.all()[1].to_string(),
        "retry orders: gave up after 2 attempts, no attempts left"
    );
}

#[test]
fn bad_settings_name_the_field() {
    let field = |b: Result<Retry, mend::ConfigError>| b.unwrap_err().field;
    assert_eq!(
        field(Retry::builder("t").max_attempts(0).build()),
        "max_attempts"
    );
    let zero_mult = Backoff::exponential(MS, 0.0);
    assert_eq!(
        field(Retry::builder("t").backoff(zero_mult).build()),
        "backoff.multiplier"
    );
    let low_cap = Backoff::exponential(MS * 10, 2.0).with_cap(MS);
    assert_eq!(
        field(Retry::builder("t").backoff(low_cap).build()),
        "backoff.cap"
    );
    assert_eq!(
        field(Retry::builder("t").jitter(Jitter::Factor(1.5)).build()),
        "jitter"
    );
    assert_eq!(
        field(Retry::builder("t").jitter(Jitter::Factor(-0.1)).build()),
        "jitter"
    );
    let err = Retry::builder("x").max_attempts(0).build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "retry `x`: invalid `max_attempts` = 0: expected between 1 and 1000 attempts"
    );
}
