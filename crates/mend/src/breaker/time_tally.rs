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
use super::window::{TimeWindow, Totals, ring_index, ring_len, second_of};
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
    /// Stripe successes of each past second of the window, in a ring like
    /// the window's, as of second `cached_at`.
    past: Box<[u32]>,
    /// The totals of those past seconds, buckets and stripes: they are
    /// settled, since locked records only ever land in the current second.
    past_totals: Totals,
    /// The oldest of those past seconds that holds a call (the previous
    /// second if none does): seconds before it leave the window unnoticed.
    past_first: u64,
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
            past: vec![0; ring_len(seconds)].into_boxed_slice(),
            past_totals: Totals::default(),
            past_first: 0,
            cached_at: STALE,
            last: None,
        }
    }

    fn span(&self) -> u64 {
        self.window.seconds()
    }

    /// Records a call taken on the locked path.
    pub(crate) fn record(&mut self, now: Tick, failed: bool, slow: bool) {
        // The clock is monotonic and read under the lock: no record lands in
        // a second the cache holds as settled.
        debug_assert!(self.cached_at == STALE || second_of(now) + 1 >= self.cached_at);
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
        self.past_totals = Totals::default();
        self.past_first = current.saturating_sub(1);
        for second in ((current + 1).saturating_sub(span)..current.saturating_sub(1)).rev() {
            let striped = self.striped(counters, second);
            self.past[ring_index(second, self.past.len())] = striped;
            let mut totals = self.window.at(second);
            totals.calls += striped;
            if totals.calls > 0 {
                self.past_first = second;
            }
            self.past_totals = self.past_totals.plus(totals);
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
            self.past[ring_index(second, self.past.len())]
        };
        totals
    }

    /// Totals of the window at `now`, stripes included.
    pub(crate) fn totals(&mut self, counters: &Counters, now: Tick) -> Totals {
        let current = second_of(now);
        self.refresh(counters, current);
        // The cached past, then the previous and current seconds live.
        let live = current
            .saturating_sub(1)
            .max((current + 1).saturating_sub(self.span()));
        let totals = (live..=current).fold(self.past_totals, |sum, second| {
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
        if success_could_trip(config, totals) {
            return Tick::from_nanos(current.saturating_mul(1_000_000_000));
        }
        // Second `leaving` is out of the window from second `leaving + span`
        // on. An empty second leaving changes nothing, nor the answer, so
        // the scan starts at the oldest second that holds a call.
        let span = self.span();
        let oldest = (current + 1).saturating_sub(span);
        for leaving in oldest.max(self.past_first)..current {
            let left = self.second_totals(counters, leaving, current);
            if left.calls == 0 {
                continue; // no failures or slow calls either
            }
            totals.remove(left);
            if success_could_trip(config, totals) {
                return Tick::from_nanos((leaving + span).saturating_mul(1_000_000_000));
            }
        }
        Tick::MAX
    }
}
