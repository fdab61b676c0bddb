//! Counters a metrics scrape reads while policies count on their success
//! paths: each thread adds to its own stripe (no cache line another thread
//! writes), a read sums the stripes.
//!
//! [`Tally`] holds `N` counters per thread stripe, side by side on one
//! 128-byte line (up to 16), so a policy with several success-path counts
//! pays for one line per thread. Totals only grow; a read is a sum of loads
//! and changes nothing.

use crate::stripes::{current_slot, stripe_count, thread_slot};
use crate::sync::{AtomicU64, Ordering::Relaxed};

/// The `N` counters of one thread, alone on a 128-byte line (two cache
/// lines, against the adjacent-line prefetcher) for `N` up to 16.
#[repr(align(128))]
#[derive(Debug)]
struct Stripe<const N: usize>([AtomicU64; N]);

impl<const N: usize> Stripe<N> {
    fn new() -> Self {
        Stripe(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

/// `N` monotonic counters, striped per thread.
///
/// Its own layout rather than [`Stripes`](crate::stripes::Stripes)'s
/// general one, for the cost of the success path: the thread's stripe is
/// found with one bounds check, which is also the test that the thread owns
/// a stripe (a thread without a slot reads as `usize::MAX`, past the end).
#[derive(Debug)]
pub(crate) struct Tally<const N: usize> {
    /// One single-writer stripe per thread slot.
    owned: Box<[Stripe<N>]>,
    /// Shared by threads past the owned stripes, added to with `fetch_add`.
    /// Boxed, so a `Tally` is three words and does not raise the alignment
    /// (and size) of the policy that holds it.
    overflow: Box<Stripe<N>>,
}

impl<const N: usize> Tally<N> {
    /// All counters at zero, with a stripe per thread up to twice the cores.
    pub(crate) fn new() -> Self {
        Self::with_stripes(stripe_count())
    }

    /// All counters at zero, with `owned` single-writer stripes; zero makes
    /// the compact form, one shared stripe every thread adds to with
    /// `fetch_add`.
    pub(crate) fn with_stripes(owned: usize) -> Self {
        const { assert!(N > 0 && N <= 16, "a stripe holds 1 to 16 counters") };
        Tally {
            owned: (0..owned).map(|_| Stripe::new()).collect(),
            overflow: Box::new(Stripe::new()),
        }
    }

    /// Adds one to counter `index` on the calling thread's stripe.
    #[inline(always)]
    pub(crate) fn add(&self, index: usize) {
        self.add_n(index, 1);
    }

    /// Adds `n` to counter `index` on the calling thread's stripe.
    #[inline(always)]
    pub(crate) fn add_n(&self, index: usize, n: u64) {
        match self.owned.get(current_slot()) {
            // The only writer of this stripe: a load and a store, no locked
            // instruction (loom checks the shared path instead).
            Some(stripe) if !cfg!(loom) => {
                let counter = &stripe.0[index];
                counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
            }
            _ => self.add_unowned(index, n),
        }
    }

    /// A thread that has no slot yet takes one; a thread whose slot is past
    /// the owned stripes adds to the shared one.
    #[cold]
    #[inline(never)]
    fn add_unowned(&self, index: usize, n: u64) {
        match self.owned.get(thread_slot()) {
            Some(stripe) if !cfg!(loom) => {
                let counter = &stripe.0[index];
                counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
            }
            _ => {
                self.overflow.0[index].fetch_add(n, Relaxed);
            }
        }
    }

    fn stripes(&self) -> impl Iterator<Item = &Stripe<N>> {
        self.owned.iter().chain(std::iter::once(&*self.overflow))
    }

    /// Counter `index` summed over every thread.
    pub(crate) fn get(&self, index: usize) -> u64 {
        self.stripes()
            .map(|stripe| stripe.0[index].load(Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// Counter `index` summed over every thread, wide enough for sums of
    /// large values (nanoseconds).
    pub(crate) fn get_wide(&self, index: usize) -> u128 {
        self.stripes()
            .map(|stripe| u128::from(stripe.0[index].load(Relaxed)))
            .sum()
    }
}

impl<const N: usize> Default for Tally<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn counters_stay_apart_and_add_up_across_threads() {
        let tally = Tally::<3>::new();
        std::thread::scope(|s| {
            for _ in 0..40 {
                s.spawn(|| {
                    for _ in 0..100 {
                        tally.add(0);
                        tally.add(2);
                        tally.add(2);
                    }
                });
            }
        });
        assert_eq!(
            (tally.get(0), tally.get(1), tally.get(2)),
            (4_000, 0, 8_000)
        );
    }

    #[test]
    fn the_compact_form_counts_every_thread_on_the_shared_stripe() {
        let tally = Tally::<1>::with_stripes(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        tally.add(0);
                    }
                });
            }
        });
        assert_eq!(tally.get(0), 4_000);
        assert_eq!(tally.overflow.0[0].load(Relaxed), 4_000);
    }

    #[test]
    fn a_thread_with_a_slot_counts_on_its_own_stripe() {
        let tally = Tally::<1>::with_stripes(64);
        tally.add(0);
        let slot = current_slot();
        let overflow = tally.overflow.0[0].load(Relaxed);
        match tally.owned.get(slot) {
            Some(stripe) => assert_eq!((stripe.0[0].load(Relaxed), overflow), (1, 0)),
            None => assert_eq!(overflow, 1, "slot {slot} is past the stripes"),
        }
        assert_eq!(tally.get(0), 1);
    }

    #[test]
    fn a_tally_is_small_and_keeps_its_holders_alignment() {
        assert_eq!(size_of::<Tally<2>>(), 3 * size_of::<usize>());
        assert_eq!(align_of::<Option<Tally<16>>>(), align_of::<usize>());
    }
}
