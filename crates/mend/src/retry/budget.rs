//! Retry budgets: the definition lives on [`RetryBudget`].

use std::fmt;
use std::time::Duration;

use crate::clock::{Clock, SystemClock, duration_nanos};
use crate::config::{Checks, ConfigError};
use crate::sync::Mutex;

/// Slices the window is kept in.
const SLICES: usize = 10;
/// The ratio is compared in millionths.
const PPM: u64 = 1_000_000;

/// A retry budget: a token bucket shared by every caller of a dependency, so
/// that when the dependency is down, retries add at most a fixed fraction of
/// extra load instead of multiplying it.
///
/// # Definition
///
/// Every first attempt *deposits* into the budget; every retry must
/// *withdraw*. Both are counted over the budget's window of length `ttl`
/// (kept as 10 slices of `ttl / 10`, so a count lives between `0.9 * ttl` and
/// `ttl`). A retry is allowed when, counting it,
///
/// ```text
/// retries_in_window <= ratio * first_attempts_in_window + min_retries_per_sec * ttl_secs
/// ```
///
/// so at the moment of every retry, the retries of the last window are at
/// most `ratio` of that window's first attempts plus a floor (which lets a
/// quiet service still retry). The comparison is done in integers (the ratio
/// in millionths), so a ratio of 0.2 allows exactly 20 % and never rounds up
/// (tower's `TpsBudget` lets through far more than its ratio below 1.0,
/// tower issue 857). The defaults are Finagle's: `ratio` 0.2,
/// `min_retries_per_sec` 10, `ttl` 10 s.
///
/// Share one budget (an `Arc`) between every [`Retry`](super::Retry) that
/// calls the same dependency. It reads time through a
/// [`Clock`] (the coarse reading) and takes one
/// short lock per deposit and per withdrawal.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use mend::retry::RetryBudget;
///
/// let budget = Arc::new(RetryBudget::builder().ratio(0.2).min_retries_per_sec(0).build()?);
/// for _ in 0..10 {
///     budget.deposit();
/// }
/// assert!(budget.try_withdraw());
/// assert!(budget.try_withdraw());
/// assert!(!budget.try_withdraw(), "20% of 10 first attempts is 2 retries");
/// # Ok::<(), mend::ConfigError>(())
/// ```
pub struct RetryBudget<C = SystemClock> {
    ratio_ppm: u64,
    floor: u64,
    ttl: Duration,
    slice_nanos: u64,
    window: Mutex<Window>,
    clock: C,
}

/// Counts per slice of the window.
#[derive(Debug, Default)]
struct Window {
    /// Absolute index (time / slice) of the newest slice.
    newest: u64,
    deposits: [u64; SLICES],
    withdrawals: [u64; SLICES],
    total_deposits: u64,
    total_withdrawals: u64,
}

impl Window {
    /// Forgets the slices that have left the window at slice index `now`.
    fn roll(&mut self, now: u64) {
        if now <= self.newest {
            return;
        }
        let stale = (now - self.newest).min(SLICES as u64);
        for i in 1..=stale {
            let slot = ((self.newest + i) % SLICES as u64) as usize;
            self.total_deposits -= std::mem::take(&mut self.deposits[slot]);
            self.total_withdrawals -= std::mem::take(&mut self.withdrawals[slot]);
        }
        self.newest = now;
    }

    fn slot(&self) -> usize {
        (self.newest % SLICES as u64) as usize
    }
}

/// What a budget holds now, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BudgetSnapshot {
    /// First attempts deposited in the window.
    pub first_attempts: u64,
    /// Retries withdrawn in the window.
    pub retries: u64,
    /// Retries the budget would allow right now.
    pub available: u64,
}

impl RetryBudget {
    /// Starts building a budget with Finagle's defaults (20 %, 10 per
    /// second, 10 s).
    pub fn builder() -> RetryBudgetBuilder {
        RetryBudgetBuilder {
            ratio: 0.2,
            min_retries_per_sec: 10,
            ttl: Duration::from_secs(10),
            clock: SystemClock,
        }
    }
}

impl<C: Clock> RetryBudget<C> {
    fn now_slice(&self) -> u64 {
        self.clock.coarse().as_nanos() / self.slice_nanos
    }

    /// Records a first attempt.
    pub fn deposit(&self) {
        let now = self.now_slice();
        let mut w = self.window.lock();
        w.roll(now);
        let slot = w.slot();
        w.deposits[slot] += 1;
        w.total_deposits += 1;
    }

    /// Takes one retry from the budget; false (and nothing taken) when the
    /// retry would exceed it.
    pub fn try_withdraw(&self) -> bool {
        let now = self.now_slice();
        let mut w = self.window.lock();
        w.roll(now);
        if self.available(&w) == 0 {
            return false;
        }
        let slot = w.slot();
        w.withdrawals[slot] += 1;
        w.total_withdrawals += 1;
        true
    }

