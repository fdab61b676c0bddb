//! Circuit breaker: stop calling a dependency that keeps failing, give it
//! time to recover, then try it again carefully.
//!
//! A breaker sits in front of calls to one dependency. While **closed** it
//! lets calls through and records their outcomes in a sliding window. When,
//! with at least `minimum_calls` recorded, the failure rate or the slow-call
//! rate reaches its threshold, it **opens**: calls are rejected at once with
//! [`Rejected::Open`], without touching the
//! dependency, for `wait_in_open`. Then it goes **half-open** and admits
//! exactly `half_open_calls` trial calls (the rest are still rejected, so a
//! recovering dependency is not stampeded); their rates decide: closed again,
//! or open for another, possibly longer, wait. These are Resilience4j's
//! semantics; [`CircuitBreakerBuilder::consecutive_failures`] gives failsafe's simpler
//! "N failures in a row" instead.
//!
//! Manual states: [`force_open`](CircuitBreaker::force_open) (reject
//! everything), [`disable`](CircuitBreaker::disable) (let everything
//! through, record nothing), [`metrics_only`](CircuitBreaker::metrics_only)
//! (record, never act), and [`reset`](CircuitBreaker::reset) back to a fresh
//! closed breaker; the automatic states on demand:
//! [`open`](CircuitBreaker::open), [`open_for`](CircuitBreaker::open_for),
//! [`open_until`](CircuitBreaker::open_until),
//! [`half_open`](CircuitBreaker::half_open), [`close`](CircuitBreaker::close)
//! (an illegal one, such as half-open from closed, is an error). A
//! classifier can open it for as long as a result says
//! ([`Outcome::OpenFor`](crate::classify::Outcome::OpenFor): "banned for
//! 60 s"), and a breaker can start in another state than closed
//! ([`initial_state`](CircuitBreakerBuilder::initial_state)).
//!
//! # Time
//!
//! Time-driven transitions (the open wait over, half-open's limit reached)
//! happen when the breaker is next touched: a call, a recorded result, a
//! manual transition. There is no timer thread. [`state`](CircuitBreaker::state)
//! and [`metrics`](CircuitBreaker::metrics) report what a call would find
//! without moving it, and the transition's event is stamped with the time of
//! the touch that moved it, not with the moment the wait ran out. A result
//! that reports after half-open's limit finds the breaker already moved on
//! and is not counted.
//!
//! # Where mend differs from Resilience4j
//!
//! - `reset()` announces one event (a transition with
//!   [`BreakerEvent::reset`] set), where Resilience4j announces a
//!   transition and a separate reset event.
//! - Moving to the state the breaker is in re-enters it quietly, as
//!   Resilience4j's internal transitions, and `reset` is announced even
//!   from closed.
//!
//! Every change of state is a [`BreakerEvent`] to the breaker's subscribers
//! ([`observe`](crate::observe)), and [`counters`](CircuitBreaker::counters)
//! counts every call by outcome.
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
//!   errors that are the caller's fault with [`CircuitBreakerBuilder::classify`].
//!
//! # Cost
//!
//! A closed breaker's success takes no lock and allocates nothing: one load
//! of a shared word the breaker republishes on every change, and a counter
//! that only the calling thread writes (its own stripe, on its own cache
//! line), so threads sharing a breaker do not slow each other down. A time
//! window adds one coarse clock reading per success (to pick the second's
//! bucket); slow-call detection adds two precise readings per call. Open
//! breakers reject without a lock too. Failures, trials and transitions take
//! a lock.
//!
//! For a count window, "the last N calls" across threads has no single
//! order; mend keeps it exact rather than approximate: successes counted on
//! the stripes are folded into the window, as the calls before it, whenever
//! a failure (or a snapshot) takes the lock, so a success that raced a
//! failure simply lands on one side of it. The price is paid by failures
//! (each folds the successes since the last one), not by successes, which
//! scale as well as a time window's.
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
//! # Ok::<(), mend::ConfigError>(())
//! ```

mod builder;
mod config;
mod controls;
mod event;
mod gate;
mod machine;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
mod paths;
mod permit;
mod reads;
mod recorder;
mod registry;
mod state;
mod time_tally;
mod timing;
mod window;

