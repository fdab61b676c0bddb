//! One stream of state changes from every policy, feeding logs and metrics.
//!
//! Policies report what changes about them (a breaker opening, later a retry
//! giving up or a child restarting) as an [`Event`]; never one event per call.
//! Per-call counts live in each policy's own counters and are read as
//! snapshots (for example `CircuitBreaker::metrics`).
//!
//! Each policy holds its [`Subscribers`]: the built-in [`LogEvents`] (feature
//! `tracing`, on by default) plus any closures or [`Subscriber`] impls you
//! add. When there is nobody to tell, emitting an event costs one branch: the
//! event is not even built.
//!
//! Events are nested by area (`Event::Breaker(..)`), each carrying the
//! component's name and a wall-clock timestamp.
//!
//! # Examples
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use mend::breaker::CircuitBreaker;
//! use mend::observe::Event;
//!
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let sink = seen.clone();
//! let breaker = CircuitBreaker::builder("payments")
//!     .consecutive_failures(1)
//!     .on_event(move |event: &Event| sink.lock().unwrap().push(event.to_string()))
//!     .build()?;
//! let _ = breaker.call(|| Err::<(), _>("down"));
//! assert_eq!(seen.lock().unwrap().len(), 1);
//! # Ok::<(), mend::breaker::BuildError>(())
//! ```

mod log;

use std::fmt;
use std::sync::Arc;

use crate::clock::Timestamp;

pub use crate::breaker::BreakerEvent;
pub use crate::retry::{RetryEvent, RetryEventKind};
pub use log::LogEvents;

/// A state change in one of mend's policies.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A circuit breaker changed state.
    Breaker(BreakerEvent),
    /// A retry scheduled another attempt, or gave up.
    Retry(RetryEvent),
}

impl Event {
    /// The name of the component the event is about.
    pub fn name(&self) -> &str {
        match self {
            Event::Breaker(e) => &e.name,
            Event::Retry(e) => &e.name,
        }
    }

    /// When it happened (wall clock of the policy's [`Clock`](crate::clock::Clock)).
    pub fn at(&self) -> Timestamp {
        match self {
            Event::Breaker(e) => e.at,
            Event::Retry(e) => e.at,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Breaker(e) => e.fmt(f),
            Event::Retry(e) => e.fmt(f),
        }
    }
}

/// Something that wants to hear about [`Event`]s.
///
/// Called synchronously, outside any lock of the policy, on the thread that
/// caused the change: keep it short (push to a channel for slow work).
pub trait Subscriber: Send + Sync + 'static {
    /// Called once per event.
    fn on_event(&self, event: &Event);
}

impl<F> Subscriber for F
where
    F: Fn(&Event) + Send + Sync + 'static,
{
    fn on_event(&self, event: &Event) {
        self(event)
    }
}

/// The subscribers of one policy.
///
/// Cloning is cheap (one `Arc`); a new set logs through `tracing` when the
/// `tracing` feature is on and has no other subscriber.
#[derive(Clone)]
pub struct Subscribers {
    log: bool,
    others: Option<Arc<[Arc<dyn Subscriber>]>>,
}

impl Subscribers {
    /// Logging on (with feature `tracing`), nobody else.
    pub fn new() -> Self {
        Subscribers {
            log: cfg!(feature = "tracing"),
            others: None,
        }
    }

    /// Nobody at all: events are never built.
    pub fn none() -> Self {
        Subscribers {
            log: false,
            others: None,
        }
    }

    /// Turns the built-in `tracing` log on or off.
    pub fn set_logging(&mut self, on: bool) {
        self.log = on && cfg!(feature = "tracing");
    }

    /// Adds a subscriber.
    pub fn push(&mut self, subscriber: impl Subscriber) {
        let mut all: Vec<Arc<dyn Subscriber>> = self
            .others
            .as_deref()
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        all.push(Arc::new(subscriber));
        self.others = Some(all.into());
    }

    /// True when an emitted event would reach no one.
    #[inline]
    pub fn is_empty(&self) -> bool {
        !self.log && self.others.is_none()
    }

    /// Builds the event with `make` and hands it to every subscriber, unless
    /// there are none, in which case `make` is never called.
    #[inline]
    pub fn emit(&self, make: impl FnOnce() -> Event) {
        if self.is_empty() {
            return;
        }
        self.deliver(&make());
    }

    fn deliver(&self, event: &Event) {
        if self.log {
            LogEvents.on_event(event);
        }
        for subscriber in self.others.iter().flat_map(|list| list.iter()) {
            subscriber.on_event(event);
        }
    }
}

impl Default for Subscribers {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Subscribers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscribers")
            .field("log", &self.log)
            .field("others", &self.others.as_ref().map_or(0, |l| l.len()))
            .finish()
    }
}