    fn available(&self, w: &Window) -> u64 {
        let allowed_ppm = self
            .ratio_ppm
            .saturating_mul(w.total_deposits)
            .saturating_add(self.floor.saturating_mul(PPM));
        (allowed_ppm / PPM).saturating_sub(w.total_withdrawals)
    }

    /// The counts of the current window.
    pub fn snapshot(&self) -> BudgetSnapshot {
        let now = self.now_slice();
        let mut w = self.window.lock();
        w.roll(now);
        BudgetSnapshot {
            first_attempts: w.total_deposits,
            retries: w.total_withdrawals,
            available: self.available(&w),
        }
    }

    /// The window's length.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

impl<C> fmt::Debug for RetryBudget<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("ratio_ppm", &self.ratio_ppm)
            .field("floor", &self.floor)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RetryBudget`]; made by [`RetryBudget::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build()`"]
pub struct RetryBudgetBuilder<C = SystemClock> {
    ratio: f64,
    min_retries_per_sec: u32,
    ttl: Duration,
    clock: C,
}

impl<C> RetryBudgetBuilder<C> {
    /// The highest floor `min_retries_per_sec` may set.
    pub const MAX_RETRIES_PER_SEC: u32 = 1_000_000;
}

impl<C: Clock> RetryBudgetBuilder<C> {
    /// Retries allowed per first attempt, in `[0, 1000]` (0.2 is 20 %).
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = ratio;
        self
    }

    /// The floor: retries allowed per second of the window even with no
    /// traffic (0 for none, at most
    /// [`MAX_RETRIES_PER_SEC`](Self::MAX_RETRIES_PER_SEC)).
    pub fn min_retries_per_sec(mut self, retries: u32) -> Self {
        self.min_retries_per_sec = retries;
        self
    }

    /// How long deposits and withdrawals count (10 ms to an hour).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Reads time from `clock`.
    pub fn clock<C2: Clock>(self, clock: C2) -> RetryBudgetBuilder<C2> {
        RetryBudgetBuilder {
            ratio: self.ratio,
            min_retries_per_sec: self.min_retries_per_sec,
            ttl: self.ttl,
            clock,
        }
    }

    /// Checks the settings and builds the budget.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a ratio outside `[0, 1000]` (NaN included), a
    /// floor over [`MAX_RETRIES_PER_SEC`](Self::MAX_RETRIES_PER_SEC), or a
    /// `ttl` outside 10 ms to an hour.
    pub fn build(self) -> Result<RetryBudget<C>, ConfigError> {
        let check = Checks::unnamed("retry budget");
        check.number("ratio", self.ratio, 0.0, 1000.0)?;
        check.count(
            "min_retries_per_sec",
            self.min_retries_per_sec,
            0,
            Self::MAX_RETRIES_PER_SEC,
            "retries a second",
        )?;
        check.duration(
            "ttl",
            self.ttl,
            Duration::from_millis(10),
            Duration::from_secs(3_600),
        )?;
        let floor = (f64::from(self.min_retries_per_sec) * self.ttl.as_secs_f64()).floor();
        Ok(RetryBudget {
            ratio_ppm: (self.ratio * PPM as f64).round() as u64,
            floor: floor as u64,
            ttl: self.ttl,
            slice_nanos: duration_nanos(self.ttl) / SLICES as u64,
            window: Mutex::new(Window::default()),
            clock: self.clock,
        })
    }
}

/// The part of a budget a [`Retry`](super::Retry) uses, behind a trait
/// object so a retry and its budget need not share a clock type.
pub(crate) trait Budget: fmt::Debug + Send + Sync {
    fn deposit(&self);
    fn try_withdraw(&self) -> bool;
}

impl<C: Clock> Budget for RetryBudget<C> {
    fn deposit(&self) {
        RetryBudget::deposit(self);
    }

    fn try_withdraw(&self) -> bool {
        RetryBudget::try_withdraw(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn deposits_expire_with_the_window() {
        let clock = ManualClock::new();
        let budget = RetryBudget::builder()
            .ratio(1.0)
            .min_retries_per_sec(0)
            .clock(clock.clone())
            .build()
            .unwrap();
        budget.deposit();
        clock.advance(Duration::from_secs(5));
        budget.deposit();
        assert_eq!(budget.snapshot().available, 2);
        clock.advance(Duration::from_secs(5));
        assert_eq!(budget.snapshot().first_attempts, 1, "the first has expired");
        clock.advance(Duration::from_secs(60));
        assert_eq!(budget.snapshot().first_attempts, 0);
    }
}
