//! The word every call reads first: the breaker's state, whether a success
//! may be counted without the lock, and the state's generation.
//!
//! The locked state machine publishes a new gate after every change; calls
//! read it with one load and decide most cases without the lock:
//!
//! | state | acquire | success |
//! |---|---|---|
//! | Closed, not armed | admit | count on the thread's stripe |
//! | Closed, armed | admit | locked: it may trip the breaker |
//! | MetricsOnly | admit | count on the thread's stripe |
//! | Disabled | admit, record nothing | - |
//! | Open, before `until` | reject, count on the thread's stripe | - |
//! | ForcedOpen | reject, count on the thread's stripe | - |
//! | HalfOpen, Open after `until` | locked | locked |
//!
//! "Armed" means a success could trip the breaker: for a time window, from
//! `until` on (old successes leaving the window can raise the failure rate);
//! for a count window, while the window holds fewer than `minimum_calls`
//! with enough failures that reaching the minimum would trip it; for
//! consecutive failures, while a run of failures is open.

use super::State;
use crate::clock::Tick;
use crate::sync::{AtomicU64, Ordering};

/// Calls are admitted without the lock (Closed, MetricsOnly, Disabled).
const ADMIT: u64 = 1;
/// Admitted calls are recorded (not in Disabled).
const RECORDS: u64 = 1 << 1;
/// A success may be counted without the lock.
const FAST_SUCCESS: u64 = 1 << 2;
/// Only in an [`Admission`]: the call holds a half-open trial slot.
const TRIAL: u64 = 1 << 3;
const STATE_SHIFT: u32 = 4;
const STATE_BITS: u64 = 0b111 << STATE_SHIFT;
const GENERATION_SHIFT: u32 = 8;

fn code(state: State) -> u64 {
    match state {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
        State::ForcedOpen => 3,
        State::Disabled => 4,
        State::MetricsOnly => 5,
    }
}

fn state_of(code: u64) -> State {
    match code {
        0 => State::Closed,
        1 => State::Open,
        2 => State::HalfOpen,
        3 => State::ForcedOpen,
        4 => State::Disabled,
        _ => State::MetricsOnly,
    }
}

/// One published reading of the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GateWord(u64);

impl GateWord {
    pub(crate) fn new(state: State, generation: u64, fast_success: bool) -> Self {
        let mut word = (code(state) << STATE_SHIFT) | (generation << GENERATION_SHIFT);
        if matches!(state, State::Closed | State::MetricsOnly | State::Disabled) {
            word |= ADMIT;
        }
        if matches!(state, State::Closed | State::MetricsOnly) {
            word |= RECORDS;
        }
        if fast_success {
            word |= FAST_SUCCESS;
        }
        GateWord(word)
    }

    #[inline(always)]
    pub(crate) fn state(self) -> State {
        state_of((self.0 & STATE_BITS) >> STATE_SHIFT)
    }

    /// The admission a call takes without the lock, if this gate allows one.
    #[inline(always)]
    pub(crate) fn admission(self) -> Option<Admission> {
        (self.0 & ADMIT != 0).then_some(Admission(self.0))
    }

    #[cfg(test)]
    fn fast_success(self) -> bool {
        self.0 & FAST_SUCCESS != 0
    }

    /// The generation, truncated to 56 bits (ample: one transition per
    /// nanosecond wraps after two years).
    #[cfg(test)]
    fn generation(self) -> u64 {
        self.0 >> GENERATION_SHIFT
    }
}

/// What an admitted call holds: the state generation it was admitted in,
/// whether it holds one of half-open's trial slots, and whether its outcome
/// is recorded at all (not when disabled). One word, so a permit stays in
/// registers on the hot path; a lock-free admission is the gate word itself,
/// so one comparison tells whether the gate is still the one it was
/// admitted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admission(u64);

impl Admission {
    /// An admission from the locked path.
    pub(crate) fn new(generation: u64, trial: bool, records: bool) -> Self {
        let mut word = generation << GENERATION_SHIFT;
        if trial {
            word |= TRIAL;
        }
        if records {
            word |= RECORDS;
        }
        Admission(word)
    }

    #[inline(always)]
    pub(crate) fn generation(self) -> u64 {
        self.0 >> GENERATION_SHIFT
    }

    #[inline(always)]
    pub(crate) fn trial(self) -> bool {
        self.0 & TRIAL != 0
    }

    #[inline(always)]
    pub(crate) fn records(self) -> bool {
        self.0 & RECORDS != 0
    }

    /// True if a success of this call may be counted without the lock
    /// under `gate`: admitted lock-free under exactly this gate, which lets
    /// successes through.
    #[inline(always)]
    pub(crate) fn fast_success_under(self, gate: GateWord) -> bool {
        self.0 == gate.0 && gate.0 & FAST_SUCCESS != 0
    }
}

/// The published gate and its deadline.
#[derive(Debug)]
pub(crate) struct Gate {
    word: AtomicU64,
    /// Open: when the wait ends. Closed with a time window: when successes
    /// become armed. Otherwise unused.
    until: AtomicU64,
}

impl Gate {
    pub(crate) fn new(word: GateWord, until: Tick) -> Self {
        Gate {
            word: AtomicU64::new(word.0),
            until: AtomicU64::new(until.as_nanos()),
        }
    }

    #[inline(always)]
    pub(crate) fn load(&self) -> GateWord {
        GateWord(self.word.load(Ordering::Acquire))
    }

    #[inline(always)]
    pub(crate) fn until(&self) -> Tick {
        Tick::from_nanos(self.until.load(Ordering::Relaxed))
    }

    /// Publishes a new gate; called with the state machine's lock held.
    /// Stores only what changed: a store to an unchanged gate would still
    /// take its cache line away from every core reading it.
    pub(crate) fn publish(&self, word: GateWord, until: Tick) {
        if self.until.load(Ordering::Relaxed) != until.as_nanos() {
            self.until.store(until.as_nanos(), Ordering::Relaxed);
        }
        if self.word.load(Ordering::Relaxed) != word.0 {
            self.word.store(word.0, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for state in [
            State::Closed,
            State::Open,
            State::HalfOpen,
            State::ForcedOpen,
            State::Disabled,
            State::MetricsOnly,
        ] {
            for fast in [false, true] {
                let word = GateWord::new(state, 12345, fast);
                assert_eq!(word.state(), state);
                assert_eq!(word.fast_success(), fast);
                assert_eq!(word.generation(), 12345);
                if let Some(admission) = word.admission() {
                    assert_eq!(admission.generation(), 12345);
                    assert!(!admission.trial());
                    assert_eq!(admission.records(), state != State::Disabled);
                    assert_eq!(admission.fast_success_under(word), fast);
                }
            }
        }
        let trial = Admission::new(7, true, true);
        assert!(trial.trial() && trial.records() && trial.generation() == 7);
    }
}
