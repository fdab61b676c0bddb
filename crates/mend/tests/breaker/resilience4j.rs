//! Scenarios from Resilience4j's behaviour, written for mend on a
//! `ManualClock`: each one a bug mend had, or a transition users reach for.

use std::time::Duration;

use mend::breaker::{CircuitBreaker, State};
use mend::clock::ManualClock;

use crate::support::Events;

const SEC: Duration = Duration::from_secs(1);

/// count_window(5), minimum 5, 50 %, 5 s open, 4 trials, 1 s in half-open.
fn tripped(clock: &ManualClock, events: &Events) -> CircuitBreaker<ManualClock> {
    let b = CircuitBreaker::builder("r4j")
        .count_window(5)
        .minimum_calls(5)
        .failure_rate_threshold(50.0)
        .wait_in_open(5 * SEC)
        .half_open_calls(4)
        .max_wait_in_half_open(SEC)
        .clock(clock.clone())
        .without_logging()
        .on_event(events.sink())
        .build()
        .unwrap();
    for _ in 0..5 {
        let _ = b.call(|| Err::<(), _>("down"));
    }
    assert_eq!(b.state(), State::Open);
    b
}

#[test]
fn late_trials_cannot_beat_half_opens_time_limit() {
    for look in [false, true] {
        let (clock, events) = (ManualClock::new(), Events::new());
        let b = tripped(&clock, &events);
        clock.advance(5 * SEC);
        let trials: Vec<_> = (0..4).map(|_| b.try_acquire().unwrap()).collect();
        clock.advance(2 * SEC);
        if look {
            assert_eq!(b.state(), State::Open, "past the limit it reads as open");
        }
        for trial in trials {
            trial.success();
        }
        assert_eq!(
            b.state(),
            State::Open,
            "trials reporting after the 1 s limit are stale (looked first: {look})"
        );
        assert_eq!(
            events.transitions(),
            [
                (State::Closed, State::Open),
                (State::Open, State::HalfOpen),
                (State::HalfOpen, State::Open),
            ]
        );
    }
}

#[test]
fn after_half_open_reopens_the_metrics_show_the_trials_that_did_it() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = tripped(&clock, &events);
    clock.advance(5 * SEC);
    let _ = b.call(|| Ok::<_, &str>(()));
    for _ in 0..3 {
        let _ = b.call(|| Err::<(), _>("down"));
    }
    let m = b.metrics();
    assert_eq!(m.state, State::Open);
    assert_eq!(
        (m.buffered_calls, m.failed_calls, m.failure_rate),
        (4, 3, Some(75.0)),
        "{m:?}"
    );
}

#[test]
fn forcing_the_state_it_is_in_announces_nothing() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = crate::support::consecutive(1, 1, SEC, &clock, &events);
    b.force_open();
    b.force_open();
    b.disable();
    b.disable();
    b.metrics_only();
    b.metrics_only();
    assert_eq!(
        events.transitions(),
        [
            (State::Closed, State::ForcedOpen),
            (State::ForcedOpen, State::Disabled),
            (State::Disabled, State::MetricsOnly),
        ]
    );
}

#[test]
fn the_automatic_states_can_be_entered_by_hand() {
    use mend::breaker::IllegalTransition;
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = crate::support::consecutive(3, 2, 10 * SEC, &clock, &events);
    assert_eq!(
        b.half_open(),
        Err(IllegalTransition {
            from: State::Closed,
            to: State::HalfOpen
        }),
        "nothing to try from closed"
    );
    b.open_for(2 * SEC).unwrap();
    assert_eq!(
        crate::support::retry_after(b.try_acquire()),
        2 * SEC,
        "open for the given wait, not the configured 10 s"
    );
    b.half_open().unwrap();
    assert!(b.try_acquire().unwrap().is_trial());
    b.close().unwrap();
    b.close().unwrap(); // closing a closed breaker: quiet
    b.open().unwrap();
    assert_eq!(crate::support::retry_after(b.try_acquire()), 10 * SEC);
    let until = mend::clock::Clock::coarse(&clock) + 3 * SEC;
    b.open_until(until).unwrap();
    assert_eq!(crate::support::retry_after(b.try_acquire()), 3 * SEC);
    b.metrics_only();
    assert_eq!(
        b.open().unwrap_err().to_string(),
        "a breaker does not go from metrics_only to open"
    );
    assert!(b.half_open().is_err());
    assert_eq!(
        events.transitions(),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed),
            (State::Closed, State::Open),
            (State::Open, State::MetricsOnly),
        ],
        "open_until from open re-enters quietly"
    );
}

