//! The events a monitor emits: a probe's health changing, a recovery
//! starting and finishing. A probe that keeps failing is one event, when it
//! turns unhealthy, not one per failure.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{Health, Kind};
use crate::clock::Timestamp;
#[cfg(feature = "tracing")]
use crate::observe::log_at;
use crate::observe::{AreaEvent, Level};

/// Something changed about one probe.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HealthEvent {
    /// The component the probe checks.
    pub component: Arc<str>,
    /// What it measures.
    pub measurement: Arc<str>,
    /// Liveness, readiness or startup.
    pub kind: Kind,
    /// Wall-clock time of the change.
    pub at: Timestamp,
    /// What changed.
    pub change: HealthChange,
}

/// What a [`HealthEvent`] reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HealthChange {
    /// The probe's health changed.
    Health {
        /// What it was.
        from: Health,
        /// What it is.
        to: Health,
        /// The output of the result that decided it, if any.
        output: Option<String>,
    },
    /// A recovery began: the `attempt`-th in a row, after waiting `waited`.
    RecoveryStarted {
        /// Recoveries in a row, this one included.
        attempt: u32,
        /// How long it waited to start (its backoff).
        waited: Duration,
    },
    /// A recovery ended; the probe starts over.
    RecoveryFinished {
        /// Recoveries in a row, this one included.
        attempt: u32,
        /// Why it failed, if it did.
        error: Option<String>,
    },
}

impl fmt::Display for HealthEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} probe {}:{}: ",
            self.kind, self.component, self.measurement
        )?;
        match &self.change {
            HealthChange::Health { from, to, output } => {
                write!(f, "{from} -> {to}")?;
                if let Some(output) = output {
                    write!(f, " ({output})")?;
                }
                Ok(())
            }
            HealthChange::RecoveryStarted { attempt, waited } => {
                write!(f, "recovery {attempt} started after {waited:?}")
            }
            HealthChange::RecoveryFinished {
                attempt,
                error: None,
            } => write!(f, "recovery {attempt} finished"),
            HealthChange::RecoveryFinished {
                attempt,
                error: Some(error),
            } => write!(f, "recovery {attempt} failed: {error}"),
        }
    }
}

impl AreaEvent for HealthEvent {
    fn area(&self) -> &'static str {
        "health"
    }

    fn component(&self) -> &str {
        &self.component
    }

    fn at(&self) -> Timestamp {
        self.at
    }

    /// Turning unhealthy and starting a recovery are warnings, a failed
    /// recovery an error; getting better is news.
    fn level(&self) -> Level {
        match &self.change {
            HealthChange::Health {
                to: Health::Unhealthy,
                ..
            }
            | HealthChange::RecoveryStarted { .. } => Level::Warn,
            HealthChange::RecoveryFinished { error: Some(_), .. } => Level::Error,
            _ => Level::Info,
        }
    }

    #[cfg(feature = "tracing")]
    fn log(&self) {
        log_at!(
            self.level(),
            target: "mend::health",
            component = %self.component,
            measurement = %self.measurement,
            kind = self.kind.as_str(),
            "{self}"
        );
    }
}
