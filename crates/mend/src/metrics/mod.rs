//! Metrics for every mechanism, through the [`metrics`](https://docs.rs/metrics)
//! facade, so any exporter can publish them (feature `metrics`; the
//! Prometheus text and a scrape endpoint are feature `prometheus`).
//!
//! Every count lives in the policy that counts it: calls by outcome,
//! rejections and retries on per-thread stripes (which cost the success
//! path nothing extra), state changes (a breaker's transitions, a limit's
//! episodes) where they happen, under the lock or beside the episode. A
//! [`Collector`] reads them all *when the exporter renders*: the Prometheus
//! endpoint refreshes, then renders, in its handler, so a scrape sees
//! counts as of that scrape and no thread runs when nobody scrapes.
//! Exporters that render on their own schedule call [`Collector::collect`]
//! just before (or on a timer). Nothing is sent through the facade per
//! call or per event: a transition allocates nothing, and a recorder
//! installed late still sees every count since the policy was built.
//! (Events feed logs and subscribers; they are not how metrics count.)
//!
//! Latency histograms are recorded per call only where a precise clock is
//! read anyway: a breaker with slow-call detection on, a retry with a
//! deadline, a timeout (tokio's timer reads the clock), a health probe's
//! runs, and a checkpoint store's appends and snapshots (each waits for an
//! fsync, which dwarfs a clock read). The Prometheus exporter gives them explicit buckets
//! ([`BUCKETS`]). A histogram binds to the recorder installed when its
//! policy is built: install the exporter first.
//!
//! # The metrics
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `mend_breaker_state` | gauge | `breaker`, `state` | 1 for the state the breaker is in (as a call would find it), 0 for the others |
//! | `mend_breaker_calls_total` | counter | `breaker`, `outcome` (`success`, `failure`, `ignored`) | calls recorded |
//! | `mend_breaker_slow_calls_total` | counter | `breaker` | recorded calls slower than `slow_call_duration` |
//! | `mend_breaker_rejected_total` | counter | `breaker` | calls refused without running |
//! | `mend_breaker_transitions_total` | counter | `breaker`, `to` | state changes, by the state entered |
//! | `mend_breaker_window_calls` | gauge | `breaker` | calls in the current window |
//! | `mend_breaker_window_failed_calls` | gauge | `breaker` | failed calls in the current window |
//! | `mend_breaker_call_duration_seconds` | histogram | `breaker` | duration of calls timed for slow-call detection |
//! | `mend_breaker_registry_keys` | gauge | `registry` | breakers a registry holds |
//! | `mend_breaker_registry_breakers` | gauge | `registry`, `state` | a registry's breakers by state |
//! | `mend_retry_calls_total` | counter | `retry` | calls (first attempts) |
//! | `mend_retry_attempts_total` | counter | `retry` | attempts, first ones included |
//! | `mend_retry_retries_total` | counter | `retry` | attempts after the first |
//! | `mend_retry_gave_up_total` | counter | `retry`, `reason` (`permanent`, `attempts`, `deadline`, `budget`, `retry_after`) | calls that ended in an error; `reason="budget"` are the budget's refusals |
//! | `mend_retry_call_duration_seconds` | histogram | `retry` | duration of whole calls, retries included, of a retry with a deadline |
//! | `mend_bulkhead_admitted_total` | counter | `bulkhead` | calls given a slot |
//! | `mend_bulkhead_rejected_total` | counter | `bulkhead` | calls refused |
//! | `mend_bulkhead_queued_total` | counter | `bulkhead` | calls that waited in the queue |
//! | `mend_bulkhead_in_flight` | gauge | `bulkhead` | calls holding a slot |
//! | `mend_bulkhead_waiting` | gauge | `bulkhead` | calls waiting in the queue |
//! | `mend_rate_limiter_admitted_total` | counter | `limiter` | calls the quota allowed (keyed limiters: over every key) |
//! | `mend_rate_limiter_rejected_total` | counter | `limiter` | calls refused |
//! | `mend_rate_limiter_keys` | gauge | `limiter` | keys a keyed limiter holds |
//! | `mend_timeout_elapsed_total` | counter | `timeout` | calls cut off at the limit |
//! | `mend_timeout_call_duration_seconds` | histogram | `timeout` | duration of calls under a timeout, cut-off ones included |
//! | `mend_limit_episodes_total` | counter | `limit`, `kind` (`bulkhead`, `rate_limiter`, `keyed_rate_limiter`, `timeout`) | episodes of refusing (of timing out) that began |
//! | `mend_health_check_healthy` | gauge | `component`, `measurement`, `kind` | 1 when the probe is healthy, 0 when unhealthy or still starting |
//! | `mend_health_check_results_total` | counter | `component`, `measurement`, `kind`, `status` (`pass`, `warn`, `fail`) | probe runs, by result (a timeout or a panic is a `fail`) |
//! | `mend_health_recoveries_total` | counter | `component`, `measurement`, `kind` | recoveries run |
//! | `mend_health_check_duration_seconds` | histogram | `component`, `measurement`, `kind` | duration of probe runs, timeouts included |
//! | `mend_supervise_starts_total` | counter | `supervisor`, `child` | child starts, restarts included |
//! | `mend_supervise_exits_total` | counter | `supervisor`, `child`, `reason` (`normal`, `error`, `panic`, `stopped`) | child ends, by reason |
//! | `mend_supervise_restarts_total` | counter | `supervisor`, `child` | restarts the child's end caused (a group restart counts once, for its cause) |
//! | `mend_supervise_give_ups_total` | counter | `supervisor` | times the supervisor gave up past its intensity |
//! | `mend_supervise_children` | gauge | `supervisor`, `phase` (`running`, `restarting`, `stopped`) | children by phase |
//! | `mend_process_up` | gauge | `supervisor`, `service` | 1 while the service's process runs |
//! | `mend_process_starts_total` | counter | `supervisor`, `service` | process starts |
//! | `mend_process_restarts_total` | counter | `supervisor`, `service` | starts after an end (not by hand) |
//! | `mend_process_exits_total` | counter | `supervisor`, `service`, `kind` (`normal`, `failed`, `stopped`) | process ends, by kind |
//! | `mend_process_kills_total` | counter | `supervisor`, `service` | stops whose grace ran out (what was left was killed) |
//! | `mend_process_give_ups_total` | counter | `supervisor`, `service` | times the service gave up past its intensity |
//! | `mend_process_restarting` | gauge | `supervisor`, `service` | 1 while it waits out a restart backoff |
//! | `mend_process_output_rotations_total` | counter | `supervisor`, `service` | rotations of its output files |
//! | `mend_process_output_lost_bytes_total` | counter | `supervisor`, `service` | output bytes a rotation truncated that no copy holds |
//! | `mend_checkpoint_appends_total` | counter | `store` | changes appended and acknowledged |
//! | `mend_checkpoint_appended_bytes_total` | counter | `store` | bytes of journal records appended |
//! | `mend_checkpoint_snapshots_total` | counter | `store`, `trigger` (`save`, `compaction`) | snapshots written (`save` includes the one a load writes to start a new chain) |
//! | `mend_checkpoint_compaction_failures_total` | counter | `store` | automatic compactions that failed and were put off |
//! | `mend_checkpoint_loads_total` | counter | `store`, `outcome` (`first_run`, `clean`, `repaired`, `lost`, `failed`) | loads, by what they found |
//! | `mend_checkpoint_journal_records` | gauge | `store` | journal records since the last snapshot (what a load would replay) |
//! | `mend_checkpoint_poisoned` | gauge | `store` | 1 once the store refuses writes after a failed write or fsync |
//! | `mend_checkpoint_append_duration_seconds` | histogram | `store` | duration of appends (write and fsync) |
//! | `mend_checkpoint_snapshot_duration_seconds` | histogram | `store` | duration of snapshots (files and directory fsync'd) |
//!
//! # Cardinality
//!
//! Every series is labelled by a component's name, never by anything a
//! request carries. A [`BreakerRegistry`](crate::breaker::BreakerRegistry)
//! exports its breakers summed under the registry's name (counts of
//! evicted breakers kept, so the counters never go back) and its breakers
//! by state; series per key only when it is built with
//! [`metrics_per_key`](crate::breaker::BreakerRegistryBuilder::metrics_per_key),
//! and then at most `max_keys` of them.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use mend::breaker::CircuitBreaker;
//! use mend::metrics::Collector;
//!
//! let breaker = Arc::new(CircuitBreaker::builder("payments").build()?);
//! let collector = Collector::new();
//! collector.register(&breaker);
//! let _ = breaker.call(|| Ok::<_, std::io::Error>(()));
//! // Just before the exporter renders (the Prometheus endpoint does this):
//! assert_eq!(collector.collect(), 1);
//! # Ok::<(), mend::ConfigError>(())
//! ```

