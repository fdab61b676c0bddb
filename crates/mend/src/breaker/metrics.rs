//! The breaker's rows of the metrics table (feature `metrics`): a breaker
//! and a registry as [`MetricSource`]s, and what a transition event moves.

use std::hash::Hash;

use ::metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};

use super::{BreakerCounters, BreakerRegistry, CircuitBreaker, Metrics, State};
use crate::clock::Clock;
use crate::metrics::MetricSource;

const STATES: [State; 6] = State::ALL;

/// Tells the installed recorder what each of this area's series means
/// (at every collect: descriptions given before a recorder was installed
/// are lost).
pub(crate) fn describe() {
    describe_gauge!(
        "mend_breaker_state",
        "1 for the state a call would find the breaker in, 0 for the others"
    );
    describe_counter!("mend_breaker_calls_total", "calls recorded, by outcome");
    describe_counter!(
        "mend_breaker_slow_calls_total",
        "recorded calls slower than slow_call_duration"
    );
    describe_counter!(
        "mend_breaker_rejected_total",
        "calls refused without running"
    );
    describe_counter!(
        "mend_breaker_transitions_total",
        "state changes, by the state entered"
    );
    describe_gauge!("mend_breaker_window_calls", "calls in the current window");
    describe_gauge!(
        "mend_breaker_window_failed_calls",
        "failed calls in the current window"
    );
    describe_histogram!(
        "mend_breaker_call_duration_seconds",
        Unit::Seconds,
        "duration of calls timed for slow-call detection"
    );
    describe_gauge!("mend_breaker_registry_keys", "breakers a registry holds");
    describe_gauge!(
        "mend_breaker_registry_breakers",
        "a registry's breakers by state"
    );
}

/// The histogram of a breaker's timed calls.
pub(crate) fn call_duration_histogram(name: &str) -> ::metrics::Histogram {
    ::metrics::histogram!("mend_breaker_call_duration_seconds", "breaker" => name.to_owned())
}

/// One breaker's series, under `label`.
fn export(label: &str, counters: BreakerCounters, window: &Metrics) {
    let name = label.to_owned();
    for state in STATES {
        let on = if state == window.state { 1.0 } else { 0.0 };
        gauge!("mend_breaker_state", "breaker" => name.clone(), "state" => state.as_str()).set(on);
    }
    for (outcome, count) in [
        ("success", counters.successes),
        ("failure", counters.failures),
        ("ignored", counters.ignored),
    ] {
        counter!("mend_breaker_calls_total", "breaker" => name.clone(), "outcome" => outcome)
            .absolute(count);
    }
    counter!("mend_breaker_slow_calls_total", "breaker" => name.clone()).absolute(counters.slow);
    counter!("mend_breaker_rejected_total", "breaker" => name.clone()).absolute(counters.rejected);
    for state in STATES {
        let count = counters.entered(state);
        if count > 0 {
            counter!("mend_breaker_transitions_total", "breaker" => name.clone(), "to" => state.as_str())
                .absolute(count);
        }
    }
    gauge!("mend_breaker_window_calls", "breaker" => name.clone())
        .set(f64::from(window.buffered_calls));
    gauge!("mend_breaker_window_failed_calls", "breaker" => name)
        .set(f64::from(window.failed_calls));
}

impl<C, K> MetricSource for CircuitBreaker<C, K>
where
    C: Clock + Send + Sync,
    K: Send + Sync,
{
    fn export(&self) {
        export(self.name(), self.counters(), &self.metrics());
    }
}

impl<Key, C, K> MetricSource for BreakerRegistry<Key, C, K>
where
    Key: Hash + Eq + Send + Sync,
    C: Clock + Send + Sync,
    K: Send + Sync,
{
    fn export(&self) {
        let name = self.name().to_owned();
        let mut keys = 0;
        let mut by_state = [0u64; 6];
        let per_key = self.exports_per_key();
        self.for_each(|breaker| {
            keys += 1;
            let window = breaker.metrics();
            if let Some(i) = STATES.iter().position(|s| *s == window.state) {
                by_state[i] += 1;
            }
            if per_key {
                export(breaker.name(), breaker.counters(), &window);
            }
        });
        gauge!("mend_breaker_registry_keys", "registry" => name.clone()).set(keys as f64);
        for (state, count) in STATES.iter().zip(by_state) {
            gauge!("mend_breaker_registry_breakers", "registry" => name.clone(), "state" => state.as_str())
                .set(count as f64);
        }
        let totals = self.counters();
        for (outcome, count) in [
            ("success", totals.successes),
            ("failure", totals.failures),
            ("ignored", totals.ignored),
        ] {
            counter!("mend_breaker_calls_total", "breaker" => name.clone(), "outcome" => outcome)
                .absolute(count);
        }
        counter!("mend_breaker_rejected_total", "breaker" => name.clone())
            .absolute(totals.rejected);
        counter!("mend_breaker_slow_calls_total", "breaker" => name).absolute(totals.slow);
    }
}
