//! Jitter: the formulas live on [`Jitter`].

use std::time::Duration;

use crate::clock::duration_nanos;

/// Randomness added to each delay so that clients that failed together do
/// not retry together (AWS, "Exponential Backoff and Jitter").
///
/// With `temp` the delay the [`Backoff`](super::Backoff) gives for attempt
/// `attempt` (for an exponential backoff of multiplier 2, exactly AWS's
/// `min(cap, base * 2^attempt)`), and `random_between(a, b)` uniform over
/// `[a, b]` in whole nanoseconds:
///
/// | jitter | sleep |
/// |---|---|
/// | [`Jitter::None`] | `sleep = temp` |
/// | [`Jitter::Full`] | `sleep = random_between(0, min(cap, base * 2^attempt))`, i.e. `random_between(0, temp)` |
/// | [`Jitter::Equal`] | `temp = min(cap, base * 2^attempt); sleep = temp / 2 + random_between(0, temp / 2)` |
/// | [`Jitter::Decorrelated`] | `sleep = min(cap, random_between(base, sleep_prev * 3))`, with `sleep_prev = base` before the first retry |
/// | [`Jitter::Factor(f)`](Jitter::Factor) | `sleep = temp - random_between(0, temp * f)`, `f` in `[0, 1]` (1 is full jitter, 0 none) |
///
/// Decorrelated jitter uses only the backoff's base and cap, not its shape.
///
/// The random numbers come from [`SplitMix64`], a tiny seedable generator:
/// jitter needs spread, not secrecy, and a seed makes tests exact. A retry
/// built with [`seed`](super::RetryBuilder::seed) gives the same delays every run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Jitter {
    /// Sleep exactly what the backoff says.
    None,
    /// `random_between(0, temp)`: the most spread, AWS's recommendation.
    #[default]
    Full,
    /// `temp / 2 + random_between(0, temp / 2)`: never less than half.
    Equal,
    /// `min(cap, random_between(base, sleep_prev * 3))`.
    Decorrelated,
    /// `temp - random_between(0, temp * f)` for a factor `f` in `[0, 1]`.
    Factor(f64),
}

impl Jitter {
    /// Checks a jitter given to a builder as `field`: a factor in `[0, 1]`.
    pub(crate) fn validate(
        &self,
        check: &crate::config::Checks,
        field: &'static str,
    ) -> Result<(), crate::config::ConfigError> {
        if let Jitter::Factor(f) = *self {
            check.number(field, f, 0.0, 1.0)?;
        }
        Ok(())
    }

    /// The sleep before a retry, given the backoff's delay `temp` for it,
    /// the backoff's `base` and `cap`, and the previous sleep.
    pub(crate) fn apply(
        &self,
        temp: Duration,
        base: Duration,
        cap: Duration,
        prev: Duration,
        rng: &mut SplitMix64,
    ) -> Duration {
        let nanos = |d: Duration| duration_nanos(d);
        match *self {
            Jitter::None => temp,
            Jitter::Full => Duration::from_nanos(rng.between(0, nanos(temp))),
            Jitter::Equal => {
                let half = nanos(temp) / 2;
                Duration::from_nanos(half + rng.between(0, half))
            }
            Jitter::Decorrelated => {
                let high = nanos(prev).saturating_mul(3);
                Duration::from_nanos(rng.between(nanos(base), high)).min(cap)
            }
            Jitter::Factor(f) => {
                let spread = (nanos(temp) as f64 * f) as u64;
                temp.saturating_sub(Duration::from_nanos(rng.between(0, spread)))
            }
        }
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014; the seeder of `xoshiro`): one
/// `u64` of state, one add and three xor-shift-multiplies per number. Written
/// here rather than pulled from `rand` because jitter needs nothing more and
/// a fixed algorithm keeps seeded tests exact across dependency upgrades.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform over `[low, high]` (Lemire's multiply-shift; `low` when
    /// `high <= low`).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        let span = u128::from(high - low) + 1;
        let offset = (u128::from(self.next_u64()) * span) >> 64;
        // offset < span <= 2^64, so it fits.
        low + offset as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn formulas_stay_in_their_ranges() {
        let mut rng = SplitMix64::new(7);
        let (base, cap) = (MS * 10, MS * 1000);
        for _ in 0..1000 {
            let full = Jitter::Full.apply(MS * 400, base, cap, base, &mut rng);
            assert!(full <= MS * 400);
            let equal = Jitter::Equal.apply(MS * 400, base, cap, base, &mut rng);
            assert!(equal >= MS * 200 && equal <= MS * 400);
            let dec = Jitter::Decorrelated.apply(MS * 400, base, cap, MS * 500, &mut rng);
            assert!(dec >= base && dec <= cap);
            let f = Jitter::Factor(0.25).apply(MS * 400, base, cap, base, &mut rng);
            assert!(f >= MS * 300 && f <= MS * 400);
        }
        assert_eq!(
            Jitter::None.apply(MS * 3, base, cap, base, &mut rng),
            MS * 3
        );
    }

    #[test]
    fn seeded_generators_repeat() {
        let (mut a, mut b) = (SplitMix64::new(42), SplitMix64::new(42));
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        // The reference output of SplitMix64 seeded with 0.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }
}
