//! The breaker on the real clocks: an open breaker's "retry after" is a
//! promise kept by the precise clock, although the breaker itself measures
//! its wait on the coarse one; and a time window on [`RecentClock`] counts
//! and trips as on the system's clock.

use std::time::Duration;

use mend::Rejected;
use mend::breaker::{CircuitBreaker, State};
use mend::clock::{Clock, RecentClock, SystemClock};

#[test]
fn waiting_out_retry_after_by_the_precise_clock_is_let_through() {
    for round in 0..20 {
        let breaker = CircuitBreaker::builder("real")
            .consecutive_failures(1)
            .half_open_calls(1)
            .wait_in_open(Duration::from_millis(3 + round % 5))
            .without_logging()
            .build()
            .unwrap();
        // A thread descheduled for longer than the wait (a loaded machine)
        // finds the breaker half-open already: trip it again until the
        // rejection is seen.
        let retry_after = loop {
            let _ = breaker.call(|| Err::<(), _>("down"));
            match breaker.try_acquire() {
                Err(Rejected::Open { retry_after }) => break retry_after,
                Ok(trial) => trial.failure(),
                Err(other) => panic!("unexpected {other:?}"),
            }
        };
        let clock = SystemClock;
        let deadline = clock.precise() + retry_after;
        while clock.precise() < deadline {
            std::hint::spin_loop();
        }
        assert!(
            breaker.try_acquire().is_ok(),
            "round {round}: rejected again after waiting the {retry_after:?} it asked for"
        );
    }
}

#[test]
fn a_time_window_on_the_recent_clock_counts_every_call_and_trips() {
    let breaker = CircuitBreaker::builder("recent")
        .time_window(Duration::from_secs(60))
        .minimum_calls(20)
        .failure_rate_threshold(50.0)
        .clock(RecentClock::new().unwrap())
        .without_logging()
        .build()
        .unwrap();
    for _ in 0..10 {
        breaker.call(|| Ok::<_, &str>(())).unwrap();
    }
    for _ in 0..9 {
        let _ = breaker.call(|| Err::<(), _>("down"));
    }
    let metrics = breaker.metrics();
    assert_eq!(
        (metrics.state, metrics.buffered_calls, metrics.failed_calls),
        (State::Closed, 19, 9)
    );
    let _ = breaker.call(|| Err::<(), _>("down"));
    assert_eq!(
        breaker.state(),
        State::Open,
        "10 failures in 20 calls is 50%"
    );
}
