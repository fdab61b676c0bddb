//! [`RestartPlan`]: what a supervisor restarts when a child ends, how often
//! before it gives up, and how long it waits in between: the words of
//! Erlang/OTP, with Kubernetes' backoff.

use std::fmt;
use std::time::Duration;

use crate::config::{Checks, ConfigError};
use crate::retry::{Backoff, Jitter};

/// When a child that ended is restarted (OTP's restart types).
///
/// | mend / OTP | systemd `Restart=` | restarted after |
/// |---|---|---|
/// | `Permanent` | `always` | any end, a normal one included |
/// | `Transient` | `on-failure` | a failure only (an error, a panic, a non-zero exit, a signal) |
/// | `Temporary` | `no` | never; forgotten once it ends |
///
/// A child stopped on purpose (by its supervisor, by `remove`, by a
/// shutdown) is never restarted, whatever its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Restart {
    /// Always restarted.
    #[default]
    Permanent,
    /// Restarted after a failure, not after a normal end.
    Transient,
    /// Never restarted.
    Temporary,
}

impl Restart {
    /// `"permanent"`, `"transient"` or `"temporary"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Restart::Permanent => "permanent",
            Restart::Transient => "transient",
            Restart::Temporary => "temporary",
        }
    }

    /// Whether a child of this kind that ended with `exit` is restarted.
    pub fn restarts_after(self, exit: Exit) -> bool {
        match (self, exit) {
            (Restart::Temporary, _) | (_, Exit::Stopped) => false,
            (Restart::Permanent, _) | (Restart::Transient, Exit::Failed) => true,
            (Restart::Transient, Exit::Normal) => false,
        }
    }
}

impl fmt::Display for Restart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a child ended, as far as restarting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// It finished: returned `Ok`, exited 0.
    Normal,
    /// It failed: returned an error, panicked, exited non-zero, was killed
    /// by a signal it did not ask for, or was restarted on request (a
    /// health check's recovery).
    Failed,
    /// It was stopped on purpose (OTP's `shutdown`).
    Stopped,
}

/// Which children restart when one of them must (OTP's strategies).
/// Children start in the order they were added and stop in reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// Only the child that ended.
    #[default]
    OneForOne,
    /// Every child: the others are stopped (in reverse order) and all start
    /// again (in order). For children that depend on each other.
    OneForAll,
    /// The child that ended and every child started after it.
    RestForOne,
}

impl Strategy {
    /// `"one_for_one"`, `"one_for_all"` or `"rest_for_one"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::OneForOne => "one_for_one",
            Strategy::OneForAll => "one_for_all",
            Strategy::RestForOne => "rest_for_one",
        }
    }
}

/// Whose restarts the intensity counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IntensityScope {
    /// All of the supervisor's restarts together (OTP).
    #[default]
    Supervisor,
    /// Each child's own (a process supervisor's services).
    Child,
}

/// How a supervisor restarts: strategy, intensity, backoff.
///
/// The default is OTP's: one-for-one, at most 1 restart in 5 s (counted
/// over the whole supervisor), restarts at once.
/// [`crash_loop_backoff`](RestartPlanBuilder::crash_loop_backoff) gives
/// Kubernetes' numbers instead.
///
/// - **Intensity**: more than `max_restarts` restarts within `period`
///   makes the supervisor give up: it stops every child and ends with an
///   error naming the child that failed and how often. A restart counts at
///   the moment it happens (after its backoff); a group restart
///   (one-for-all, rest-for-one) is one restart.
/// - **Backoff**: each child keeps its own count of restarts in a row; the
///   first restart is at once, the `n`-th after that waits the backoff's
///   `n`-th delay, spread by the jitter ([`crate::retry::Delays`]). The
///   count starts over once the child has run for `reset_after` since it
///   last started. In a group restart, the delay is that of the child whose
///   end caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartPlan {
    pub(crate) strategy: Strategy,
    /// `None`: never give up.
    pub(crate) intensity: Option<(u32, Duration)>,
    pub(crate) scope: IntensityScope,
    pub(crate) backoff: Backoff,
    pub(crate) jitter: Jitter,
    pub(crate) reset_after: Duration,
}

