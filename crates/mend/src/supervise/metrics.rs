//! The supervisor's rows of the metrics table (feature `metrics`).

use std::sync::atomic::Ordering::Relaxed;

use ::metrics::{counter, describe_counter, describe_gauge, gauge};

use super::handle::SupervisorHandle;
use super::machine::Phase;

/// Tells the installed recorder what each of this area's series means
/// (at every collect: descriptions given before a recorder was installed
/// are lost).
pub(crate) fn describe() {
    describe_counter!(
        "mend_supervise_starts_total",
        "child starts, restarts included"
    );
    describe_counter!("mend_supervise_exits_total", "child ends, by reason");
    describe_counter!(
        "mend_supervise_restarts_total",
        "restarts a child's end caused"
    );
    describe_counter!(
        "mend_supervise_give_ups_total",
        "times the supervisor gave up past its intensity"
    );
    describe_gauge!("mend_supervise_children", "children by phase");
}

impl crate::metrics::MetricSource for SupervisorHandle {
    fn export(&self) {
        let supervisor = self.name().to_owned();
        let mut phases = [0u32; 3];
        for child in self.children() {
            let labels = [
                ("supervisor", supervisor.clone()),
                ("child", child.name.to_string()),
            ];
            counter!("mend_supervise_starts_total", &labels).absolute(child.starts);
            counter!("mend_supervise_restarts_total", &labels).absolute(child.restarts);
            for (reason, n) in [
                ("normal", child.exits.normal),
                ("error", child.exits.error),
                ("panic", child.exits.panic),
                ("stopped", child.exits.stopped),
            ] {
                let mut with_reason = labels.to_vec();
                with_reason.push(("reason", reason.to_owned()));
                counter!("mend_supervise_exits_total", &with_reason).absolute(n);
            }
            phases[match child.phase {
                Phase::Running => 0,
                Phase::Restarting(_) => 1,
                Phase::Stopped => 2,
            }] += 1;
        }
        for (phase, n) in ["running", "restarting", "stopped"].into_iter().zip(phases) {
            gauge!("mend_supervise_children", "supervisor" => supervisor.clone(), "phase" => phase)
                .set(f64::from(n));
        }
        counter!("mend_supervise_give_ups_total", "supervisor" => supervisor)
            .absolute(self.shared.give_ups.load(Relaxed));
    }
}
