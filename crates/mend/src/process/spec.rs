//! [`ServiceSpec`]: what to run and how to treat it: argv, directory,
//! environment, restart kind and plan, the exit codes that count as
//! success, start grace, stop signal and grace, and where output goes.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mend_sys::Limit;
use rustix::process::{Resource, Signal};

use super::hook::Hook;
use super::notify::NotifySpec;
use super::output::Output;
use super::user::Credentials;
use crate::config::{Checks, ConfigError};
use crate::health::Probe;
use crate::retry::{Backoff, Jitter};
use crate::supervise::{Restart, RestartPlan, RestartPlanBuilder};

/// How to run one service, and how to treat it when it ends; built by
/// [`ServiceSpec::builder`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::process::ServiceSpec;
/// use mend::supervise::Restart;
///
/// let web = ServiceSpec::builder("web", ["python3", "-m", "http.server", "8080"])
///     .dir("/srv/www")
///     .env("PYTHONUNBUFFERED", "1")
///     .restart(Restart::Permanent)
///     .start_grace(Duration::from_secs(1))
///     .stop_grace(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(web.name(), "web");
/// # Ok::<(), mend::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ServiceSpec {
    pub(crate) name: Arc<str>,
    pub(crate) argv: Vec<String>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) clean_env: bool,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) restart: Restart,
    pub(crate) plan: RestartPlan,
    pub(crate) success_codes: Vec<i32>,
    pub(crate) start_grace: Duration,
    pub(crate) stop_signal: Signal,
    pub(crate) stop_grace: Duration,
    pub(crate) output: Output,
    pub(crate) autostart: bool,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) limits: Vec<Limit>,
    pub(crate) cooldown: Option<Duration>,
    pub(crate) probes: Vec<Arc<Probe>>,
    pub(crate) after: Vec<Arc<str>>,
    pub(crate) oneshot: bool,
    pub(crate) on_give_up: Option<Hook>,
    pub(crate) reload: Option<Hook>,
    pub(crate) notify: Option<NotifySpec>,
    pub(crate) stop_with_dependencies: bool,
}

/// Builds a [`ServiceSpec`]; made by [`ServiceSpec::builder`].
#[must_use = "a builder does nothing until `build()`"]
#[derive(Debug, Clone)]
pub struct ServiceSpecBuilder {
    spec: ServiceSpec,
    plan: RestartPlanBuilder,
}

impl ServiceSpec {
    /// The longest stop grace and start grace: an hour.
    pub const MAX_GRACE: Duration = Duration::from_secs(3600);

    /// Starts a spec for `name` that runs `argv[0]` with the rest as its
    /// arguments, exec'd directly (no shell: see
    /// [`shell`](ServiceSpec::shell)). Defaults: the environment inherited,
    /// [`Restart::Permanent`], success is exit code 0, no start grace,
    /// `SIGTERM` then `SIGKILL` after 10 s, output to `/dev/null`, and
    /// restarts after 100 ms doubling up to 30 s (full jitter, starting
    /// over after 10 minutes of stable running), giving up after more than
    /// 5 restarts within 10 s (systemd's `StartLimitBurst=5` in
    /// `StartLimitIntervalSec=10s`).
    pub fn builder<S: Into<String>>(
        name: &str,
        argv: impl IntoIterator<Item = S>,
    ) -> ServiceSpecBuilder {
        ServiceSpecBuilder {
            spec: ServiceSpec {
                name: name.into(),
                argv: argv.into_iter().map(Into::into).collect(),
                dir: None,
                clean_env: false,
                env: Vec::new(),
                restart: Restart::Permanent,
                plan: RestartPlan::default(),
                success_codes: vec![0],
                start_grace: Duration::ZERO,
                stop_signal: Signal::TERM,
                stop_grace: Duration::from_secs(10),
                output: Output::Null,
                autostart: true,
                credentials: None,
                limits: Vec::new(),
                cooldown: None,
                probes: Vec::new(),
                after: Vec::new(),
                oneshot: false,
                on_give_up: None,
                reload: None,
                notify: None,
                stop_with_dependencies: false,
            },
            plan: RestartPlan::builder()
                .intensity(5, Duration::from_secs(10))
                .backoff(
                    Backoff::exponential(Duration::from_millis(100), 2.0)
                        .with_cap(Duration::from_secs(30)),
                    Jitter::Full,
                    Duration::from_secs(600),
                ),
        }
    }

