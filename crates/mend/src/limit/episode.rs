//! Episodes of a limit refusing calls: the state change a limit reports,
//! instead of one event per refusal.
//!
//! An episode begins at the first refusal after a calm stretch and ends at
//! the first admitted call in a later second (of the limit's coarse clock)
//! than the last refusal, so a limit that refuses every second stays in one
//! episode rather than flapping. The event that ends it says how many calls
//! were refused meanwhile. Outside an episode, an admitted call costs one
//! load of a word only episodes write.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::event::{LimitChange, LimitEvent, LimitKind};
use crate::clock::{Clock, Tick};
use crate::observe::Subscribers;

/// The episode state of one limit.
#[derive(Debug, Default)]
pub(crate) struct Episodes {
    /// The second of the last refusal, plus one; 0 when calm.
    last_refusal: AtomicU64,
    /// The limit's refusal count when the episode began.
    refused_before: AtomicU64,
    /// Episodes begun, ever.
    began: AtomicU64,
}

/// What a call did to the episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// An episode began with this refusal.
    Began,
    /// The episode ended with this admission; it refused this many calls.
    Ended { refused: u64 },
}

impl Episodes {
    /// A refusal in `second`; `refused()` reads the limit's refusal count,
    /// this one included, only if an episode begins.
    #[cold]
    pub(crate) fn refused(&self, second: u64, refused: impl FnOnce() -> u64) -> Option<Change> {
        let tag = second.saturating_add(1);
        let last = self.last_refusal.load(Relaxed);
        if last == tag {
            return None;
        }
        if last == 0 {
            if self
                .last_refusal
                .compare_exchange(0, tag, Relaxed, Relaxed)
                .is_ok()
            {
                self.refused_before
                    .store(refused().saturating_sub(1), Relaxed);
                self.began.fetch_add(1, Relaxed);
                return Some(Change::Began);
            }
            return None;
        }
        // Later seconds only move forward; a racing older one loses.
        let _ = self.last_refusal.fetch_max(tag, Relaxed);
        None
    }

    /// Whether an episode of refusals is open (an admission may end it).
    #[inline(always)]
    pub(crate) fn refusing(&self) -> bool {
        self.last_refusal.load(Relaxed) != 0
    }

    /// An admitted call: `second()` reads the clock, only during an episode;
    /// `refused()` reads the limit's refusal count, only if it ends.
    #[inline]
    pub(crate) fn admitted(
        &self,
        second: impl FnOnce() -> u64,
        refused: impl FnOnce() -> u64,
    ) -> Option<Change> {
        let last = self.last_refusal.load(Relaxed);
        if last == 0 {
            return None;
        }
        self.end(last, second(), refused)
    }

    /// Episodes begun since the limit was made.
    #[cfg(feature = "metrics")]
    pub(crate) fn began(&self) -> u64 {
        self.began.load(Relaxed)
    }

    #[cold]
    fn end(&self, last: u64, second: u64, refused: impl FnOnce() -> u64) -> Option<Change> {
        // `last` is the refusal's second plus one: the episode ends in any
        // later second.
        if second < last {
            return None;
        }
        self.last_refusal
            .compare_exchange(last, 0, Relaxed, Relaxed)
            .ok()?;
        let refused = refused().saturating_sub(self.refused_before.load(Relaxed));
        Some(Change::Ended { refused })
    }
}

/// The whole second a coarse reading falls in.
pub(crate) fn second_of(tick: Tick) -> u64 {
    tick.as_nanos() / 1_000_000_000
}

/// What a limit needs to report its episodes: its name and kind, its
/// subscribers, and the episode state.
#[derive(Debug)]
pub(crate) struct Reporter {
    pub(crate) name: Arc<str>,
    pub(crate) kind: LimitKind,
    pub(crate) subscribers: Subscribers,
    pub(crate) episodes: Episodes,
}

impl Reporter {
    pub(crate) fn new(name: Arc<str>, kind: LimitKind, subscribers: Subscribers) -> Self {
        Reporter {
            name,
            kind,
            subscribers,
            episodes: Episodes::default(),
        }
    }

    /// A refusal; `refused()` counts it, read only if an episode begins.
    #[cold]
    pub(crate) fn refused<C: Clock>(&self, clock: &C, refused: impl FnOnce() -> u64) {
        if let Some(change) = self.episodes.refused(second_of(clock.coarse()), refused) {
            self.announce(clock, change);
        }
    }

    /// An admitted call; `refused` is read only if an episode ends. Outside
    /// an episode, one load.
    #[inline(always)]
    pub(crate) fn admitted<C: Clock>(&self, clock: &C, refused: impl FnOnce() -> u64) {
        if self.episodes.refusing() {
            self.admitted_while_refusing(clock, refused);
        }
    }

    #[cold]
    #[inline(never)]
    fn admitted_while_refusing<C: Clock>(&self, clock: &C, refused: impl FnOnce() -> u64) {
        if let Some(change) = self
            .episodes
            .admitted(|| second_of(clock.coarse()), refused)
        {
            self.announce(clock, change);
        }
    }

    #[cold]
    fn announce<C: Clock>(&self, clock: &C, change: Change) {
        self.subscribers.emit(|| LimitEvent {
            name: self.name.clone(),
            at: clock.wall(),
            limit: self.kind,
            change: match change {
                Change::Began => LimitChange::Refusing,
                Change::Ended { refused } => LimitChange::Recovered { refused },
            },
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn one_episode_per_stretch_of_refusals() {
        let e = Episodes::default();
        assert_eq!(e.admitted(|| 0, || 0), None, "calm");
        assert_eq!(e.refused(10, || 1), Some(Change::Began));
        assert_eq!(e.refused(10, || 2), None);
        assert_eq!(e.admitted(|| 10, || 2), None, "same second: still refusing");
        assert_eq!(
            e.refused(11, || 3),
            None,
            "refusing every second: one episode"
        );
        assert_eq!(e.admitted(|| 11, || 3), None);
        assert_eq!(e.admitted(|| 12, || 3), Some(Change::Ended { refused: 3 }));
        assert_eq!(e.admitted(|| 13, || 3), None, "ended once");
        assert_eq!(e.refused(20, || 4), Some(Change::Began));
        assert_eq!(e.admitted(|| 21, || 9), Some(Change::Ended { refused: 6 }));
    }
}
