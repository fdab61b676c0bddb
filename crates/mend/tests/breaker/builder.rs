//! `CircuitBreakerBuilder::build` rejects every setting that cannot work,
//! naming it, at 0, 1, the maximum and one past it.

use std::time::Duration;

use mend::ConfigError;
use mend::breaker::{CircuitBreaker, CircuitBreakerBuilder};

const SEC: Duration = Duration::from_secs(1);

fn builder() -> CircuitBreakerBuilder {
    CircuitBreaker::builder("b").without_logging()
}

/// Builds `b`, expecting an error that names `field`, in the field and in the
/// message.
fn rejects(b: CircuitBreakerBuilder, field: &str) -> ConfigError {
    let err = match b.build() {
        Ok(breaker) => panic!("{breaker:?} was built; expected an error on `{field}`"),
        Err(err) => err,
    };
    assert_eq!(err.field, field, "{err}");
    assert_eq!(err.component, "circuit breaker `b`");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("circuit breaker `b`: invalid `{field}` = ")),
        "{message}"
    );
    assert!(message.contains(&err.expected), "{message}");
    err
}

#[test]
fn the_message_names_the_breaker_field_value_and_what_would_do() {
    let err = rejects(builder().count_window(0), "count_window");
    assert_eq!(
        err.to_string(),
        "circuit breaker `b`: invalid `count_window` = 0: expected between 1 and 100000 calls"
    );
}

#[test]
fn zero_time_window() {
    rejects(builder().time_window(Duration::ZERO), "time_window");
}

#[test]
fn fractional_time_window() {
    rejects(
        builder().time_window(Duration::from_millis(1500)),
        "time_window",
    );
}

#[test]
fn huge_time_window() {
    rejects(builder().time_window(SEC * u32::MAX * 2), "time_window");
}

#[test]
fn zero_minimum_calls() {
    rejects(builder().minimum_calls(0), "minimum_calls");
}

#[test]
fn minimum_calls_above_the_count_window() {
    let err = rejects(
        builder().count_window(10).minimum_calls(11),
        "minimum_calls",
    );
    assert_eq!(err.value, "11");
}

#[test]
fn failure_rate_threshold_outside_0_to_100() {
    for bad in [0.0, -1.0, 100.5, f64::NAN, f64::INFINITY] {
        rejects(
            builder().failure_rate_threshold(bad),
            "failure_rate_threshold",
        );
    }
}

#[test]
fn slow_call_rate_threshold_outside_0_to_100() {
    for bad in [0.0, 100.000_001, f64::NAN] {
        rejects(
            builder().slow_call_rate_threshold(bad),
            "slow_call_rate_threshold",
        );
    }
}

#[test]
fn zero_slow_call_duration() {
    rejects(
        builder().slow_call_duration(Duration::ZERO),
        "slow_call_duration",
    );
}

#[test]
fn slow_call_duration_on_a_consecutive_failures_breaker() {
    let b = builder().consecutive_failures(3).slow_call_duration(SEC);
    rejects(b, "slow_call_duration");
}

#[test]
fn zero_consecutive_failures() {
    rejects(builder().consecutive_failures(0), "consecutive_failures");
}

#[test]
fn zero_wait_in_open() {
    rejects(builder().wait_in_open(Duration::ZERO), "wait_in_open");
}

#[test]
fn zero_base_of_a_growing_wait() {
    rejects(
        builder().wait_in_open_growing(Duration::ZERO, 2.0, SEC),
        "wait_in_open_growing",
    );
}

#[test]
fn growth_multiplier_below_one_or_not_finite() {
    for bad in [0.5, 0.0, -2.0, f64::NAN, f64::INFINITY] {
        let err = rejects(
            builder().wait_in_open_growing(SEC, bad, 10 * SEC),
            "wait_in_open_growing",
        );
        assert_eq!(err.value, bad.to_string(), "{err}");
    }
}

#[test]
fn growth_cap_below_the_base() {
    let b = builder().wait_in_open_growing(2 * SEC, 2.0, SEC);
    let err = rejects(b, "wait_in_open_growing");
    assert!(err.value.starts_with("max"), "{err}");
}

#[test]
fn zero_half_open_calls() {
    rejects(builder().half_open_calls(0), "half_open_calls");
}

#[test]
fn zero_max_wait_in_half_open() {
    rejects(
        builder().max_wait_in_half_open(Duration::ZERO),
        "max_wait_in_half_open",
    );
}

