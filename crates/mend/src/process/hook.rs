//! Commands a service's spec runs beside it: the one run when it gives up
//! (systemd's `OnFailure=`, supervisord's event listeners) and its reload
//! command (systemd's `ExecReload=`). Each is exec'd like a service, in a
//! process group of its own (tracked, so its orphans are the orphan
//! reaper's), its output where the service's goes, with what it needs to
//! know in its environment, and killed with what it started if it
//! outlives its timeout.

use std::time::Duration;

use super::child::{Child, Group};
use super::exit::ExitReason;
use super::spec::ServiceSpec;

/// A command and how long it may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hook {
    pub(crate) argv: Vec<String>,
    pub(crate) timeout: Duration,
}

/// How a hook's run ended.
pub(crate) enum HookOutcome {
    Ended(ExitReason),
    TimedOut,
    NotStarted(String),
}

impl std::fmt::Display for HookOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookOutcome::Ended(reason) => write!(f, "{reason}"),
            HookOutcome::TimedOut => f.write_str("killed after its timeout"),
            HookOutcome::NotStarted(why) => write!(f, "could not start: {why}"),
        }
    }
}

impl Hook {
    /// Runs it for `service` as `SERVICE.ROLE`, with `MEND_SERVICE` and
    /// `env` in its environment. An argument `$MAINPID` becomes the value
    /// of `MAINPID` in `env`, as in systemd's `ExecReload=kill -HUP
    /// $MAINPID`.
    pub(crate) async fn run(
        &self,
        service: &ServiceSpec,
        role: &str,
        env: &[(&str, String)],
    ) -> HookOutcome {
        let main_pid = env
            .iter()
            .find(|(key, _)| *key == "MAINPID")
            .map(|(_, pid)| pid.as_str());
        let argv = self.argv.iter().map(|arg| match (arg.as_str(), main_pid) {
            ("$MAINPID" | "${MAINPID}", Some(pid)) => pid.to_owned(),
            _ => arg.clone(),
        });
        let mut spec = ServiceSpec::builder(&format!("{}.{role}", service.name), argv)
            .env("MEND_SERVICE", &*service.name);
        for (key, value) in env {
            spec = spec.env(*key, value);
        }
        let spec = match spec.build() {
            Ok(spec) => spec,
            Err(e) => return HookOutcome::NotStarted(e.to_string()),
        };
        let (out, err) = match service.output.open(&service.name) {
            Ok(files) => files,
            Err(e) => return HookOutcome::NotStarted(e.to_string()),
        };
        let child = match Child::spawn(&spec, Group::ProcessGroup, out, err, &[]) {
            Ok(child) => child,
            Err(e) => return HookOutcome::NotStarted(e.to_string()),
        };
        let timed_out = tokio::time::timeout(self.timeout, child.exited())
            .await
            .is_err();
        // Whatever it started goes too; after its timeout, it goes itself.
        child
            .stop_all(rustix::process::Signal::KILL, Duration::ZERO)
            .await;
        match (timed_out, child.reap()) {
            (true, _) => HookOutcome::TimedOut,
            (false, Ok(reason)) => HookOutcome::Ended(reason),
            (false, Err(e)) => HookOutcome::NotStarted(format!("reaping: {e}")),
        }
    }
}
