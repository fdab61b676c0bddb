//! One `[services.NAME]` table, and how it becomes a [`ServiceSpec`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use mend::health::{HealthCheck, HttpCheck, Kind, Probe, TcpCheck};
use mend::process::{ExecCheck, LogFiles, Output, Resource, ServiceSpec, credentials_for};
use mend::retry::{Backoff, Jitter};
use mend::supervise::RestartPlan;
use serde::Deserialize;

use super::envfile;
use super::error::KeyError;
use super::values::{HumanDuration, RestartWhen, ServiceType, SignalName};

/// A service's table, as written. Every key but `command` (or `shell`) is
/// optional; the defaults are in `mend.toml` at the workspace root.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceConfig {
    command: Option<Vec<String>>,
    shell: Option<String>,
    #[serde(rename = "type", default)]
    kind: ServiceType,
    restart: Option<RestartWhen>,
    success_exit_codes: Option<Vec<i32>>,
    directory: Option<PathBuf>,
    #[serde(default)]
    environment: IndexMap<String, String>,
    environment_file: Option<PathBuf>,
    #[serde(default)]
    clean_environment: bool,
    user: Option<String>,
    group: Option<String>,
    limit_nofile: Option<u64>,
    start_grace: Option<HumanDuration>,
    stop_signal: Option<SignalName>,
    stop_grace: Option<HumanDuration>,
    restart_delay: Option<HumanDuration>,
    restart_delay_max: Option<HumanDuration>,
    restart_reset_after: Option<HumanDuration>,
    start_limit_burst: Option<u32>,
    start_limit_interval: Option<HumanDuration>,
    restart_cooldown: Option<HumanDuration>,
    #[serde(default = "yes")]
    autostart: bool,
    log_max_bytes: Option<u64>,
    log_keep: Option<u32>,
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    stop_with_dependencies: bool,
    on_give_up: Option<Vec<String>>,
    watchdog: Option<HumanDuration>,
    on_give_up_timeout: Option<HumanDuration>,
    reload: Option<Vec<String>>,
    reload_timeout: Option<HumanDuration>,
    /// Counted by `READY=1` to systemd: mend is ready once every required
    /// service is.
    #[serde(default)]
    pub(crate) required: bool,
    liveness: Option<ProbeConfig>,
    readiness: Option<ProbeConfig>,
    startup: Option<ProbeConfig>,
}

/// A probe's table: one of `http`, `tcp`, `exec`, and Kubernetes' settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProbeConfig {
    http: Option<String>,
    tcp: Option<String>,
    exec: Option<Vec<String>>,
    period: Option<HumanDuration>,
    timeout: Option<HumanDuration>,
    initial_delay: Option<HumanDuration>,
    failure_threshold: Option<u32>,
    success_threshold: Option<u32>,
}

impl ProbeConfig {
    fn into_probe(self, service: &str, kind: Kind, key: &'static str) -> Result<Probe, KeyError> {
        let mut probe = match (self.http, self.tcp, self.exec) {
            (Some(url), None, None) => {
                let check = HttpCheck::get(&url)
                    .map_err(|e| KeyError::new(key, format!("invalid `http` URL {url:?}: {e}")))?;
                probe_of(kind, service, "http", check)
            }
            (None, Some(addr), None) => {
                let addr: std::net::SocketAddr = addr.parse().map_err(|_| {
                    KeyError::new(key, format!("invalid `tcp` address {addr:?}: expected an IP and port such as \"127.0.0.1:5432\""))
                })?;
                probe_of(kind, service, "tcp", TcpCheck::new(addr))
            }
            (None, None, Some(argv)) if !argv.is_empty() => {
                probe_of(kind, service, "exec", ExecCheck::new(argv))
            }
            _ => {
                return Err(KeyError::new(
                    key,
                    "expected exactly one of `http` (a URL), `tcp` (an address) or `exec` (an argv)",
                ));
            }
        };
        if let Some(d) = self.period {
            probe = probe.period(d.0);
        }
        if let Some(d) = self.timeout {
            probe = probe.timeout(d.0);
        }
        if let Some(d) = self.initial_delay {
            probe = probe.initial_delay(d.0);
        }
        if let Some(n) = self.failure_threshold {
            probe = probe.failure_threshold(n);
        }
        if let Some(n) = self.success_threshold {
            probe = probe.success_threshold(n);
        }
        Ok(probe)
    }
}

