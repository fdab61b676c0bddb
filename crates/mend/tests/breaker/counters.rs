//! `CircuitBreaker::counters`: every call by outcome since the breaker was
//! built, whichever path counted it (a thread's stripe, the lock), and
//! reads that change nothing.

use std::time::Duration;

use mend::breaker::{BreakerCounters, CircuitBreaker, State};
use mend::classify::{Classify, Outcome};
use mend::clock::ManualClock;

/// Failures are `Err(16)`, ignored results `Err(32)`.
#[derive(Debug, Clone, Copy)]
struct ByCode;

impl Classify<(), u64> for ByCode {
    fn outcome(&self, result: &Result<(), u64>) -> Outcome {
        match result {
            Ok(()) => Outcome::Success,
            Err(16) => Outcome::Failure,
            Err(_) => Outcome::Ignored,
        }
    }
    fn is_transient(&self, _: &u64) -> bool {
        true
    }
}

/// Call `i`'s result: 1 in 16 fails, 1 in 32 is ignored.
fn result(i: u64) -> Result<(), u64> {
    match i % 32 {
        3 | 19 => Err(16),
        5 => Err(32),
        _ => Ok(()),
    }
}

fn breakers(clock: &ManualClock) -> Vec<CircuitBreaker<ManualClock, ByCode>> {
    // 1 in 16 failing never trips them: every call is counted lock-free or
    // under the lock as it happens.
    let base = || {
        CircuitBreaker::builder("counted")
            .without_logging()
            .clock(clock.clone())
            .classify(ByCode)
    };
    vec![
        base().count_window(50).build().unwrap(),
        base().time_window(Duration::from_secs(10)).build().unwrap(),
        base().consecutive_failures(3).build().unwrap(),
    ]
}

#[test]
fn every_call_is_counted_once_by_outcome_across_threads() {
    let clock = ManualClock::new();
    for breaker in breakers(&clock) {
        std::thread::scope(|s| {
            for t in 0..6u64 {
                let (breaker, clock) = (&breaker, &clock);
                s.spawn(move || {
                    for i in 0..3_200u64 {
                        let _ = breaker.call(|| result(i));
                        if t == 0 && i % 640 == 0 {
                            clock.advance(Duration::from_millis(700)); // seconds go by
                        }
                    }
                });
            }
        });
        let counted = breaker.counters();
        // Per thread: 3,200 calls, 200 failed, 100 ignored.
        assert_eq!(
            (counted.successes, counted.failures, counted.ignored),
            (6 * 2_900, 6 * 200, 6 * 100),
            "{breaker:?}"
        );
        assert_eq!(
            (counted.calls(), counted.slow, counted.rejected),
            (6 * 3_200, 0, 0)
        );
    }
}

#[test]
fn rejections_count_on_both_paths_and_reads_change_nothing() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder("open")
        .consecutive_failures(2)
        .wait_in_open(Duration::from_secs(5))
        .half_open_calls(1)
        .without_logging()
        .clock(clock.clone())
        .build()
        .unwrap();
    let _ = breaker.call(|| Err::<(), _>("down"));
    let _ = breaker.call(|| Err::<(), _>("down"));
    for _ in 0..10 {
        assert!(breaker.call(|| Ok::<_, &str>(())).is_err()); // lock-free rejections
    }
    clock.advance(Duration::from_secs(5));
    let trial = breaker.try_acquire().unwrap();
    assert!(breaker.try_acquire().is_err()); // a locked rejection: no trial slot left
    let before = breaker.counters();
    for _ in 0..3 {
        let _ = (breaker.state(), breaker.metrics(), breaker.counters());
    }
    assert_eq!(breaker.counters(), before, "reads change nothing");
    trial.success();
    assert_eq!(breaker.state(), State::Closed);
    let after = breaker.counters();
    let expected = BreakerCounters::default();
    assert_eq!(
        (after.successes, after.failures, after.rejected),
        (1, 2, 11),
        "{after:?} (from {expected:?})"
    );
}

#[test]
fn slow_calls_are_counted_among_successes_and_failures() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder("slow")
        .count_window(10)
        .minimum_calls(10)
        .slow_call_duration(Duration::from_millis(100))
        .without_logging()
        .clock(clock.clone())
        .build()
        .unwrap();
    let slow = |fails: bool| {
        clock.advance(Duration::from_millis(150));
        if fails { Err("down") } else { Ok(()) }
    };
    let _ = breaker.call(|| slow(false));
    let _ = breaker.call(|| slow(true));
    let _ = breaker.call(|| Ok::<_, &str>(()));
    let counted = breaker.counters();
    assert_eq!(
        (counted.successes, counted.failures, counted.slow),
        (2, 1, 2)
    );
}

#[test]
fn changes_into_each_state_are_counted_and_a_quiet_reentry_is_not() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::builder("entered")
        .consecutive_failures(1)
        .half_open_calls(1)
        .wait_in_open(Duration::from_secs(1))
        .clock(clock.clone())
        .classify(ByCode)
        .without_logging()
        .build()
        .unwrap();
    let entered = |b: &CircuitBreaker<ManualClock, ByCode>| {
        let c = b.counters();
        State::ALL.map(|s| (s, c.entered(s)))
    };
    assert!(
        entered(&b).iter().all(|&(_, n)| n == 0),
        "built closed: no change"
    );
    // Closed -> open -> half-open -> open -> half-open -> closed.
    let _ = b.call(|| Err::<(), u64>(16));
    clock.advance(Duration::from_secs(1));
    let _ = b.call(|| Err::<(), u64>(16));
    clock.advance(Duration::from_secs(1));
    b.call(|| Ok::<(), u64>(())).unwrap();
    // Forced open twice: the second is the state it is in, re-entered quietly.
    b.force_open();
    b.force_open();
    let counts = entered(&b);
    let of = |state: State| counts.iter().find(|(s, _)| *s == state).unwrap().1;
    assert_eq!(
        (
            of(State::Open),
            of(State::HalfOpen),
            of(State::Closed),
            of(State::ForcedOpen)
        ),
        (2, 2, 1, 1),
        "{counts:?}"
    );
    assert_eq!((of(State::Disabled), of(State::MetricsOnly)), (0, 0));
}
