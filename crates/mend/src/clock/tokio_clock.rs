//! [`TokioClock`]: mend's clock read from tokio's, so paused-time tests move
//! policies.

use std::time::Duration;

use super::{Clock, SystemClock, Tick, Timestamp};

/// A clock that reads tokio's time, so that paused-time tests
/// (`#[tokio::test(start_paused = true)]`, `tokio::time::advance`) move
/// every policy that uses it.
///
/// Readings are the system's monotonic time at creation plus what tokio
/// says has elapsed since; wall time moves the same way. Outside paused
/// time it behaves like [`SystemClock`] at the cost
/// of a precise reading for every call.
///
/// # Panics
///
/// Reading it outside a tokio runtime with paused time is fine; creating
/// it under paused time requires the runtime's context, as
/// `tokio::time::Instant::now` does.
#[derive(Clone, Copy, Debug)]
pub struct TokioClock {
    origin: tokio::time::Instant,
    origin_tick: Tick,
    origin_wall: Timestamp,
}

impl TokioClock {
    /// A clock anchored at tokio's "now".
    pub fn new() -> Self {
        TokioClock {
            origin: tokio::time::Instant::now(),
            origin_tick: SystemClock.precise(),
            origin_wall: SystemClock.wall(),
        }
    }

    fn elapsed(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.origin)
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn coarse(&self) -> Tick {
        self.origin_tick + self.elapsed()
    }

    fn precise(&self) -> Tick {
        self.origin_tick + self.elapsed()
    }

    fn wall(&self) -> Timestamp {
        self.origin_wall.saturating_add(self.elapsed())
    }
}
