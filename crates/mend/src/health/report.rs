//! [`Report`]: every probe's latest as `application/health+json` (IETF
//! draft "Health Check Response Format for HTTP APIs"): a top-level
//! `status` of `pass`, `warn` or `fail`, and `checks` keyed
//! `"component:measurement"`, each an array of results with `status`,
//! `time`, `output` and `observedValue`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use super::judge::Health;
use super::monitor::Shared;
use super::{Kind, Status};

/// The content type of a report.
pub const CONTENT_TYPE: &str = "application/health+json";

/// The aggregate health of a monitor's probes.
///
/// The status is `fail` if any probe is unhealthy (a liveness probe past
/// its threshold, a readiness probe not ready, a startup probe out of
/// budget), else `warn` if any probe warns, is still starting or is failing
/// short of its threshold, else `pass`; HTTP 200 goes with `pass` and
/// `warn`, 503 with `fail`. A probe that starts over after a recovery has
/// no latest result until it runs again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The aggregate.
    pub status: Status,
    /// Each probe's latest, by `"component:measurement"`.
    pub checks: BTreeMap<String, Vec<CheckEntry>>,
}

/// One probe's entry in a [`Report`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CheckEntry {
    /// The probe's status as its component sees it.
    pub status: Status,
    /// When the latest result came (RFC 3339, UTC); absent before the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// What the latest result said, or why the probe is where it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The latest result's measured value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_value: Option<f64>,
    /// Its unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_unit: Option<&'static str>,
    /// The probe's kind: `liveness`, `readiness` or `startup`.
    pub component_type: Kind,
}

impl Report {
    pub(super) fn of<C>(shared: &Shared<C>) -> Self {
        let mut checks = BTreeMap::new();
        let mut status = Status::Pass;
        for state in &shared.probes {
            let probe = &state.probe;
            let s = state.lock();
            let health = s.judge.health();
            let last = s.last.as_ref();
            let (entry_status, output) = match (health, last) {
                (Health::Unhealthy, Some((result, _))) => (
                    Status::Fail,
                    Some(match &result.output {
                        Some(out) => format!("unhealthy: {out}"),
                        None => "unhealthy".into(),
                    }),
                ),
                (Health::Unhealthy, None) => (Status::Fail, Some("not checked yet".into())),
                (Health::Starting, _) => (Status::Warn, Some("starting".into())),
                (Health::Healthy, Some((result, _))) if result.status.passes() => {
                    (result.status, result.output.clone())
                }
                // Failing, but not yet past the threshold: still healthy.
                (Health::Healthy, Some((result, _))) => (
                    Status::Warn,
                    Some(match &result.output {
                        Some(out) => format!("failing, not yet unhealthy: {out}"),
                        None => "failing, not yet unhealthy".into(),
                    }),
                ),
                (Health::Healthy, None) => (Status::Pass, Some("not checked yet".into())),
            };
            status = worst(status, entry_status);
            let entry = CheckEntry {
                status: entry_status,
                time: last.map(|(_, at)| rfc3339(at.to_system_time())),
                output,
                observed_value: last.and_then(|(r, _)| r.observed_value),
                observed_unit: last.and_then(|(r, _)| r.observed_unit),
                component_type: probe.kind,
            };
            checks.insert(probe.key(), vec![entry]);
        }
        Report { status, checks }
    }

    /// 200 for `pass` and `warn`, 503 for `fail`.
    pub fn http_status(&self) -> u16 {
        match self.status {
            Status::Pass | Status::Warn => 200,
            Status::Fail => 503,
        }
    }

    /// The report as health+json.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"status":"fail","output":"report not serialised: {e}"}}"#)
        })
    }
}

/// The worse of two statuses.
fn worst(a: Status, b: Status) -> Status {
    match (a, b) {
        (Status::Fail, _) | (_, Status::Fail) => Status::Fail,
        (Status::Warn, _) | (_, Status::Warn) => Status::Warn,
        _ => Status::Pass,
    }
}

/// RFC 3339 in UTC with milliseconds.
fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}
