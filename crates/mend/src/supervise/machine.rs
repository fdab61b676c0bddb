//! [`RestartMachine`]: the restart decisions of a supervisor, with no
//! tokio and no I/O. It is told "this child started" and "this child ended
//! so, at this time", and answers what to stop, what to start and when, or
//! that the supervisor must give up. The task supervisor and the process
//! supervisor both drive one; neither decides anything itself.

use std::collections::VecDeque;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use super::plan::{Exit, IntensityScope, Restart, RestartPlan, Strategy};
use crate::clock::Tick;
use crate::retry::Delays;

/// Where a child is, as its supervisor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not started yet, or ended and not to be restarted.
    Stopped,
    /// Running.
    Running,
    /// To be started again at this time (after its backoff).
    Restarting(Tick),
}

/// What to do after a child ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Decision {
    /// Nothing: the child is not restarted (a temporary child is forgotten).
    Leave,
    /// Stop some children, then start some at a time.
    Restart(RestartOrder),
    /// Past the intensity: stop every child, in reverse start order, and end
    /// the supervisor with this error.
    GiveUp(GiveUp),
}

/// A restart to carry out: stop `stop` now, in that order (reverse start
/// order), then start `start` at `at`, in that order (start order).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RestartOrder {
    /// The child whose end caused it.
    pub cause: Arc<str>,
    /// Running children to stop first (siblings in a group restart).
    pub stop: Vec<Arc<str>>,
    /// Children to start again.
    pub start: Vec<Arc<str>>,
    /// When to start them.
    pub at: Tick,
    /// The cause's backoff: how long after its end `at` is.
    pub delay: Duration,
    /// The cause's restarts in a row, this one included.
    pub attempt: u32,
}

/// A supervisor gave up: `child` needed more restarts than its intensity
/// allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error(
    "gave up: `{child}` needed {restarts} restarts within {period:?}, more than the {max} allowed"
)]
pub struct GiveUp {
    /// The child whose end would have needed one restart too many.
    pub child: Arc<str>,
    /// Restarts within the period, the refused one included.
    pub restarts: u32,
    /// The most allowed.
    pub max: u32,
    /// The intensity's period.
    pub period: Duration,
}

/// A refusal to add a child whose name is taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a child named `{0}` already exists")]
pub struct DuplicateChild(pub Arc<str>);

/// Restart decisions for an ordered set of children, with no tokio and
/// no I/O: told "started" and "ended so, at this time", it answers what to
/// stop, what to start and when (see [`RestartPlan`] and the
/// [`supervise`](super) module for the rules).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::clock::Tick;
/// use mend::supervise::{Decision, Exit, Restart, RestartMachine, RestartPlan, Strategy};
///
/// let plan = RestartPlan::builder()
///     .strategy(Strategy::RestForOne)
///     .intensity(3, Duration::from_secs(10))
///     .build()?;
/// let mut machine = RestartMachine::new(plan);
/// let at = |s: u64| Tick::from_nanos(s * 1_000_000_000);
/// for name in ["db", "cache", "api"] {
///     machine.add(name, Restart::Permanent)?;
///     machine.started(name, at(0));
/// }
/// let Decision::Restart(order) = machine.exited("cache", Exit::Failed, at(1)) else {
///     panic!("a permanent child is restarted");
/// };
/// assert_eq!(order.stop, ["api".into()]); // started after cache
/// assert_eq!(order.start, ["cache".into(), "api".into()]);
/// assert_eq!(order.at, at(1)); // the first restart is at once
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RestartMachine {
    plan: RestartPlan,
    children: Vec<Slot>,
    /// The supervisor's restarts (scope `Supervisor`).
    restarts: Window,
    seeds: RandomState,
    gave_up: bool,
}

#[derive(Debug)]
struct Slot {
    name: Arc<str>,
    restart: Restart,
    phase: Phase,
    delays: Delays,
    /// This child's restarts (scope `Child`).
    restarts: Window,
}

impl RestartMachine {
    /// A machine with no children.
    pub fn new(plan: RestartPlan) -> Self {
        RestartMachine {
            plan,
            children: Vec::new(),
            restarts: Window::default(),
            seeds: RandomState::new(),
            gave_up: false,
        }
    }

