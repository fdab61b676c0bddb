//! The event a breaker emits on every change of state.

use std::fmt;
use std::sync::Arc;

use super::State;
use crate::clock::Timestamp;
#[cfg(feature = "tracing")]
use crate::observe::log_at;
use crate::observe::{AreaEvent, Level};

/// A circuit breaker moved from one state to another.
///
/// Rejections are not events (there can be millions); instead the transition
/// out of a state says how many calls were turned away while it lasted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerEvent {
    /// The breaker's name.
    pub name: Arc<str>,
    /// Wall-clock time of the change.
    pub at: Timestamp,
    /// The state it left.
    pub from: State,
    /// The state it entered.
    pub to: State,
    /// Calls rejected while it was in `from`.
    pub rejected: u64,
    /// Made by [`reset`](super::CircuitBreaker::reset): always announced,
    /// even from closed to closed (Resilience4j announces a reset as an
    /// event of its own, beside the transition).
    pub reset: bool,
}

impl fmt::Display for BreakerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "breaker {}: {} -> {}", self.name, self.from, self.to)?;
        if self.reset {
            f.write_str(" (reset)")?;
        }
        if self.rejected > 0 {
            write!(f, " ({} calls rejected while {})", self.rejected, self.from)?;
        }
        Ok(())
    }
}

impl AreaEvent for BreakerEvent {
    fn area(&self) -> &'static str {
        "breaker"
    }

    fn component(&self) -> &str {
        &self.name
    }

    fn at(&self) -> Timestamp {
        self.at
    }

    /// Opening (or being forced open) is a warning, healing is news, the
    /// manual states that record or admit everything are detail.
    fn level(&self) -> Level {
        match self.to {
            State::Open | State::ForcedOpen => Level::Warn,
            State::Closed | State::HalfOpen => Level::Info,
            State::Disabled | State::MetricsOnly => Level::Debug,
        }
    }

    #[cfg(feature = "tracing")]
    fn log(&self) {
        log_at!(
            self.level(),
            target: "mend::breaker",
            breaker = %self.name,
            from = %self.from,
            to = %self.to,
            rejected = self.rejected,
            reset = self.reset,
            "{self}"
        );
    }
}
