//! [`ManualClock`]: time that moves only when a test says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{Clock, Tick, Timestamp, duration_nanos};

/// A clock that moves only when told to: for deterministic sync tests.
///
/// Clones share one time, so a test keeps a clone and advances it while the
/// policy under test reads the other. Coarse and precise readings are equal.
/// Wall time starts at 2026-01-01T00:00:00Z and moves with the monotonic time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let policy_view = clock.clone();
/// let before = policy_view.coarse();
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(policy_view.coarse() - before, Duration::from_secs(5));
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

/// Where a new [`ManualClock`]'s monotonic time starts: one hour in, so that
/// code subtracting a window from "now" never underflows in tests.
const MANUAL_START: Tick = Tick::from_nanos(3_600 * 1_000_000_000);
/// 2026-01-01T00:00:00Z, the wall time of a new [`ManualClock`].
const MANUAL_WALL_START: Timestamp = Timestamp::from_unix_nanos(1_767_225_600 * 1_000_000_000);

impl ManualClock {
    /// A clock stopped at its starting time.
    pub fn new() -> Self {
        ManualClock {
            nanos: Arc::new(AtomicU64::new(MANUAL_START.as_nanos())),
        }
    }

    /// Moves time forward by `by`, for this clock and all its clones.
    pub fn advance(&self, by: Duration) {
        let by = duration_nanos(by);
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Time elapsed since the clock was created.
    pub fn elapsed(&self) -> Duration {
        self.precise() - MANUAL_START
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn coarse(&self) -> Tick {
        Tick::from_nanos(self.nanos.load(Ordering::Acquire))
    }

    fn precise(&self) -> Tick {
        Tick::from_nanos(self.nanos.load(Ordering::Acquire))
    }

    fn wall(&self) -> Timestamp {
        MANUAL_WALL_START.saturating_add(self.elapsed())
    }
}
