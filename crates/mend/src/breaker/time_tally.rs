//! A time window's full count: the buckets kept under the lock plus the
//! successes the stripes counted per second, with the stripes' past seconds
//! cached so a failure costs one stripe scan, not one per second.
//!
//! Stripes only write the second their thread last read from the clock, so
//! once a second is well past its stripe sums no longer change and are read
//! once: the cache is refilled when the locked path first runs in a new
//! second, and holds the seconds before the previous one (the previous
//! second is read live, for the threads that read the clock just before it
//! ended and count just after). Decisions use the cache; snapshots
//! ([`exact_totals`](TimeTally::exact_totals)) read every second live, so
//! once calls have finished their counts add up exactly.

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
        for second in (current + 1).saturating_sub(span)..current.saturating_sub(1) {
            self.past[(second % span) as usize] = self.striped(counters, second);
        }
        self.cached_at = current;
    }

    /// Totals of `second`, one of the window's seconds at `current` (which
    /// the cache must hold).
    fn second_totals(&self, counters: &Counters, second: u64, current: u64) -> Totals {
        let mut totals = self.window.at(second);
        totals.calls += if second + 1 >= current {
            self.striped(counters, second)
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

    /// Totals of the window at `now`, every second's stripes read live: what
    /// a snapshot reports.
    pub(crate) fn exact_totals(&self, counters: &Counters, now: Tick) -> Totals {
        let current = second_of(now);
        let oldest = (current + 1).saturating_sub(self.span());
        (oldest..=current).fold(Totals::default(), |sum, second| {
            let mut totals = self.window.at(second);
            totals.calls += self.striped(counters, second);
            sum.plus(totals)
        })
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
