//! How long timed calls took, for `counters()`: only when slow-call
//! detection is on, since only then is a call timed (two precise clock
//! readings); otherwise nothing is allocated and nothing is counted.

use std::time::Duration;

use crate::clock::duration_nanos;
use crate::tally::Tally;

const CALLS: usize = 0;
const NANOS: usize = 1;

/// Timed calls and their total duration, on per-thread stripes; with the
/// `metrics` feature, a histogram of them too (bound to the recorder
/// installed when the breaker was built).
pub(crate) struct Timing {
    tally: Option<Tally<2>>,
    #[cfg(feature = "metrics")]
    histogram: Option<::metrics::Histogram>,
}

impl std::fmt::Debug for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timing")
            .field("timed", &self.tally.is_some())
            .finish()
    }
}

impl Timing {
    /// Counters when calls are timed; nothing otherwise.
    pub(crate) fn new(timed: bool, name: &str) -> Self {
        let _ = name;
        Timing {
            tally: timed.then(Tally::new),
            #[cfg(feature = "metrics")]
            histogram: timed.then(|| super::metrics::call_duration_histogram(name)),
        }
    }

    /// One timed call that took `took`.
    #[inline]
    pub(crate) fn add(&self, took: Duration) {
        if let Some(tally) = &self.tally {
            tally.add(CALLS);
            tally.add_n(NANOS, duration_nanos(took));
        }
        #[cfg(feature = "metrics")]
        if let Some(histogram) = &self.histogram {
            histogram.record(took.as_secs_f64());
        }
    }

    /// Timed calls, and the time they took together.
    pub(crate) fn totals(&self) -> (u64, Duration) {
        let Some(tally) = &self.tally else {
            return (0, Duration::ZERO);
        };
        let nanos = tally.get_wide(NANOS);
        let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
        let subsec = (nanos % 1_000_000_000) as u32;
        (tally.get(CALLS), Duration::new(secs, subsec))
    }
}
