//! The bulkhead's builder, which checks its settings.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::super::episode::Reporter;
use super::super::event::LimitKind;
use super::Bulkhead;
use super::slots::Slots;
use crate::clock::{Clock, SystemClock};
use crate::config::{Checks, ConfigError};
use crate::observe::{Subscriber, Subscribers};
use crate::tally::Tally;

/// Builds a [`Bulkhead`]; made by [`Bulkhead::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build()`"]
pub struct BulkheadBuilder<C = SystemClock> {
    name: Arc<str>,
    max_concurrent: usize,
    max_queue: usize,
    max_wait: Duration,
    clock: C,
    subscribers: Subscribers,
}

impl BulkheadBuilder {
    pub(super) fn new(name: &str) -> Self {
        BulkheadBuilder {
            name: name.into(),
            max_concurrent: 0,
            max_queue: 0,
            max_wait: Duration::ZERO,
            clock: SystemClock,
            subscribers: Subscribers::new(),
        }
    }
}

impl<C> BulkheadBuilder<C> {
    /// The most calls at once, and the most waiters in the queue.
    pub const MAX_CALLS: usize = 1_000_000;
}

// The slots' word counts the calls in flight in a field of its own.
const _: () = assert!(BulkheadBuilder::<SystemClock>::MAX_CALLS <= super::slots::MAX_SLOTS);

impl<C: Clock> BulkheadBuilder<C> {
    /// At most `calls` at once (required; 1 to [`MAX_CALLS`](Self::MAX_CALLS)).
    pub fn max_concurrent(mut self, calls: usize) -> Self {
        self.max_concurrent = calls;
        self
    }

    /// Up to `waiters` callers (0 to [`MAX_CALLS`](Self::MAX_CALLS)) wait
    /// for a slot, each for at most `max_wait`.
    pub fn queue(mut self, waiters: usize, max_wait: Duration) -> Self {
        self.max_queue = waiters;
        self.max_wait = max_wait;
        self
    }

    /// Measures sync queue waits with `clock`.
    pub fn clock<C2: Clock>(self, clock: C2) -> BulkheadBuilder<C2> {
        BulkheadBuilder {
            name: self.name,
            max_concurrent: self.max_concurrent,
            max_queue: self.max_queue,
            max_wait: self.max_wait,
            clock,
            subscribers: self.subscribers,
        }
    }

    /// Adds a subscriber to this bulkhead's events.
    pub fn on_event(mut self, subscriber: impl Subscriber) -> Self {
        self.subscribers.push(subscriber);
        self
    }

    /// Turns off the built-in `tracing` log of this bulkhead's events.
    pub fn without_logging(mut self) -> Self {
        self.subscribers.set_logging(false);
        self
    }

    /// Checks the settings and builds the bulkhead.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for `max_concurrent` or the queue's size out of
    /// range, or a queue with a zero wait.
    pub fn build(self) -> Result<Bulkhead<C>, ConfigError> {
        let check = Checks::named("bulkhead", &self.name);
        check.count(
            "max_concurrent",
            self.max_concurrent,
            1,
            Self::MAX_CALLS,
            "calls",
        )?;
        check.count("queue", self.max_queue, 0, Self::MAX_CALLS, "waiters")?;
        if self.max_queue > 0 {
            check.positive("queue", self.max_wait)?;
        }
        Ok(Bulkhead {
            reporter: Reporter::new(self.name, LimitKind::Bulkhead, self.subscribers),
            max_concurrent: self.max_concurrent,
            max_queue: self.max_queue,
            max_wait: self.max_wait,
            slots: Slots::default(),
            queued: AtomicUsize::new(0),
            rejected: Tally::new(),
            ever_queued: AtomicU64::new(0),
            lock: Mutex::new(()),
            wake_sync: Condvar::new(),
            #[cfg(feature = "tokio")]
            wake_async: tokio::sync::Notify::new(),
            clock: self.clock,
        })
    }
}
