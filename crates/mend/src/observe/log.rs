//! The built-in subscriber that writes every [`Event`] to `tracing`.
//!
//! Levels follow what an operator needs to act on: a breaker opening (or
//! being forced open) is a `WARN`, a breaker healing is `INFO`, everything
//! else `DEBUG`. A retry giving up is a `WARN`, a retry scheduled a `DEBUG`. Rejections are never logged one per call: the transition out
//! of an open state says how many calls were turned away while it lasted.

use super::{Event, Subscriber};

/// Logs each event through `tracing` (a no-op without the `tracing` feature).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogEvents;

impl Subscriber for LogEvents {
    #[cfg(feature = "tracing")]
    fn on_event(&self, event: &Event) {
        use crate::breaker::State;
        use crate::retry::RetryEventKind;
        match event {
            Event::Breaker(e) => match e.to {
                State::Open | State::ForcedOpen => tracing::warn!(
                    target: "mend::breaker",
                    breaker = %e.name,
                    from = %e.from,
                    to = %e.to,
                    "{e}"
                ),
                State::Closed | State::HalfOpen => tracing::info!(
                    target: "mend::breaker",
                    breaker = %e.name,
                    from = %e.from,
                    to = %e.to,
                    rejected = e.rejected,
                    "{e}"
                ),
                State::Disabled | State::MetricsOnly => tracing::debug!(
                    target: "mend::breaker",
                    breaker = %e.name,
                    from = %e.from,
                    to = %e.to,
                    "{e}"
                ),
            },
            Event::Retry(e) => match e.kind {
                RetryEventKind::Scheduled { delay } => tracing::debug!(
                    target: "mend::retry",
                    retry = %e.name,
                    attempt = e.attempt,
                    delay_ms = delay.as_millis() as u64,
                    "{e}"
                ),
                RetryEventKind::GaveUp { reason } => tracing::warn!(
                    target: "mend::retry",
                    retry = %e.name,
                    attempts = e.attempt,
                    reason = %reason,
                    "{e}"
                ),
            },
        }
    }

    #[cfg(not(feature = "tracing"))]
    fn on_event(&self, _event: &Event) {}
}
