//! The breaker under real threads: races for half-open's trial slots,
//! counts that add up exactly, and the types that cross threads.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use mend::ConfigError;
use mend::breaker::{BreakerEvent, CircuitBreaker, Metrics, Permit, State};
use mend::classify::DefaultClassify;
use mend::clock::{Clock, ManualClock, SystemClock};
use mend::observe::Event;
use mend::{Error, Rejected};

use crate::support::{Events, consecutive, retry_after};

const SEC: Duration = Duration::from_secs(1);
const THREADS: usize = 8;

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<CircuitBreaker>();
    send_sync::<CircuitBreaker<ManualClock>>();
    send_sync::<Permit<'static, SystemClock, DefaultClassify>>();
    send_sync::<Permit<'static, ManualClock, DefaultClassify>>();
    send_sync::<ConfigError>();
    send_sync::<Metrics>();
    send_sync::<std::sync::Arc<Event>>();
    send_sync::<BreakerEvent>();
    send_sync::<State>();
    send_sync::<Rejected>();
};

/// Polls `done` until it holds, failing after a generous deadline.
#[allow(
    clippy::disallowed_methods,
    reason = "a real-time deadline for a test that waits on the system clock"
)]
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::yield_now();
    }
}

#[test]
fn racing_threads_get_exactly_half_open_calls_trial_slots() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, 3, SEC, &clock, &events);
    let _ = b.call(|| Err::<(), _>("down"));
    clock.advance(SEC);
    assert_eq!(b.state(), State::HalfOpen);
    for round in 0..20 {
        let (start, tried) = (Barrier::new(THREADS), Barrier::new(THREADS));
        let answers: Vec<_> = thread::scope(|s| {
            let racers: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        // Reach the second barrier even if acquiring panics,
                        // so a broken breaker fails the test instead of
                        // hanging it.
                        let permit = catch_unwind(AssertUnwindSafe(|| b.try_acquire()));
                        let answer = match &permit {
                            Ok(Ok(p)) => Ok(p.is_trial()),
                            Ok(Err(rejected)) => Err(rejected.clone()),
                            Err(_) => Err(Rejected::Full),
                        };
                        // Hold the permit until every thread has tried.
                        tried.wait();
                        if let Err(panic) = permit {
                            resume_unwind(panic);
                        }
                        answer
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let admitted = answers.iter().filter(|a| a.is_ok()).count();
        assert_eq!(admitted, 3, "round {round}: {answers:?}");
        for answer in answers {
            match answer {
                Ok(trial) => assert!(trial, "round {round}: admitted as a trial"),
                Err(rejected) => assert_eq!(
                    rejected,
                    Rejected::Open {
                        retry_after: Duration::ZERO
                    },
                    "round {round}"
                ),
            }
        }
    }
    assert_eq!(b.state(), State::HalfOpen, "dropped trials give slots back");
    assert_eq!(b.metrics().not_permitted_calls, 20 * (THREADS as u64 - 3));
}

#[test]
fn trials_finishing_together_close_the_breaker_once() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, THREADS as u32, SEC, &clock, &events);
    let _ = b.call(|| Err::<(), _>("down"));
    clock.advance(SEC);
    let permits: Vec<_> = (0..THREADS).map(|_| b.try_acquire().unwrap()).collect();
    assert_eq!(retry_after(b.try_acquire()), Duration::ZERO);
    let start = Barrier::new(THREADS);
    thread::scope(|s| {
        for permit in permits {
            let start = &start;
            s.spawn(move || {
                start.wait();
                permit.success();
            });
        }
    });
    assert_eq!(
        events.transitions(),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed)
        ]
    );
}

/// `THREADS` threads make `CALLS` calls each, every third one failing, half
/// through `call` and half through held permits.
fn hammer(b: &CircuitBreaker<ManualClock>) {
    const CALLS: usize = 2_000;
    let start = Barrier::new(THREADS);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                start.wait();
                for i in 0..CALLS {
                    let fails = i % 3 == 0;
                    if i % 2 == 0 {
                        let _ = b.call(|| if fails { Err("down") } else { Ok(()) });
                    } else {
                        let permit = b.try_acquire().unwrap();
                        if i % 5 == 0 {
                            let _ = b.metrics();
                        }
                        if fails {
                            permit.failure()
                        } else {
                            permit.success()
                        }
                    }
                }
            });
        }
    });
}

const TOTAL: u32 = THREADS as u32 * 2_000;
const FAILED: u32 = THREADS as u32 * 667;

#[test]
fn counts_from_many_threads_add_up_in_a_count_window() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::builder("stress")
        .count_window(TOTAL)
        .minimum_calls(TOTAL)
        .failure_rate_threshold(100.0)
        .clock(clock)
        .without_logging()
        .build()
        .unwrap();
    hammer(&b);
    let m = b.metrics();
    assert_eq!(
        (m.state, m.buffered_calls, m.failed_calls),
        (State::Closed, TOTAL, FAILED)
    );
}