    /// A spec that runs `script` with `/bin/sh -c`: for when a shell is
    /// what you mean (pipes, `&&`, globbing). The shell is the service's
    /// process; what it starts is tracked with it.
    pub fn shell(name: &str, script: &str) -> ServiceSpecBuilder {
        ServiceSpec::builder(name, ["/bin/sh", "-c", script])
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its argv.
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// Its restart kind.
    pub fn restart_kind(&self) -> Restart {
        self.restart
    }

    /// Where its output goes.
    pub fn output(&self) -> &Output {
        &self.output
    }

    /// The services it starts after.
    pub fn after(&self) -> &[Arc<str>] {
        &self.after
    }

    /// Whether it runs to completion (see [`ServiceSpecBuilder::oneshot`]).
    pub fn is_oneshot(&self) -> bool {
        self.oneshot
    }
}

impl ServiceSpecBuilder {
    /// Runs it in `dir` (default: the supervisor's working directory).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spec.dir = Some(dir.into());
        self
    }

    /// Starts it with an empty environment (plus what [`env`](Self::env)
    /// adds) instead of the supervisor's. Either way the supervisor adds
    /// `MEND_SUPERVISOR` and `MEND_SERVICE` (its name and the service's:
    /// how a supervisor started after this one died finds what no record
    /// names) and removes its own `NOTIFY_SOCKET`, `WATCHDOG_USEC` and
    /// `WATCHDOG_PID`.
    pub fn clean_env(mut self) -> Self {
        self.spec.clean_env = true;
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.env.push((key.into(), value.into()));
        self
    }

    /// When it is restarted after it ends (systemd's `always`,
    /// `on-failure`, `no`: [`Restart`]).
    pub fn restart(mut self, restart: Restart) -> Self {
        self.spec.restart = restart;
        self
    }

    /// How often and how soon it is restarted, and when to give up: the
    /// task supervisor's [`RestartPlan`] (its strategy does not apply to
    /// one service).
    pub fn restarts(mut self, plan: RestartPlanBuilder) -> Self {
        self.plan = plan;
        self
    }

    /// The exit codes that count as a normal end (default: 0 only). Any
    /// other code, and any signal, is a failure.
    pub fn success_codes(mut self, codes: impl IntoIterator<Item = i32>) -> Self {
        self.spec.success_codes = codes.into_iter().collect();
        self
    }

    /// A process that ends sooner than this after its start has failed to
    /// start, whatever its exit code (default: none).
    pub fn start_grace(mut self, grace: Duration) -> Self {
        self.spec.start_grace = grace;
        self
    }

    /// The signal that asks it to stop (default `SIGTERM`).
    pub fn stop_signal(mut self, signal: Signal) -> Self {
        self.spec.stop_signal = signal;
        self
    }

    /// How long it has to stop after the stop signal before everything
    /// left of it is killed (default 10 s).
    pub fn stop_grace(mut self, grace: Duration) -> Self {
        self.spec.stop_grace = grace;
        self
    }

    /// Where its stdout and stderr go (default: `/dev/null`).
    pub fn output(mut self, output: Output) -> Self {
        self.spec.output = output;
        self
    }

    /// Whether the supervisor starts it with the others (default) or only
    /// when asked.
    pub fn autostart(mut self, autostart: bool) -> Self {
        self.spec.autostart = autostart;
        self
    }

    /// Runs it as this user and these groups (see
    /// [`credentials_for`](super::credentials_for)): the supervisor must
    /// be allowed to change them (root).
    pub fn run_as(mut self, credentials: Credentials) -> Self {
        self.spec.credentials = Some(credentials);
        self
    }

    /// Sets a resource limit before it execs (as the supervisor, so a hard
    /// limit can be raised before it drops to its user).
    pub fn limit(mut self, resource: Resource, soft: Option<u64>, hard: Option<u64>) -> Self {
        self.spec.limits.push(Limit {
            resource,
            soft,
            hard,
        });
        self
    }

    /// Once it gave up, starts it afresh (intensity count and backoff
    /// over) after `cooldown`. Default: none, it stays down until started
    /// by hand, as in systemd: a crash loop that used up its restarts
    /// usually needs a person (a broken config, a missing dependency), and
    /// trying again on a timer hides it.
    pub fn restart_cooldown(mut self, cooldown: Duration) -> Self {
        self.spec.cooldown = Some(cooldown);
        self
    }

