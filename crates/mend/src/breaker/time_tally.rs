//! A time window's full count: the buckets kept under the lock plus the
//! successes the stripes counted per second, with the stripes' past seconds
//! cached so a failure costs one stripe scan, not one per second.
//!
//! Stripes only ever write the current second, so once a second is past its
//! stripe sums no longer change and are read once: the cache is refilled
//! when the locked path first runs in a new second. (A thread that read the
//! clock just before a second ended and counted just after can land a
//! success in a second already cached; it is picked up at the next refill, a
//! second later. Single-threaded, the counts are exact.)

use super::config::Config;
use super::recorder::{Counters, success_could_trip};
use super::window::{TimeWindow, Totals, second_of};
use crate::clock::Tick;

/// Marks the cache as stale.
const STALE: u64 = u64::MAX;

#[derive(Debug, Clone)]
pub(crate) struct TimeTally {
    window: TimeWindow,
    /// Stripe counts of seconds before `cleared_second` are not in the
    /// window; of that second, only what exceeds `cleared_counts`.
    cleared_second: u64,
    cleared_counts: Box<[u32]>,
    /// Stripe successes of each past second of the window, by
    /// `second % span`, as of second `cached_at`.
    past: Box<[u32]>,
    cached_at: u64,
    /// The totals the last [`totals`](Self::totals) returned, and when: the
    /// gate's arming, computed right after in the same locked operation,
    /// reuses them instead of reading every stripe again.
    last: Option<(Tick, Totals)>,
}

impl TimeTally {
    pub(crate) fn new(seconds: u32, counters: &Counters) -> Self {
        TimeTally {
            window: TimeWindow::new(seconds),
            cleared_second: 0,
            cleared_counts: counters.successes.at(0).collect(),
            past: vec![0; seconds as usize].into_boxed_slice(),
            cached_at: STALE,
            last: None,
        }
    }

    fn span(&self) -> u64 {
        self.window.seconds()
    }

    /// Records a call taken on the locked path.
    pub(crate) fn record(&mut self, now: Tick, failed: bool, slow: bool) {
        self.window.record(now, failed, slow);
        self.last = None;
    }

    /// Successes the stripes counted in `second` since the last clear.
    fn striped(&self, counters: &Counters, second: u64) -> u32 {
        if second < self.cleared_second {
            return 0;
        }
        let stripes = counters.successes.at(second);
        if second == self.cleared_second {
            stripes
                .zip(self.cleared_counts.iter())
                .map(|(now, then)| now.saturating_sub(*then))
                .sum()
        } else {
            stripes.sum()
        }
    }

    /// Fills the cache of past seconds for `current`, unless it holds them.
    fn refresh(&mut self, counters: &Counters, current: u64) {
        if self.cached_at == current {
            return;
        }
        let span = self.span();
        for second in (current + 1).saturating_sub(span)..current {
            self.past[(second % span) as usize] = self.striped(counters, second);
        }
        self.cached_at = current;
    }

    /// Totals of `second`, one of the window's seconds at `current` (which
    /// the cache must hold).
    fn second_totals(&self, counters: &Counters, second: u64, current: u64) -> Totals {
        let mut totals = self.window.at(second);
        totals.calls += if second == current {
            self.striped(counters, current)
        } else {
            self.past[(second % self.span()) as usize]
        };
        totals
    }

    /// Totals of the window at `now`, stripes included.
    pub(crate) fn totals(&mut self, counters: &Counters, now: Tick) -> Totals {
        let current = second_of(now);
        self.refresh(counters, current);
        let oldest = (current + 1).saturating_sub(self.span());
        let totals = (oldest..=current).fold(Totals::default(), |sum, second| {
            sum.plus(self.second_totals(counters, second, current))
        });
        self.last = Some((now, totals));
        totals
    }

    /// Empties the window, stripes included.
    pub(crate) fn clear(&mut self, counters: &Counters, now: Tick) {
        self.window.clear();
        self.cleared_second = second_of(now);
        for (slot, count) in self
            .cleared_counts
            .iter_mut()
            .zip(counters.successes.at(self.cleared_second))
        {
            *slot = count;
        }
        self.cached_at = STALE;
        self.last = None;
    }

    /// The start of the first second at which one more success could trip
    /// the breaker, `Tick::MAX` if none: at second `current + d` the oldest
    /// `d` seconds have left the window, and successes still to come only
    /// add calls.
    pub(crate) fn armed_from(&mut self, config: &Config, counters: &Counters, now: Tick) -> Tick {
        // Successes counted since the totals were taken only lower the
        // rates, so arming on the earlier totals is safe (if anything, early).
        let mut totals = match self.last.take() {
            Some((at, totals)) if at == now => totals,
            _ => self.totals(counters, now),
        };
        let current = second_of(now);
        let span = self.span();
        for d in 0..span {
            if d > 0 && current + d >= span {
                totals.remove(self.second_totals(counters, current + d - span, current));
            }
            if success_could_trip(config, totals) {
                return Tick::from_nanos((current + d).saturating_mul(1_000_000_000));
            }
        }
        Tick::MAX
    }
}
