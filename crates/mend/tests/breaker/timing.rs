//! Time in the breaker: the time window, the open wait and its growth, and
//! the limit on half-open.

use std::time::Duration;

use mend::breaker::{CircuitBreaker, State};
use mend::clock::ManualClock;

use crate::support::{Breaker, Events, fail, ok, retry_after, test_classify};

const SEC: Duration = Duration::from_secs(1);
const NANO: Duration = Duration::from_nanos(1);

#[test]
fn time_window_counts_the_calls_of_the_last_n_seconds() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = time_breaker(&clock, &events);
    fail(&b);
    clock.advance(2 * SEC + Duration::from_millis(999));
    assert_eq!(b.metrics().buffered_calls, 1);
    ok(&b);
    assert_eq!(b.state(), State::Open, "1 of 2 within 3 s failed");
}

#[test]
fn time_window_forgets_calls_older_than_n_seconds() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = time_breaker(&clock, &events);
    fail(&b);
    clock.advance(3 * SEC);
    assert_eq!(b.metrics().buffered_calls, 0);
    ok(&b);
    ok(&b);
    let m = b.metrics();
    assert_eq!(
        (m.state, m.buffered_calls, m.failure_rate),
        (State::Closed, 2, Some(0.0))
    );
}

#[test]
fn time_window_buckets_by_whole_coarse_seconds() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = time_breaker(&clock, &events);
    clock.advance(Duration::from_millis(900));
    fail(&b);
    // 2.2 s later is 3 seconds of the clock later: the failure has expired.
    clock.advance(Duration::from_millis(2200));
    ok(&b);
    assert_eq!(b.metrics().buffered_calls, 1);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_success_trips_once_old_successes_leave_the_window() {
    // A 10 s window (a manual clock starts on a whole second, S): successes
    // in S+1 and S+3, failures in S+6, 3 of 7 (43%). In S+11 second S+1 has
    // left: with the next success 3 of 6 have failed (50%), so that success
    // trips the breaker. By the last failure, S+1 and S+3 were settled
    // seconds in the breaker's cache, among empty ones that must not hide
    // them.
    let clock = ManualClock::new();
    let b = CircuitBreaker::builder("old successes")
        .time_window(10 * SEC)
        .minimum_calls(4)
        .failure_rate_threshold(50.0)
        .clock(clock.clone())
        .classify(test_classify())
        .without_logging()
        .build()
        .unwrap();
    clock.advance(SEC);
    ok(&b);
    ok(&b);
    clock.advance(2 * SEC);
    ok(&b);
    ok(&b);
    clock.advance(3 * SEC);
    fail(&b);
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Closed, "3 of 7 failed");
    clock.advance(5 * SEC);
    ok(&b);
    assert_eq!(b.state(), State::Open, "3 of 6 failed once S+1 left");
}

fn time_breaker(clock: &ManualClock, events: &Events) -> Breaker {
    CircuitBreaker::builder("time")
        .time_window(3 * SEC)
        .minimum_calls(2)
        .failure_rate_threshold(50.0)
        .clock(clock.clone())
        .classify(test_classify())
        .without_logging()
        .on_event(events.sink())
        .build()
        .unwrap()
}

#[test]
fn max_wait_in_half_open_reopens_a_breaker_whose_trials_never_report() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = CircuitBreaker::builder("stuck")
        .consecutive_failures(1)
        .half_open_calls(1)
        .wait_in_open(5 * SEC)
        .max_wait_in_half_open(2 * SEC)
        .clock(clock.clone())
        .without_logging()
        .on_event(events.sink())
        .build()
        .unwrap();
    let _ = b.call(|| Err::<(), _>("down"));
    clock.advance(5 * SEC);
    let trial = b.try_acquire().unwrap();
    clock.advance(2 * SEC - NANO);
    assert_eq!(b.state(), State::HalfOpen);
    clock.advance(NANO);
    assert_eq!(b.state(), State::Open);
    assert_eq!(retry_after(b.try_acquire()), 5 * SEC);
    trial.success();
    assert_eq!(
        b.state(),
        State::Open,
        "a trial from the last episode is stale"
    );
    assert_eq!(events.transitions()[2..], [(State::HalfOpen, State::Open)]);
}

#[test]
fn growing_wait_backs_off_on_each_reopen_and_resets_on_close() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = CircuitBreaker::builder("backoff")
        .consecutive_failures(1)
        .half_open_calls(1)
        .wait_in_open_growing(SEC, 2.0, 5 * SEC)
        .max_wait_in_half_open(SEC)
        .clock(clock.clone())
        .without_logging()
        .on_event(events.sink())
        .build()
        .unwrap();
    let down = || Err::<(), _>("down");
    let _ = b.call(down);
    let mut waits = Vec::new();
    for _ in 0..4 {
        let wait = retry_after(b.try_acquire());
        waits.push(wait);
        clock.advance(wait);
        let _ = b.call(down);
    }
    // Trials that never report reopen it too, and back off the same way.
    clock.advance(5 * SEC);
    let _held = b.try_acquire().unwrap();
    clock.advance(SEC);
    waits.push(retry_after(b.try_acquire()));
    assert_eq!(waits, [SEC, 2 * SEC, 4 * SEC, 5 * SEC, 5 * SEC]);
    clock.advance(5 * SEC);
    b.call(|| Ok::<(), &str>(())).unwrap();
    assert_eq!(b.state(), State::Closed);
    let _ = b.call(down);
    assert_eq!(retry_after(b.try_acquire()), SEC, "closing resets the wait");
}

#[test]
fn a_growing_wait_that_overflows_is_capped() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = CircuitBreaker::builder("huge")
        .consecutive_failures(1)
        .half_open_calls(1)
        .wait_in_open_growing(SEC, 1e300, 60 * SEC)
        .clock(clock.clone())
        .without_logging()
        .on_event(events.sink())
        .build()
        .unwrap();
    let down = || Err::<(), _>("down");
    let _ = b.call(down);
    let mut waits = Vec::new();
    for _ in 0..3 {
        let wait = retry_after(b.try_acquire());
        waits.push(wait);
        clock.advance(wait);
        let _ = b.call(down);
    }
    waits.push(retry_after(b.try_acquire()));
    // 1e300 s, then 1e600 s (infinite as an f64): both capped.
    assert_eq!(waits, [SEC, 60 * SEC, 60 * SEC, 60 * SEC]);
}

#[test]
fn the_first_growing_wait_is_exactly_the_base() {
    // More nanoseconds than an f64 of seconds holds exactly.
    let base = Duration::new(200 * 86_400, 1);
    let clock = ManualClock::new();
    let b = CircuitBreaker::builder("exact")
        .consecutive_failures(1)
        .wait_in_open_growing(base, 2.0, 4 * base)
        .clock(clock.clone())
        .without_logging()
        .build()
        .unwrap();
    let _ = b.call(|| Err::<(), _>("down"));
    assert_eq!(retry_after(b.try_acquire()), base);
}
