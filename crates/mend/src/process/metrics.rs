//! The process supervisor's rows of the metrics table (feature
//! `metrics`).

use ::metrics::{counter, describe_counter, describe_gauge, gauge};

use super::handle::ProcessHandle;
use super::status::ServiceState;

/// Tells the installed recorder what each of this area's series means.
pub(crate) fn describe() {
    describe_gauge!("mend_process_up", "1 while the service's process runs");
    describe_counter!("mend_process_starts_total", "service process starts");
    describe_counter!(
        "mend_process_restarts_total",
        "starts after an end (not by hand)"
    );
    describe_counter!("mend_process_exits_total", "service process ends, by kind");
    describe_counter!(
        "mend_process_kills_total",
        "stops whose grace ran out, so what was left was killed"
    );
    describe_counter!(
        "mend_process_give_ups_total",
        "times the service gave up past its intensity"
    );
    describe_gauge!(
        "mend_process_restarting",
        "1 while the service waits out a restart backoff"
    );
    describe_counter!(
        "mend_process_output_rotations_total",
        "rotations of the service's output files"
    );
    describe_counter!(
        "mend_process_output_lost_bytes_total",
        "output bytes a rotation truncated that no copy holds"
    );
}

impl crate::metrics::MetricSource for ProcessHandle {
    fn export(&self) {
        let supervisor = self.name().to_owned();
        for status in self.services() {
            let labels = [
                ("supervisor", supervisor.clone()),
                ("service", status.name.to_string()),
            ];
            let up = status.state == ServiceState::Running;
            gauge!("mend_process_up", &labels).set(f64::from(u8::from(up)));
            let restarting = matches!(status.state, ServiceState::Restarting { .. });
            gauge!("mend_process_restarting", &labels).set(f64::from(u8::from(restarting)));
            counter!("mend_process_starts_total", &labels).absolute(status.starts);
            counter!("mend_process_restarts_total", &labels).absolute(status.restarts);
            counter!("mend_process_kills_total", &labels).absolute(status.kills);
            counter!("mend_process_give_ups_total", &labels).absolute(status.give_ups);
            counter!("mend_process_output_rotations_total", &labels).absolute(status.rotations);
            counter!("mend_process_output_lost_bytes_total", &labels)
                .absolute(status.rotation_lost_bytes);
            for (kind, n) in [
                ("normal", status.exits.normal),
                ("failed", status.exits.failed),
                ("stopped", status.exits.stopped),
            ] {
                let mut with_kind = labels.to_vec();
                with_kind.push(("kind", kind.to_owned()));
                counter!("mend_process_exits_total", &with_kind).absolute(n);
            }
        }
    }
}
