//! loom models of the breaker's concurrent accounting: every interleaving of
//! two threads racing for half-open's trial slots, and a trial permit
//! dropped while another thread asks for its slot.
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" cargo test -p mend --lib --no-default-features loom`

use std::time::Duration;

use loom::sync::Arc;
use loom::thread;

use super::{CircuitBreaker, State};
use crate::classify::DefaultClassify;
use crate::clock::ManualClock;

fn half_open_breaker(
    trials: u32,
) -> (
    Arc<CircuitBreaker<ManualClock, DefaultClassify>>,
    ManualClock,
) {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder("loom")
        .consecutive_failures(1)
        .half_open_calls(trials)
        .wait_in_open(Duration::from_secs(1))
        .without_logging()
        .clock(clock.clone())
        .build()
        .unwrap();
    let _ = breaker.call(|| Err::<(), _>("down"));
    clock.advance(Duration::from_secs(1));
    (Arc::new(breaker), clock)
}

#[test]
fn loom_exactly_the_trial_slots_are_handed_out() {
    loom::model(|| {
        let (breaker, _clock) = half_open_breaker(1);
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let breaker = breaker.clone();
                thread::spawn(move || match breaker.try_acquire() {
                    Ok(permit) => {
                        std::mem::forget(permit); // hold the slot for good
                        1
                    }
                    Err(_) => 0,
                })
            })
            .collect();
        let admitted: u32 = racers.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(admitted, 1, "one trial slot, one admission");
        assert_eq!(breaker.state(), State::HalfOpen);
    });
}

#[test]
fn loom_a_dropped_trial_gives_its_slot_back() {
    loom::model(|| {
        let (breaker, _clock) = half_open_breaker(1);
        let holder = {
            let breaker = breaker.clone();
            thread::spawn(move || {
                let permit = breaker.try_acquire();
                let got = permit.is_ok();
                drop(permit); // unrecorded: ignored, slot released
                got
            })
        };
        let other = {
            let breaker = breaker.clone();
            thread::spawn(move || {
                if let Ok(permit) = breaker.try_acquire() {
                    permit.success();
                    true
                } else {
                    false
                }
            })
        };
        let holder_got = holder.join().unwrap();
        let other_succeeded = other.join().unwrap();
        assert!(holder_got || other_succeeded, "someone gets the slot");
        if other_succeeded {
            assert_eq!(breaker.state(), State::Closed);
        } else {
            // The holder dropped its permit: the slot is free again.
            assert_eq!(breaker.state(), State::HalfOpen);
            assert!(
                breaker.try_acquire().is_ok(),
                "the dropped trial's slot is back"
            );
        }
    });
}

#[test]
fn loom_successes_racing_a_failure_all_count() {
    loom::model(|| {
        let clock = ManualClock::new();
        let breaker = Arc::new(
            CircuitBreaker::builder("loom")
                .count_window(10)
                .minimum_calls(10)
                .without_logging()
                .clock(clock)
                .build()
                .unwrap(),
        );
        let worker = {
            let breaker = breaker.clone();
            thread::spawn(move || {
                let _ = breaker.call(|| Ok::<_, ()>(()));
            })
        };
        let _ = breaker.call(|| Ok::<_, ()>(()));
        let _ = breaker.call(|| Err::<(), _>(()));
        worker.join().unwrap();
        let metrics = breaker.metrics();
        assert_eq!(metrics.buffered_calls, 3);
        assert_eq!(metrics.failed_calls, 1);
    });
}

#[test]
fn loom_a_success_counted_as_its_second_ends_is_not_lost() {
    loom::model(|| {
        let clock = ManualClock::new();
        let breaker = Arc::new(
            CircuitBreaker::builder("loom")
                .time_window(Duration::from_secs(3))
                .minimum_calls(10)
                .failure_rate_threshold(100.0)
                .without_logging()
                .clock(clock.clone())
                .build()
                .unwrap(),
        );
        let success = {
            let breaker = breaker.clone();
            thread::spawn(move || {
                let _ = breaker.call(|| Ok::<_, ()>(()));
            })
        };
        // The next second begins (at any point of the success's call: the
        // manual clock is not a loom primitive, so let loom switch here),
        // and a failure takes the locked path, which caches the seconds
        // just past.
        thread::yield_now();
        clock.advance(Duration::from_secs(1));
        let _ = breaker.call(|| Err::<(), _>(()));
        success.join().unwrap();
        let metrics = breaker.metrics();
        assert_eq!(metrics.buffered_calls, 2);
        assert_eq!(metrics.failed_calls, 1);
    });
}
