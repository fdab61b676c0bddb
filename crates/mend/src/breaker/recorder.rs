//! What a closed breaker knows about recent calls: the window kept under the
//! lock (failures, slow calls, successes taken on the locked path) plus the
//! successes counted lock-free on per-thread stripes ([`Successes`]).
//!
//! The recorder adds the two together whenever a decision is due, and says
//! when a lock-free success could itself trip the breaker (it is then
//! "armed", and successes take the locked path).
//!
//! For a count window, stripe successes are *folded* into the ring (as the
//! calls that happened before the one being recorded) at each locked
//! operation, so "the last N calls" stays exact: successes that raced with a
//! failure on another thread land on one side of it or the other, which is
//! the only order concurrent calls have.

use super::config::{Config, Policy, WindowKind};
use super::time_tally::TimeTally;
use super::window::{CountWindow, Totals};
use crate::clock::Tick;
use crate::stripes::Stripes;
use crate::tally::Tally;

/// The lock-free counters of one breaker.
#[derive(Debug)]
pub(crate) struct Counters {
    /// Successes counted without the lock.
    pub(crate) successes: Successes,
    /// Rejections counted without the lock.
    pub(crate) rejections: Tally<1>,
}

/// Where a breaker counts the successes it takes without the lock.
#[derive(Debug)]
pub(crate) enum Successes {
    /// Count windows and consecutive failures: one counter per thread
    /// ([`Tally`]'s layout: the thread's counter is found with one bounds
    /// check, the cheapest success path there is). A consecutive policy
    /// decides nothing by its successes, but `counters()` reports them and
    /// a registry's sweep reads them as activity.
    Count(Tally<1>),
    /// Time windows: one counter per thread and second, and a running total.
    PerSecond(Stripes),
}

impl Successes {
    /// Every success counted, ever (it moves with each success, so a
    /// registry's sweep also reads it as activity).
    pub(crate) fn total(&self) -> u64 {
        match self {
            Successes::Count(tally) => tally.get(0),
            Successes::PerSecond(stripes) => stripes.total_per_second(),
        }
    }

    /// Each stripe's successes in `second` (none for a count: it keeps no
    /// seconds).
    pub(crate) fn at(&self, second: u64) -> impl Iterator<Item = u32> + '_ {
        let per_second = match self {
            Successes::Count(_) => None,
            Successes::PerSecond(stripes) => Some(stripes.at(second)),
        };
        per_second.into_iter().flatten()
    }
}

impl Counters {
    /// Counters with `owned` single-writer stripes (see
    /// [`stripe_count`](crate::stripes::stripe_count)); zero makes the
    /// compact form, one shared stripe that every thread adds to atomically.
    pub(crate) fn new(config: &Config, owned: usize) -> Self {
        let successes = match config.policy {
            Policy::Rate {
                window: WindowKind::Time(seconds),
                ..
            } => Successes::PerSecond(Stripes::per_second(seconds as usize, owned)),
            _ => Successes::Count(Tally::with_stripes(owned)),
        };
        Counters {
            successes,
            rejections: Tally::with_stripes(owned),
        }
    }
}

fn rate(part: u32, whole: u32) -> f64 {
    f64::from(part) * 100.0 / f64::from(whole)
}

/// Percentage of `whole` that `part` is, `None` for an empty whole.
pub(crate) fn percent(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| rate(part, whole))
}

/// Whether `part` of `whole` reaches `threshold` percent.
pub(crate) fn reaches(part: u32, whole: u32, threshold: f64) -> bool {
    whole > 0 && rate(part, whole) >= threshold
}

/// Whether the failures or the slow calls among `totals`, taken as a share
/// of `calls`, reach their thresholds (never, for a consecutive policy).
fn over_threshold(config: &Config, totals: Totals, calls: u32) -> bool {
    let Policy::Rate {
        failure_rate_threshold,
        slow_call_rate_threshold,
        ..
    } = config.policy
    else {
        return false;
    };
    reaches(totals.failures, calls, failure_rate_threshold)
        || reaches(totals.slow, calls, slow_call_rate_threshold)
}

/// The calls a window needs before its rates count (never, for a
/// consecutive policy).
pub(crate) fn minimum_calls(config: &Config) -> u32 {
    match config.policy {
        Policy::Rate { minimum_calls, .. } => minimum_calls,
        Policy::Consecutive { .. } => u32::MAX,
    }
}

/// Whether `totals` reach a threshold of a rate policy. In half-open
/// (`trials`) the trials are all the data there is, so `minimum_calls` does
/// not apply.
pub(crate) fn rate_trips(config: &Config, totals: Totals, trials: bool) -> bool {
    if !trials && totals.calls < minimum_calls(config) {
        return false;
    }
    over_threshold(config, totals, totals.calls)
}

