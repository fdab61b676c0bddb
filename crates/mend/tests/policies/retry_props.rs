//! Properties of retry: delays within their bounds, the deadline never
//! passed, the budget held under total failure.

use std::sync::Arc;
use std::time::Duration;

use mend::clock::{ManualClock, TokioClock};
use mend::retry::{Backoff, Jitter, Retry, RetryBudget};
use proptest::prelude::*;

use crate::support::{Events, reset};

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        Just(Jitter::Decorrelated),
        (0.0..=1.0f64).prop_map(Jitter::Factor),
    ]
}

fn backoff() -> impl Strategy<Value = Backoff> {
    (1u64..1_000, 1u64..100, 1.0..4.0f64, 0..3u8).prop_map(|(base, cap_x, mult, shape)| {
        let base = Duration::from_millis(base);
        let cap = base * cap_x as u32;
        match shape {
            0 => Backoff::constant(base),
            1 => Backoff::linear(base, base / 2).with_cap(cap),
            _ => Backoff::exponential(base, mult).with_cap(cap),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_delay_is_within_its_bounds(
        backoff in backoff(), jitter in jitter(), seed: u64, attempts in 2u32..12,
    ) {
        let clock = ManualClock::new();
        let events = Events::default();
        let retry = Retry::builder("p")
            .max_attempts(attempts)
            .backoff(backoff)
            .jitter(jitter)
            .seed(seed)
            .on_event(events.sink())
            .manual_clock(&clock)
            .build()
            .unwrap();
        let _ = retry.call(|| Err::<(), _>(reset()));
        let delays = events.delays();
        prop_assert_eq!(delays.len() as u32, attempts - 1);
        for (n, delay) in delays.iter().enumerate() {
            let temp = backoff.delay(n as u32);
            prop_assert!(*delay <= backoff.cap());
            let (low, high) = match jitter {
                Jitter::None => (temp, temp),
                Jitter::Full => (Duration::ZERO, temp),
                Jitter::Equal => (temp / 2, temp),
                Jitter::Decorrelated => (backoff.base(), backoff.cap()),
                Jitter::Factor(f) => (temp.mul_f64(1.0 - f).saturating_sub(Duration::from_nanos(1)), temp),
            };
            prop_assert!(*delay >= low && *delay <= high, "retry {n}: {delay:?} not in [{low:?}, {high:?}]");
        }
    }

    #[test]
    fn total_time_never_passes_the_deadline(
        backoff in backoff(), jitter in jitter(), seed: u64,
        deadline_ms in 1u64..5_000, work_ms in proptest::collection::vec(0u64..2_000, 1..20),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let deadline = Duration::from_millis(deadline_ms);
            let retry = Retry::builder("p")
                .max_attempts(20)
                .backoff(backoff)
                .jitter(jitter)
                .seed(seed)
                .deadline(deadline)
                .clock(TokioClock::new())
                .build()
                .unwrap();
            let start = tokio::time::Instant::now();
            let mut work = work_ms.iter().cycle();
            let _ = retry
                .call_async(|| {
                    let ms = *work.next().unwrap();
                    async move {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        Err::<(), _>(reset())
                    }
                })
                .await;
            prop_assert!(start.elapsed() <= deadline, "{:?} > {deadline:?}", start.elapsed());
            Ok(())
        })?;
    }

    #[test]
    fn the_budget_holds_under_total_failure(
        ratio_pct in 0u32..=300, floor in 0u32..20,
        gaps_ms in proptest::collection::vec(0u64..3_000, 1..120),
    ) {
        let clock = ManualClock::new();
        let ttl = Duration::from_secs(10);
        let ratio = f64::from(ratio_pct) / 100.0;
        let budget = Arc::new(
            RetryBudget::builder()
                .ratio(ratio)
                .min_retries_per_sec(floor)
                .ttl(ttl)
                .clock(clock.clone())
                .build()
                .unwrap(),
        );
        let retry = Retry::builder("p")
            .max_attempts(8)
            .backoff(Backoff::constant(Duration::ZERO))
            .budget(budget)
            .manual_clock(&clock)
            .build()
            .unwrap();
        // (time, is_retry) of every attempt.
        let mut log: Vec<(Duration, bool)> = Vec::new();
        for gap in gaps_ms {
            clock.advance(Duration::from_millis(gap));
            let mut first = true;
            let _ = retry.call(|| {
                log.push((clock.elapsed(), !std::mem::take(&mut first)));
                Err::<(), _>(reset())
            });
        }
        // At every retry, the retries of the last 0.9 ttl (all surely in the
        // budget's window) are at most ratio x first attempts of the last ttl
        // (a superset of the window's) plus the floor.
        let floor_total = f64::from(floor) * ttl.as_secs_f64();
        for &(t, _) in log.iter().filter(|(_, r)| *r) {
            let retries = log.iter().filter(|(u, r)| *r && *u <= t && t - *u < ttl.mul_f64(0.9)).count();
            let firsts = log.iter().filter(|(u, r)| !*r && *u <= t && t - *u <= ttl).count();
            prop_assert!(
                retries as f64 <= ratio * firsts as f64 + floor_total + 1e-9,
                "at {t:?}: {retries} retries for {firsts} first attempts"
            );
        }
    }
}
