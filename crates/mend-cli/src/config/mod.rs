//! The daemon's config file: TOML, one table per service, in systemd's
//! words where users know them. Read, checked and turned into the
//! library's [`ServiceSpec`]s here; every refusal names the file, the
//! line and the key, and says what was expected.
//!
//! `mend.toml` at the workspace root documents every key with its default.

mod api;
mod envfile;
mod error;
mod service;
mod values;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use std::time::Duration;

use mend::process::{Isolation, ServiceSpec};
use mend::retry::{Backoff, Jitter};
use mend::supervise::{RestartPlan, RestartPlanBuilder, Strategy};
use serde::Deserialize;

pub(crate) use api::TcpApi;
pub(crate) use error::ConfigFileError;
use service::ServiceConfig;

/// A config file, read and checked.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Where it was read from.
    pub(crate) file: PathBuf,
    /// The supervisor's name (it names its cgroup).
    pub(crate) name: String,
    /// Where output files (and, later, mend's own state) go.
    pub(crate) state_dir: PathBuf,
    /// cgroups where possible, or process groups.
    pub(crate) isolation: Isolation,
    /// The services, in start order.
    pub(crate) services: Vec<ServiceSpec>,
    /// Groups restarted together.
    pub(crate) groups: Vec<Group>,
    /// The services whose readiness makes mend ready (`READY=1`).
    pub(crate) required: Vec<String>,
    /// The API on TCP, if the `[api]` table asks for it.
    pub(crate) tcp_api: Option<TcpApi>,
    /// Each service's table as written, to tell on a reload which changed.
    pub(crate) tables: IndexMap<String, toml::Value>,
    /// Everything but the services, as written (a reload cannot change it).
    pub(crate) settings: toml::Table,
}

/// A `[groups.NAME]` table, checked.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) strategy: Strategy,
    pub(crate) plan: RestartPlanBuilder,
    pub(crate) services: Vec<String>,
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    mend: Settings,
    #[serde(default)]
    services: IndexMap<String, ServiceConfig>,
    #[serde(default)]
    groups: IndexMap<String, GroupConfig>,
    #[serde(default)]
    api: api::ApiConfig,
}

/// A `[groups.NAME]` table, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupConfig {
    strategy: values::GroupStrategy,
    services: Vec<String>,
    start_limit_burst: Option<u32>,
    start_limit_interval: Option<values::HumanDuration>,
    restart_delay: Option<values::HumanDuration>,
    restart_delay_max: Option<values::HumanDuration>,
}

/// The `[mend]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    name: Option<String>,
    state_dir: Option<PathBuf>,
    #[serde(default)]
    isolation: values::IsolationChoice,
}

impl Config {
    /// Reads and checks `file`; `state_dir` overrides the file's.
    pub(crate) fn load(file: &Path, state_dir: Option<&Path>) -> Result<Config, ConfigFileError> {
        #[allow(
            clippy::disallowed_methods,
            reason = "the config file, not checkpoint I/O"
        )]
        let text =
            std::fs::read_to_string(file).map_err(|e| ConfigFileError::unreadable(file, &e))?;
        Config::parse(file, &text, state_dir)
    }

    /// Checks `text`, read from `file`.
    pub(crate) fn parse(
        file: &Path,
        text: &str,
        state_dir: Option<&Path>,
    ) -> Result<Config, ConfigFileError> {
        let parsed: File = error::deserialize(file, text)?;
        // The same text parsed once more as plain TOML, for comparisons.
        let mut settings: toml::Table = text.parse().unwrap_or_default();
        let tables = match settings.remove("services") {
            Some(toml::Value::Table(services)) => services.into_iter().collect(),
            _ => IndexMap::new(),
        };
        let base = file.parent().unwrap_or(Path::new(".")).to_owned();
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("mend")
            .to_owned();
        let name = parsed.mend.name.unwrap_or(stem);
        let state_dir = match (state_dir, parsed.mend.state_dir) {
            (Some(dir), _) => dir.to_owned(),
            (None, Some(dir)) => base.join(dir),
            (None, None) => base.join(format!("{name}.state")),
        };
        let tcp_api = parsed
            .api
            .check(&base)
            .map_err(|e| e.locate_in(file, text, "api", "\"api\""))?;
        let mut services = Vec::with_capacity(parsed.services.len());
        let mut required = Vec::new();
        for (service, config) in parsed.services {
            if config.required {
                required.push(service.clone());
            }
            let spec = config
                .into_spec(&service, &base, &state_dir)
                .map_err(|e| e.locate(file, text, &service))?;
            services.push(spec);
        }
        // What only the whole set can tell: `after` naming a service that
        // does not exist, and cycles (the supervisor's builder checks both
        // and names both ends).
        let groups: Vec<Group> = parsed
            .groups
            .into_iter()
            .map(|(name, g)| {
                let d = |v: Option<values::HumanDuration>, default: Duration| {
                    v.map_or(default, |v| v.0)
                };
                Group {
                    name,
                    strategy: g.strategy.into(),
                    plan: RestartPlan::builder()
                        .intensity(
                            g.start_limit_burst.unwrap_or(5),
                            d(g.start_limit_interval, Duration::from_secs(10)),
                        )
                        .backoff(
                            Backoff::exponential(
                                d(g.restart_delay, Duration::from_millis(100)),
                                2.0,
                            )
                            .with_cap(d(g.restart_delay_max, Duration::from_secs(30))),
                            Jitter::Full,
                            Duration::from_secs(600),
                        ),
                    services: g.services,
                }
            })
            .collect();
        let mut check = mend::process::ProcessSupervisor::builder(&name);
        for spec in &services {
            check = check.service(spec.clone());
        }
        for group in &groups {
            check = check.group(
                &group.name,
                group.strategy,
                group.plan.clone(),
                group.services.iter().map(String::as_str),
            );
        }
        if let Err(e) = check.build() {
            if let Some(group) = e
                .component
                .strip_prefix("service group `")
                .and_then(|c| c.strip_suffix('`'))
            {
                let message = format!(
                    "invalid `{}` = {}: expected {}",
                    e.field, e.value, e.expected
                );
                return Err(error::group_error(file, text, group, &message));
            }
            let service = e.value.split(" -> ").next().unwrap_or_default().to_owned();
            return Err(
                error::KeyError::new("after", format!("{}: {}", e.value, e.expected))
                    .locate(file, text, &service),
            );
        }
        Ok(Config {
            file: file.to_owned(),
            name,
            state_dir,
            isolation: parsed.mend.isolation.into(),
            services,
            groups,
            required,
            tcp_api,
            tables,
            settings,
        })
    }
}

#[cfg(test)]
mod tests;