#[cfg(feature = "prometheus")]
pub mod prometheus;

use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use crate::clock::{Clock, Tick};

/// Bucket bounds, in seconds, of every mend histogram: 100 µs to 30 s.
pub const BUCKETS: &[f64] = &[
    0.000_1, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 30.0,
];

/// Something whose counters and gauges a scrape reads: every policy.
/// Implemented in each area, so adding one touches nothing here.
pub trait MetricSource: Send + Sync {
    /// Writes the source's counters (as absolute values) and gauges
    /// through the `metrics` facade, as of now.
    fn export(&self);
}

/// The sources a scrape reads, held weakly: a dropped policy simply stops
/// being exported.
#[derive(Default)]
pub struct Collector {
    sources: Mutex<Vec<Weak<dyn MetricSource>>>,
}

impl Collector {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `source` at every scrape while it lives.
    pub fn register<S: MetricSource + 'static>(&self, source: &Arc<S>) {
        let source: Arc<dyn MetricSource> = source.clone();
        self.lock().push(Arc::downgrade(&source));
    }

    /// Exports every live source, forgets the dropped ones; returns how
    /// many were exported.
    pub fn collect(&self) -> usize {
        let live: Vec<Arc<dyn MetricSource>> = {
            let mut sources = self.lock();
            sources.retain(|s| s.strong_count() > 0);
            sources.iter().filter_map(Weak::upgrade).collect()
        };
        describe_all();
        // Outside the lock: a source may take its own.
        for source in &live {
            source.export();
        }
        live.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<dyn MetricSource>>> {
        self.sources
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Records a call's duration when it ends, however it ends (a dropped
/// async call included). Made only where the precise clock is read anyway
/// (a retry with a deadline, a timeout).
pub(crate) struct CallTimer<'a, C: Clock> {
    pub(crate) histogram: &'a ::metrics::Histogram,
    pub(crate) clock: &'a C,
    pub(crate) started: Tick,
}

impl<C: Clock> Drop for CallTimer<'_, C> {
    fn drop(&mut self) {
        let took = self.clock.precise() - self.started;
        self.histogram.record(took.as_secs_f64());
    }
}

