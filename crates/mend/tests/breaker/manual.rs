//! Manual states, events, classification, panics and cancelled futures.

use std::future::Future;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mend::breaker::{CircuitBreaker, State};
use mend::classify::{Outcome, outcome_fn};
use mend::clock::{Clock as _, ManualClock};
use mend::{Error, Rejected};

use crate::support::{Events, consecutive, retry_after};

const SEC: Duration = Duration::from_secs(1);

fn down() -> Result<(), &'static str> {
    Err("down")
}

#[test]
fn forced_open_rejects_everything_until_reset() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, 1, SEC, &clock, &events);
    b.force_open();
    assert_eq!(b.state(), State::ForcedOpen);
    assert_eq!(b.try_acquire().unwrap_err(), Rejected::ForcedOpen);
    clock.advance(Duration::from_secs(3600));
    assert!(matches!(
        b.call(|| Ok::<(), &str>(())),
        Err(Error::Rejected(Rejected::ForcedOpen))
    ));
    assert_eq!(b.state(), State::ForcedOpen, "time never ends it");
    b.reset();
    assert_eq!(b.state(), State::Closed);
    let seen = events.take();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[1].from, seen[1].to, seen[1].rejected),
        (State::ForcedOpen, State::Closed, 2)
    );
    assert_eq!(b.metrics().not_permitted_calls, 2);
}

#[test]
fn disabled_admits_everything_and_records_nothing() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, 1, SEC, &clock, &events);
    b.disable();
    for _ in 0..50 {
        let permit = b.try_acquire().unwrap();
        assert!(!permit.is_trial());
        permit.failure();
        assert!(b.call(down).unwrap_err().inner().is_some());
    }
    let m = b.metrics();
    assert_eq!(
        (m.state, m.buffered_calls, m.failed_calls),
        (State::Disabled, 0, 0)
    );
    assert_eq!(events.transitions(), [(State::Closed, State::Disabled)]);
}

#[test]
fn metrics_only_records_but_never_opens() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = CircuitBreaker::builder("watch")
        .count_window(10)
        .minimum_calls(2)
        .clock(clock.clone())
        .without_logging()
        .on_event(events.sink())
        .build()
        .unwrap();
    let _ = b.call(down);
    b.metrics_only();
    assert_eq!(
        b.metrics().buffered_calls,
        0,
        "entering metrics-only clears the window"
    );
    for _ in 0..7 {
        let _ = b.call(down);
    }
    let _ = b.call(|| Ok::<(), &str>(()));
    let m = b.metrics();
    assert_eq!(
        (m.state, m.buffered_calls, m.failed_calls),
        (State::MetricsOnly, 8, 7)
    );
    assert_eq!(m.failure_rate, Some(87.5));
    assert_eq!(events.transitions(), [(State::Closed, State::MetricsOnly)]);
}

#[test]
fn a_manual_change_to_the_same_state_announces_nothing_but_reset_always_does() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, 1, SEC, &clock, &events);
    b.reset();
    b.force_open();
    b.force_open();
    b.disable();
    b.metrics_only();
    b.metrics_only();
    b.reset();
    assert_eq!(
        events.transitions(),
        [
            (State::Closed, State::Closed), // reset
            (State::Closed, State::ForcedOpen),
            (State::ForcedOpen, State::Disabled),
            (State::Disabled, State::MetricsOnly),
            (State::MetricsOnly, State::Closed), // reset
        ]
    );
}

#[test]
fn reset_clears_the_window_and_the_backoff() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = CircuitBreaker::builder("reset")
        .consecutive_failures(2)
        .half_open_calls(1)
        .wait_in_open_growing(SEC, 3.0, 60 * SEC)
        .clock(clock.clone())
        .without_logging()
        .on_event(events.sink())
        .build()
        .unwrap();
    let _ = b.call(down);
    let _ = b.call(down);
    clock.advance(SEC);
    let _ = b.call(down);
    assert_eq!(retry_after(b.try_acquire()), 3 * SEC);
    b.reset();
    let _ = b.call(down);
    assert_eq!(b.metrics().failed_calls, 1);
    let _ = b.call(down);
    assert_eq!(retry_after(b.try_acquire()), SEC);
}

