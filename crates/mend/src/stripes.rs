//! Per-thread slots, and the per-second success counters of a breaker's
//! time window: the reason a closed breaker's success path writes no shared
//! cache line. Plain counters ([`Tally`](crate::tally::Tally): a count
//! window's successes, every policy's metrics) are placed by the same slots.
//!
//! Each live thread that counts holds a process-wide *slot* number, unique
//! among live threads (given back when the thread exits). A counter set
//! keeps one *stripe* per slot, up to [`stripe_count`]; the thread holding
//! slot `i` is the only writer of stripe `i`, so it bumps its counter with a
//! relaxed load and store instead of a locked read-modify-write, and no two
//! threads ever write the same cache line. Threads beyond the stripe count
//! share one overflow stripe and use `fetch_add` / compare-exchange: still
//! exact, just slower.
//!
//! A time window's stripe holds one packed word per second of the window
//! (the second's tag in the high 32 bits, the second plus one so zero means
//! empty, and that second's successes in the low 32), then one running
//! total. Readers (the breaker's locked path) only load.
//!
//! No crate offers "per-thread counters that only their owner writes, read by
//! anyone" with a bounded, reusable slot per thread (`thread_local` crate
//! counters are not readable across threads without a lock), so this is
//! written here.

use std::cell::Cell;
use std::sync::Mutex as StdMutex;

use crate::sync::{AtomicU64, Ordering};

/// Counters per 128-byte line (two cache lines, against the adjacent-line
/// prefetcher).
const PER_LINE: usize = 16;

#[repr(align(128))]
#[derive(Debug, Default)]
struct Line([AtomicU64; PER_LINE]);

/// How many single-writer stripes a breaker keeps: twice the machine's
/// parallelism, between 2 and 64.
pub(crate) fn stripe_count() -> usize {
    std::thread::available_parallelism()
        .map_or(4, |n| n.get() * 2)
        .clamp(2, 64)
}

/// The per-second success counters of one time-window breaker.
#[derive(Debug)]
pub(crate) struct Stripes {
    lines: Box<[Line]>,
    /// Lines per stripe.
    stride: usize,
    /// Per-second counters per stripe, a power of two: N rounded up for an
    /// N-second window (so a second finds its counter with a mask, not a
    /// division). The running total follows them in the same stripe.
    width: usize,
    /// Single-writer stripes; stripe `owned` is the shared overflow.
    owned: usize,
}

impl Stripes {
    /// Per-second counters for a `seconds`-long time window (rounded up to
    /// a power of two), followed by one running total of every success
    /// ([`total_per_second`](Self::total_per_second)).
    pub(crate) fn per_second(seconds: usize, owned: usize) -> Self {
        let width = seconds.next_power_of_two();
        let stride = (width + 1).div_ceil(PER_LINE);
        let lines = (0..stride * (owned + 1)).map(|_| Line::default()).collect();
        Stripes {
            lines,
            stride,
            width,
            owned,
        }
    }

    fn counter(&self, stripe: usize, index: usize) -> &AtomicU64 {
        let line = stripe * self.stride + index / PER_LINE;
        &self.lines[line].0[index % PER_LINE]
    }

    /// Every success [`add_at`](Self::add_at) ever counted.
    pub(crate) fn total_per_second(&self) -> u64 {
        (0..=self.owned)
            .map(|s| self.counter(s, self.width).load(Ordering::Relaxed))
            .sum()
    }

    /// Counts one success in `second` on the calling thread's stripe (time
    /// windows made by [`per_second`](Self::per_second)), and one on its
    /// running total.
    #[inline(always)]
    pub(crate) fn add_at(&self, second: u64) {
        let tag = tag_of(second);
        let index = (second as usize) & (self.width - 1);
        let slot = thread_slot();
        if slot < self.owned && !cfg!(loom) {
            let counter = self.counter(slot, index);
            let word = counter.load(Ordering::Relaxed);
            let next = if word >> 32 == tag {
                word + 1
            } else {
                (tag << 32) | 1
            };
            counter.store(next, Ordering::Relaxed);
            let total = self.counter(slot, self.width);
            total.store(total.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        } else {
            self.counter(self.owned.min(slot), self.width)
                .fetch_add(1, Ordering::Relaxed);
            let counter = self.counter(self.owned.min(slot), index);
            let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| {
                Some(if word >> 32 == tag {
                    word + 1
                } else {
                    (tag << 32) | 1
                })
            });
        }
    }

