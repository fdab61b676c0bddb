//! One test per automatic transition and per timing rule, on a manual clock.

use std::time::Duration;

use mend::breaker::{CircuitBreaker, State};
use mend::clock::ManualClock;

use crate::support::{
    Breaker, CallError, Events, consecutive, fail, ok, retry_after, test_classify,
};

const SEC: Duration = Duration::from_secs(1);
const NANO: Duration = Duration::from_nanos(1);

/// A count-window breaker: 50 % failures over the last `window` calls.
fn count_breaker(window: u32, minimum: u32, clock: &ManualClock, events: &Events) -> Breaker {
    CircuitBreaker::builder("count")
        .count_window(window)
        .minimum_calls(minimum)
        .failure_rate_threshold(50.0)
        .wait_in_open(10 * SEC)
        .half_open_calls(2)
        .clock(clock.clone())
        .classify(test_classify())
        .without_logging()
        .on_event(events.sink())
        .build()
        .unwrap()
}

#[test]
fn closed_opens_when_the_failure_rate_reaches_the_threshold() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = count_breaker(4, 4, &clock, &events);
    fail(&b);
    ok(&b);
    ok(&b);
    assert_eq!(
        b.metrics().failure_rate,
        None,
        "3 calls are below minimum_calls"
    );
    ok(&b);
    assert_eq!(b.metrics().failure_rate, Some(25.0));
    // The window holds the last 4 calls: the first failure drops out.
    fail(&b);
    let m = b.metrics();
    assert_eq!((m.buffered_calls, m.failed_calls), (4, 1));
    assert_eq!(b.state(), State::Closed);
    // 2 of the last 4 failed: exactly 50 % opens it.
    fail(&b);
    assert_eq!(b.state(), State::Open);
    assert_eq!(events.transitions(), [(State::Closed, State::Open)]);
    let m = b.metrics();
    assert_eq!((m.buffered_calls, m.failed_calls), (4, 2), "window frozen");
    assert_eq!(m.failure_rate, Some(50.0));
}

#[test]
fn minimum_calls_keeps_the_breaker_closed() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = count_breaker(10, 5, &clock, &events);
    for _ in 0..4 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().failure_rate, None);
    fail(&b);
    assert_eq!(b.state(), State::Open);
}

fn slow_breaker(failure: f64, slow: f64, clock: &ManualClock) -> Breaker {
    CircuitBreaker::builder("slow")
        .count_window(2)
        .minimum_calls(2)
        .failure_rate_threshold(failure)
        .slow_call_rate_threshold(slow)
        .slow_call_duration(Duration::from_millis(100))
        .clock(clock.clone())
        .classify(test_classify())
        .without_logging()
        .build()
        .unwrap()
}

#[test]
fn a_call_is_slow_only_when_it_takes_longer_than_slow_call_duration() {
    let clock = ManualClock::new();
    let b = slow_breaker(100.0, 100.0, &clock);
    let took = |d: Duration| {
        b.call(|| {
            clock.advance(d);
            Ok::<(), CallError>(())
        })
        .unwrap();
    };
    took(Duration::from_millis(100));
    took(Duration::from_millis(100));
    assert_eq!(b.metrics().slow_calls, 0, "exactly the limit is not slow");
    took(Duration::from_millis(100) + NANO);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().slow_call_rate, Some(50.0));
    took(Duration::from_millis(101));
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.metrics().slow_calls, 2);
}

#[test]
fn a_slow_failure_counts_as_failed_and_slow() {
    let clock = ManualClock::new();
    let b = slow_breaker(100.0, 50.0, &clock);
    let permit = b.try_acquire().unwrap();
    clock.advance(Duration::from_millis(200));
    permit.failure();
    ok(&b);
    let m = b.metrics();
    assert_eq!(m.state, State::Open, "50 % slow reaches the slow threshold");
    assert_eq!((m.buffered_calls, m.failed_calls, m.slow_calls), (2, 1, 1));
    assert_eq!((m.failure_rate, m.slow_call_rate), (Some(50.0), Some(50.0)));
}