impl Default for RestartPlan {
    fn default() -> Self {
        RestartPlan {
            strategy: Strategy::OneForOne,
            intensity: Some((1, Duration::from_secs(5))),
            scope: IntensityScope::Supervisor,
            backoff: Backoff::constant(Duration::ZERO),
            jitter: Jitter::None,
            reset_after: Duration::from_secs(600),
        }
    }
}

impl RestartPlan {
    /// The most restarts an intensity may allow.
    pub const MAX_RESTARTS: u32 = 1_000_000;
    /// The longest intensity period and `reset_after`: a week.
    pub const MAX_PERIOD: Duration = Duration::from_secs(7 * 24 * 3600);

    /// Starts from OTP's defaults.
    pub fn builder() -> RestartPlanBuilder {
        RestartPlanBuilder {
            plan: RestartPlan::default(),
        }
    }

    /// The strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// At most how many restarts in what period, if limited.
    pub fn intensity(&self) -> Option<(u32, Duration)> {
        self.intensity
    }

    /// Whose restarts the intensity counts.
    pub fn scope(&self) -> IntensityScope {
        self.scope
    }
}

/// Builds a [`RestartPlan`]; made by [`RestartPlan::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build()`"]
pub struct RestartPlanBuilder {
    plan: RestartPlan,
}

impl RestartPlanBuilder {
    /// Which children restart when one must.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.plan.strategy = strategy;
        self
    }

    /// Gives up after more than `max_restarts` restarts within `period`
    /// (0 gives up at the first restart due).
    pub fn intensity(mut self, max_restarts: u32, period: Duration) -> Self {
        self.plan.intensity = Some((max_restarts, period));
        self
    }

    /// Never gives up (Kubernetes' way; the backoff keeps it from a hot
    /// loop, so give it one).
    pub fn unlimited_restarts(mut self) -> Self {
        self.plan.intensity = None;
        self
    }

    /// Counts the intensity per child instead of per supervisor.
    pub fn intensity_per_child(mut self) -> Self {
        self.plan.scope = IntensityScope::Child;
        self
    }

    /// Waits between a child's restarts in a row: `backoff`'s delays spread
    /// by `jitter`, the count starting over once the child has run for
    /// `reset_after`.
    pub fn backoff(mut self, backoff: Backoff, jitter: Jitter, reset_after: Duration) -> Self {
        self.plan.backoff = backoff;
        self.plan.jitter = jitter;
        self.plan.reset_after = reset_after;
        self
    }

    /// Kubernetes' CrashLoopBackOff: restart at once, then after 10 s,
    /// doubling up to 5 minutes, starting over after 10 minutes of stable
    /// running; never gives up. (Kubernetes adds no jitter.)
    pub fn crash_loop_backoff(self) -> Self {
        self.backoff(
            Backoff::exponential(Duration::from_secs(10), 2.0).with_cap(Duration::from_secs(300)),
            Jitter::None,
            Duration::from_secs(600),
        )
        .unlimited_restarts()
    }

    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for an intensity above
    /// [`MAX_RESTARTS`](RestartPlan::MAX_RESTARTS) or with a period of zero
    /// or above [`MAX_PERIOD`](RestartPlan::MAX_PERIOD), a bad backoff or
    /// jitter, or a `reset_after` of zero or above `MAX_PERIOD`.
    pub fn build(self) -> Result<RestartPlan, ConfigError> {
        self.checked("restart plan")
    }

    /// The plan, checked, naming `component` in errors (a supervisor's
    /// builder names the supervisor).
    pub(crate) fn checked(self, component: &str) -> Result<RestartPlan, ConfigError> {
        let check = Checks::unnamed(component);
        let p = &self.plan;
        if let Some((max, period)) = p.intensity {
            check.count("intensity", max, 0, RestartPlan::MAX_RESTARTS, "restarts")?;
            check.duration(
                "intensity",
                period,
                Duration::from_nanos(1),
                RestartPlan::MAX_PERIOD,
            )?;
        }
        p.backoff
            .validate(&check, ("backoff.multiplier", "backoff.cap"))?;
        p.jitter.validate(&check, "backoff.jitter")?;
        check.duration(
            "backoff.reset_after",
            p.reset_after,
            Duration::from_nanos(1),
            RestartPlan::MAX_PERIOD,
        )?;
        Ok(self.plan)
    }
}
