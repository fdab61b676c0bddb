//! The two paths behind [`CircuitBreaker`]'s public methods: the lock-free
//! one that reads the gate and counts on the calling thread's stripe, and
//! the locked one that runs the state machine and republishes the gate.

use super::config::Config;
use super::gate::Admission;
use super::machine::{Machine, Transition};
use super::permit::Permit;
use super::recorder::Counters;
use super::window::second_of;
use super::{BreakerEvent, CircuitBreaker};
use crate::classify::Outcome;
use crate::clock::{Clock, Tick};
use crate::error::Rejected;
use crate::observe::Event;

/// Where a lock-free success is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SuccessTally {
    /// One counter per thread (count windows).
    Count,
    /// One counter per thread and second (time windows).
    PerSecond,
    /// Nowhere: a success only matters to a run of failures, and then it
    /// takes the locked path (standalone consecutive-failures breakers).
    Nowhere,
}

impl<C: Clock, K> CircuitBreaker<C, K> {
    #[cold]
    pub(super) fn acquire_locked(&self) -> Result<Permit<'_, C, K>, Rejected> {
        self.locked(|machine, config, counters, now| machine.acquire(config, counters, now))
            .map(|admission| Permit::new(self, admission))
            .map_err(|rejected| match rejected {
                Rejected::Open { retry_after } if !retry_after.is_zero() => Rejected::Open {
                    retry_after: retry_after.saturating_add(self.coarse_lag),
                },
                other => other,
            })
    }

    /// A reading that changes whenever a call, a rejection or a locked
    /// operation touches the breaker (how a registry tells idle breakers).
    pub(crate) fn activity(&self) -> u64 {
        let locked = self.machine.lock().locked_ops();
        self.counters
            .successes
            .fingerprint()
            .wrapping_add(self.counters.rejections.fingerprint())
            .wrapping_add(locked)
    }

    /// Records a finished call: lock-free for a success the gate allows,
    /// through the state machine otherwise.
    #[inline(always)]
    pub(super) fn record(&self, admission: Admission, outcome: Outcome, slow: bool) {
        if outcome == Outcome::Success
            && !slow
            && !admission.trial()
            && self.tally_success(admission)
        {
            return;
        }
        self.record_locked(admission, outcome, slow);
    }

    /// Counts a success without the lock if the gate says it cannot trip
    /// the breaker; false if it must take the locked path.
    #[inline(always)]
    fn tally_success(&self, admission: Admission) -> bool {
        if !admission.fast_success_under(self.gate.0.load()) {
            return false;
        }
        match self.tally {
            SuccessTally::Count => self.counters.successes.add(),
            SuccessTally::PerSecond => {
                let now = self.clock.coarse();
                if now >= self.gate.0.until() {
                    return false;
                }
                self.counters.successes.add_at(second_of(now));
            }
            SuccessTally::Nowhere => {}
        }
        true
    }

    #[cold]
    fn record_locked(&self, admission: Admission, outcome: Outcome, slow: bool) {
        self.locked(|machine, config, counters, now| {
            (
                (),
                machine.record(config, counters, now, admission, outcome, slow),
            )
        });
    }

    /// Runs `op` on the state machine under the lock, publishes the new
    /// gate, and announces any transition once the lock is released.
    pub(super) fn locked<R>(
        &self,
        op: impl FnOnce(&mut Machine, &Config, &Counters, Tick) -> (R, Option<Transition>),
    ) -> R {
        let mut machine = self.machine.lock();
        machine.touch();
        let now = self.clock.coarse();
        let (result, transition) = op(&mut machine, &self.config, &self.counters, now);
        let (word, until) = machine.gate(&self.config, &self.counters, now);
        self.gate.0.publish(word, until);
        drop(machine);
        if let Some(t) = transition {
            self.announce(t);
        }
        result
    }

    fn announce(&self, t: Transition) {
        self.subscribers.emit(|| {
            Event::Breaker(BreakerEvent {
                name: self.config.name.clone(),
                at: self.clock.wall(),
                from: t.from,
                to: t.to,
                rejected: t.rejected,
            })
        });
    }
}