    /// Adds a probe of the service, run by a [`mend::health`](crate::health)
    /// monitor during each run (from the start of the run: its initial
    /// delay counts from there): a liveness probe that turns unhealthy, or
    /// a startup probe out of budget, ends the run as a failure (its stop
    /// signal, its grace, then SIGKILL), so backoff and intensity apply as
    /// for a crash (a startup probe's as a failed start); a readiness probe
    /// only decides whether it is [ready](super::ServiceStatus::ready).
    /// The probe's component becomes the service's name; a recovery it
    /// was given is replaced by that restart.
    pub fn probe(mut self, probe: Probe) -> Self {
        self.spec.probes.push(Arc::new(probe));
        self
    }

    /// Starts only once every service named is ready (running and passing
    /// its readiness and startup probes; for a one-shot, finished with
    /// success). Services stop in the reverse order.
    pub fn after<S: Into<Arc<str>>>(mut self, services: impl IntoIterator<Item = S>) -> Self {
        self.spec.after.extend(services.into_iter().map(Into::into));
        self
    }

    /// While it runs, a service it starts after that gives up (or, a
    /// one-shot, fails) stops it too; it then waits for that service
    /// again. By default it keeps running (a dependency that gives up
    /// holds only what has not started yet).
    pub fn stop_with_dependencies(mut self, stop: bool) -> Self {
        self.spec.stop_with_dependencies = stop;
        self
    }

    /// Runs to completion, like a migration: it is ready for the services
    /// that start after it once it has ended with a success code, and
    /// never before. (Give it a restart kind that fits, usually
    /// `Temporary` or `Transient`.)
    pub fn oneshot(mut self) -> Self {
        self.spec.oneshot = true;
        self
    }

    /// It reports readiness itself, the systemd way: each run gets a
    /// `NOTIFY_SOCKET` (a Unix datagram socket only its user may use) and
    /// is ready once it sends `READY=1`; `STATUS=` lines show in its
    /// status. With a `watchdog` period it also gets `WATCHDOG_USEC` and
    /// must send `WATCHDOG=1` at least that often from its start: a missed
    /// one stops the run as a failure, like a liveness probe.
    pub fn notify(mut self, watchdog: Option<Duration>) -> Self {
        self.spec.notify = Some(NotifySpec { watchdog });
        self
    }

    /// Runs `argv` (exec'd directly, in a process group of its own, its
    /// output where the service's goes) each time the service gives up,
    /// with `MEND_SERVICE` (its name), `MEND_REASON` (why it gave up) and
    /// `MEND_EXITS` (its last 5 exits, one per line, oldest first) in its
    /// environment; after `timeout` it is killed with what it started.
    /// systemd's `OnFailure=`: page someone, save a core, open a ticket.
    pub fn on_give_up<S: Into<String>>(
        mut self,
        argv: impl IntoIterator<Item = S>,
        timeout: Duration,
    ) -> Self {
        self.spec.on_give_up = Some(Hook {
            argv: argv.into_iter().map(Into::into).collect(),
            timeout,
        });
        self
    }