#[test]
fn counts_from_many_threads_add_up_in_metrics_only() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::builder("stress")
        .time_window(Duration::from_secs(60))
        .minimum_calls(1)
        .clock(clock)
        .without_logging()
        .build()
        .unwrap();
    b.metrics_only();
    hammer(&b);
    let m = b.metrics();
    assert_eq!(
        (m.state, m.buffered_calls, m.failed_calls),
        (State::MetricsOnly, TOTAL, FAILED)
    );
}

#[test]
fn system_clock_breaker_goes_half_open_after_its_wait() {
    let b = CircuitBreaker::builder("real")
        .consecutive_failures(1)
        .wait_in_open(Duration::from_millis(20))
        .half_open_calls(1)
        .without_logging()
        .build()
        .unwrap();
    let _ = b.call(|| Err::<(), _>("down"));
    let wait = retry_after(b.try_acquire());
    // The wait covers the coarse clock's lag, so a precise sleep of it is
    // never turned away.
    let lag = SystemClock.coarse_resolution();
    assert!(wait <= Duration::from_millis(20) + lag, "{wait:?}");
    wait_until("the breaker is half-open", || b.state() == State::HalfOpen);
    b.call(|| Ok::<(), &str>(())).unwrap();
    assert_eq!(b.state(), State::Closed);
}

/// Transitions caused by racing threads may reach subscribers in any order
/// (events are emitted outside the lock), but as a multiset they must form
/// one path from `Closed` to the final state, and every rejection a caller
/// saw must be counted.
#[test]
fn racing_transitions_form_one_consistent_history() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(2, 2, SEC, &clock, &events);
    let rejected = AtomicU64::new(0);
    let start = Barrier::new(THREADS);
    thread::scope(|s| {
        for t in 0..THREADS {
            let (b, clock, rejected, start, events) = (&b, &clock, &rejected, &start, &events);
            s.spawn(move || {
                start.wait();
                // At least 1,000 calls each, and on until the breaker has
                // cycled: a thread preempted while it holds a trial slot
                // keeps the breaker half-open, and the others, turned away,
                // could otherwise finish their calls (and thread 0 its
                // clock steps) before it records.
                for i in 0_usize.. {
                    if i >= 1_000 && (events.len() > 10 || i >= 1_000_000) {
                        break;
                    }
                    if t == 0 && i % 25 == 0 {
                        clock.advance(SEC);
                    }
                    let fails = (i + t) % 3 != 0;
                    let result = b.call(|| if fails { Err("down") } else { Ok(()) });
                    if matches!(result, Err(Error::Rejected(_))) {
                        rejected.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let seen = events.take();
    assert!(seen.len() > 10, "the breaker should have cycled: {seen:?}");
    let last = b.state();
    for state in [State::Closed, State::Open, State::HalfOpen] {
        let into = seen.iter().filter(|e| e.to == state).count();
        let out_of = seen.iter().filter(|e| e.from == state).count();
        let expected = i64::from(state == last) - i64::from(state == State::Closed);
        assert_eq!(into as i64 - out_of as i64, expected, "{state}: {seen:?}");
    }
    let metrics = b.metrics();
    assert_eq!(metrics.not_permitted_calls, rejected.into_inner());
    let in_past_states: u64 = seen.iter().map(|e| e.rejected).sum();
    assert!(in_past_states <= metrics.not_permitted_calls);
}

/// Successes counted on the stripes while failures refill the time window's
/// cache of past seconds, and seconds go by fast: once every call has
/// finished, the snapshot counts every one of them.
#[test]
fn time_window_counts_add_up_while_seconds_go_by() {
    const THREADS: u64 = 4;
    const CALLS: u64 = 50_000;
    let clock = ManualClock::new();
    let b = CircuitBreaker::builder("ticking")
        .time_window(Duration::from_secs(3_600))
        .minimum_calls(10)
        .failure_rate_threshold(100.0)
        .without_logging()
        .clock(clock.clone())
        .build()
        .unwrap();
    let running = AtomicU64::new(THREADS);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for i in 0..CALLS {
                    let outcome = if i % 16 == 0 { Err("down") } else { Ok(()) };
                    let _ = b.call(|| outcome);
                }
                running.fetch_sub(1, Ordering::SeqCst);
            });
        }
        s.spawn(|| {
            // A new second every few calls, for at most 50 minutes of
            // clock time, so every call stays inside the hour-long window.
            while running.load(Ordering::SeqCst) > 0 && clock.elapsed() < Duration::from_secs(3_000)
            {
                clock.advance(Duration::from_millis(100));
                thread::yield_now();
            }
        });
    });
    let m = b.metrics();
    assert_eq!(m.state, State::Closed);
    assert_eq!(u64::from(m.buffered_calls), THREADS * CALLS);
    assert_eq!(u64::from(m.failed_calls), THREADS * CALLS.div_ceil(16));
}
