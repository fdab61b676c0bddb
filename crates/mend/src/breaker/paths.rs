//! The two paths behind [`CircuitBreaker`]'s public methods: the lock-free
//! one that reads the gate and counts on the calling thread's stripe, and
//! the locked one that runs the state machine and republishes the gate.

use super::config::Config;
use super::gate::Admission;
use super::machine::{Machine, Transition};
use super::permit::Ticket;
use super::recorder::{Counters, Successes};
use super::window::second_of;
use super::{BreakerEvent, CircuitBreaker};
use crate::classify::Outcome;
use crate::clock::{Clock, Tick};
use crate::error::Rejected;

/// Records a call admitted by [`call`](CircuitBreaker::call) if it
/// unwinds: a failure (the call panicked), as a dropped permit would.
/// Forgotten when the call returns.
pub(super) struct RecordOnUnwind<'a, C: Clock, K> {
    pub(super) breaker: &'a CircuitBreaker<C, K>,
    pub(super) ticket: Ticket,
}

impl<C: Clock, K> Drop for RecordOnUnwind<'_, C, K> {
    #[cold]
    fn drop(&mut self) {
        self.ticket.abandon(self.breaker);
    }
}

impl<C: Clock, K> CircuitBreaker<C, K> {
    #[cold]
    pub(super) fn acquire_locked(&self) -> Result<Ticket, Rejected> {
        self.locked(|machine, config, counters, now| machine.acquire(config, counters, now))
            .map(|admission| Ticket::new(self, admission))
            .map_err(|rejected| match rejected {
                Rejected::Open { retry_after } if !retry_after.is_zero() => Rejected::Open {
                    retry_after: retry_after.saturating_add(self.coarse_lag),
                },
                other => other,
            })
    }

    /// The open wait is over by the precise clock, though not yet by the
    /// coarse one: acquire as of `deadline` if the breaker is still open
    /// until then (the machine's time never runs ahead of the deadline it
    /// set; any other state is decided at the coarse time as usual).
    #[cold]
    pub(super) fn acquire_locked_at_deadline(&self, deadline: Tick) -> Result<Ticket, Rejected> {
        let mut machine = self.machine.0.lock();
        if !machine.open_until(deadline) {
            drop(machine);
            return self.acquire_locked();
        }
        machine.touch();
        let (result, transition) = machine.acquire(&self.config, &self.counters, deadline);
        let (word, until) = machine.gate(&self.config, &self.counters, deadline);
        self.gate.0.publish(word, until);
        drop(machine);
        if let Some(t) = transition {
            self.announce(t);
        }
        result.map(|admission| Ticket::new(self, admission))
    }

    /// A reading that changes whenever a call, a rejection or a locked
    /// operation touches the breaker (how a registry tells idle breakers).
    pub(crate) fn activity(&self) -> u64 {
        let locked = self.machine.0.lock().locked_ops();
        self.counters
            .successes
            .total()
            .wrapping_add(self.counters.rejections.get(0))
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
        match &self.counters.successes {
            Successes::Count(tally) => tally.add(0),
            Successes::PerSecond(stripes) => {
                let now = self.clock.coarse();
                if now >= self.gate.0.until() {
                    return false;
                }
                stripes.add_at(second_of(now));
            }
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
        let mut machine = self.machine.0.lock();
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
        self.subscribers.emit(|| BreakerEvent {
            name: self.config.name.clone(),
            at: self.clock.wall(),
            from: t.from,
            to: t.to,
            rejected: t.rejected,
            reset: t.reset,
        });
    }
}

/// The fast path is an optimisation the reference model cannot see: these
/// tests count the operations that took the lock, so arming too eagerly
/// (correct, but slow) fails here.
#[cfg(all(test, not(loom)))]
mod tests {
    use std::time::Duration;

    use crate::breaker::{CircuitBreaker, State};
    use crate::clock::{Clock, ManualClock};

    fn locked_ops<C: Clock, K>(breaker: &CircuitBreaker<C, K>) -> u64 {
        breaker.machine.0.lock().locked_ops()
    }

    fn ok() -> Result<(), &'static str> {
        Ok(())
    }

