//! The command run when a service gives up (systemd's `OnFailure=`,
//! supervisord's event listeners): its argv exec'd like a service's,
//! in a process group of its own (tracked, so its orphans are the orphan
//! reaper's), with the service's name, why it gave up and its recent
//! exits in its environment, and killed with what it started if it
//! outlives its timeout.

use std::time::Duration;

use super::child::{Child, Group};
use super::exit::ExitReason;
use super::spec::ServiceSpec;

/// The command and how long it may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GiveUpHook {
    pub(crate) argv: Vec<String>,
    pub(crate) timeout: Duration,
}

/// How a hook's run ended.
pub(crate) enum HookOutcome {
    Ended(ExitReason),
    TimedOut,
    NotStarted(String),
}

impl GiveUpHook {
    /// Runs it for `service`, which gave up `because`, after `exits`
    /// (oldest first); its output goes where the service's goes.
    pub(crate) async fn run(
        &self,
        service: &ServiceSpec,
        because: &str,
        exits: &[String],
    ) -> HookOutcome {
        let spec =
            match ServiceSpec::builder(&format!("{}.on-give-up", service.name), self.argv.clone())
                .env("MEND_SERVICE", &*service.name)
                .env("MEND_REASON", because)
                .env("MEND_EXITS", exits.join("\n"))
                .build()
            {
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