#[test]
fn a_verdict_can_open_the_breaker_for_as_long_as_the_result_says() {
    use mend::classify::{Outcome, outcome_fn};
    #[derive(Debug)]
    enum Answer {
        Banned { secs: u64 },
    }
    let clock = ManualClock::new();
    let b = CircuitBreaker::builder("banned")
        .count_window(100)
        .classify(outcome_fn(|r: &Result<(), Answer>| match r {
            Ok(()) => Outcome::Success,
            Err(Answer::Banned { secs }) => Outcome::OpenFor(Duration::from_secs(*secs)),
        }))
        .clock(clock.clone())
        .without_logging()
        .build()
        .unwrap();
    let _ = b.call(|| Err(Answer::Banned { secs: 60 }));
    assert_eq!(b.state(), State::Open, "one verdict, however few calls");
    assert_eq!(crate::support::retry_after(b.try_acquire()), 60 * SEC);
    assert_eq!(b.counters().failures, 1);
    clock.advance(60 * SEC);
    assert_eq!(b.state(), State::HalfOpen);
}

#[test]
fn a_breaker_can_start_recording_only_without_an_event() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = CircuitBreaker::builder("new-dependency")
        .consecutive_failures(1)
        .initial_state(State::MetricsOnly)
        .clock(clock.clone())
        .without_logging()
        .on_event(events.sink())
        .build()
        .unwrap();
    assert_eq!(b.state(), State::MetricsOnly);
    let _ = b.call(|| Err::<(), _>("down"));
    assert_eq!(b.state(), State::MetricsOnly, "records, never acts");
    assert!(
        events.take().is_empty(),
        "starting there is not a transition"
    );
    let err = CircuitBreaker::builder("x")
        .initial_state(State::HalfOpen)
        .build()
        .unwrap_err();
    assert_eq!(err.field, "initial_state");
}

#[test]
fn half_opens_limit_may_close_instead() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = CircuitBreaker::builder("rare")
        .consecutive_failures(1)
        .wait_in_open(SEC)
        .half_open_calls(3)
        .max_wait_in_half_open_then(5 * SEC, State::Closed)
        .clock(clock.clone())
        .without_logging()
        .on_event(events.sink())
        .build()
        .unwrap();
    let _ = b.call(|| Err::<(), _>("down"));
    clock.advance(SEC);
    let _ = b.call(|| Ok::<_, &str>(())); // one trial of three
    clock.advance(5 * SEC);
    assert_eq!(b.state(), State::Closed, "read before it moves");
    assert!(b.try_acquire().is_ok());
    assert_eq!(
        events.transitions(),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed),
        ]
    );
}

#[test]
fn slow_successes_and_failures_are_told_apart_and_timed() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::builder("timed")
        .count_window(10)
        .minimum_calls(10)
        .slow_call_duration(Duration::from_millis(100))
        .clock(clock.clone())
        .without_logging()
        .build()
        .unwrap();
    let call = |millis: u64, fails: bool| {
        b.call(|| {
            clock.advance(Duration::from_millis(millis));
            if fails { Err("down") } else { Ok(()) }
        })
    };
    let _ = call(150, false);
    let _ = call(300, true);
    let _ = call(250, true);
    let _ = call(10, true);
    let _ = call(90, false);
    let m = b.metrics();
    assert_eq!(
        (m.slow_calls, m.slow_successful_calls, m.slow_failed_calls),
        (3, 1, 2)
    );
    let c = b.counters();
    assert_eq!(c.timed_calls, 5);
    assert_eq!(c.time_in_timed_calls, Duration::from_millis(800));
    assert_eq!(c.mean_call_duration(), Some(Duration::from_millis(160)));
    let untimed = CircuitBreaker::builder("untimed").build().unwrap();
    let _ = untimed.call(|| Ok::<_, &str>(()));
    assert_eq!(untimed.counters().mean_call_duration(), None);
}

#[test]
fn a_fleet_opened_together_does_not_come_back_together() {
    let clock = ManualClock::new();
    let base = 10 * SEC;
    let waits: Vec<Duration> = (0..50u64)
        .map(|i| {
            let b = CircuitBreaker::builder("fleet")
                .consecutive_failures(1)
                .wait_in_open_growing(base, 2.0, Duration::from_secs(15))
                .wait_in_open_jitter(0.5)
                .seed(i)
                .clock(clock.clone())
                .without_logging()
                .build()
                .unwrap();
            let _ = b.call(|| Err::<(), _>("down"));
            crate::support::retry_after(b.try_acquire())
        })
        .collect();
    assert!(
        waits
            .iter()
            .all(|w| *w >= base / 2 && *w <= Duration::from_secs(15)),
        "within wait * (1 ± 0.5), never past the cap: {waits:?}"
    );
    let mut distinct = waits.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() > 40, "spread out: {distinct:?}");
    // The same seed draws the same waits.
    let again = CircuitBreaker::builder("fleet")
        .consecutive_failures(1)
        .wait_in_open_growing(base, 2.0, Duration::from_secs(15))
        .wait_in_open_jitter(0.5)
        .seed(7)
        .clock(clock.clone())
        .without_logging()
        .build()
        .unwrap();
    let _ = again.call(|| Err::<(), _>("down"));
    assert_eq!(crate::support::retry_after(again.try_acquire()), waits[7]);
}
