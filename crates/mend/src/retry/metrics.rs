//! The retry's rows of the metrics table (feature `metrics`).

use ::metrics::{Histogram, Unit, counter, describe_counter, describe_histogram};

use super::{GiveUp, Retry};
use crate::metrics::MetricSource;

/// Tells the installed recorder what each of this area's series means
/// (at every collect: descriptions given before a recorder was installed
/// are lost).
pub(crate) fn describe() {
    describe_counter!("mend_retry_calls_total", "calls (first attempts)");
    describe_counter!("mend_retry_attempts_total", "attempts, first ones included");
    describe_counter!("mend_retry_retries_total", "attempts after the first");
    describe_counter!(
        "mend_retry_gave_up_total",
        "calls that ended in an error, by why no further attempt was made"
    );
    describe_histogram!(
        "mend_retry_call_duration_seconds",
        Unit::Seconds,
        "duration of whole calls, retries included, of a retry with a deadline"
    );
}

/// The histogram of whole-call durations of a retry with a deadline.
pub(crate) fn duration_histogram(name: &str) -> Histogram {
    ::metrics::histogram!("mend_retry_call_duration_seconds", "retry" => name.to_owned())
}

impl<C, K, H, S> MetricSource for Retry<C, K, H, S>
where
    C: Send + Sync,
    K: Send + Sync,
    H: Send + Sync,
    S: Send + Sync,
{
    fn export(&self) {
        let name = self.name_str().to_owned();
        let counted = self.counters();
        counter!("mend_retry_calls_total", "retry" => name.clone()).absolute(counted.calls);
        counter!("mend_retry_attempts_total", "retry" => name.clone()).absolute(counted.attempts());
        counter!("mend_retry_retries_total", "retry" => name.clone()).absolute(counted.retries);
        for (reason, label) in [
            (GiveUp::Permanent, "permanent"),
            (GiveUp::Attempts, "attempts"),
            (GiveUp::Deadline, "deadline"),
            (GiveUp::Budget, "budget"),
            (GiveUp::RetryAfter, "retry_after"),
        ] {
            counter!("mend_retry_gave_up_total", "retry" => name.clone(), "reason" => label)
                .absolute(counted.gave_up.get(reason));
        }
    }
}
