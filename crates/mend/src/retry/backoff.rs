//! Backoff: the shapes live on [`Backoff`].

use std::time::Duration;

use crate::clock::duration_nanos;

/// The cap a linear or exponential backoff gets unless told otherwise.
const DEFAULT_CAP: Duration = Duration::from_secs(30);

/// How long to wait before each retry, before jitter: constant, linear or
/// exponential, each with a cap on any one delay.
///
/// Retries are numbered from zero: retry 0 is the second attempt. The delay
/// before retry `n` is
///
/// | shape | delay before retry `n` |
/// |---|---|
/// | [`Backoff::constant(d)`](Backoff::constant) | `d` |
/// | [`Backoff::linear(base, step)`](Backoff::linear) | `min(cap, base + step * n)` |
/// | [`Backoff::exponential(base, multiplier)`](Backoff::exponential) | `min(cap, base * multiplier^n)` |
///
/// The cap defaults to the larger of `base` and 30 s; set it with
/// [`Backoff::with_cap`]. Settings are checked when the retry is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    shape: Shape,
    base: Duration,
    cap: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Constant,
    Linear { step: Duration },
    Exponential { multiplier: f64 },
}

impl Backoff {
    /// The same `delay` before every retry.
    pub fn constant(delay: Duration) -> Self {
        Backoff {
            shape: Shape::Constant,
            base: delay,
            cap: delay,
        }
    }

    /// `base`, then `step` longer before each further retry.
    pub fn linear(base: Duration, step: Duration) -> Self {
        Backoff {
            shape: Shape::Linear { step },
            base,
            cap: base.max(DEFAULT_CAP),
        }
    }

    /// `base`, then `multiplier` times longer before each further retry
    /// (AWS's `base * 2^attempt` is `multiplier` 2).
    pub fn exponential(base: Duration, multiplier: f64) -> Self {
        Backoff {
            shape: Shape::Exponential { multiplier },
            base,
            cap: base.max(DEFAULT_CAP),
        }
    }

    /// No single delay longer than `cap` (it must not be below the base).
    pub fn with_cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// The first delay.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The longest any one delay can be.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The growth multiplier of an exponential backoff.
    pub(crate) fn multiplier(&self) -> Option<f64> {
        match self.shape {
            Shape::Exponential { multiplier } => Some(multiplier),
            _ => None,
        }
    }

    /// Checks a backoff given to a builder: an exponential multiplier
    /// that is a finite number of at least 1 (else an error on
    /// `fields.0`), a cap no less than the base (else on `fields.1`).
    pub(crate) fn validate(
        &self,
        check: &crate::config::Checks,
        fields: (&'static str, &'static str),
    ) -> Result<(), crate::config::ConfigError> {
        if let Some(m) = self.multiplier() {
            check.number(fields.0, m, 1.0, f64::MAX)?;
        }
        if self.cap < self.base {
            return Err(check.fail(
                fields.1,
                format!("{:?} < base {:?}", self.cap, self.base),
                "a cap no less than the base delay",
            ));
        }
        Ok(())
    }

    /// The delay before retry `n` (0 for the first retry), before jitter.
    pub fn delay(&self, n: u32) -> Duration {
        let raw = match self.shape {
            Shape::Constant => self.base,
            Shape::Linear { step } => self.base.saturating_add(step.saturating_mul(n)),
            Shape::Exponential { multiplier } => {
                let exponent = i32::try_from(n).unwrap_or(i32::MAX);
                let nanos = duration_nanos(self.base) as f64 * multiplier.powi(exponent);
                if !nanos.is_finite() || nanos >= duration_nanos(self.cap) as f64 {
                    self.cap
                } else {
                    // In range: below the cap, which fits a u64 of nanoseconds.
                    Duration::from_nanos(nanos as u64)
                }
            }
        };
        raw.min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn shapes_follow_the_table() {
        let c = Backoff::constant(MS * 50);
        assert_eq!([c.delay(0), c.delay(9)], [MS * 50, MS * 50]);
        let l = Backoff::linear(MS * 100, MS * 50).with_cap(MS * 220);
        assert_eq!(
            [l.delay(0), l.delay(1), l.delay(2), l.delay(3)],
            [MS * 100, MS * 150, MS * 200, MS * 220]
        );
        let e = Backoff::exponential(MS * 100, 2.0).with_cap(MS * 1000);
        assert_eq!(
            [e.delay(0), e.delay(1), e.delay(3), e.delay(4)],
            [MS * 100, MS * 200, MS * 800, MS * 1000]
        );
        assert_eq!(e.delay(u32::MAX), MS * 1000);
    }
}
