//! Health checks that trigger recovery, with Kubernetes probe semantics,
//! reported as `application/health+json` (feature `health`).
//!
//! A [`HealthCheck`] answers "how is it?" with a [`CheckResult`]: pass,
//! warn or fail, an optional message and observed value. Ready-made checks
//! connect over TCP ([`TcpCheck`]), GET over HTTP ([`HttpCheck`]) and run a
//! command ([`CommandCheck`]); any async closure returning a `CheckResult`
//! (or a `Result<(), E>`) is one too.
//!
//! A [`Monitor`] runs many [`Probe`]s, each a check on its own schedule, with
//! Kubernetes' semantics: an initial delay, a period, a timeout (a check
//! that overruns is cancelled and counts as a failure), a failure threshold
//! (failures in a row before the probe is unhealthy) and a success
//! threshold (passes in a row before it is healthy again; fixed at 1 for
//! liveness and startup). A probe is one of three [`Kind`]s:
//!
//! - **liveness**: unhealthy triggers its recovery, if it has one (restart
//!   the part that wedged);
//! - **readiness**: unhealthy only marks its component not ready (not ready
//!   until it first passes);
//! - **startup**: until it passes once, its component's liveness and
//!   readiness probes do not run; a startup that does not pass within its
//!   budget (`failure_threshold` periods) fails, and triggers its recovery.
//!
//! A recovery ([`Probe::recovery`]) runs when its probe turns unhealthy,
//! never twice at once; repeated recoveries back off ([`Delays`], the
//! retry's backoff and jitter), and after one the probe starts over (its
//! initial delay, then judged afresh). Every change of a probe's health,
//! every recovery, is a [`HealthEvent`]; a probe that keeps failing is not
//! an event per failure.
//!
//! [`MonitorHandle::report`] gives the aggregate as health+json
//! ([`Report`]), with the HTTP status that goes with it;
//! [`MonitorHandle::router`] serves `/health`, `/livez` and `/readyz`.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use mend::health::{CheckResult, Monitor, Probe};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let monitor = Monitor::builder()
//!     .probe(
//!         Probe::readiness("cache", "ping", || async { CheckResult::pass() })
//!             .period(Duration::from_secs(1)),
//!     )
//!     .build()?
//!     .start();
//! tokio::time::sleep(Duration::from_millis(10)).await; // the first probe runs
//! let report = monitor.report();
//! assert_eq!(report.http_status(), 200);
//! assert!(monitor.readyz());
//! # Ok(())
//! # }
//! ```
//!
//! [`Delays`]: crate::retry::Delays

mod checks;
mod event;
mod judge;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
mod monitor;
mod probe;
mod report;
mod router;
mod run;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use checks::{CommandCheck, HttpCheck, TcpCheck};
pub use event::{HealthChange, HealthEvent};
pub use judge::Health;
pub use monitor::{Monitor, MonitorBuilder, MonitorHandle};
pub use probe::{Probe, RecoveryOutcome};
pub use report::{CONTENT_TYPE, CheckEntry, Report};

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Healthy.
    Pass,
    /// Healthy, with a concern (counts as a pass for thresholds).
    Warn,
    /// Unhealthy.
    Fail,
}

impl Status {
    /// `"pass"`, `"warn"` or `"fail"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }

    /// Pass and warn pass; fail fails.
    pub fn passes(self) -> bool {
        self != Status::Fail
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one run of a check says.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckResult {
    /// Pass, warn or fail.
    pub status: Status,
    /// A message for people ("connection refused", "HTTP 503").
    pub output: Option<String>,
    /// A measured value (a latency, a queue depth), if the check has one.
    pub observed_value: Option<f64>,
    /// The unit of `observed_value` ("ms", "items").
    pub observed_unit: Option<&'static str>,
}

impl CheckResult {
    /// A pass.
    pub fn pass() -> Self {
        Self::with(Status::Pass, None)
    }

    /// A warning: healthy, with a concern.
    pub fn warn(output: impl Into<String>) -> Self {
        Self::with(Status::Warn, Some(output.into()))
    }

    /// A failure.
    pub fn fail(output: impl Into<String>) -> Self {
        Self::with(Status::Fail, Some(output.into()))
    }

    fn with(status: Status, output: Option<String>) -> Self {
        CheckResult {
            status,
            output,
            observed_value: None,
            observed_unit: None,
        }
    }

    /// The same result with a measured value.
    #[must_use]
    pub fn observed(mut self, value: f64, unit: &'static str) -> Self {
        self.observed_value = Some(value);
        self.observed_unit = Some(unit);
        self
    }
}

impl<E: fmt::Display> From<Result<(), E>> for CheckResult {
    fn from(result: Result<(), E>) -> Self {
        match result {
            Ok(()) => CheckResult::pass(),
            Err(e) => CheckResult::fail(e.to_string()),
        }
    }
}

/// A check's future, boxed: a monitor holds checks of many types.
pub type CheckFuture = Pin<Box<dyn Future<Output = CheckResult> + Send>>;

/// Something a monitor can ask "how is it?".
///
/// Implemented by [`TcpCheck`], [`HttpCheck`], [`CommandCheck`] and every
/// `Fn() -> impl Future<Output = impl Into<CheckResult>>` closure. The
/// monitor applies the timeout: a check need not.
pub trait HealthCheck: Send + Sync + 'static {
    /// Runs the check once.
    fn check(&self) -> CheckFuture;
}

impl<F, Fut, R> HealthCheck for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: Into<CheckResult>,
{
    fn check(&self) -> CheckFuture {
        let run = self();
        Box::pin(async move { run.await.into() })
    }
}

/// What a probe's health means to its component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Unhealthy triggers recovery.
    Liveness,
    /// Unhealthy marks the component not ready.
    Readiness,
    /// Gates the component's other probes until it passes once.
    Startup,
}

impl Kind {
    /// `"liveness"`, `"readiness"` or `"startup"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Liveness => "liveness",
            Kind::Readiness => "readiness",
            Kind::Startup => "startup",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
