//! What the health monitor checks, every 200 ms, and what it does about it:
//!
//! | check (`component:measurement`) | kind | fails when | then |
//! |---|---|---|---|
//! | `checkpointer:heartbeat` | liveness | no beat for 500 ms | after 2 failures in a row, the supervisor restarts the worker; repeated restarts back off (at once, then 2 s, 4 s, ...) |
//! | `quotes:breaker` | readiness | the dependency's breaker is open (half-open warns) | `/readyz` answers 503 until it closes |
//! | `ledger:journal` | liveness | the checkpoint store refuses writes | `/livez` answers 503, for the orchestrator to restart the process |

use std::sync::Arc;
use std::time::Duration;

use mend::breaker::State;
use mend::health::{CheckResult, Monitor, Probe};
use mend::retry::{Backoff, Jitter};
use mend::supervise::SupervisorHandle;

use crate::ledger::Ledger;
use crate::quotes::QuotesBreaker;
use crate::worker::Heartbeat;

const PERIOD: Duration = Duration::from_millis(200);

/// The monitor, built (start it with `.start()`).
pub(crate) fn monitor(
    breaker: Arc<QuotesBreaker>,
    ledger: Arc<Ledger>,
    heartbeat: Arc<Heartbeat>,
    supervisor: SupervisorHandle,
) -> Result<Monitor, mend::ConfigError> {
    let heartbeat_check = move || {
        let stale = heartbeat.stale();
        async move {
            if stale > Duration::from_millis(500) {
                CheckResult::fail(format!("no heartbeat for {} ms", stale.as_millis()))
            } else {
                CheckResult::pass().observed(stale.as_millis() as f64, "ms")
            }
        }
    };
    let breaker_check = move || {
        let state = breaker.state();
        async move {
            match state {
                State::Open | State::ForcedOpen => CheckResult::fail("open: calls fail fast"),
                State::HalfOpen => CheckResult::warn("half-open: trial calls"),
                _ => CheckResult::pass(),
            }
        }
    };
    let journal_check = move || {
        let (writable, held) = (ledger.writable(), ledger.acknowledged());
        async move {
            if writable {
                CheckResult::pass().observed(held as f64, "transactions")
            } else {
                CheckResult::fail("the checkpoint store refuses writes")
            }
        }
    };
    Monitor::builder()
        .probe(
            Probe::liveness("checkpointer", "heartbeat", heartbeat_check)
                .period(PERIOD)
                .initial_delay(Duration::from_millis(500))
                .failure_threshold(2)
                .recovery(move || {
                    let supervisor = supervisor.clone();
                    async move { supervisor.restart_child("checkpointer").await }
                })
                .recovery_backoff(
                    Backoff::exponential(Duration::from_secs(2), 2.0),
                    Jitter::None,
                    Duration::from_secs(60),
                ),
        )
        .probe(
            Probe::readiness("quotes", "breaker", breaker_check)
                .period(PERIOD)
                .failure_threshold(1),
        )
        .probe(Probe::liveness("ledger", "journal", journal_check).period(PERIOD))
        .build()
}