#[test]
fn boundary_values_are_accepted() {
    let ok = |b: CircuitBreakerBuilder| b.build().map(drop).unwrap();
    ok(builder());
    ok(builder().count_window(1).minimum_calls(1));
    ok(builder().count_window(7).minimum_calls(7));
    ok(builder().time_window(SEC).minimum_calls(1000));
    ok(builder()
        .failure_rate_threshold(100.0)
        .slow_call_rate_threshold(100.0));
    ok(builder()
        .failure_rate_threshold(f64::MIN_POSITIVE)
        .slow_call_rate_threshold(0.001));
    ok(builder().slow_call_duration(Duration::from_nanos(1)));
    ok(builder().consecutive_failures(1).half_open_calls(1));
    ok(builder().wait_in_open(Duration::from_nanos(1)));
    ok(builder().wait_in_open_growing(SEC, 1.0, SEC));
    ok(builder().max_wait_in_half_open(Duration::from_nanos(1)));
    // Rate settings do not apply to a consecutive-failures breaker.
    ok(builder()
        .consecutive_failures(2)
        .count_window(0)
        .minimum_calls(0));
}

#[test]
fn a_time_window_longer_than_an_hour_is_refused_before_it_allocates() {
    let max = CircuitBreakerBuilder::<mend::clock::SystemClock>::MAX_TIME_WINDOW;
    assert_eq!(max, SEC * 3_600);
    let err = rejects(builder().time_window(max + SEC), "time_window");
    assert!(err.to_string().contains("3601s"), "{err}");
    assert!(builder().time_window(max).build().is_ok());
    rejects(builder().time_window(SEC / 2 * 3), "time_window"); // 1.5 s
    assert!(builder().time_window(SEC).build().is_ok());
}

#[test]
fn every_size_is_checked_at_zero_one_its_maximum_and_one_past() {
    type B = CircuitBreakerBuilder;
    type Set = fn(CircuitBreakerBuilder, u32) -> CircuitBreakerBuilder;
    let sizes: [(&str, u32, Set); 5] = [
        ("count_window", B::MAX_COUNT_WINDOW, |b, n| {
            b.count_window(n).minimum_calls(1)
        }),
        ("minimum_calls", B::MAX_MINIMUM_CALLS, |b, n| {
            b.time_window(SEC).minimum_calls(n)
        }),
        (
            "consecutive_failures",
            B::MAX_CONSECUTIVE_FAILURES,
            |b, n| b.consecutive_failures(n),
        ),
        ("half_open_calls", B::MAX_HALF_OPEN_CALLS, |b, n| {
            b.half_open_calls(n)
        }),
        // A count window caps minimum_calls at its size.
        ("minimum_calls", B::MAX_COUNT_WINDOW, |b, n| {
            b.count_window(B::MAX_COUNT_WINDOW).minimum_calls(n)
        }),
    ];
    for (field, max, set) in sizes {
        rejects(set(builder(), 0), field);
        assert!(set(builder(), 1).build().is_ok(), "{field} = 1");
        assert!(set(builder(), max).build().is_ok(), "{field} = {max}");
        let err = rejects(set(builder(), max + 1), field);
        assert_eq!(err.value, (max + 1).to_string());
    }
}

#[test]
fn thresholds_refuse_nan_and_infinity() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        rejects(
            builder().failure_rate_threshold(bad),
            "failure_rate_threshold",
        );
        rejects(
            builder().slow_call_rate_threshold(bad),
            "slow_call_rate_threshold",
        );
    }
}

#[test]
fn a_small_count_window_caps_the_default_minimum_calls() {
    // As Resilience4j: the default minimum of 100 shrinks to the window.
    let b = builder()
        .count_window(4)
        .failure_rate_threshold(50.0)
        .build()
        .unwrap();
    for _ in 0..2 {
        let _ = b.call(|| Ok::<(), &str>(()));
    }
    let _ = b.call(|| Err::<(), _>("down"));
    assert_eq!(b.state(), mend::breaker::State::Closed, "3 calls < 4");
    let _ = b.call(|| Err::<(), _>("down"));
    assert_eq!(b.state(), mend::breaker::State::Open, "2 of 4 failed");
    // An explicit minimum above the window is still a mistake.
    rejects(builder().count_window(4).minimum_calls(5), "minimum_calls");
}
