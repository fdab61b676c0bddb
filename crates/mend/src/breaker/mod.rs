//! Circuit breaker: stop calling a dependency that keeps failing, give it
//! time to recover, then try it again carefully.
//!
//! A breaker sits in front of calls to one dependency. While **closed** it
//! lets calls through and records their outcomes in a sliding window. When,
//! with at least `minimum_calls` recorded, the failure rate or the slow-call
//! rate reaches its threshold, it **opens**: calls are rejected at once with
//! [`Rejected::Open`](crate::Rejected::Open), without touching the
//! dependency, for `wait_in_open`. Then it goes **half-open** and admits
//! exactly `half_open_calls` trial calls (the rest are still rejected, so a
//! recovering dependency is not stampeded); their rates decide: closed again,
//! or open for another, possibly longer, wait. These are Resilience4j's
//! semantics; [`Builder::consecutive_failures`] gives failsafe's simpler
//! "N failures in a row" instead.
//!
//! Manual states: [`force_open`](CircuitBreaker::force_open) (reject
//! everything), [`disable`](CircuitBreaker::disable) (let everything
//! through, record nothing), [`metrics_only`](CircuitBreaker::metrics_only)
//! (record, never act), and [`reset`](CircuitBreaker::reset) back to a fresh
//! closed breaker. Every change of state is an
//! [`Event::Breaker`](crate::observe::Event::Breaker).
//!
//! # Choosing settings
//!
//! - **Window.** A count window (`count_window(100)`) reacts to the last N
//!   calls whatever the traffic; a time window (`time_window(60 s)`) to the
//!   last N seconds, which suits bursty traffic and forgets old failures
//!   even when calls stop. Make `minimum_calls` large enough that a couple
//!   of unlucky calls cannot open the breaker on their own.
//! - **Threshold.** 50 % failures is the usual start; set the slow-call
//!   threshold with a `slow_call_duration` a little above your latency
//!   target to shed load from a dependency that hangs rather than fails.
//! - **Waits.** `wait_in_open` should be about how long the dependency takes
//!   to recover; `wait_in_open_growing` backs off further each time trials
//!   fail. `max_wait_in_half_open` reopens a breaker whose trials never
//!   report back.
//! - **Classification.** By default every `Err` is a failure; ignore the
//!   errors that are the caller's fault with [`Builder::classify`].
//!
//! # Calls that outlive a state
//!
//! A call's outcome is recorded only if the breaker is still in the state
//! (the same episode of it) that admitted the call. A call admitted while
//! closed that finishes after the breaker opened and closed again is not
//! counted: the conditions it was admitted under are gone.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use mend::breaker::CircuitBreaker;
//!
//! let breaker = CircuitBreaker::builder("db")
//!     .time_window(Duration::from_secs(30))
//!     .minimum_calls(20)
//!     .failure_rate_threshold(50.0)
//!     .slow_call_duration(Duration::from_millis(500))
//!     .wait_in_open_growing(Duration::from_secs(5), 2.0, Duration::from_secs(120))
//!     .half_open_calls(3)
//!     .build()?;
//!
//! match breaker.call(|| query()) {
//!     Ok(rows) => println!("{rows} rows"),
//!     Err(mend::Error::Rejected(why)) => println!("not called: {why}"),
//!     Err(e) => println!("query failed: {e}"),
//! }
//! # fn query() -> Result<u32, std::io::Error> { Ok(3) }
//! # Ok::<(), mend::breaker::BuildError>(())
//! ```

mod config;
mod event;
mod permit;
mod state;
mod window;

use std::fmt;
use std::future::Future;

pub use config::{BuildError, Builder, WindowKind};
pub use event::BreakerEvent;
pub use permit::Permit;
pub use state::{Metrics, State};

use crate::classify::{Classify, DefaultClassify, Outcome};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Rejected};
use crate::observe::{Event, Subscribers};
use crate::sync::Mutex;
use config::Config;
use state::{Admission, Machine, Transition};

/// A circuit breaker guarding one dependency. See the [module docs](self).
///
/// Share it between threads by reference or in an `Arc`; every method takes
/// `&self`.
pub struct CircuitBreaker<C = SystemClock, K = DefaultClassify> {
    config: Config,
    machine: Mutex<Machine>,
    clock: C,
    classify: K,
    subscribers: Subscribers,
}