/// A probe of `kind` of `service`'s `measurement` over `check`.
fn probe_of(kind: Kind, service: &str, measurement: &str, check: impl HealthCheck) -> Probe {
    match kind {
        Kind::Liveness => Probe::liveness(service, measurement, check),
        Kind::Readiness => Probe::readiness(service, measurement, check),
        _ => Probe::startup(service, measurement, check),
    }
}

fn yes() -> bool {
    true
}

impl ServiceConfig {
    /// The spec for the service `name`; paths relative to `base` (the
    /// config file's directory); output files under `state_dir/logs`.
    pub(crate) fn into_spec(
        self,
        name: &str,
        base: &Path,
        state_dir: &Path,
    ) -> Result<ServiceSpec, KeyError> {
        let argv = match (self.command, self.shell) {
            (Some(_), Some(_)) => {
                return Err(KeyError::new(
                    "shell",
                    "give `command` or `shell`, not both",
                ));
            }
            (None, None) => {
                return Err(KeyError {
                    key: None,
                    message: "no `command` (an argv list, run directly) or `shell` (a script for /bin/sh -c)".into(),
                });
            }
            (Some(argv), None) if argv.first().is_none_or(String::is_empty) => {
                return Err(KeyError::new(
                    "command",
                    "expected a program and its arguments, such as [\"nginx\", \"-g\", \"daemon off;\"]",
                ));
            }
            (Some(mut argv), None) => {
                // `mend` as the program is this binary, with its demo
                // programs, wherever it was built or installed.
                if argv[0] == "mend"
                    && let Ok(me) = std::env::current_exe()
                {
                    argv[0] = me.to_string_lossy().into_owned();
                }
                argv
            }
            (None, Some(script)) => vec!["/bin/sh".into(), "-c".into(), script],
        };
        let oneshot = self.kind == ServiceType::Oneshot;
        let restart = self.restart.unwrap_or(if oneshot {
            RestartWhen::Never
        } else {
            RestartWhen::Always
        });
        let d = |value: Option<HumanDuration>, default: Duration| value.map_or(default, |v| v.0);
        let mut builder = ServiceSpec::builder(name, argv)
            .restart(restart.into())
            .success_codes(self.success_exit_codes.unwrap_or_else(|| vec![0]))
            .start_grace(d(self.start_grace, Duration::ZERO))
            .stop_grace(d(self.stop_grace, Duration::from_secs(10)))
            .autostart(self.autostart)
            .restarts(
                RestartPlan::builder()
                    .intensity(
                        self.start_limit_burst.unwrap_or(5),
                        d(self.start_limit_interval, Duration::from_secs(10)),
                    )
                    .backoff(
                        Backoff::exponential(
                            d(self.restart_delay, Duration::from_millis(100)),
                            2.0,
                        )
                        .with_cap(d(self.restart_delay_max, Duration::from_secs(30))),
                        Jitter::Full,
                        d(self.restart_reset_after, Duration::from_secs(600)),
                    ),
            )
            .output(Output::Files(
                LogFiles::new(state_dir.join("logs"))
                    .max_bytes(self.log_max_bytes.unwrap_or(10 << 20))
                    .keep(self.log_keep.unwrap_or(3)),
            ));
        if let Some(signal) = self.stop_signal {
            builder = builder.stop_signal(signal.0);
        }
        if let Some(cooldown) = self.restart_cooldown {
            builder = builder.restart_cooldown(cooldown.0);
        }
        if let Some(dir) = self.directory {
            builder = builder.dir(base.join(dir));
        }
        if self.clean_environment {
            builder = builder.clean_env();
        }
        if let Some(file) = self.environment_file {
            for (key, value) in envfile::read(&base.join(file))
                .map_err(|why| KeyError::new("environment_file", why))?
            {
                builder = builder.env(key, value);
            }
        }
        for (key, value) in self.environment {
            builder = builder.env(key, value);
        }
        for (kind, key, probe) in [
            (Kind::Liveness, "liveness", self.liveness),
            (Kind::Readiness, "readiness", self.readiness),
            (Kind::Startup, "startup", self.startup),
        ] {
            if let Some(probe) = probe {
                builder = builder.probe(probe.into_probe(name, kind, key)?);
            }
        }
        if !self.after.is_empty() {
            builder = builder.after(self.after);
        }
        builder = builder.stop_with_dependencies(self.stop_with_dependencies);
        if oneshot {
            builder = builder.oneshot();
        }
        match (self.kind, self.watchdog) {
            (ServiceType::Notify, watchdog) => builder = builder.notify(watchdog.map(|w| w.0)),
            (_, Some(_)) => {
                return Err(KeyError::new(
                    "watchdog",
                    "a watchdog needs `type = \"notify\"`",
                ));
            }
            (_, None) => {}
        }
        if let Some((argv, timeout)) = command_with_timeout(
            ("on_give_up", self.on_give_up),
            ("on_give_up_timeout", self.on_give_up_timeout),
        )? {
            builder = builder.on_give_up(argv, timeout);
        }
        if let Some((argv, timeout)) = command_with_timeout(
            ("reload", self.reload),
            ("reload_timeout", self.reload_timeout),
        )? {
            builder = builder.reload(argv, timeout);
        }
        if let Some(n) = self.limit_nofile {
            builder = builder.limit(Resource::Nofile, Some(n), Some(n));
        }
        match (&self.user, &self.group) {
            (Some(user), group) => {
                let credentials = credentials_for(user, group.as_deref()).map_err(|e| {
                    KeyError::new(
                        if group.is_some() && e.to_string().contains("group") {
                            "group"
                        } else {
                            "user"
                        },
                        e.to_string(),
                    )
                })?;
                if !rustix::process::geteuid().is_root() {
                    return Err(KeyError::new(
                        "user",
                        "running as another user needs mend to run as root",
                    ));
                }
                builder = builder.run_as(credentials);
            }
            (None, Some(_)) => {
                return Err(KeyError::new(
                    "group",
                    "`group` needs `user` (give `user = \"root\"` to keep the user)",
                ));
            }
            (None, None) => {}
        }
        builder.build().map_err(|e| {
            let key = match e.field {
                "argv" => "command",
                "success_codes" => "success_exit_codes",
                "start_grace" => "start_grace",
                "stop_grace" => "stop_grace",
                "intensity" if e.value.parse::<u64>().is_ok() => "start_limit_burst",
                "intensity" => "start_limit_interval",
                "restart_cooldown" => "restart_cooldown",
                "limit" => "limit_nofile",
                "output.max_bytes" => "log_max_bytes",
                "output.keep" => "log_keep",
                "after" => "after",
                "on_give_up" => "on_give_up",
                "on_give_up.timeout" => "on_give_up_timeout",
                "reload" => "reload",
                "reload.timeout" => "reload_timeout",
                "notify.watchdog" => "watchdog",
                "period" | "timeout" | "failure_threshold" | "success_threshold" => {
                    if e.component.starts_with("liveness") {
                        "liveness"
                    } else if e.component.starts_with("readiness") {
                        "readiness"
                    } else {
                        "startup"
                    }
                }
                f if f.starts_with("backoff") => "restart_delay",
                _ => "",
            };
            let message = format!("invalid value {}: expected {}", e.value, e.expected);
            if key.is_empty() {
                KeyError {
                    key: None,
                    message: format!("`{}`: {message}", e.field),
                }
            } else {
                KeyError::new(key, message)
            }
        })
    }
}

/// A command key and its timeout key (default 30 s): the timeout alone is
/// refused, naming both.
fn command_with_timeout(
    (command_key, argv): (&'static str, Option<Vec<String>>),
    (timeout_key, timeout): (&'static str, Option<HumanDuration>),
) -> Result<Option<(Vec<String>, Duration)>, KeyError> {
    match (argv, timeout) {
        (Some(argv), timeout) => Ok(Some((
            argv,
            timeout.map_or(Duration::from_secs(30), |t| t.0),
        ))),
        (None, Some(_)) => Err(KeyError::new(
            timeout_key,
            format!("`{timeout_key}` needs `{command_key}`"),
        )),
        (None, None) => Ok(None),
    }
}
