//! How a sync retry waits between attempts.
//!
//! [`ThreadSleep`] (the default) blocks the thread; [`ManualSleep`] only
//! advances a [`ManualClock`], so sync tests of retries take no real time.
//! Async retries sleep on tokio's timer instead (feature `tokio`), which
//! paused-time tests control.

use std::fmt;
use std::time::Duration;

use crate::clock::ManualClock;

/// Waits for a while on the calling thread.
pub trait Sleep: fmt::Debug + Send + Sync + 'static {
    /// Returns after `duration` has passed.
    fn sleep(&self, duration: Duration);
}

/// Blocks the thread with `std::thread::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadSleep;

impl Sleep for ThreadSleep {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place a sync retry really waits"
    )]
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// "Sleeps" by advancing a [`ManualClock`]: for tests.
#[derive(Debug, Clone)]
pub struct ManualSleep(pub ManualClock);

impl Sleep for ManualSleep {
    fn sleep(&self, duration: Duration) {
        self.0.advance(duration);
    }
}
