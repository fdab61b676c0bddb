//! The sliding windows a rate-based breaker decides over.
//!
//! - [`CountWindow`]: the outcomes of the last N recorded calls, a ring.
//! - [`TimeWindow`]: the outcomes of the last N seconds, one bucket per
//!   second of the coarse clock (the current, partial second included).
//!
//! The count window keeps running totals; the time window is summed per
//! second when a decision is due (see `time_tally`).

use crate::clock::Tick;

/// Totals over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) calls: u32,
    pub(crate) failures: u32,
    pub(crate) slow: u32,
    /// Slow calls that failed (among both `failures` and `slow`).
    pub(crate) slow_failures: u32,
}

impl Totals {
    pub(crate) fn add_one(&mut self, failed: bool, slow: bool) {
        self.calls += 1;
        self.failures += u32::from(failed);
        self.slow += u32::from(slow);
        self.slow_failures += u32::from(failed && slow);
    }

    /// The sum of both.
    pub(crate) fn plus(self, other: Totals) -> Totals {
        Totals {
            calls: self.calls + other.calls,
            failures: self.failures + other.failures,
            slow: self.slow + other.slow,
            slow_failures: self.slow_failures + other.slow_failures,
        }
    }

    pub(crate) fn remove(&mut self, other: Totals) {
        self.calls -= other.calls;
        self.failures -= other.failures;
        self.slow -= other.slow;
        self.slow_failures -= other.slow_failures;
    }
}

const FAILED: u8 = 1;
const SLOW: u8 = 2;

/// The last `size` recorded outcomes.
#[derive(Debug, Clone)]
pub(crate) struct CountWindow {
    ring: Box<[u8]>,
    next: usize,
    totals: Totals,
}

impl CountWindow {
    pub(crate) fn new(size: u32) -> Self {
        CountWindow {
            ring: vec![0; size as usize].into_boxed_slice(),
            next: 0,
            totals: Totals::default(),
        }
    }

    pub(crate) fn record(&mut self, failed: bool, slow: bool) {
        if self.totals.calls as usize == self.ring.len() {
            let old = self.ring[self.next];
            self.totals.remove(Totals {
                calls: 1,
                failures: u32::from(old & FAILED != 0),
                slow: u32::from(old & SLOW != 0),
                slow_failures: u32::from(old == FAILED | SLOW),
            });
        }
        self.ring[self.next] = (u8::from(failed) * FAILED) | (u8::from(slow) * SLOW);
        self.totals.add_one(failed, slow);
        self.next += 1;
        if self.next == self.ring.len() {
            self.next = 0;
        }
    }

    /// Records `count` successes in a row, a slice at a time: slots past
    /// the last call are still zero, and the slots a full ring overwrites
    /// are counted out and zeroed in bulk.
    pub(crate) fn record_successes(&mut self, count: u64) {
        let len = self.ring.len();
        if count >= len as u64 {
            self.ring.fill(0);
            self.next = 0;
            self.totals = Totals {
                calls: len as u32,
                ..Totals::default()
            };
            return;
        }
        let count = count as usize;
        let appended = count.min(len - self.totals.calls as usize);
        self.totals.calls += appended as u32;
        self.next = (self.next + appended) % len;
        let mut evicting = count - appended;
        while evicting > 0 {
            let end = (self.next + evicting).min(len);
            let slots = &mut self.ring[self.next..end];
            let failures = slots.iter().filter(|&&s| s & FAILED != 0).count();
            let slow = slots.iter().filter(|&&s| s & SLOW != 0).count();
            let slow_failures = slots.iter().filter(|&&s| s == FAILED | SLOW).count();
            self.totals.failures -= failures as u32;
            self.totals.slow -= slow as u32;
            self.totals.slow_failures -= slow_failures as u32;
            slots.fill(0);
            evicting -= end - self.next;
            self.next = end % len;
        }
    }

    pub(crate) fn totals(&self) -> Totals {
        self.totals
    }

