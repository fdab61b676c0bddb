//! Proof that mend's call paths never allocate.
//!
//! dhat counts every allocation in the process, so this binary holds a single
//! test: nothing else may run beside it. Each scenario warms up first (a
//! thread's first call claims its stripe slot, which allocates once), then
//! counts the heap blocks that the measured calls allocate: zero.

use std::time::Duration;

use mend::breaker::{CircuitBreaker, State};
use mend::clock::ManualClock;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Heap blocks allocated while `f` runs.
fn blocks_allocated_by(f: impl FnOnce()) -> u64 {
    let before = dhat::HeapStats::get().total_blocks;
    f();
    dhat::HeapStats::get().total_blocks - before
}

fn ok() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn refused() -> Result<u32, std::io::Error> {
    Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
}

fn breakers(clock: &ManualClock) -> Vec<(&'static str, CircuitBreaker<ManualClock>)> {
    let base = || {
        CircuitBreaker::builder("alloc")
            .minimum_calls(10)
            .half_open_calls(2)
            .wait_in_open(Duration::from_secs(5))
            .without_logging()
            .clock(clock.clone())
    };
    vec![
        ("count window", base().count_window(50).build().unwrap()),
        (
            "time window",
            base().time_window(Duration::from_secs(30)).build().unwrap(),
        ),
        (
            "slow-call detection",
            base()
                .time_window(Duration::from_secs(30))
                .slow_call_duration(Duration::from_millis(100))
                .build()
                .unwrap(),
        ),
        (
            "consecutive failures",
            base().consecutive_failures(10).build().unwrap(),
        ),
    ]
}

#[test]
fn no_call_path_allocates() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let clock = ManualClock::new();
    for (name, breaker) in breakers(&clock) {
        let _ = breaker.call(ok); // claims this thread's stripe slot

        let closed = blocks_allocated_by(|| {
            for i in 0..1_000 {
                let _ = breaker.call(if i % 20 == 0 { refused } else { ok });
                if i % 100 == 0 {
                    clock.advance(Duration::from_millis(700));
                }
            }
        });
        assert_eq!(closed, 0, "{name}: closed-state calls allocated");
        assert_eq!(breaker.state(), State::Closed, "{name}");

        clock.advance(Duration::from_secs(31)); // the time windows forget
        let tripping = blocks_allocated_by(|| {
            for _ in 0..50 {
                let _ = breaker.call(refused);
            }
        });
        assert_eq!(tripping, 0, "{name}: failures and the trip allocated");
        assert_eq!(breaker.state(), State::Open, "{name}");

        let rejected = blocks_allocated_by(|| {
            for _ in 0..1_000 {
                assert!(breaker.call(ok).is_err());
            }
        });
        assert_eq!(rejected, 0, "{name}: rejections allocated");

        clock.advance(Duration::from_secs(5));
        let healing = blocks_allocated_by(|| {
            for _ in 0..2 {
                let _ = breaker.call(ok);
            }
            let permit = breaker.try_acquire().unwrap();
            drop(permit);
        });
        assert_eq!(healing, 0, "{name}: half-open trials allocated");
        assert_eq!(breaker.state(), State::Closed, "{name}");
    }
}
