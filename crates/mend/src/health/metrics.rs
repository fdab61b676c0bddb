//! The health rows of the metrics table (feature `metrics`).

use std::sync::atomic::Ordering::Relaxed;

use ::metrics::{
    Histogram, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge,
};

use super::judge::Health;
use super::monitor::MonitorHandle;
use super::probe::Probe;
use crate::clock::Clock;
use crate::metrics::MetricSource;

/// Tells the installed recorder what each of this area's series means
/// (at every collect: descriptions given before a recorder was installed
/// are lost).
pub(crate) fn describe() {
    describe_gauge!(
        "mend_health_check_healthy",
        "1 when the probe is healthy, 0 when unhealthy or still starting"
    );
    describe_counter!("mend_health_check_results_total", "probe runs, by result");
    describe_counter!("mend_health_recoveries_total", "recoveries run");
    describe_histogram!(
        "mend_health_check_duration_seconds",
        Unit::Seconds,
        "duration of probe runs, timeouts included"
    );
}

/// The histogram of one probe's run durations.
pub(super) fn duration_histogram(probe: &Probe) -> Histogram {
    ::metrics::histogram!(
        "mend_health_check_duration_seconds",
        "component" => probe.component.to_string(),
        "measurement" => probe.measurement.to_string(),
        "kind" => probe.kind.as_str()
    )
}

impl<C: Clock + Send + Sync> MetricSource for MonitorHandle<C> {
    fn export(&self) {
        for state in &self.shared.probes {
            let p = &state.probe;
            let labels = [
                ("component", p.component.to_string()),
                ("measurement", p.measurement.to_string()),
                ("kind", p.kind.as_str().to_owned()),
            ];
            let healthy = state.lock().judge.health() == Health::Healthy;
            gauge!("mend_health_check_healthy", &labels).set(if healthy { 1.0 } else { 0.0 });
            for (i, status) in ["pass", "warn", "fail"].into_iter().enumerate() {
                let mut with_status = labels.to_vec();
                with_status.push(("status", status.to_owned()));
                counter!("mend_health_check_results_total", &with_status)
                    .absolute(state.results[i].load(Relaxed));
            }
            counter!("mend_health_recoveries_total", &labels)
                .absolute(state.recoveries.load(Relaxed));
        }
    }
}