    fn down() -> Result<(), &'static str> {
        Err("down")
    }

    /// A count window, a time window and a consecutive-failures breaker,
    /// each needing ten calls before its rates count.
    fn one_of_each_window(clock: &ManualClock) -> [CircuitBreaker<ManualClock>; 3] {
        let base = || {
            CircuitBreaker::builder("windows")
                .minimum_calls(10)
                .without_logging()
                .clock(clock.clone())
        };
        [
            base().count_window(100).build().unwrap(),
            base().time_window(Duration::from_secs(60)).build().unwrap(),
            base().consecutive_failures(3).build().unwrap(),
        ]
    }

    #[test]
    fn closed_successes_skip_the_lock_in_every_window() {
        let breakers = one_of_each_window(&ManualClock::new());
        for breaker in &breakers {
            // A failure (locked), then enough successes that it cannot trip.
            let _ = breaker.call(down);
            for _ in 0..20 {
                let _ = breaker.call(ok);
            }
            let before = locked_ops(breaker);
            for _ in 0..1_000 {
                let _ = breaker.call(ok);
            }
            assert_eq!(locked_ops(breaker), before, "{breaker:?}");
        }
    }

    /// A registry tells busy breakers from idle ones by `activity`; a
    /// success counted without the lock must move it in every window.
    #[test]
    fn a_lock_free_success_is_activity_in_every_window() {
        let breakers = one_of_each_window(&ManualClock::new());
        for breaker in &breakers {
            let (activity, locked) = (breaker.activity(), locked_ops(breaker));
            let _ = breaker.call(ok);
            assert_eq!(locked_ops(breaker), locked, "{breaker:?}");
            assert_ne!(breaker.activity(), activity, "{breaker:?}");
        }
    }

    /// The success path is the same whatever the caller's types: none of
    /// these shapes takes the lock.
    #[test]
    fn successes_of_every_shape_skip_the_lock() {
        use std::error::Error as StdError;
        use std::io;
        #[derive(Clone, Copy)]
        #[allow(dead_code)] // only its size matters
        struct Wide([u64; 8]);
        let breakers = one_of_each_window(&ManualClock::new());
        for breaker in &breakers {
            let before = locked_ops(breaker);
            for _ in 0..100 {
                let _ = breaker.call(|| Ok::<(), ()>(()));
                let _ = breaker.call(|| Ok::<u64, io::Error>(1));
                let _ = breaker.call(|| Ok::<String, io::Error>(String::new()));
                let _ = breaker.call(|| Ok::<Wide, Box<dyn StdError + Send + Sync>>(Wide([0; 8])));
                let _ = breaker.call(|| Ok::<(), io::Error>(()));
            }
            assert_eq!(locked_ops(breaker), before, "{breaker:?}");
            assert_eq!(breaker.counters().successes, 500);
        }
    }

    #[test]
    fn a_success_that_could_trip_takes_the_lock_and_only_then() {
        let clock = ManualClock::new();
        let breaker = CircuitBreaker::builder("armed")
            .count_window(10)
            .minimum_calls(4)
            .failure_rate_threshold(50.0)
            .without_logging()
            .clock(clock.clone())
            .build()
            .unwrap();
        let _ = breaker.call(down);
        let _ = breaker.call(down);
        // 2 failures of 2 calls: the success bringing the window to its
        // minimum could trip it (2 of 4 is 50 %), so successes are armed.
        let before = locked_ops(&breaker);
        let _ = breaker.call(ok);
        assert_eq!(locked_ops(&breaker), before + 1, "armed below the minimum");
        let _ = breaker.call(ok);
        assert_eq!(breaker.state(), State::Open, "2 of 4 failed");

        // Below the minimum with no failure to speak of: not armed.
        let calm = CircuitBreaker::builder("calm")
            .count_window(10)
            .minimum_calls(4)
            .without_logging()
            .clock(clock.clone())
            .build()
            .unwrap();
        let before = locked_ops(&calm);
        for _ in 0..3 {
            let _ = calm.call(ok);
        }
        assert_eq!(locked_ops(&calm), before);
    }

    #[test]
    fn a_consecutive_run_is_reset_under_the_lock_once() {
        let clock = ManualClock::new();
        let breaker = CircuitBreaker::builder("run")
            .consecutive_failures(3)
            .without_logging()
            .clock(clock)
            .build()
            .unwrap();
        let _ = breaker.call(down);
        let before = locked_ops(&breaker);
        let _ = breaker.call(ok); // resets the run
        let _ = breaker.call(ok);
        let _ = breaker.call(ok);
        assert_eq!(locked_ops(&breaker), before + 1);
    }

    #[test]
    fn time_windows_arm_when_old_successes_leave() {
        let clock = ManualClock::new();
        let breaker = CircuitBreaker::builder("expiry")
            .time_window(Duration::from_secs(10))
            .minimum_calls(4)
            .failure_rate_threshold(50.0)
            .without_logging()
            .clock(clock.clone())
            .build()
            .unwrap();
        for _ in 0..10 {
            let _ = breaker.call(ok);
        }
        clock.advance(Duration::from_secs(5));
        for _ in 0..4 {
            let _ = breaker.call(down);
        }
        // 4 of 14 failed: fine until the 10 old successes leave the window
        // 5 s from now; until then successes skip the lock.
        let before = locked_ops(&breaker);
        let _ = breaker.call(ok);
        clock.advance(Duration::from_secs(4));
        let _ = breaker.call(ok);
        assert_eq!(locked_ops(&breaker), before, "not armed yet");
        clock.advance(Duration::from_secs(1));
        let _ = breaker.call(ok);
        assert_eq!(locked_ops(&breaker), before + 1, "armed once they leave");
        assert_eq!(breaker.state(), State::Open, "4 of 7 failed");
    }

    #[test]
    fn open_breakers_reject_without_the_lock() {
        let clock = ManualClock::new();
        let breaker = CircuitBreaker::builder("open")
            .consecutive_failures(1)
            .wait_in_open(Duration::from_secs(5))
            .without_logging()
            .clock(clock)
            .build()
            .unwrap();
        let _ = breaker.call(down);
        let before = locked_ops(&breaker);
        for _ in 0..100 {
            assert!(breaker.call(ok).is_err());
        }
        assert_eq!(locked_ops(&breaker), before);
        assert_eq!(breaker.metrics().not_permitted_calls, 100);
    }
}