/// Whether some number of further successes could make `totals` trip: the
/// rate is highest at the success that brings the window to
/// `minimum_calls` (or at the very next one, past it).
pub(crate) fn success_could_trip(config: &Config, totals: Totals) -> bool {
    let calls = totals.calls.saturating_add(1).max(minimum_calls(config));
    over_threshold(config, totals, calls)
}

/// Moves stripe successes not yet in a count window into it.
fn fold(window: &mut CountWindow, folded: &mut u64, counters: &Counters) {
    let total = counters.successes.total();
    window.record_successes(total - *folded);
    *folded = total;
}

/// The window and its link to the stripes.
#[derive(Debug, Clone)]
pub(crate) enum Recorder {
    Count {
        window: CountWindow,
        /// Stripe total already folded into the window (or discarded by a
        /// clear).
        folded: u64,
    },
    Time(TimeTally),
    Consecutive {
        failures: u32,
    },
}

impl Recorder {
    pub(crate) fn new(config: &Config, counters: &Counters) -> Self {
        match config.policy {
            Policy::Rate {
                window: WindowKind::Count(size),
                ..
            } => Recorder::Count {
                window: CountWindow::new(size),
                folded: counters.successes.total(),
            },
            Policy::Rate {
                window: WindowKind::Time(seconds),
                ..
            } => Recorder::Time(TimeTally::new(seconds, counters)),
            Policy::Consecutive { .. } => Recorder::Consecutive { failures: 0 },
        }
    }

    /// Records a call taken on the locked path; true if the window now
    /// reaches a threshold.
    pub(crate) fn record(
        &mut self,
        config: &Config,
        counters: &Counters,
        now: Tick,
        failed: bool,
        slow: bool,
    ) -> bool {
        match self {
            Recorder::Consecutive { failures } => {
                *failures = if failed { *failures + 1 } else { 0 };
                matches!(config.policy, Policy::Consecutive { failures: limit } if *failures >= limit)
            }
            Recorder::Count { window, folded } => {
                fold(window, folded, counters);
                window.record(failed, slow);
                rate_trips(config, window.totals(), false)
            }
            Recorder::Time(tally) => {
                tally.record(now, failed, slow);
                rate_trips(config, tally.totals(counters, now), false)
            }
        }
    }

    /// Totals of the window at `now`, stripes included.
    pub(crate) fn totals(&mut self, counters: &Counters, now: Tick) -> Totals {
        match self {
            Recorder::Count { window, folded } => {
                fold(window, folded, counters);
                window.totals()
            }
            Recorder::Time(tally) => tally.totals(counters, now),
            Recorder::Consecutive { failures } => Totals {
                calls: *failures,
                failures: *failures,
                ..Totals::default()
            },
        }
    }

    /// Totals for a snapshot: as [`totals`](Self::totals), with a time
    /// window's stripes read live for every second.
    pub(crate) fn exact_totals(&mut self, counters: &Counters, now: Tick) -> Totals {
        match self {
            Recorder::Time(tally) => tally.exact_totals(counters, now),
            _ => self.totals(counters, now),
        }
    }

    /// Empties the window, stripes included.
    pub(crate) fn clear(&mut self, counters: &Counters, now: Tick) {
        match self {
            Recorder::Count { window, folded } => {
                window.clear();
                *folded = counters.successes.total();
            }
            Recorder::Time(tally) => tally.clear(counters, now),
            Recorder::Consecutive { failures } => *failures = 0,
        }
    }

    /// From when a lock-free success could trip a closed breaker:
    /// `Tick::ZERO` if it could now, `Tick::MAX` if never (until the next
    /// locked operation recomputes it).
    pub(crate) fn armed_from(&mut self, config: &Config, counters: &Counters, now: Tick) -> Tick {
        match self {
            Recorder::Consecutive { failures } => {
                if *failures > 0 {
                    Tick::ZERO
                } else {
                    Tick::MAX
                }
            }
            Recorder::Count { window, .. } => {
                // Without folding the stripes in again: successes not yet
                // folded only add calls and push failures out, so arming on
                // the window as it stands is safe (if anything, early).
                let totals = window.totals();
                let below_minimum = totals.calls < minimum_calls(config);
                if below_minimum && success_could_trip(config, totals) {
                    Tick::ZERO
                } else {
                    Tick::MAX
                }
            }
            Recorder::Time(tally) => tally.armed_from(config, counters, now),
        }
    }
}