    /// The command that makes the running service reload its own
    /// configuration, run by [`ProcessHandle::reload`](super::ProcessHandle::reload)
    /// (systemd's `ExecReload=`): exec'd directly in a process group of its
    /// own, its output where the service's goes, `MAINPID` (the service's
    /// pid) in its environment, and an argument `$MAINPID` replaced by it.
    /// After `timeout` it is killed with what it started.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mend::process::ServiceSpec;
    ///
    /// let spec = ServiceSpec::builder("web", ["nginx", "-g", "daemon off;"])
    ///     .reload(["kill", "-HUP", "$MAINPID"], Duration::from_secs(10))
    ///     .build()
    ///     .unwrap();
    /// # let _ = spec;
    /// ```
    pub fn reload<S: Into<String>>(
        mut self,
        argv: impl IntoIterator<Item = S>,
        timeout: Duration,
    ) -> Self {
        self.spec.reload = Some(Hook {
            argv: argv.into_iter().map(Into::into).collect(),
            timeout,
        });
        self
    }

    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the service and the setting: an empty
    /// name or argv, a name that is not a plain file name (it names the
    /// service's cgroup and output files), no success code, a grace above
    /// [`MAX_GRACE`](ServiceSpec::MAX_GRACE), a bad restart plan or
    /// output.
    pub fn build(mut self) -> Result<ServiceSpec, ConfigError> {
        let check = Checks::named("service", &self.spec.name);
        let name = &self.spec.name;
        if name.is_empty()
            || name.len() > 100
            || name.starts_with('.')
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
        {
            return Err(check.fail(
                "name",
                format!("{name:?}"),
                "1 to 100 of A-Z a-z 0-9 - _ . @, not starting with a dot",
            ));
        }
        if self.spec.argv.first().is_none_or(String::is_empty) {
            return Err(check.fail("argv", format!("{:?}", self.spec.argv), "a program to run"));
        }
        if self.spec.success_codes.is_empty() {
            return Err(check.fail("success_codes", "[]", "at least one exit code"));
        }
        check.duration(
            "start_grace",
            self.spec.start_grace,
            Duration::ZERO,
            ServiceSpec::MAX_GRACE,
        )?;
        check.duration(
            "stop_grace",
            self.spec.stop_grace,
            Duration::ZERO,
            ServiceSpec::MAX_GRACE,
        )?;
        self.spec.output.validate(&check)?;
        for limit in &self.spec.limits {
            if let (Some(soft), Some(hard)) = (limit.soft, limit.hard)
                && soft > hard
            {
                return Err(check.fail(
                    "limit",
                    format!("{:?} {soft} > {hard}", limit.resource),
                    "a soft limit no higher than the hard one",
                ));
            }
        }
        if let Some(NotifySpec {
            watchdog: Some(period),
        }) = self.spec.notify
        {
            check.duration(
                "notify.watchdog",
                period,
                Duration::from_millis(1),
                ServiceSpec::MAX_GRACE,
            )?;
        }
        for (key, timeout_key, hook) in [
            ("on_give_up", "on_give_up.timeout", &self.spec.on_give_up),
            ("reload", "reload.timeout", &self.spec.reload),
        ] {
            let Some(hook) = hook else { continue };
            if hook.argv.first().is_none_or(String::is_empty) {
                return Err(check.fail(key, format!("{:?}", hook.argv), "a program to run"));
            }
            check.duration(
                timeout_key,
                hook.timeout,
                Duration::from_millis(1),
                ServiceSpec::MAX_GRACE,
            )?;
        }
        for probe in &self.spec.probes {
            probe.validate()?;
        }
        if self.spec.after.contains(&self.spec.name) {
            return Err(check.fail("after", &self.spec.name, "other services than itself"));
        }
        if let Some(cooldown) = self.spec.cooldown {
            check.duration(
                "restart_cooldown",
                cooldown,
                Duration::from_millis(1),
                RestartPlan::MAX_PERIOD,
            )?;
        }
        self.spec.plan = self
            .plan
            .checked(&format!("service `{}`", self.spec.name))?;
        Ok(self.spec)
    }
}

impl fmt::Debug for ServiceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceSpec")
            .field("name", &self.name)
            .field("argv", &self.argv)
            .field("dir", &self.dir)
            .field("restart", &self.restart)
            .field("success_codes", &self.success_codes)
            .field("stop_signal", &self.stop_signal)
            .field("stop_grace", &self.stop_grace)
            .field("output", &self.output)
            .field("probes", &self.probes)
            .field("after", &self.after)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_setting_names_the_service_and_the_setting() {
        let err = ServiceSpec::builder("web", Vec::<String>::new())
            .build()
            .unwrap_err();
        assert_eq!(err.field, "argv");
        assert!(err.to_string().starts_with("service `web`"), "{err}");
        let err = ServiceSpec::builder("../etc", ["true"])
            .build()
            .unwrap_err();
        assert_eq!(err.field, "name");
        let err = ServiceSpec::builder("web", ["true"])
            .success_codes([])
            .build()
            .unwrap_err();
        assert_eq!(err.field, "success_codes");
        let err = ServiceSpec::builder("web", ["true"])
            .stop_grace(Duration::from_secs(7200))
            .build()
            .unwrap_err();
        assert_eq!(err.field, "stop_grace");
        let err = ServiceSpec::builder("web", ["true"])
            .restarts(RestartPlan::builder().intensity(1, Duration::ZERO))
            .build()
            .unwrap_err();
        assert_eq!(err.field, "intensity");
        assert!(ServiceSpec::builder("web-1.a@b", ["true"]).build().is_ok());
    }
}
