//! The transitions people ask for: the manual states, `reset`, and moving
//! a breaker into an automatic state by hand (Resilience4j's
//! `transitionTo*State`).
//!
//! A transition to the state the breaker is already in re-enters it (a
//! fresh window, trials or wait) and announces nothing, as Resilience4j's
//! "internal" transitions do; `reset()` is the exception: it always
//! announces itself.

use super::{Machine, Transition};
use crate::breaker::State;
use crate::breaker::config::Config;
use crate::breaker::recorder::Counters;
use crate::clock::Tick;

/// A transition the breaker does not make: half-open from closed or
/// metrics-only (there is nothing to try: open it first), open from
/// metrics-only (it only records; leave it with `reset` first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a breaker does not go from {from} to {to}")]
pub struct IllegalTransition {
    /// The state it is in.
    pub from: State,
    /// The state it was asked to move to.
    pub to: State,
}

/// Where a manual transition goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Open until this tick.
    OpenUntil(Tick),
    /// Open for the wait it would take by itself.
    Open,
    HalfOpen,
    Closed,
}

impl Machine {
    /// Into a manual state (forced open, disabled, metrics only); `None`
    /// if it was already there (re-entered, unannounced).
    pub(crate) fn force(
        &mut self,
        config: &Config,
        counters: &Counters,
        to: State,
        now: Tick,
    ) -> Option<Transition> {
        let t = self.enter(config, counters, to, now);
        (t.from != to).then_some(t)
    }

    /// A fresh closed breaker, always announced.
    pub(crate) fn reset(&mut self, config: &Config, counters: &Counters, now: Tick) -> Transition {
        Transition {
            reset: true,
            ..self.enter(config, counters, State::Closed, now)
        }
    }

    /// Into an automatic state by hand.
    ///
    /// # Errors
    ///
    /// [`IllegalTransition`] as its docs say.
    pub(crate) fn transition(
        &mut self,
        config: &Config,
        counters: &Counters,
        target: Target,
        now: Tick,
    ) -> Result<Option<Transition>, IllegalTransition> {
        let to = match target {
            Target::OpenUntil(_) | Target::Open => State::Open,
            Target::HalfOpen => State::HalfOpen,
            Target::Closed => State::Closed,
        };
        let illegal = match to {
            State::Open => self.state == State::MetricsOnly,
            State::HalfOpen => matches!(self.state, State::Closed | State::MetricsOnly),
            _ => false,
        };
        if illegal {
            return Err(IllegalTransition {
                from: self.state,
                to,
            });
        }
        let t = match target {
            Target::OpenUntil(until) => self.open_at(counters, until),
            Target::Open => {
                let wait = config.wait.draw(self.reopens, &mut self.rng);
                self.open_at(counters, now + wait)
            }
            Target::HalfOpen | Target::Closed => self.enter(config, counters, to, now),
        };
        Ok((t.from != to).then_some(t))
    }
}
