//! [`ExecCheck`]: a health check that runs a command the way the process
//! supervisor runs everything: exec'd directly, in a process group of its
//! own that the orphan reaper knows (so what it leaves behind is reaped),
//! and, whether it ends, fails or is cancelled by its probe's timeout,
//! killed with everything it started in that group.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rustix::process::Signal;

use super::child::{Child, Group};
use super::exit::ExitReason;
use super::spec::ServiceSpec;
use crate::health::{CheckFuture, CheckResult, HealthCheck};

/// Passes when the command exits 0; a daemon's `exec` probe. The command
/// runs the way the process supervisor runs everything: exec'd directly,
/// in a process group of its own that the orphan reaper knows, and,
/// whether it ends, fails or is cancelled by its probe's timeout, killed
/// with everything it started in that group.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::health::Probe;
/// use mend::process::ExecCheck;
///
/// let probe = Probe::liveness("db", "ping", ExecCheck::new(["pg_isready", "-q"]))
///     .period(Duration::from_secs(5));
/// # let _ = probe;
/// ```
#[derive(Debug, Clone)]
pub struct ExecCheck {
    argv: Arc<[String]>,
}

impl ExecCheck {
    /// A check that runs `argv[0]` with the rest as its arguments.
    ///
    /// # Panics
    ///
    /// If `argv` is empty.
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Self {
        let argv: Arc<[String]> = argv.into_iter().map(Into::into).collect();
        assert!(!argv.is_empty(), "a command needs a program to run");
        ExecCheck { argv }
    }
}

impl HealthCheck for ExecCheck {
    fn check(&self) -> CheckFuture {
        let argv = self.argv.clone();
        Box::pin(async move {
            let spec = match ServiceSpec::builder("exec-check", argv.iter().cloned()).build() {
                Ok(spec) => spec,
                Err(e) => return CheckResult::fail(e.to_string()),
            };
            // Dropped by a probe's timeout, the child kills its group and
            // is reaped off the runtime.
            let child = match Child::spawn(
                &spec,
                Group::ProcessGroup,
                Stdio::null(),
                Stdio::null(),
                &[],
            ) {
                Ok(child) => child,
                Err(e) => return CheckResult::fail(format!("{}: {e}", argv[0])),
            };
            let _ = child.exited().await;
            child.stop_all(Signal::KILL, Duration::ZERO).await;
            match child.reap() {
                Ok(ExitReason::Code(0)) => CheckResult::pass(),
                Ok(reason) => CheckResult::fail(reason.to_string()),
                Err(e) => CheckResult::fail(format!("reaping: {e}")),
            }
        })
    }
}
