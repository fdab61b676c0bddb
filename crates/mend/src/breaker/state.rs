//! The states a breaker can be in, and the snapshot of its counters.

use std::fmt;
use std::time::Duration;

/// Where a breaker is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls go through and are recorded; too many failures open it.
    Closed,
    /// Calls are rejected until the open wait has passed.
    Open,
    /// A few trial calls go through; their results close or reopen it.
    HalfOpen,
    /// Rejects every call until [`reset`](super::CircuitBreaker::reset) or
    /// another manual state.
    ForcedOpen,
    /// Lets every call through and records nothing.
    Disabled,
    /// Lets every call through and records it, but never changes state.
    MetricsOnly,
}

impl State {
    /// The state's name in snake case, as logs and metrics label it.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::Disabled => "disabled",
            State::MetricsOnly => "metrics_only",
        }
    }
}

impl State {
    /// Every state, in a fixed order.
    pub const ALL: [State; 6] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::ForcedOpen,
        State::Disabled,
        State::MetricsOnly,
    ];

    /// The state's place in [`ALL`](Self::ALL).
    pub(crate) fn index(self) -> usize {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
            State::ForcedOpen => 3,
            State::Disabled => 4,
            State::MetricsOnly => 5,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot of a breaker's counters.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Metrics {
    /// The state when the snapshot was taken.
    pub state: State,
    /// Calls recorded in the current window; in half-open, the trials
    /// recorded so far; for a consecutive-failures breaker, the current run
    /// of failures. Entering Closed or a manual state empties the window; an
    /// open breaker keeps the window that opened it (the closed window, or,
    /// reopened from half-open, the trials that did it).
    pub buffered_calls: u32,
    /// Failed calls among them.
    pub failed_calls: u32,
    /// Slow calls among them.
    pub slow_calls: u32,
    /// Slow calls that succeeded.
    pub slow_successful_calls: u32,
    /// Slow calls that failed.
    pub slow_failed_calls: u32,
    /// Failure percentage, once at least `minimum_calls` are buffered.
    /// Always `None` in half-open (the last trial decides and leaves it)
    /// and for a consecutive-failures breaker (it has no rate).
    pub failure_rate: Option<f64>,
    /// Slow-call percentage, under the same conditions.
    pub slow_call_rate: Option<f64>,
    /// Calls rejected since the breaker was built.
    pub not_permitted_calls: u64,
}

/// Every call a breaker has seen since it was built, by outcome: counts that
/// only grow, for a metrics scrape (the window in [`Metrics`] slides and
/// empties). From [`CircuitBreaker::counters`](super::CircuitBreaker::counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerCounters {
    /// Calls that succeeded (recorded; calls let through while disabled are
    /// not).
    pub successes: u64,
    /// Calls that failed.
    pub failures: u64,
    /// Calls whose outcome was ignored (classified so, or dropped unrecorded).
    pub ignored: u64,
    /// Calls slower than `slow_call_duration`, among the successes and
    /// failures (zero unless slow-call detection is on).
    pub slow: u64,
    /// Calls refused without running.
    pub rejected: u64,
    /// Calls timed for slow-call detection (zero when it is off: the fast
    /// path reads no precise clock).
    pub timed_calls: u64,
    /// The time those calls took, together.
    pub time_in_timed_calls: Duration,
    /// Changes into each state, in [`State::ALL`] order.
    pub(crate) entered: [u64; 6],
}

impl BreakerCounters {
    /// Changes into `state` since the breaker was built (a change to the
    /// state it was in, re-entered quietly, does not count).
    pub fn entered(&self, state: State) -> u64 {
        self.entered[state.index()]
    }

    /// Adds another breaker's counts (a registry's sums).
    pub(crate) fn add(&mut self, other: BreakerCounters) {
        for (mine, theirs) in self.entered.iter_mut().zip(other.entered) {
            *mine += theirs;
        }
        self.successes += other.successes;
        self.failures += other.failures;
        self.ignored += other.ignored;
        self.slow += other.slow;
        self.rejected += other.rejected;
        self.timed_calls += other.timed_calls;
        self.time_in_timed_calls += other.time_in_timed_calls;
    }

    /// Calls that ran and were recorded: successes, failures and ignored.
    pub fn calls(&self) -> u64 {
        self.successes + self.failures + self.ignored
    }

    /// The mean duration of the timed calls, if any were timed.
    pub fn mean_call_duration(&self) -> Option<Duration> {
        if self.timed_calls == 0 {
            return None;
        }
        let mean = self.time_in_timed_calls.as_nanos() / u128::from(self.timed_calls);
        Some(Duration::from_nanos(
            u64::try_from(mean).unwrap_or(u64::MAX),
        ))
    }
}
