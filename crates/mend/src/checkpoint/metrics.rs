//! The checkpoint rows of the metrics table (feature `metrics`): the
//! counters of [`StoreStats`] read at a scrape, and the durations of the
//! writes that wait for the disk, timed because an fsync costs far more
//! than reading the clock.

use ::metrics::{
    Histogram, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge,
};

use super::stats::{LoadOutcome, StoreStats};
use crate::clock::{Clock, SystemClock, Tick};
use crate::metrics::MetricSource;

/// Tells the installed recorder what each of this area's series means
/// (at every collect: descriptions given before a recorder was installed
/// are lost).
pub(crate) fn describe() {
    describe_counter!(
        "mend_checkpoint_appends_total",
        "changes appended and acknowledged"
    );
    describe_counter!(
        "mend_checkpoint_appended_bytes_total",
        Unit::Bytes,
        "bytes of journal records appended"
    );
    describe_counter!(
        "mend_checkpoint_snapshots_total",
        "snapshots written, by what asked for them"
    );
    describe_counter!(
        "mend_checkpoint_compaction_failures_total",
        "automatic compactions that failed and were put off"
    );
    describe_counter!("mend_checkpoint_loads_total", "loads, by outcome");
    describe_gauge!(
        "mend_checkpoint_journal_records",
        "journal records since the last snapshot"
    );
    describe_gauge!(
        "mend_checkpoint_poisoned",
        "1 once the store refuses writes after a failed write or fsync"
    );
    describe_histogram!(
        "mend_checkpoint_append_duration_seconds",
        Unit::Seconds,
        "duration of appends, write and fsync"
    );
    describe_histogram!(
        "mend_checkpoint_snapshot_duration_seconds",
        Unit::Seconds,
        "duration of snapshots, files and directory fsync'd"
    );
}

/// The duration histograms of one store, bound to the recorder installed
/// when it was opened.
pub(super) struct Timings {
    append: Histogram,
    snapshot: Histogram,
}

impl Timings {
    pub(super) fn new(store: &str) -> Self {
        Timings {
            append: ::metrics::histogram!(
                "mend_checkpoint_append_duration_seconds",
                "store" => store.to_owned()
            ),
            snapshot: ::metrics::histogram!(
                "mend_checkpoint_snapshot_duration_seconds",
                "store" => store.to_owned()
            ),
        }
    }

    pub(super) fn start() -> Tick {
        SystemClock.precise()
    }

    pub(super) fn appended(&self, started: Tick) {
        self.append
            .record((SystemClock.precise() - started).as_secs_f64());
    }

    pub(super) fn snapshot_taken(&self, started: Tick) {
        self.snapshot
            .record((SystemClock.precise() - started).as_secs_f64());
    }
}

impl MetricSource for StoreStats {
    fn export(&self) {
        let store = self.name().to_owned();
        let labels = [("store", store.clone())];
        let with = |key: &'static str, value: &'static str| {
            [("store", store.clone()), (key, value.to_owned())]
        };
        counter!("mend_checkpoint_appends_total", &labels).absolute(self.appends());
        counter!("mend_checkpoint_appended_bytes_total", &labels).absolute(self.appended_bytes());
        for (trigger, n) in [("save", self.saves()), ("compaction", self.compactions())] {
            counter!("mend_checkpoint_snapshots_total", &with("trigger", trigger)).absolute(n);
        }
        counter!("mend_checkpoint_compaction_failures_total", &labels)
            .absolute(self.compaction_failures());
        for outcome in LoadOutcome::ALL {
            counter!(
                "mend_checkpoint_loads_total",
                &with("outcome", outcome.label())
            )
            .absolute(self.loads(outcome));
        }
        gauge!("mend_checkpoint_journal_records", &labels).set(self.journal_records() as f64);
        gauge!("mend_checkpoint_poisoned", &labels).set(if self.poisoned() { 1.0 } else { 0.0 });
    }
}