#[cfg(all(test, loom))]
mod loom_models;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use builder::CircuitBreakerBuilder;
pub use event::BreakerEvent;
pub use machine::IllegalTransition;
pub use permit::{OwnedPermit, Permit};
pub use registry::{BreakerRegistry, BreakerRegistryBuilder, RegistryFull};
pub use state::{BreakerCounters, Metrics, State};

use crate::classify::{Classify, DefaultClassify};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Rejected};
use crate::observe::Subscribers;
use crate::sync::Mutex;
use config::Config;
use gate::Gate;
use machine::Machine;
pub(crate) use permit::Ticket;
use recorder::Counters;

/// A field on its own pair of cache lines (128 bytes, against the
/// adjacent-line prefetcher). The gate is read by every call and the lock
/// word written by every locked operation; padded, neither shares a line
/// with the fields a success reads, so a failure on one thread does not
/// turn the next success on another into a cache miss.
#[repr(align(128))]
#[derive(Debug)]
struct Padded<T>(T);

/// A circuit breaker guarding one dependency. See the [module docs](self).
///
/// Share it between threads by reference or in an `Arc`; every method takes
/// `&self`. The closed state's success path and the open state's rejections
/// take no lock: one load of a shared word, and a counter only the calling
/// thread writes.
pub struct CircuitBreaker<C = SystemClock, K = DefaultClassify> {
    gate: Padded<Gate>,
    slow_call_duration: Option<Duration>,
    /// How long timed calls took (slow-call detection on only).
    timing: timing::Timing,
    /// Added to an open breaker's "retry after": it lets calls through by
    /// the coarse clock, which lags a precise one by up to this.
    coarse_lag: Duration,
    counters: Counters,
    clock: C,
    classify: K,
    machine: Padded<Mutex<Machine>>,
    config: Config,
    subscribers: Subscribers,
}

impl CircuitBreaker {
    /// Starts building a breaker called `name` (used in events and metrics).
    pub fn builder(name: &str) -> CircuitBreakerBuilder {
        CircuitBreakerBuilder::new(name)
    }
}