/// Describes every series mend exports to the recorder installed now.
/// Done at every collect, which is cheap (a few dozen map entries) and
/// right: a description given before the recorder was installed is lost.
fn describe_all() {
    crate::breaker::metrics::describe();
    crate::retry::metrics::describe();
    crate::limit::metrics::describe();
    #[cfg(feature = "health")]
    crate::health::metrics::describe();
    #[cfg(feature = "supervise")]
    crate::supervise::metrics::describe();
    #[cfg(feature = "checkpoint")]
    crate::checkpoint::metrics::describe();
    #[cfg(all(feature = "process", target_os = "linux"))]
    crate::process::metrics::describe();
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector")
            .field("sources", &self.lock().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counted(AtomicUsize);

    impl MetricSource for Counted {
        fn export(&self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_dropped_source_is_forgotten() {
        let collector = Collector::new();
        let kept = Arc::new(Counted(AtomicUsize::new(0)));
        let dropped = Arc::new(Counted(AtomicUsize::new(0)));
        collector.register(&kept);
        collector.register(&dropped);
        assert_eq!(collector.collect(), 2);
        drop(dropped);
        assert_eq!(collector.collect(), 1);
        assert_eq!(kept.0.load(Ordering::Relaxed), 2);
        assert_eq!(format!("{collector:?}"), "Collector { sources: 1 }");
    }
}
