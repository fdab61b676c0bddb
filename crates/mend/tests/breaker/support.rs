//! Helpers shared by the breaker tests: an event sink, building a breaker
//! from a model [`Spec`], and a classifier that can ignore.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mend::breaker::{BreakerEvent, CircuitBreaker, CircuitBreakerBuilder, State};
use mend::classify::{Outcome, OutcomeFn, outcome_fn};
use mend::clock::{Clock, ManualClock};
use mend::observe::Event;

use crate::model::{Policy, Spec, Wait};

/// Collects the events a breaker emits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Events(Arc<Mutex<Vec<BreakerEvent>>>);

impl Events {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A subscriber that pushes into this sink.
    pub(crate) fn sink(&self) -> impl Fn(&Event) + Send + Sync + 'static {
        let events = self.0.clone();
        move |event: &Event| {
            if let Some(e) = event.downcast_ref::<BreakerEvent>() {
                events.lock().unwrap().push(e.clone());
            }
        }
    }

    /// How many events came since the last `take`.
    pub(crate) fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// The events since the last `take`.
    pub(crate) fn take(&self) -> Vec<BreakerEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// (from, to) of the events since the last `take`.
    pub(crate) fn transitions(&self) -> Vec<(State, State)> {
        self.take().iter().map(|e| (e.from, e.to)).collect()
    }
}

/// What a test call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallError {
    /// Counts as a failure.
    Down,
    /// The caller's fault: ignored.
    BadRequest,
    /// "Banned for this long": opens the breaker for it.
    Banned(Duration),
}

/// The classifier the tests use: `Err(BadRequest)` is ignored.
pub(crate) type TestClassify = OutcomeFn<fn(&Result<(), CallError>) -> Outcome>;

fn classify_result(result: &Result<(), CallError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Success,
        Err(CallError::Down) => Outcome::Failure,
        Err(CallError::BadRequest) => Outcome::Ignored,
        Err(CallError::Banned(wait)) => Outcome::OpenFor(*wait),
    }
}

pub(crate) fn test_classify() -> TestClassify {
    outcome_fn(classify_result as fn(&Result<(), CallError>) -> Outcome)
}

/// The result a call with `outcome` returns under [`TestClassify`].
pub(crate) fn result_for(outcome: Outcome) -> Result<(), CallError> {
    match outcome {
        Outcome::Success => Ok(()),
        Outcome::Failure => Err(CallError::Down),
        Outcome::Ignored => Err(CallError::BadRequest),
        Outcome::OpenFor(wait) => Err(CallError::Banned(wait)),
        other => panic!("no test result for {other:?}"),
    }
}

/// A breaker on a manual clock with the test classifier.
pub(crate) type Breaker = CircuitBreaker<ManualClock, TestClassify>;

/// A successful call through `b`.
pub(crate) fn ok(b: &Breaker) {
    b.call(|| Ok::<(), CallError>(())).unwrap();
}

/// A failed call through `b`.
pub(crate) fn fail(b: &Breaker) {
    assert!(b.call(|| Err::<(), _>(CallError::Down)).is_err());
}

/// Applies `spec` to a builder.
pub(crate) fn configure<C: Clock, K>(
    spec: &Spec,
    builder: CircuitBreakerBuilder<C, K>,
) -> CircuitBreakerBuilder<C, K> {
    let half = |t: u32| f64::from(t) / 2.0;
    let mut b = match spec.policy {
        Policy::Count(n) => builder.count_window(n),
        Policy::Time(n) => builder.time_window(Duration::from_secs(u64::from(n))),
        Policy::Consecutive(n) => builder.consecutive_failures(n),
    };
    if !matches!(spec.policy, Policy::Consecutive(_)) {
        b = b
            .minimum_calls(spec.minimum_calls)
            .failure_rate_threshold(half(spec.failure_threshold))
            .slow_call_rate_threshold(half(spec.slow_threshold));
        if let Some(d) = spec.slow_call_duration {
            b = b.slow_call_duration(d);
        }
    }
    b = match spec.wait {
        Wait::Fixed(wait) => b.wait_in_open(wait),
        Wait::Growing {
            base,
            multiplier,
            max,
        } => b.wait_in_open_growing(base, f64::from(multiplier), max),
    };
    b = b
        .half_open_calls(spec.half_open_calls)
        .initial_state(spec.initial_state)
        .wait_in_open_jitter(f64::from(spec.jitter_permille) / 1000.0)
        .seed(spec.seed);
    if let Some(limit) = spec.max_wait_in_half_open {
        b = b.max_wait_in_half_open_then(limit, spec.after_half_open_limit);
    }
    b
}

/// A breaker built from `spec` on `clock`, reporting to `events`.
pub(crate) fn breaker_for(
    spec: &Spec,
    clock: &ManualClock,
    events: &Events,
) -> CircuitBreaker<ManualClock, TestClassify> {
    configure(spec, CircuitBreaker::builder("model"))
        .clock(clock.clone())
        .classify(test_classify())
        .without_logging()
        .on_event(events.sink())
        .build()
        .expect("the spec is valid")
}

/// A consecutive-failures breaker on a manual clock: the simplest to drive.
pub(crate) fn consecutive(
    failures: u32,
    half_open_calls: u32,
    wait: Duration,
    clock: &ManualClock,
    events: &Events,
) -> CircuitBreaker<ManualClock> {
    CircuitBreaker::builder("test")
        .consecutive_failures(failures)
        .half_open_calls(half_open_calls)
        .wait_in_open(wait)
        .clock(clock.clone())
        .without_logging()
        .on_event(events.sink())
        .build()
        .expect("valid settings")
}

/// `Rejected::Open`'s `retry_after`, or a panic if `result` is not that.
pub(crate) fn retry_after<T: std::fmt::Debug>(result: Result<T, mend::Rejected>) -> Duration {
    match result {
        Err(mend::Rejected::Open { retry_after }) => retry_after,
        other => panic!("expected Rejected::Open, got {other:?}"),
    }
}
