//! The breaker on the real clocks: an open breaker's "retry after" is a
//! promise kept by the precise clock, although the breaker itself measures
//! its wait on the coarse one (on the real clocks, and made certain with a
//! clock whose coarse reading a late tick holds back); and a time window on
//! [`RecentClock`] counts and trips as on the system's clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use mend::Rejected;
use mend::breaker::{CircuitBreaker, State};
use mend::clock::{Clock, ManualClock, RecentClock, SystemClock, Tick, Timestamp};

/// A manual clock whose coarse reading lags its precise one by a settable
/// amount, and says it lags by up to `TICK`: a kernel tick that runs late
/// (a loaded VM) puts the coarse clock further behind than its resolution,
/// the case the real-clock test above meets only when the scheduler allows.
#[derive(Clone, Debug)]
struct Lagging {
    time: ManualClock,
    lag_nanos: Arc<AtomicU64>,
}

const TICK: Duration = Duration::from_millis(4);

impl Clock for Lagging {
    fn coarse(&self) -> Tick {
        let now = self.time.precise().as_nanos();
        Tick::from_nanos(now.saturating_sub(self.lag_nanos.load(Relaxed)))
    }
    fn precise(&self) -> Tick {
        self.time.precise()
    }
    fn wall(&self) -> Timestamp {
        self.time.wall()
    }
    fn coarse_resolution(&self) -> Duration {
        TICK
    }
}

#[test]
fn an_open_wait_over_by_the_precise_clock_admits_though_a_late_tick_holds_the_coarse_one() {
    let clock = Lagging {
        time: ManualClock::new(),
        lag_nanos: Arc::new(AtomicU64::new(0)),
    };
    let breaker = CircuitBreaker::builder("lagging")
        .consecutive_failures(1)
        .half_open_calls(1)
        .wait_in_open(Duration::from_secs(1))
        .clock(clock.clone())
        .without_logging()
        .build()
        .unwrap();
    let _ = breaker.call(|| Err::<(), _>("down"));
    let Err(Rejected::Open { retry_after }) = breaker.try_acquire() else {
        panic!("open after one failure");
    };
    assert_eq!(
        retry_after,
        Duration::from_secs(1) + TICK,
        "a tick promised on top"
    );
    // The caller waits it out by the precise clock, while a late tick
    // leaves the coarse clock 6 ms behind: short of the wait's end by it.
    clock.lag_nanos.store(6_000_000, Relaxed);
    clock.time.advance(retry_after);
    assert!(
        breaker.state() == State::Open,
        "by the coarse clock, still open"
    );
    let trial = breaker.try_acquire().expect("the promised wait is over");
    assert!(trial.is_trial());
    trial.success();
    assert_eq!(breaker.state(), State::Closed);
    // Further from the end than two ticks, the coarse clock decides alone.
    let _ = breaker.call(|| Err::<(), _>("down"));
    clock.time.advance(Duration::from_millis(990));
    assert!(matches!(breaker.try_acquire(), Err(Rejected::Open { .. })));
}

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