#[test]
fn events_carry_the_name_and_the_clock_wall_time() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, 1, SEC, &clock, &events);
    clock.advance(Duration::from_millis(1500));
    let _ = b.call(down);
    let seen = events.take();
    assert_eq!(&*seen[0].name, "test");
    assert_eq!(seen[0].at, clock.wall());
    assert_eq!(seen[0].to_string(), "breaker test: closed -> open");
    clock.advance(SEC);
    let _trial = b.try_acquire().unwrap();
    assert!(b.try_acquire().is_err());
    let seen = events.take();
    assert_eq!(seen[0].to_string(), "breaker test: open -> half_open");
    b.reset();
    assert_eq!(
        events.take()[0].to_string(),
        "breaker test: half_open -> closed (reset) (1 calls rejected while half_open)"
    );
}

#[test]
fn a_panicking_call_counts_as_a_failure() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, 1, SEC, &clock, &events);
    let result = catch_unwind(AssertUnwindSafe(|| {
        b.call(|| -> Result<(), &str> { panic!("the call panicked") })
    }));
    assert!(result.is_err());
    assert_eq!(b.state(), State::Open);
}

#[test]
fn a_panicking_trial_or_timed_call_counts_as_a_failure() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, 1, SEC, &clock, &events);
    let _ = b.call(down);
    clock.advance(SEC); // half-open: the next call is the trial
    let result = catch_unwind(AssertUnwindSafe(|| {
        b.call(|| -> Result<(), &str> { panic!("the trial panicked") })
    }));
    assert!(result.is_err());
    assert_eq!(b.state(), State::Open, "the trial's panic opened it again");

    // A breaker that times its calls admits them on the cold path.
    let timed = CircuitBreaker::builder("timed")
        .count_window(2)
        .minimum_calls(1)
        .slow_call_duration(SEC)
        .clock(clock.clone())
        .without_logging()
        .build()
        .unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        timed.call(|| -> Result<(), &str> { panic!("the timed call panicked") })
    }));
    assert!(result.is_err());
    assert_eq!(timed.state(), State::Open);
}

fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn a_cancelled_call_async_gives_back_its_half_open_slot() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, 1, SEC, &clock, &events);
    let _ = b.call(down);
    clock.advance(SEC);
    {
        let mut call = pin!(b.call_async(std::future::pending::<Result<(), &str>>));
        assert!(poll_once(call.as_mut()).is_pending());
        assert_eq!(
            retry_after(b.try_acquire()),
            Duration::ZERO,
            "the trial is out"
        );
    } // dropped mid-await
    assert_eq!(b.state(), State::HalfOpen);
    let call = pin!(b.call_async(|| async { Ok::<u8, &str>(7) }));
    assert_eq!(poll_once(call), Poll::Ready(Ok(7)));
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn call_async_records_its_outcome() {
    let (clock, events) = (ManualClock::new(), Events::new());
    let b = consecutive(1, 1, SEC, &clock, &events);
    let call = pin!(b.call_async(|| async { down() }));
    assert_eq!(poll_once(call), Poll::Ready(Err(Error::Inner("down"))));
    assert_eq!(b.state(), State::Open);
}

#[test]
fn classify_leaves_ignored_errors_out_of_the_rates() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::builder("http")
        .count_window(2)
        .minimum_calls(2)
        .clock(clock.clone())
        .classify(outcome_fn(|r: &Result<(), io::Error>| match r {
            Ok(()) => Outcome::Success,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Outcome::Ignored,
            Err(_) => Outcome::Failure,
        }))
        .without_logging()
        .build()
        .unwrap();
    for _ in 0..10 {
        let err = b.call(|| Err::<(), _>(io::Error::from(io::ErrorKind::NotFound)));
        assert_eq!(
            err.unwrap_err().into_inner().unwrap().kind(),
            io::ErrorKind::NotFound
        );
    }
    assert_eq!(b.metrics().buffered_calls, 0);
    let refused = || Err::<(), _>(io::Error::from(io::ErrorKind::ConnectionRefused));
    let _ = b.call(refused);
    assert_eq!(b.state(), State::Closed);
    let _ = b.call(refused);
    assert_eq!(b.state(), State::Open);
}
