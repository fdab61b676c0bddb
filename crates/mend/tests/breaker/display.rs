//! What the breaker's types say about themselves: state names, `Debug`
//! output and the rejection message.

use std::time::Duration;

use mend::breaker::{CircuitBreaker, State};
use mend::clock::ManualClock;
use mend::{Error, Rejected};

#[test]
fn states_are_named_in_snake_case() {
    let names = [
        (State::Closed, "closed"),
        (State::Open, "open"),
        (State::HalfOpen, "half_open"),
        (State::ForcedOpen, "forced_open"),
        (State::Disabled, "disabled"),
        (State::MetricsOnly, "metrics_only"),
    ];
    for (state, name) in names {
        assert_eq!(state.as_str(), name);
        assert_eq!(state.to_string(), name);
    }
}

#[test]
fn debug_output_names_the_breaker() {
    let clock = ManualClock::new();
    let builder = CircuitBreaker::builder("dbg")
        .count_window(7)
        .minimum_calls(7)
        .clock(clock.clone());
    let shown = format!("{builder:?}");
    assert!(
        shown.starts_with("CircuitBreakerBuilder") && shown.contains("\"dbg\""),
        "{shown}"
    );
    assert!(shown.contains("Count(7)"), "{shown}");
    let b = builder.without_logging().build().unwrap();
    assert_eq!(b.name(), "dbg");
    let shown = format!("{b:?}");
    assert!(
        shown.contains("\"dbg\"") && shown.contains("Closed"),
        "{shown}"
    );
    let permit = b.try_acquire().unwrap();
    let shown = format!("{permit:?}");
    assert!(
        shown.starts_with("Permit") && shown.contains("\"dbg\""),
        "{shown}"
    );
    assert!(shown.contains("trial: false"), "{shown}");
    permit.success();
}

#[test]
fn a_rejected_call_says_when_to_come_back() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::builder("msg")
        .consecutive_failures(1)
        .wait_in_open(Duration::from_secs(30))
        .clock(clock.clone())
        .without_logging()
        .build()
        .unwrap();
    let _ = b.call(|| Err::<(), _>("down"));
    clock.advance(Duration::from_secs(12));
    let err = b.call(|| Ok::<(), &str>(())).unwrap_err();
    assert!(matches!(&err, Error::Rejected(Rejected::Open { .. })));
    assert_eq!(
        err.to_string(),
        "circuit breaker is open; calls are let through again in 18s"
    );
}