    /// Adds a child after the others (it starts after them, stops before
    /// them), stopped until [`started`](Self::started).
    ///
    /// # Errors
    ///
    /// [`DuplicateChild`] if the name is taken.
    pub fn add(
        &mut self,
        name: impl Into<Arc<str>>,
        restart: Restart,
    ) -> Result<(), DuplicateChild> {
        let name = name.into();
        if self.index(&name).is_some() {
            return Err(DuplicateChild(name));
        }
        let seed = self.seeds.hash_one(&name);
        self.children.push(Slot {
            delays: Delays::new(
                self.plan.backoff,
                self.plan.jitter,
                self.plan.reset_after,
                seed,
            ),
            name,
            restart,
            phase: Phase::Stopped,
            restarts: Window::default(),
        });
        Ok(())
    }

    /// Forgets a child (its pending restart included); whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        match self.index(name) {
            Some(i) => {
                self.children.remove(i);
                true
            }
            None => false,
        }
    }

    /// The child started (or started again) at `now`: the stretch of stable
    /// running that starts its backoff over begins here.
    pub fn started(&mut self, name: &str, now: Tick) {
        if let Some(i) = self.index(name) {
            let slot = &mut self.children[i];
            slot.phase = Phase::Running;
            slot.delays.touch(now);
        }
    }

    /// The child ended with `exit` at `now`: what to do. An end of a child
    /// that is not running (one its supervisor is stopping for a group
    /// restart, say) changes nothing.
    pub fn exited(&mut self, name: &str, exit: Exit, now: Tick) -> Decision {
        let Some(i) = self.index(name) else {
            return Decision::Leave;
        };
        if self.gave_up || self.children[i].phase != Phase::Running {
            return Decision::Leave;
        }
        let slot = &mut self.children[i];
        slot.phase = Phase::Stopped;
        if !slot.restart.restarts_after(exit) {
            if slot.restart == Restart::Temporary {
                self.children.remove(i);
            }
            return Decision::Leave;
        }
        let delay = slot.delays.next(now);
        let attempt = slot.delays.count();
        let at = now.saturating_add(delay);
        if let Some((max, period)) = self.plan.intensity {
            let window = match self.plan.scope {
                IntensityScope::Supervisor => &mut self.restarts,
                IntensityScope::Child => &mut self.children[i].restarts,
            };
            window.forget_before(now, period);
            let restarts = window.count_within(at, period).saturating_add(1);
            if restarts > max {
                self.gave_up = true;
                for slot in &mut self.children {
                    slot.phase = Phase::Stopped;
                }
                return Decision::GiveUp(GiveUp {
                    child: self.children[i].name.clone(),
                    restarts,
                    max,
                    period,
                });
            }
            window.push(at);
        }
        let group = match self.plan.strategy {
            Strategy::OneForOne => i..i + 1,
            Strategy::OneForAll => 0..self.children.len(),
            Strategy::RestForOne => i..self.children.len(),
        };
        let stop = self.children[group.clone()]
            .iter()
            .rev()
            .filter(|s| s.phase == Phase::Running)
            .map(|s| s.name.clone())
            .collect();
        let mut start = Vec::new();
        for slot in &mut self.children[group] {
            if slot.restart == Restart::Temporary {
                slot.phase = Phase::Stopped; // stopped with the group, never restarted
            } else {
                slot.phase = Phase::Restarting(at);
                start.push(slot.name.clone());
            }
        }
        // Temporary children stopped with the group are forgotten.
        let cause = self.children[i].name.clone();
        self.children
            .retain(|s| !(s.restart == Restart::Temporary && s.phase == Phase::Stopped));
        Decision::Restart(RestartOrder {
            cause,
            stop,
            start,
            at,
            delay,
            attempt,
        })
    }

    /// The children due to start by `now`, in start order.
    pub fn due(&self, now: Tick) -> Vec<Arc<str>> {
        self.children
            .iter()
            .filter(|s| matches!(s.phase, Phase::Restarting(at) if at <= now))
            .map(|s| s.name.clone())
            .collect()
    }

    /// When the next restart is due, if one is.
    pub fn next_due(&self) -> Option<Tick> {
        self.children
            .iter()
            .filter_map(|s| match s.phase {
                Phase::Restarting(at) => Some(at),
                _ => None,
            })
            .min()
    }

    /// Where the child is, if it is known.
    pub fn phase(&self, name: &str) -> Option<Phase> {
        self.index(name).map(|i| self.children[i].phase)
    }

    /// The children in start order, with their restart kinds and phases.
    pub fn children(&self) -> impl Iterator<Item = (&Arc<str>, Restart, Phase)> {
        self.children.iter().map(|s| (&s.name, s.restart, s.phase))
    }

    /// Whether it gave up (nothing is restarted after that).
    pub fn has_given_up(&self) -> bool {
        self.gave_up
    }

    /// What this machine remembers of `name`'s restarts (its backoff
    /// position and its intensity window), for a supervisor that must go
    /// on where it was after its own restart: see
    /// [`remember`](Self::remember). Ticks are on the supervisor's clock;
    /// across processes that is the system's monotonic clock, valid until
    /// the machine reboots.
    pub fn memory(&self, name: &str) -> Option<RestartMemory> {
        let slot = &self.children[self.index(name)?];
        let (attempts, previous_delay, last) = slot.delays.position();
        let window = match self.plan.scope {
            IntensityScope::Supervisor => &self.restarts,
            IntensityScope::Child => &slot.restarts,
        };
        Some(RestartMemory {
            attempts,
            previous_delay_nanos: crate::clock::duration_nanos(previous_delay),
            last_nanos: last.map(Tick::as_nanos),
            restarts_nanos: window.0.iter().map(|t| t.as_nanos()).collect(),
        })
    }

    /// Goes on from `memory` for `name` (a child already added).
    pub fn remember(&mut self, name: &str, memory: &RestartMemory) {
        let Some(i) = self.index(name) else {
            return;
        };
        let window = Window(
            memory
                .restarts_nanos
                .iter()
                .map(|&n| Tick::from_nanos(n))
                .collect(),
        );
        let slot = &mut self.children[i];
        slot.delays.resume((
            memory.attempts,
            Duration::from_nanos(memory.previous_delay_nanos),
            memory.last_nanos.map(Tick::from_nanos),
        ));
        match self.plan.scope {
            IntensityScope::Supervisor => self.restarts = window,
            IntensityScope::Child => self.children[i].restarts = window,
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.children.iter().position(|s| &*s.name == name)
    }
}

