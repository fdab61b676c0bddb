//! [`Probe`]: one check, what kind of probe it is, its schedule, its
//! thresholds and its recovery.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::{HealthCheck, Kind};
use crate::config::{Checks, ConfigError};
use crate::retry::{Backoff, Jitter};

/// What a recovery action's future may return: nothing, or a `Result`
/// whose error is reported.
pub trait RecoveryOutcome: Send + 'static {
    /// The failure to report, if the recovery failed.
    fn error(self) -> Option<String>;
}

impl RecoveryOutcome for () {
    fn error(self) -> Option<String> {
        None
    }
}

impl<E: fmt::Display + Send + 'static> RecoveryOutcome for Result<(), E> {
    fn error(self) -> Option<String> {
        self.err().map(|e| e.to_string())
    }
}

/// A recovery action, boxed.
pub(crate) type RecoveryAction =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<String>> + Send>> + Send + Sync>;

/// A probe's recovery and how repeats of it back off: boxed in the probe,
/// so the many probes that recover nothing carry a pointer, not the plan.
pub(crate) struct Recovery {
    /// `None` while only the backoff was set.
    pub(crate) action: Option<RecoveryAction>,
    pub(crate) backoff: Backoff,
    pub(crate) jitter: Jitter,
    pub(crate) reset_after: Duration,
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery {
            action: None,
            backoff: Backoff::exponential(Duration::from_secs(1), 2.0)
                .with_cap(Duration::from_secs(60)),
            jitter: Jitter::Equal,
            reset_after: Duration::from_secs(300),
        }
    }
}

/// One check run on a schedule, judged by Kubernetes' rules (see the
/// [module docs](super)).
///
/// Defaults are Kubernetes': every 10 s, a 1 s timeout, no initial delay,
/// 3 failures in a row to turn unhealthy, 1 pass to turn healthy again.
/// Recoveries that repeat wait 1 s, then twice as long each time up to a
/// minute (equal jitter), starting over after 5 minutes without one.
#[must_use = "a probe does nothing until a monitor runs it"]
pub struct Probe {
    pub(crate) component: Arc<str>,
    pub(crate) measurement: Arc<str>,
    pub(crate) kind: Kind,
    pub(crate) period: Duration,
    pub(crate) timeout: Duration,
    pub(crate) initial_delay: Duration,
    pub(crate) failure_threshold: u32,
    pub(crate) success_threshold: u32,
    pub(crate) check: Arc<dyn HealthCheck>,
    pub(crate) recovery: Option<Box<Recovery>>,
}

impl Probe {
    /// The most failures or passes a threshold may ask for.
    pub const MAX_THRESHOLD: u32 = 10_000;

    /// A liveness probe of `component`'s `measurement` (the report's key is
    /// `"component:measurement"`).
    pub fn liveness(component: &str, measurement: &str, check: impl HealthCheck) -> Self {
        Self::new(Kind::Liveness, component, measurement, check)
    }

    /// A readiness probe.
    pub fn readiness(component: &str, measurement: &str, check: impl HealthCheck) -> Self {
        Self::new(Kind::Readiness, component, measurement, check)
    }

    /// A startup probe: the component's other probes wait until it passes.
    pub fn startup(component: &str, measurement: &str, check: impl HealthCheck) -> Self {
        Self::new(Kind::Startup, component, measurement, check)
    }

    fn new(kind: Kind, component: &str, measurement: &str, check: impl HealthCheck) -> Self {
        Probe {
            component: component.into(),
            measurement: measurement.into(),
            kind,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            initial_delay: Duration::ZERO,
            failure_threshold: 3,
            success_threshold: 1,
            check: Arc::new(check),
            recovery: None,
        }
    }