impl<C: Clock, K> CircuitBreaker<C, K> {
    /// A breaker with per-thread stripes (`owned` of them; zero for the
    /// compact form registries use).
    pub(crate) fn from_parts(
        config: Config,
        clock: C,
        classify: K,
        subscribers: Subscribers,
        owned_stripes: usize,
    ) -> Self {
        let counters = Counters::new(&config, owned_stripes);
        let mut machine = Machine::new(&config, &counters);
        let (word, until) = machine.gate(&config, &counters, clock.coarse());
        CircuitBreaker {
            gate: Padded(Gate::new(word, until)),
            slow_call_duration: config.slow_call_duration(),
            timing: timing::Timing::new(config.slow_call_duration().is_some(), &config.name),
            coarse_lag: clock.coarse_resolution(),
            counters,
            clock,
            classify,
            machine: Padded(Mutex::new(machine)),
            config,
            subscribers,
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Its classifier, for the tower layer's futures.
    #[cfg(feature = "tower")]
    pub(crate) fn classifier(&self) -> &K {
        &self.classify
    }

    /// Asks to make one call.
    ///
    /// # Errors
    ///
    /// [`Rejected::Open`] when the breaker is open (with the time left to
    /// wait) or half-open with every trial slot taken (zero);
    /// [`Rejected::ForcedOpen`] when it is forced open.
    #[inline(always)]
    pub fn try_acquire(&self) -> Result<Permit<'_, C, K>, Rejected> {
        self.admit().map(|ticket| Permit::new(self, ticket))
    }

    /// Asks to make one call, with a permit that keeps the breaker alive:
    /// one that can be moved into a spawned task or a `'static` future.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    #[inline]
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedPermit<C, K>, Rejected> {
        let ticket = self.admit()?;
        Ok(OwnedPermit::new(self, ticket))
    }

    /// The admission decision behind both permits.
    #[inline(always)]
    pub(crate) fn admit(&self) -> Result<Ticket, Rejected> {
        let gate = self.gate.0.load();
        if let Some(admission) = gate.admission() {
            return Ok(Ticket::new(self, admission));
        }
        match gate.state() {
            State::ForcedOpen => {
                self.counters.rejections.add(0);
                Err(Rejected::ForcedOpen)
            }
            State::Open => {
                let now = self.clock.coarse();
                let until = self.gate.0.until();
                if now < until {
                    let left = until - now;
                    // The coarse clock should lag by at most its
                    // resolution, which `retry_after` covers; on a loaded
                    // VM a kernel tick can run later still. So near the end
                    // of the wait (two lags) the precise clock decides: a
                    // caller who waited out `retry_after` by it is let
                    // through, and the wait is never shortened (the
                    // precise time must be a whole lag past the deadline).
                    if left > self.coarse_lag * 2 || self.clock.precise() < until + self.coarse_lag
                    {
                        self.counters.rejections.add(0);
                        return Err(Rejected::Open {
                            retry_after: left + self.coarse_lag,
                        });
                    }
                    return self.acquire_locked_at_deadline(until);
                }
                self.acquire_locked()
            }
            _ => self.acquire_locked(),
        }
    }

    /// Runs `f` if the breaker admits it, and records its outcome.
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] if the breaker refused (`f` did not run),
    /// [`Error::Inner`] with `f`'s own error otherwise.
    #[inline(always)]
    pub fn call<T, E, F>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Result<T, E>,
        K: Classify<T, E>,
    {
        // The common case (admitted by the gate, untimed) inline: the
        // admission is a small `Copy` word kept in registers (no permit is
        // built), and the caller's result goes from `f` to the return value
        // with nothing merged into it here. Every other case (rejections,
        // trials, timed calls) is a whole call out of line, which writes
        // its result where this one would: no 64-byte result is carried
        // through registers and spilled to join the rejection's.
        match self.gate.0.load().admission() {
            Some(admission) if self.slow_call_duration.is_none() => {
                let unwinding = paths::RecordOnUnwind {
                    breaker: self,
                    ticket: Ticket::untimed(admission),
                };
                let result = f();
                std::mem::forget(unwinding);
                if admission.records() {
                    self.record(admission, self.classify.outcome(&result), false);
                }
                match result {
                    Ok(value) => Ok(value),
                    Err(error) => Err(inner_error(error)),
                }
            }
            _ => self.call_cold(f),
        }
    }

    /// [`call`](Self::call) for every case the gate does not admit
    /// untimed: rejections, half-open trials, timed calls. A panic in `f`
    /// is recorded by the guard's drop on unwind.
    #[inline(never)]
    fn call_cold<T, E, F>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Result<T, E>,
        K: Classify<T, E>,
    {
        let ticket = self.admit().map_err(Error::Rejected)?;
        let unwinding = paths::RecordOnUnwind {
            breaker: self,
            ticket,
        };
        let result = f();
        std::mem::forget(unwinding);
        ticket.record(self, self.classify.outcome(&result)); // times the call if it must
        result.map_err(Error::Inner)
    }

    /// Runs the future `f` makes if the breaker admits it, and records its
    /// outcome. If the returned future is dropped before it finishes, the
    /// call counts as ignored and any trial slot it held is given back.
    ///
    /// The call runs in a `TRACE` span `mend.call` (fields `area`,
    /// `component`) when a `tracing` subscriber wants it; otherwise no span
    /// is made. (Sync calls carry no span: their success path stays a few
    /// nanoseconds.)
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
        let result = crate::observe::in_span("breaker", self.name(), f()).await;
        permit.record_result(&result);
        result.map_err(Error::Inner)
    }
}

/// The operation's own error, wrapped out of line: on the inline success
/// path the error's words are then not loaded ahead of the branch, which
/// would split the copy of a large `T` into pieces that straddle the
/// operation's own stores (a store-to-load forwarding stall each).
#[cold]
#[inline(never)]
fn inner_error<E>(error: E) -> Error<E> {
    Error::Inner(error)
}

impl<C: Clock, K> fmt::Debug for CircuitBreaker<C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The published state: formatting never moves the breaker.
        f.debug_struct("CircuitBreaker")
            .field("name", &self.config.name)
            .field("state", &self.gate.0.load().state())
            .finish_non_exhaustive()
    }
}
