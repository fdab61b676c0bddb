//! [`Delays`]: the waits between repeats of an action that is not a retried
//! call (a health check's recovery, a supervised child's restart), taken
//! from a [`Backoff`] and spread by a [`Jitter`] exactly as a retry takes
//! them, and started over once things have been calm for a while.

use std::time::Duration;

use super::{Backoff, Jitter, SplitMix64};
use crate::clock::Tick;

/// Successive waits before an action repeats: the first repeat waits
/// nothing, the `n`-th after that waits the backoff's `n`-th delay (spread
/// by the jitter); the count starts over once the action has not been
/// needed for `reset_after` (Kubernetes resets its CrashLoopBackOff after
/// ten minutes of stable running).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::clock::{Clock, ManualClock};
/// use mend::retry::{Backoff, Delays, Jitter};
///
/// let clock = ManualClock::new();
/// let secs = Duration::from_secs;
/// let mut delays = Delays::new(Backoff::exponential(secs(10), 2.0).with_cap(secs(300)), Jitter::None, secs(600), 7);
/// assert_eq!(delays.next(clock.coarse()), Duration::ZERO); // at once
/// assert_eq!(delays.next(clock.coarse()), secs(10));
/// assert_eq!(delays.next(clock.coarse()), secs(20));
/// clock.advance(secs(600)); // calm for ten minutes
/// assert_eq!(delays.next(clock.coarse()), Duration::ZERO);
/// ```
#[derive(Debug, Clone)]
pub struct Delays {
    backoff: Backoff,
    jitter: Jitter,
    reset_after: Duration,
    rng: SplitMix64,
    /// Repeats since the last start-over.
    count: u32,
    prev: Duration,
    /// When the action was last needed.
    last: Option<Tick>,
}

impl Delays {
    /// Delays from `backoff` and `jitter`, started over after
    /// `reset_after` without a repeat; `seed` seeds the jitter.
    pub fn new(backoff: Backoff, jitter: Jitter, reset_after: Duration, seed: u64) -> Self {
        Delays {
            backoff,
            jitter,
            reset_after,
            rng: SplitMix64::new(seed),
            count: 0,
            prev: backoff.base(),
            last: None,
        }
    }

    /// The wait before the action runs again, needed at `now`.
    pub fn next(&mut self, now: Tick) -> Duration {
        if self.last.is_some_and(|last| now - last >= self.reset_after) {
            self.count = 0;
            self.prev = self.backoff.base();
        }
        self.last = Some(now);
        let n = self.count;
        self.count = self.count.saturating_add(1);
        if n == 0 {
            return Duration::ZERO;
        }
        let temp = self.backoff.delay(n - 1);
        let delay = self.jitter.apply(
            temp,
            self.backoff.base(),
            self.backoff.cap(),
            self.prev,
            &mut self.rng,
        );
        self.prev = delay;
        delay
    }

    /// Marks the action as still needed at `now` without taking a delay
    /// (the calm stretch that resets the count starts again from here).
    pub fn touch(&mut self, now: Tick) {
        if self.last.is_some() {
            self.last = Some(now);
        }
    }

    /// Repeats since the count last started over.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Where it is: what [`resume`](Self::resume) needs to go on from
    /// here in another process (the tick is on the system's monotonic
    /// clock, which runs on across processes until the machine reboots).
    pub fn position(&self) -> (u32, Duration, Option<Tick>) {
        (self.count, self.prev, self.last)
    }

    /// Goes on from a [`position`](Self::position).
    pub fn resume(&mut self, (count, prev, last): (u32, Duration, Option<Tick>)) {
        self.count = count;
        self.prev = prev;
        self.last = last;
    }
}
