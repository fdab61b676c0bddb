//! The bulkhead's builder, which checks its settings.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::Bulkhead;
use crate::clock::{Clock, SystemClock};
use crate::limit::BuildError;
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
}

impl BulkheadBuilder {
    pub(super) fn new(name: &str) -> Self {
        BulkheadBuilder {
            name: name.into(),
            max_concurrent: 0,
            max_queue: 0,
            max_wait: Duration::ZERO,
            clock: SystemClock,
        }
    }
}

impl<C: Clock> BulkheadBuilder<C> {
    /// At most `calls` at once (required).
    pub fn max_concurrent(mut self, calls: usize) -> Self {
        self.max_concurrent = calls;
        self
    }

    /// Up to `waiters` callers wait for a slot, each for at most `max_wait`.
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
        }
    }

    /// Checks the settings and builds the bulkhead.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] for zero `max_concurrent`, or a queue with a zero
    /// wait.
    pub fn build(self) -> Result<Bulkhead<C>, BuildError> {
        let fail = |field, value: String, expected| BuildError {
            limit: format!("bulkhead `{}`", self.name),
            field,
            value,
            expected,
        };
        if self.max_concurrent == 0 {
            return Err(fail("max_concurrent", "0".into(), "at least 1 call"));
        }
        if self.max_queue > 0 && self.max_wait.is_zero() {
            return Err(fail("queue", "a zero wait".into(), "a positive max_wait"));
        }
        Ok(Bulkhead {
            name: self.name,
            max_concurrent: self.max_concurrent,
            max_queue: self.max_queue,
            max_wait: self.max_wait,
            in_flight: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            tally: Tally::new(),
            ever_queued: AtomicU64::new(0),
            lock: Mutex::new(()),
            wake_sync: Condvar::new(),
            #[cfg(feature = "tokio")]
            wake_async: tokio::sync::Notify::new(),
            clock: self.clock,
        })
    }
}