    pub(crate) fn clear(&mut self) {
        self.ring.fill(0);
        self.next = 0;
        self.totals = Totals::default();
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// The second's low 32 bits: buckets are 20 bytes, and a bucket is
    /// replaced long before its second could wrap (136 years).
    second: u32,
    totals: Totals,
}

/// The last `seconds` seconds of outcomes, bucketed by coarse-clock second.
///
/// The ring has a power of two of buckets (at least `seconds`), so a second
/// finds its bucket with a mask: a failure's decision visits every second of
/// the window, and a division per visit cost more than the rest of the visit.
#[derive(Debug, Clone)]
pub(crate) struct TimeWindow {
    buckets: Box<[Bucket]>,
    seconds: u64,
}

/// Slots in a ring that holds `seconds` seconds: a power of two.
pub(crate) fn ring_len(seconds: u32) -> usize {
    (seconds as usize).next_power_of_two()
}

/// Where `second` sits in a ring of `len` ([`ring_len`]) slots.
#[inline]
pub(crate) fn ring_index(second: u64, len: usize) -> usize {
    debug_assert!(len.is_power_of_two());
    (second as usize) & (len - 1)
}

/// The coarse-clock second a tick falls in.
pub(crate) fn second_of(now: Tick) -> u64 {
    now.as_nanos() / 1_000_000_000
}

impl TimeWindow {
    pub(crate) fn new(seconds: u32) -> Self {
        TimeWindow {
            buckets: vec![Bucket::default(); ring_len(seconds)].into_boxed_slice(),
            seconds: u64::from(seconds),
        }
    }

    pub(crate) fn record(&mut self, now: Tick, failed: bool, slow: bool) {
        let second = second_of(now);
        let bucket = &mut self.buckets[ring_index(second, self.buckets.len())];
        if bucket.second != second as u32 {
            *bucket = Bucket {
                second: second as u32,
                totals: Totals::default(),
            };
        }
        bucket.totals.add_one(failed, slow);
    }

    /// The window's length in seconds.
    pub(crate) fn seconds(&self) -> u64 {
        self.seconds
    }

    /// What was recorded in `second` (zero if its bucket has moved on).
    pub(crate) fn at(&self, second: u64) -> Totals {
        let bucket = &self.buckets[ring_index(second, self.buckets.len())];
        if bucket.second == second as u32 {
            bucket.totals
        } else {
            Totals::default()
        }
    }

    pub(crate) fn clear(&mut self) {
        self.buckets.fill(Bucket::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_window_forgets_the_oldest() {
        let mut w = CountWindow::new(3);
        w.record(true, false);
        w.record(false, true);
        w.record(false, false);
        assert_eq!(
            w.totals(),
            Totals {
                calls: 3,
                failures: 1,
                slow: 1,
                slow_failures: 0
            }
        );
        w.record(false, false);
        assert_eq!(
            w.totals(),
            Totals {
                calls: 3,
                failures: 0,
                slow: 1,
                slow_failures: 0
            }
        );
        w.record_successes(2);
        assert_eq!(w.totals().slow, 0);
        w.record(true, false);
        w.record_successes(99);
        assert_eq!(w.totals().failures, 0);
        assert_eq!(w.totals().calls, 3);
    }

    #[test]
    fn bulk_successes_match_one_at_a_time() {
        // Every window size, fill level, position and count, against the
        // one-at-a-time path.
        for size in 1..6u32 {
            for prefix in 0..12u32 {
                for count in 0..14u64 {
                    let mut bulk = CountWindow::new(size);
                    for i in 0..prefix {
                        bulk.record(i % 3 == 0, i % 2 == 0);
                    }
                    let mut single = bulk.clone();
                    bulk.record_successes(count);
                    for _ in 0..count {
                        single.record(false, false);
                    }
                    assert_eq!(bulk.totals(), single.totals(), "{size} {prefix} {count}");
                    // And the ring goes on identically.
                    bulk.record(true, true);
                    single.record(true, true);
                    for _ in 0..size {
                        bulk.record(false, false);
                        single.record(false, false);
                        assert_eq!(bulk.totals(), single.totals(), "{size} {prefix} {count}");
                    }
                }
            }
        }
    }

    #[test]
    fn time_window_expires_whole_seconds() {
        let secs = |s: u64| Tick::from_nanos(s * 1_000_000_000 + 500);
        let mut w = TimeWindow::new(2);
        w.record(secs(10), true, false);
        w.record(secs(11), false, false);
        assert_eq!(w.at(10).failures, 1);
        assert_eq!(w.at(11).calls, 1);
        // A bucket from a lapped second is replaced, not added to.
        w.record(secs(12), false, false);
        assert_eq!(w.at(10), Totals::default());
        assert_eq!(w.at(12).calls, 1);
    }
}