/// A child's restart accounting, carried across a supervisor's own
/// restart: [`RestartMachine::memory`] and [`RestartMachine::remember`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct RestartMemory {
    /// Restarts since the backoff last started over.
    pub attempts: u32,
    /// The last delay (decorrelated jitter goes on from it), nanoseconds.
    pub previous_delay_nanos: u64,
    /// When a restart was last needed, on the monotonic clock.
    pub last_nanos: Option<u64>,
    /// The restarts its intensity still counts, on the monotonic clock.
    pub restarts_nanos: Vec<u64>,
}

/// The times of recent restarts. Kept bounded: times before `now - period`
/// can never count again (every later restart happens at or after `now`).
#[derive(Debug, Default)]
struct Window(VecDeque<Tick>);

impl Window {
    fn forget_before(&mut self, now: Tick, period: Duration) {
        let Some(horizon) = now
            .as_nanos()
            .checked_sub(crate::clock::duration_nanos(period))
        else {
            return;
        };
        self.0.retain(|t| t.as_nanos() > horizon);
    }

    /// Restarts in `(at - period, at]`.
    fn count_within(&self, at: Tick, period: Duration) -> u32 {
        let from = at
            .as_nanos()
            .checked_sub(crate::clock::duration_nanos(period));
        let n = self
            .0
            .iter()
            .filter(|t| **t <= at && from.is_none_or(|from| t.as_nanos() > from))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn push(&mut self, at: Tick) {
        self.0.push_back(at);
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Stopped => f.write_str("stopped"),
            Phase::Running => f.write_str("running"),
            Phase::Restarting(at) => write!(f, "restarting at {at:?}"),
        }
    }
}
