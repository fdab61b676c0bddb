//! Every builder's sizes at 0, 1, the maximum and one past it, `f64`
//! settings against NaN and infinity, and one error shape for all.

use std::num::NonZeroU32;
use std::time::Duration;

use mend::ConfigError;
use mend::limit::{Bulkhead, BulkheadBuilder, KeyedRateLimiter, KeyedRateLimiterBuilder, Quota};
use mend::retry::{Backoff, Jitter, Retry, RetryBudget, RetryBudgetBuilder, RetryBuilder};

/// Checks a size: `at(0)` is refused unless `zero_ok`, 1 and `max` are
/// accepted, `max + 1` is refused, each refusal naming `field`.
fn size<T>(field: &str, max: u64, zero_ok: bool, at: impl Fn(u64) -> Result<T, ConfigError>) {
    let refused = |n: u64| match at(n) {
        Ok(_) => panic!("{field} = {n} was accepted"),
        Err(err) => {
            assert_eq!(
                (err.field, err.value.as_str()),
                (field, n.to_string().as_str()),
                "{err}"
            );
            assert!(
                err.to_string()
                    .contains(&format!("invalid `{field}` = {n}")),
                "{err}"
            );
        }
    };
    if zero_ok {
        assert!(at(0).is_ok(), "{field} = 0");
    } else {
        refused(0);
    }
    assert!(at(1).is_ok(), "{field} = 1");
    assert!(at(max).is_ok(), "{field} = {max}");
    refused(max + 1);
}

#[test]
fn retry_sizes() {
    let max = u64::from(RetryBuilder::<mend::clock::SystemClock>::MAX_ATTEMPTS);
    size("max_attempts", max, false, |n| {
        Retry::builder("r").max_attempts(n as u32).build()
    });
    let max = u64::from(RetryBudgetBuilder::<mend::clock::SystemClock>::MAX_RETRIES_PER_SEC);
    size("min_retries_per_sec", max, true, |n| {
        RetryBudget::builder().min_retries_per_sec(n as u32).build()
    });
}

#[test]
fn limit_sizes() {
    let max = BulkheadBuilder::<mend::clock::SystemClock>::MAX_CALLS as u64;
    size("max_concurrent", max, false, |n| {
        Bulkhead::builder("b").max_concurrent(n as usize).build()
    });
    size("queue", max, true, |n| {
        Bulkhead::builder("b")
            .max_concurrent(1)
            .queue(n as usize, Duration::from_millis(1))
            .build()
    });
    let quota = Quota::per_second(NonZeroU32::new(5).unwrap());
    let max = KeyedRateLimiterBuilder::<mend::clock::SystemClock>::MAX_SWEEP_EVERY;
    size("sweep_every", max, false, |n| {
        KeyedRateLimiter::builder("k", quota)
            .sweep_every(n)
            .build::<String>()
    });
}

#[test]
fn numbers_refuse_nan_and_infinity() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = Retry::builder("r")
            .backoff(Backoff::exponential(Duration::from_millis(10), bad))
            .build()
            .unwrap_err();
        assert_eq!(err.field, "backoff.multiplier");
        let err = Retry::builder("r")
            .jitter(Jitter::Factor(bad))
            .build()
            .unwrap_err();
        assert_eq!(err.field, "jitter");
        let err = RetryBudget::builder().ratio(bad).build().unwrap_err();
        assert_eq!(
            (err.field, err.component.as_str()),
            ("ratio", "retry budget")
        );
    }
}

#[test]
fn every_builder_says_what_it_builds() {
    let errors = [
        Retry::builder("pay").max_attempts(0).build().map(drop),
        Bulkhead::builder("db").build().map(drop),
        mend::limit::Timeout::builder("slow", Duration::ZERO)
            .build()
            .map(drop),
        KeyedRateLimiter::builder("per-ip", Quota::per_second(NonZeroU32::new(1).unwrap()))
            .sweep_every(0)
            .build::<u32>()
            .map(drop),
    ];
    let components: Vec<String> = errors
        .into_iter()
        .map(|e| e.unwrap_err().component)
        .collect();
    assert_eq!(
        components,
        [
            "retry `pay`",
            "bulkhead `db`",
            "timeout `slow`",
            "keyed rate limiter `per-ip`"
        ]
    );
}
