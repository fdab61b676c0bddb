//! The limits' rows of the metrics table (feature `metrics`).

use ::metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};

use super::Bulkhead;
use super::episode::Reporter;
use crate::clock::Clock;
use crate::metrics::MetricSource;

/// Tells the installed recorder what each of this area's series means
/// (at every collect: descriptions given before a recorder was installed
/// are lost).
pub(crate) fn describe() {
    describe_counter!("mend_bulkhead_admitted_total", "calls given a slot");
    describe_counter!("mend_bulkhead_rejected_total", "calls refused");
    describe_counter!(
        "mend_bulkhead_queued_total",
        "calls that waited in the queue"
    );
    describe_gauge!("mend_bulkhead_in_flight", "calls holding a slot");
    describe_gauge!("mend_bulkhead_waiting", "calls waiting in the queue");
    describe_counter!(
        "mend_rate_limiter_admitted_total",
        "calls the quota allowed"
    );
    describe_counter!(
        "mend_rate_limiter_rejected_total",
        "calls refused over quota"
    );
    describe_gauge!("mend_rate_limiter_keys", "keys a keyed limiter holds");
    describe_counter!("mend_timeout_elapsed_total", "calls cut off at the limit");
    describe_histogram!(
        "mend_timeout_call_duration_seconds",
        Unit::Seconds,
        "duration of calls under a timeout, cut-off ones included"
    );
    describe_counter!(
        "mend_limit_episodes_total",
        "episodes of refusing (or of timing out) that began"
    );
}

/// The histogram of a timeout's call durations.
#[cfg(feature = "tokio")]
pub(crate) fn timeout_duration_histogram(name: &str) -> ::metrics::Histogram {
    ::metrics::histogram!("mend_timeout_call_duration_seconds", "timeout" => name.to_owned())
}

impl<C: Clock + Send + Sync> MetricSource for Bulkhead<C> {
    fn export(&self) {
        let name = self.name().to_owned();
        let c = self.counters();
        counter!("mend_bulkhead_admitted_total", "bulkhead" => name.clone()).absolute(c.admitted);
        counter!("mend_bulkhead_rejected_total", "bulkhead" => name.clone()).absolute(c.rejected);
        counter!("mend_bulkhead_queued_total", "bulkhead" => name.clone()).absolute(c.queued);
        gauge!("mend_bulkhead_in_flight", "bulkhead" => name.clone()).set(c.in_flight as f64);
        gauge!("mend_bulkhead_waiting", "bulkhead" => name).set(c.waiting as f64);
        episodes(self.reporter());
    }
}

/// Episodes of refusing that began, counted where they begin.
fn episodes(reporter: &Reporter) {
    counter!(
        "mend_limit_episodes_total",
        "limit" => reporter.name.to_string(),
        "kind" => reporter.kind.label()
    )
    .absolute(reporter.episodes.began());
}

#[cfg(feature = "rate-limit")]
mod rate {
    use std::hash::Hash;

    use ::metrics::{counter, gauge};

    use super::super::{KeyedRateLimiter, LimiterCounters, RateLimiter};
    use crate::clock::Clock;
    use crate::metrics::MetricSource;

    fn export(name: &str, c: LimiterCounters) {
        let name = name.to_owned();
        counter!("mend_rate_limiter_admitted_total", "limiter" => name.clone())
            .absolute(c.admitted);
        counter!("mend_rate_limiter_rejected_total", "limiter" => name).absolute(c.rejected);
    }

    impl<C: Clock + Send + Sync> MetricSource for RateLimiter<C> {
        fn export(&self) {
            export(self.name(), self.counters());
            super::episodes(self.reporter());
        }
    }

    impl<K, C> MetricSource for KeyedRateLimiter<K, C>
    where
        K: Hash + Eq + Clone + Send + Sync,
        C: Clock + Send + Sync,
    {
        fn export(&self) {
            export(self.name(), self.counters());
            super::episodes(self.reporter());
            gauge!("mend_rate_limiter_keys", "limiter" => self.name().to_owned())
                .set(self.len() as f64);
        }
    }
}

#[cfg(feature = "tokio")]
impl<C: Clock + Send + Sync> MetricSource for super::Timeout<C> {
    fn export(&self) {
        counter!("mend_timeout_elapsed_total", "timeout" => self.name().to_owned())
            .absolute(self.counters().elapsed);
        episodes(self.reporter());
    }
}
