//! The retry budget: retries are at most a fraction of first attempts.

use std::sync::Arc;
use std::time::Duration;

use mend::clock::ManualClock;
use mend::retry::{Backoff, GiveUp, Jitter, Retry, RetryBudget};

use crate::support::reset;

#[test]
fn a_dependency_down_sees_at_most_20_percent_plus_the_floor() {
    let clock = ManualClock::new();
    // Finagle's defaults: 20 %, 10 retries a second, 10 s.
    let budget = Arc::new(RetryBudget::builder().clock(clock.clone()).build().unwrap());
    let retry = Retry::builder("t")
        .max_attempts(10)
        .backoff(Backoff::constant(Duration::ZERO))
        .jitter(Jitter::None)
        .budget(budget.clone())
        .manual_clock(&clock)
        .build()
        .unwrap();
    let mut calls = 0u32;
    let mut spent = 0;
    for _ in 0..1000 {
        let err = retry
            .call(|| {
                calls += 1;
                Err::<(), _>(reset())
            })
            .unwrap_err();
        spent += u32::from(err.reason == GiveUp::Budget);
    }
    let retries = calls - 1000;
    // 20 % of 1,000 plus the floor of 10 a second over 10 s.
    assert_eq!(retries, 200 + 100);
    assert!(spent > 900, "most calls found the budget spent");
    let snap = budget.snapshot();
    assert_eq!(
        (snap.first_attempts, snap.retries, snap.available),
        (1000, 300, 0)
    );
}

#[test]
fn a_ratio_below_one_allows_exactly_that_share() {
    // tower's TpsBudget lets far more than 20 % through at 0.2 (issue 857).
    let clock = ManualClock::new();
    let budget = RetryBudget::builder()
        .ratio(0.2)
        .min_retries_per_sec(0)
        .clock(clock)
        .build()
        .unwrap();
    for _ in 0..1000 {
        budget.deposit();
    }
    let allowed = (0..1000).filter(|_| budget.try_withdraw()).count();
    assert_eq!(allowed, 200);
}

#[test]
fn one_budget_is_shared_by_every_retry_of_a_dependency() {
    let clock = ManualClock::new();
    let budget = Arc::new(
        RetryBudget::builder()
            .ratio(0.5)
            .min_retries_per_sec(0)
            .clock(clock.clone())
            .build()
            .unwrap(),
    );
    let make = || {
        Retry::builder("t")
            .max_attempts(3)
            .backoff(Backoff::constant(Duration::ZERO))
            .budget(budget.clone())
            .manual_clock(&clock)
            .build()
            .unwrap()
    };
    let (a, b) = (make(), make());
    let mut calls = 0;
    for _ in 0..10 {
        let _ = a.call(|| {
            calls += 1;
            Err::<(), _>(reset())
        });
        let _ = b.call(|| {
            calls += 1;
            Err::<(), _>(reset())
        });
    }
    assert_eq!(calls - 20, 10, "half of 20 first attempts, across both");
}

#[test]
fn the_budget_refills_as_old_deposits_expire() {
    let clock = ManualClock::new();
    let budget = RetryBudget::builder()
        .ratio(0.0)
        .min_retries_per_sec(1)
        .ttl(Duration::from_secs(10))
        .clock(clock.clone())
        .build()
        .unwrap();
    assert_eq!((0..20).filter(|_| budget.try_withdraw()).count(), 10);
    clock.advance(Duration::from_secs(10));
    assert_eq!((0..20).filter(|_| budget.try_withdraw()).count(), 10);
}

#[test]
fn bad_budget_settings_name_the_field() {
    let e = RetryBudget::builder().ratio(-1.0).build().unwrap_err();
    assert_eq!(e.field, "ratio");
    let e = RetryBudget::builder()
        .ttl(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(e.field, "ttl");
}