    /// Successes each stripe counted in `second` (zero where the slot holds
    /// another second).
    pub(crate) fn at(&self, second: u64) -> impl Iterator<Item = u32> + '_ {
        let tag = tag_of(second);
        let index = (second as usize) & (self.width - 1);
        (0..=self.owned).map(move |s| {
            let word = self.counter(s, index).load(Ordering::Relaxed);
            if word >> 32 == tag {
                (word & u64::from(u32::MAX)) as u32
            } else {
                0
            }
        })
    }
}

fn tag_of(second: u64) -> u64 {
    (second & u64::from(u32::MAX >> 1)) + 1
}

/// Slots of live threads: `true` where taken.
static SLOTS: StdMutex<Vec<bool>> = StdMutex::new(Vec::new());

const NO_SLOT: usize = usize::MAX;

thread_local! {
    static SLOT: Cell<usize> = const { Cell::new(NO_SLOT) };
    static SLOT_GUARD: SlotGuard = const { SlotGuard(Cell::new(NO_SLOT)) };
}

/// Gives the thread's slot back when the thread exits.
struct SlotGuard(Cell<usize>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let slot = self.0.get();
        if slot != NO_SLOT {
            let _ = SLOT.try_with(|s| s.set(NO_SLOT));
            if let Ok(mut slots) = SLOTS.lock() {
                slots[slot] = false;
            }
        }
    }
}

/// This thread's slot if it has one, `usize::MAX` if it has not asked yet
/// (so a bounds check against any stripe count sends it to
/// [`thread_slot`]).
#[inline(always)]
pub(crate) fn current_slot() -> usize {
    SLOT.with(Cell::get)
}

/// This thread's slot: the lowest number free when it first asked.
#[inline(always)]
pub(crate) fn thread_slot() -> usize {
    let slot = SLOT.with(Cell::get);
    if slot != NO_SLOT {
        return slot;
    }
    claim_slot()
}

#[cold]
fn claim_slot() -> usize {
    let mut slots = SLOTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let slot = slots.iter().position(|taken| !taken).unwrap_or(slots.len());
    if slot == slots.len() {
        slots.push(true);
    } else {
        slots[slot] = true;
    }
    drop(slots);
    // If the guard cannot be set (the thread is exiting), the slot is
    // returned at once and the thread uses the overflow stripe.
    let registered = SLOT_GUARD.try_with(|guard| guard.0.set(slot)).is_ok();
    if !registered {
        if let Ok(mut slots) = SLOTS.lock() {
            slots[slot] = false;
        }
        return NO_SLOT - 1;
    }
    SLOT.with(|s| s.set(slot));
    slot
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn live_threads_hold_distinct_slots_and_give_them_back() {
        let barrier = std::sync::Barrier::new(4);
        let slots: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let slot = thread_slot();
                        barrier.wait(); // all four alive at once
                        slot
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = slots.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 4, "slots {slots:?} must be distinct");
    }

    #[test]
    fn exited_threads_give_their_slots_back() {
        // One thread at a time: without reuse the slots would climb to 64.
        // Other tests run threads alongside, hence the margin.
        let highest = (0..64)
            .map(|_| std::thread::spawn(thread_slot).join().unwrap())
            .max()
            .unwrap();
        assert!(highest < 32, "slots are not reused: reached {highest}");
    }

    #[test]
    fn counts_add_up_across_owned_and_overflow_stripes() {
        let stripes = Stripes::per_second(1, 1);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        stripes.add_at(7);
                    }
                });
            }
        });
        assert_eq!(stripes.at(7).sum::<u32>(), 4000);
        assert_eq!(stripes.total_per_second(), 4000);
    }

    #[test]
    fn time_counters_keep_seconds_apart() {
        let stripes = Stripes::per_second(3, 2); // four counters per stripe
        stripes.add_at(10);
        stripes.add_at(10);
        stripes.add_at(11);
        assert_eq!(stripes.at(10).sum::<u32>(), 2);
        assert_eq!(stripes.at(11).sum::<u32>(), 1);
        stripes.add_at(14); // same counter as second 10: replaces it
        assert_eq!(stripes.at(10).sum::<u32>(), 0);
        assert_eq!(stripes.at(14).sum::<u32>(), 1);
        assert_eq!(
            stripes.total_per_second(),
            4,
            "the running total keeps them all"
        );
    }
}
