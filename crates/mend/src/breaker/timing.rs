//! How long timed calls took, for `counters()`: only when slow-call
//! detection is on, since only then is a call timed (two precise clock
//! readings); otherwise nothing is allocated and nothing is counted.

use std::time::Duration;

use crate::clock::duration_nanos;
use crate::tally::Tally;

const CALLS: usize = 0;
const NANOS: usize = 1;

/// Timed calls and their total duration, on per-thread stripes.
#[derive(Debug)]
pub(crate) struct Timing(Option<Tally<2>>);

impl Timing {
    /// Counters when calls are timed; nothing otherwise.
    pub(crate) fn new(timed: bool) -> Self {
        Timing(timed.then(Tally::new))
    }

    /// One timed call that took `took`.
    #[inline]
    pub(crate) fn add(&self, took: Duration) {
        if let Some(tally) = &self.0 {
            tally.add(CALLS);
            tally.add_n(NANOS, duration_nanos(took));
        }
    }

    /// Timed calls, and the time they took together.
    pub(crate) fn totals(&self) -> (u64, Duration) {
        let Some(tally) = &self.0 else {
            return (0, Duration::ZERO);
        };
        let nanos = tally.get_wide(NANOS);
        let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
        let subsec = (nanos % 1_000_000_000) as u32;
        (tally.get(CALLS), Duration::new(secs, subsec))
    }
}