#[test]
fn open_rejects_until_its_wait_is_over_then_goes_half_open() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, 1, 10 * SEC, &clock, &events);
    let _ = b.call(|| Err::<(), _>("down"));
    assert_eq!(retry_after(b.try_acquire()), 10 * SEC);
    clock.advance(4 * SEC);
    assert_eq!(retry_after(b.try_acquire()), 6 * SEC);
    clock.advance(6 * SEC - NANO);
    assert_eq!(retry_after(b.try_acquire()), NANO);
    assert_eq!(b.state(), State::Open);
    clock.advance(NANO);
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(events.transitions(), [(State::Closed, State::Open)]);
    assert_eq!(b.state(), State::HalfOpen, "reading announced nothing");
    assert!(events.take().is_empty());
    let trial = b.try_acquire().expect("a trial call");
    let seen = events.take();
    assert_eq!(seen.len(), 1, "the call that found it half-open moved it");
    assert_eq!((seen[0].from, seen[0].to), (State::Open, State::HalfOpen));
    assert_eq!(seen[0].rejected, 3, "calls rejected while open");
    drop(trial);
    assert_eq!(b.metrics().not_permitted_calls, 3);
}

#[test]
fn half_open_admits_exactly_half_open_calls_then_closes() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, 3, SEC, &clock, &events);
    let _ = b.call(|| Err::<(), _>("down"));
    clock.advance(SEC);
    let trials: Vec<_> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    assert!(trials.iter().all(|p| p.is_trial()));
    assert_eq!(retry_after(b.try_acquire()), Duration::ZERO);
    let mut trials = trials.into_iter();
    trials.next().unwrap().success();
    trials.next().unwrap().success();
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.metrics().buffered_calls, 2);
    trials.next().unwrap().success();
    assert_eq!(b.state(), State::Closed);
    let seen = events.take();
    assert_eq!((seen[2].from, seen[2].to), (State::HalfOpen, State::Closed));
    assert_eq!(seen[2].rejected, 1);
    assert_eq!(b.metrics().buffered_calls, 0, "closing clears the window");
}

#[test]
fn consecutive_half_open_reopens_on_the_first_failed_trial() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(2, 3, SEC, &clock, &events);
    let _ = b.call(|| Err::<(), _>("down"));
    let _ = b.call(|| Ok::<(), &str>(()));
    let _ = b.call(|| Err::<(), _>("down"));
    assert_eq!(b.state(), State::Closed, "a success resets the run");
    let _ = b.call(|| Err::<(), _>("down"));
    assert_eq!(b.state(), State::Open);
    clock.advance(SEC);
    let first = b.try_acquire().unwrap();
    let second = b.try_acquire().unwrap();
    first.success();
    second.failure();
    assert_eq!(b.state(), State::Open);
    assert_eq!(
        events.transitions(),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Open)
        ]
    );
}

#[test]
fn half_open_decides_on_the_trials_rates_without_minimum_calls() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = count_breaker(4, 4, &clock, &events);
    for _ in 0..4 {
        fail(&b);
    }
    clock.advance(10 * SEC);
    ok(&b);
    fail(&b);
    assert_eq!(b.state(), State::Open, "1 of 2 trials failed: 50 %");
    clock.advance(10 * SEC);
    ok(&b);
    assert_eq!(b.metrics().failure_rate, None, "not all trials are in");
    ok(&b);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_dropped_or_ignored_trial_permit_gives_its_slot_back() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, 1, SEC, &clock, &events);
    let _ = b.call(|| Err::<(), _>("down"));
    clock.advance(SEC);
    let trial = b.try_acquire().unwrap();
    assert_eq!(retry_after(b.try_acquire()), Duration::ZERO);
    drop(trial);
    let trial = b.try_acquire().expect("the dropped permit's slot is free");
    trial.ignored();
    let trial = b.try_acquire().expect("the ignored permit's slot is free");
    assert_eq!(b.metrics().buffered_calls, 0);
    trial.success();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_permit_from_an_earlier_state_is_not_counted_and_frees_no_slot() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(2, 1, SEC, &clock, &events);
    let stale_ignored = b.try_acquire().unwrap();
    let stale_failed = b.try_acquire().unwrap();
    let stale_closed = b.try_acquire().unwrap();
    let _ = b.call(|| Err::<(), _>("down"));
    let _ = b.call(|| Err::<(), _>("down"));
    clock.advance(SEC);
    let trial = b.try_acquire().unwrap();
    stale_ignored.ignored();
    assert_eq!(
        retry_after(b.try_acquire()),
        Duration::ZERO,
        "no slot freed"
    );
    stale_failed.failure();
    assert_eq!(
        b.state(),
        State::HalfOpen,
        "a stale failure does not reopen"
    );
    trial.success();
    assert_eq!(b.state(), State::Closed);
    stale_closed.failure();
    assert_eq!(
        b.metrics().failed_calls,
        0,
        "not counted in the new closed episode"
    );
}
