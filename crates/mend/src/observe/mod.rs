//! One stream of state changes from every policy, feeding logs and metrics.
//!
//! Policies report what changes about them (a breaker opening, a check
//! turning unhealthy, a child restarting) as events; never one event per
//! call. Per-call counts live in each policy's own counters and are read as
//! snapshots (for example [`CircuitBreaker::counters`](crate::breaker::CircuitBreaker::counters)).
//!
//! Each area owns its event type ([`BreakerEvent`](crate::breaker::BreakerEvent),
//! [`RetryEvent`](crate::retry::RetryEvent), ...) and implements
//! [`AreaEvent`] for it: its component's name, its time, its [`Level`], how
//! it reads, and how it is logged. This module knows no area: subscribers
//! receive any of them as an [`Event`] (`dyn AreaEvent`) and look at the
//! concrete type with `event.downcast_ref::<BreakerEvent>()` when they care.
//!
//! Each policy holds its [`Subscribers`]: the built-in [`LogEvents`] (feature
//! `tracing`, on by default) plus any closures or [`Subscriber`] impls you
//! add. When there is nobody to tell, emitting an event costs one branch: the
//! event is not even built. Building one allocates nothing; keep one with
//! [`to_arc`](ToArc::to_arc).
//!
//! # Examples
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use mend::breaker::{BreakerEvent, CircuitBreaker, State};
//! use mend::observe::Event;
//!
//! let opened = Arc::new(Mutex::new(Vec::new()));
//! let sink = opened.clone();
//! let breaker = CircuitBreaker::builder("payments")
//!     .consecutive_failures(1)
//!     .on_event(move |event: &Event| {
//!         // Any area's event reads and logs the same way...
//!         println!("{}: {event}", event.level());
//!         // ...and a subscriber can look at the one it cares about.
//!         if let Some(change) = event.downcast_ref::<BreakerEvent>() {
//!             if change.to == State::Open {
//!                 sink.lock().unwrap().push(change.name.to_string());
//!             }
//!         }
//!     })
//!     .build()?;
//! let _ = breaker.call(|| Err::<(), _>("down"));
//! assert_eq!(*opened.lock().unwrap(), ["payments"]);
//! # Ok::<(), mend::ConfigError>(())
//! ```

mod log;
mod throttle;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::clock::Timestamp;

pub use log::LogEvents;
pub(crate) use log::in_span;
#[cfg(feature = "tracing")]
pub(crate) use log::log_at;
pub(crate) use throttle::LineThrottle;

/// How much an event matters to an operator, from most to least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Something is broken and will not heal by itself.
    Error,
    /// Something failed, or was shut off to protect it (a breaker opened).
    Warn,
    /// Something recovered or changed as expected (a breaker healed).
    Info,
    /// Detail for debugging (a retry scheduled).
    Debug,
    /// Finer detail still.
    Trace,
}

impl Level {
    /// The level's name in lowercase: `"warn"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What every area's event offers. Implement it for a new area's event type;
/// nothing in this module changes.
pub trait AreaEvent: fmt::Display + fmt::Debug + Send + Sync + Any + ToArc {
    /// The area it comes from: `"breaker"`, `"retry"`, ...
    fn area(&self) -> &'static str;

    /// The name of the component it is about (a breaker's name, a check's).
    fn component(&self) -> &str;

    /// When it happened (wall clock of the component's
    /// [`Clock`](crate::clock::Clock)).
    fn at(&self) -> Timestamp;

    /// How much it matters.
    fn level(&self) -> Level;

    /// Writes it to `tracing` as one structured line (called by
    /// [`LogEvents`]). The default writes the display at [`level`](Self::level)
    /// with the area and component as fields; areas override it to add
    /// their own fields or to thin out lines.
    fn log(&self) {
        log::write(self.level(), self.area(), self.component(), &self);
    }
}

/// An event of any area, as subscribers receive it.
pub type Event = dyn AreaEvent;

impl Event {
    /// The event as its concrete type, if it is one.
    pub fn downcast_ref<T: AreaEvent>(&self) -> Option<&T> {
        (self as &dyn Any).downcast_ref::<T>()
    }

    /// True if the event is of type `T`.
    pub fn is<T: AreaEvent>(&self) -> bool {
        (self as &dyn Any).is::<T>()
    }
}

/// Makes a shared copy of an event, to keep it past the subscriber's call.
/// Implemented for every [`AreaEvent`] that is `Clone`.
pub trait ToArc {
    /// A shared copy of the event.
    fn to_arc(&self) -> Arc<Event>;
}

impl<T: AreaEvent + Clone> ToArc for T {
    fn to_arc(&self) -> Arc<Event> {
        Arc::new(self.clone())
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
    pub fn emit<E: AreaEvent>(&self, make: impl FnOnce() -> E) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An area this module has never heard of.
    #[derive(Debug, Clone, PartialEq)]
    struct Boiler {
        pressure: u32,
    }

    impl fmt::Display for Boiler {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "boiler at {} bar", self.pressure)
        }
    }

    impl AreaEvent for Boiler {
        fn area(&self) -> &'static str {
            "boiler"
        }
        fn component(&self) -> &str {
            "basement"
        }
        fn at(&self) -> Timestamp {
            Timestamp::from_unix_nanos(7)
        }
        fn level(&self) -> Level {
            Level::Warn
        }
    }

    #[test]
    fn a_new_area_joins_without_this_module_knowing_it() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut subscribers = Subscribers::none();
        let sink = seen.clone();
        subscribers.push(move |event: &Event| sink.lock().unwrap().push(event.to_arc()));
        subscribers.emit(|| Boiler { pressure: 3 });
        let seen = seen.lock().unwrap();
        let event = &seen[0];
        assert_eq!(event.to_string(), "boiler at 3 bar");
        assert_eq!((event.area(), event.component()), ("boiler", "basement"));
        assert_eq!(event.level(), Level::Warn);
        assert_eq!(
            event.downcast_ref::<Boiler>(),
            Some(&Boiler { pressure: 3 })
        );
        assert!(!event.is::<crate::breaker::BreakerEvent>());
    }

    #[test]
    fn nobody_listening_means_nothing_is_built() {
        Subscribers::none().emit(|| -> Boiler { panic!("built an event nobody hears") });
    }
}
