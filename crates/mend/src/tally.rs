//! Counters a metrics scrape reads while policies count on their success
//! paths: each thread adds to its own stripe (no cache line another thread
//! writes), a read sums the stripes.
//!
//! [`Tally`] holds `N` counters per thread stripe, side by side on one
//! 128-byte line (up to 16), so a policy with several success-path counts
//! pays for one line per thread. Totals only grow; a read is a sum of loads
//! and changes nothing.

use crate::stripes::{Stripes, stripe_count};

/// `N` monotonic counters, striped per thread.
#[derive(Debug)]
pub(crate) struct Tally<const N: usize> {
    stripes: Stripes,
}

impl<const N: usize> Tally<N> {
    /// All counters at zero, with a stripe per thread up to twice the cores.
    pub(crate) fn new() -> Self {
        Tally {
            stripes: Stripes::new(N, stripe_count()),
        }
    }

    /// Adds one to counter `index` on the calling thread's stripe.
    #[inline(always)]
    pub(crate) fn add(&self, index: usize) {
        debug_assert!(index < N);
        self.stripes.add_to(index);
    }

    /// Adds `n` to counter `index` on the calling thread's stripe.
    #[inline(always)]
    pub(crate) fn add_n(&self, index: usize, n: u64) {
        debug_assert!(index < N);
        self.stripes.add_n_to(index, n);
    }

    /// Counter `index` summed over every thread.
    pub(crate) fn get(&self, index: usize) -> u64 {
        self.stripes.total_of(index)
    }

    /// Counter `index` summed over every thread, wide enough for sums of
    /// large values (nanoseconds).
    pub(crate) fn get_wide(&self, index: usize) -> u128 {
        self.stripes.wide_total_of(index)
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
}
