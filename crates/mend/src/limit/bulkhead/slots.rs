//! A bulkhead's slots and its count of admissions, in one atomic word.
//!
//! Taking a slot is a compare-and-swap on a word every caller writes
//! anyway; counting the admission in that same swap costs nothing more,
//! where a counter of its own (even one per thread) costs the success path
//! one more dependent load and store, about 1.5 ns on a path of 9.
//!
//! The word holds the calls in flight (the low 24 bits: up to 16,777,215,
//! past the builder's limit of a million), a carry flag, and the admissions
//! modulo 2^39 (the high bits: a wrap every 5.5 × 10^11 admissions, hours
//! at any rate one word can take). The caller whose swap wraps the
//! admissions sets the carry in that same swap, then adds one to the epochs
//! and clears the carry. A reader waits out a carry and reads the epochs
//! before and after the word, so the total it reports is exact and never
//! goes backwards.

use crate::sync::{AtomicU64, Ordering::SeqCst, yield_now};

const IN_FLIGHT_BITS: u32 = 24;
const IN_FLIGHT: u64 = (1 << IN_FLIGHT_BITS) - 1;
const CARRY: u64 = 1 << IN_FLIGHT_BITS;
const ADMITTED_SHIFT: u32 = IN_FLIGHT_BITS + 1;
/// One admission and one call in flight, added by every slot taken.
const TAKE: u64 = (1 << ADMITTED_SHIFT) + 1;
/// Admissions one epoch stands for.
const EPOCH: u64 = 1 << (64 - ADMITTED_SHIFT);

/// The most slots a word can count.
pub(super) const MAX_SLOTS: usize = IN_FLIGHT as usize;

/// Calls in flight and admissions ever, updated together.
#[derive(Debug, Default)]
pub(super) struct Slots {
    word: AtomicU64,
    /// Times the admissions field wrapped.
    epochs: AtomicU64,
}

impl Slots {
    /// Takes a slot and counts the admission, unless `max` are taken.
    #[inline(always)]
    pub(super) fn try_take(&self, max: usize) -> bool {
        debug_assert!(max <= MAX_SLOTS);
        let mut word = self.word.load(SeqCst);
        while word & IN_FLIGHT < max as u64 {
            // In flight stays below `max`, so the added one never carries
            // out of its field: the sum overflows only when the admissions
            // field is all ones.
            let (next, wrapped) = word.overflowing_add(TAKE);
            let next = if wrapped { next | CARRY } else { next };
            match self.word.compare_exchange_weak(word, next, SeqCst, SeqCst) {
                Ok(_) => {
                    if wrapped {
                        self.carry();
                    }
                    return true;
                }
                Err(now) => word = now,
            }
        }
        false
    }

    #[cold]
    fn carry(&self) {
        self.epochs.fetch_add(1, SeqCst);
        self.word.fetch_and(!CARRY, SeqCst);
    }

    /// Gives a slot back.
    #[inline]
    pub(super) fn release(&self) {
        self.word.fetch_sub(1, SeqCst);
    }

    /// Calls holding a slot now.
    pub(super) fn in_flight(&self) -> usize {
        (self.word.load(SeqCst) & IN_FLIGHT) as usize
    }

    /// Slots ever taken.
    pub(super) fn admitted(&self) -> u64 {
        loop {
            let epochs = self.epochs.load(SeqCst);
            let word = self.word.load(SeqCst);
            if word & CARRY != 0 {
                // A taker is between its wrapping swap and the epoch it
                // owes: a few instructions, unless it was preempted.
                yield_now();
                continue;
            }
            // Unchanged epochs around a word without a carry: the word
            // and the epochs belong together (a wrap sets the carry before
            // it adds the epoch and clears it after).
            if self.epochs.load(SeqCst) == epochs {
                return epochs.wrapping_mul(EPOCH) + (word >> ADMITTED_SHIFT);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn counts_in_flight_and_admissions_together() {
        let slots = Slots::default();
        assert!(slots.try_take(2));
        assert!(slots.try_take(2));
        assert!(!slots.try_take(2), "both slots are taken");
        slots.release();
        assert!(slots.try_take(2));
        assert_eq!((slots.in_flight(), slots.admitted()), (2, 3));
    }

    #[test]
    fn admissions_carry_past_the_field_exactly() {
        let slots = Slots::default();
        let field = EPOCH - 1;
        // Two short of the wrap, one call in flight.
        slots
            .word
            .store(((field - 2) << ADMITTED_SHIFT) | 1, SeqCst);
        for expected in [EPOCH - 2, EPOCH - 1, EPOCH, EPOCH + 1] {
            assert!(slots.try_take(MAX_SLOTS));
            assert_eq!(slots.admitted(), expected);
            slots.release();
        }
        assert_eq!(slots.in_flight(), 1, "the carry left in flight alone");
        assert_eq!(slots.word.load(SeqCst) & CARRY, 0, "the carry was cleared");
        assert_eq!(slots.epochs.load(SeqCst), 1);
    }

    #[test]
    fn admissions_read_during_wraps_never_go_back() {
        let slots = Slots::default();
        let field = EPOCH - 1;
        slots.word.store((field - 50_000) << ADMITTED_SHIFT, SeqCst);
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..50_000 {
                        while !slots.try_take(4) {}
                        slots.release();
                    }
                });
            }
            s.spawn(|| {
                let mut last = 0;
                while !done.load(SeqCst) {
                    let now = slots.admitted();
                    assert!(now >= last, "read {now} after {last}");
                    last = now;
                }
            });
            // The takers end first; then the reader is stopped.
            while slots.admitted() < field - 50_000 + 100_000 {
                std::thread::yield_now();
            }
            done.store(true, SeqCst);
        });
        assert_eq!(slots.admitted(), field - 50_000 + 100_000);
        assert_eq!(slots.epochs.load(SeqCst), 1);
        assert_eq!(slots.in_flight(), 0);
    }
}

/// Every interleaving of a wrapping swap and a read (run as the breaker's
/// models are: `RUSTFLAGS="--cfg loom" cargo test -p mend --lib
/// --no-default-features loom`).
#[cfg(all(test, loom))]
mod loom_models {
    use loom::sync::Arc;

    use super::*;

    #[test]
    fn loom_a_read_across_a_wrap_sees_before_or_after() {
        loom::model(|| {
            let slots = Arc::new(Slots::default());
            // The next slot taken wraps the admissions field.
            slots.word.store((EPOCH - 1) << ADMITTED_SHIFT, SeqCst);
            let taker = {
                let slots = Arc::clone(&slots);
                loom::thread::spawn(move || assert!(slots.try_take(1)))
            };
            let read = slots.admitted();
            assert!(
                read == EPOCH - 1 || read == EPOCH,
                "read {read}, neither before ({}) nor after ({EPOCH})",
                EPOCH - 1
            );
            taker.join().unwrap();
            assert_eq!((slots.admitted(), slots.in_flight()), (EPOCH, 1));
        });
    }
}