impl CircuitBreaker {
    /// Starts building a breaker called `name` (used in events and metrics).
    pub fn builder(name: &str) -> Builder {
        Builder::new(name)
    }
}

impl<C: Clock, K> CircuitBreaker<C, K> {
    pub(crate) fn from_parts(
        config: Config,
        clock: C,
        classify: K,
        subscribers: Subscribers,
    ) -> Self {
        CircuitBreaker {
            machine: Mutex::new(Machine::new(&config)),
            config,
            clock,
            classify,
            subscribers,
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Asks to make one call.
    ///
    /// # Errors
    ///
    /// [`Rejected::Open`] when the breaker is open (with the time left to
    /// wait), forced open (`Duration::MAX`), or half-open with every trial
    /// slot taken (zero).
    pub fn try_acquire(&self) -> Result<Permit<'_, C, K>, Rejected> {
        let now = self.clock.coarse();
        let (result, transition) = self.machine.lock().acquire(&self.config, now);
        self.announce(transition);
        result.map(|admission| Permit::new(self, admission))
    }

    /// Runs `f` if the breaker admits it, and records its outcome.
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] if the breaker refused (`f` did not run),
    /// [`Error::Inner`] with `f`'s own error otherwise.
    pub fn call<T, E, F>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Result<T, E>,
        K: Classify<T, E>,
    {
        let permit = self.try_acquire()?;
        let result = f();
        permit.record_result(&result);
        result.map_err(Error::Inner)
    }

    /// Runs the future `f` makes if the breaker admits it, and records its
    /// outcome. If the returned future is dropped before it finishes, the
    /// call counts as ignored and any trial slot it held is given back.
    ///
    /// # Errors
    ///
    /// As [`call`](CircuitBreaker::call).
    pub async fn call_async<T, E, F, Fut>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
    {
        let permit = self.try_acquire()?;
        let result = f().await;
        permit.record_result(&result);
        result.map_err(Error::Inner)
    }

    /// The current state (moving to half-open first if the open wait is
    /// over, or back to open if half-open's limit has passed).
    pub fn state(&self) -> State {
        let now = self.clock.coarse();
        let (state, transition) = self.machine.lock().poll(&self.config, now);
        self.announce(transition);
        state
    }

    /// A snapshot of the counters.
    pub fn metrics(&self) -> Metrics {
        let now = self.clock.coarse();
        let mut machine = self.machine.lock();
        let (_, transition) = machine.poll(&self.config, now);
        let metrics = machine.metrics(&self.config, now);
        drop(machine);
        self.announce(transition);
        metrics
    }

    /// Back to a fresh closed breaker: window cleared, open wait back to its
    /// base.
    pub fn reset(&self) {
        self.force(State::Closed);
    }

    /// Rejects every call until [`reset`](Self::reset) or another manual state.
    pub fn force_open(&self) {
        self.force(State::ForcedOpen);
    }

    /// Lets every call through and records nothing, until
    /// [`reset`](Self::reset) or another manual state.
    pub fn disable(&self) {
        self.force(State::Disabled);
    }

    /// Records every call but never changes state on its own.
    pub fn metrics_only(&self) {
        self.force(State::MetricsOnly);
    }

    fn force(&self, to: State) {
        let now = self.clock.coarse();
        let transition = self.machine.lock().enter(&self.config, to, now);
        self.announce(Some(transition));
    }

    fn record(&self, admission: Admission, outcome: Outcome, slow: bool) {
        let now = self.clock.coarse();
        let transition = self
            .machine
            .lock()
            .record(&self.config, now, admission, outcome, slow);
        self.announce(transition);
    }

    fn announce(&self, transition: Option<Transition>) {
        let Some(t) = transition else { return };
        self.subscribers.emit(|| {
            Event::Breaker(BreakerEvent {
                name: self.config.name.clone(),
                at: self.clock.wall(),
                from: t.from,
                to: t.to,
                rejected: t.rejected,
            })
        });
    }
}

impl<C: Clock, K> fmt::Debug for CircuitBreaker<C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.config.name)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}