    /// Time between the starts of two runs.
    pub fn period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// A run still going after `timeout` is cancelled and counts as a
    /// failure.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Wait before the first run (and again after each recovery).
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Failures in a row before healthy turns unhealthy (1 to
    /// [`MAX_THRESHOLD`](Self::MAX_THRESHOLD)); for a startup probe, its
    /// budget of runs.
    pub fn failure_threshold(mut self, failures: u32) -> Self {
        self.failure_threshold = failures;
        self
    }

    /// Passes in a row before unhealthy turns healthy again (1 to
    /// [`MAX_THRESHOLD`](Self::MAX_THRESHOLD); must be 1 for liveness and
    /// startup, as in Kubernetes).
    pub fn success_threshold(mut self, passes: u32) -> Self {
        self.success_threshold = passes;
        self
    }

    /// Runs `recover` when the probe turns unhealthy (a liveness probe
    /// failing, a startup probe out of budget; for a readiness probe too,
    /// if given one). Never two at once; the probe then starts over.
    pub fn recovery<F, Fut, R>(mut self, recover: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: RecoveryOutcome,
    {
        self.recovery.get_or_insert_default().action = Some(Arc::new(move || {
            let run = recover();
            Box::pin(async move { run.await.error() })
        }));
        self
    }

    /// How repeated recoveries back off: the `n`-th in a row waits
    /// `backoff`'s `n`-th delay spread by `jitter` (the first runs at once),
    /// and the count starts over after `reset_after` without a recovery.
    pub fn recovery_backoff(
        mut self,
        backoff: Backoff,
        jitter: Jitter,
        reset_after: Duration,
    ) -> Self {
        let recovery = self.recovery.get_or_insert_default();
        recovery.backoff = backoff;
        recovery.jitter = jitter;
        recovery.reset_after = reset_after;
        self
    }

    /// The recovery action, if the probe has one.
    pub(crate) fn recovery_action(&self) -> Option<&RecoveryAction> {
        self.recovery.as_ref()?.action.as_ref()
    }

    /// A copy for `component`, without a recovery (the process supervisor
    /// builds one per run of a service, with a recovery of its own).
    #[cfg(feature = "process")]
    pub(crate) fn copy_for(&self, component: &Arc<str>) -> Probe {
        Probe {
            component: component.clone(),
            measurement: self.measurement.clone(),
            kind: self.kind,
            period: self.period,
            timeout: self.timeout,
            initial_delay: self.initial_delay,
            failure_threshold: self.failure_threshold,
            success_threshold: self.success_threshold,
            check: self.check.clone(),
            recovery: None,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The report's key: `"component:measurement"`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.component, self.measurement)
    }

    /// Checks every setting.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let check = Checks::named(&format!("{} probe", self.kind), &self.key());
        if self.component.is_empty() || self.component.contains(':') {
            return Err(check.fail("component", &self.component, "a name without ':'"));
        }
        if self.measurement.is_empty() {
            return Err(check.fail("measurement", "\"\"", "a name"));
        }
        check.positive("period", self.period)?;
        check.positive("timeout", self.timeout)?;
        check.count(
            "failure_threshold",
            self.failure_threshold,
            1,
            Self::MAX_THRESHOLD,
            "failures",
        )?;
        let most = match self.kind {
            Kind::Readiness => Self::MAX_THRESHOLD,
            Kind::Liveness | Kind::Startup => 1,
        };
        check.count(
            "success_threshold",
            self.success_threshold,
            1,
            most,
            "passes",
        )?;
        if let Some(recovery) = &self.recovery {
            recovery.backoff.validate(
                &check,
                ("recovery_backoff.multiplier", "recovery_backoff.cap"),
            )?;
            recovery
                .jitter
                .validate(&check, "recovery_backoff.jitter")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("key", &self.key())
            .field("kind", &self.kind)
            .field("period", &self.period)
            .field("timeout", &self.timeout)
            .field("failure_threshold", &self.failure_threshold)
            .field("success_threshold", &self.success_threshold)
            .field("recovery", &self.recovery_action().is_some())
            .finish_non_exhaustive()
    }
}
