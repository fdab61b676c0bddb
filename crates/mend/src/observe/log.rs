//! The built-in subscriber that writes every event to `tracing`, and the
//! one place that turns a mend [`Level`] into a `tracing` level.
//!
//! Each area decides how its events are logged ([`AreaEvent::log`]): at
//! the level that matches their weight, as one structured line with the
//! fields an operator filters on. Rejections are never logged one per call:
//! the transition out of an open breaker says how many calls it turned away.

use std::fmt;

#[cfg(doc)]
use super::AreaEvent;
use super::{Event, Level, Subscriber};

/// Logs each event through `tracing` (a no-op without the `tracing`
/// feature), by calling its area's [`AreaEvent::log`].
#[derive(Debug, Clone, Copy, Default)]
pub struct LogEvents;

impl Subscriber for LogEvents {
    fn on_event(&self, event: &Event) {
        event.log();
    }
}

/// Writes one line at `level` (`tracing` needs its level as a constant, so
/// this matches on it once for every area). `$target` must be a literal.
#[cfg(feature = "tracing")]
macro_rules! log_at {
    ($level:expr, target: $target:literal, $($rest:tt)+) => {{
        match $level {
            $crate::observe::Level::Error => ::tracing::error!(target: $target, $($rest)+),
            $crate::observe::Level::Warn => ::tracing::warn!(target: $target, $($rest)+),
            $crate::observe::Level::Info => ::tracing::info!(target: $target, $($rest)+),
            $crate::observe::Level::Debug => ::tracing::debug!(target: $target, $($rest)+),
            $crate::observe::Level::Trace => ::tracing::trace!(target: $target, $($rest)+),
        }
    }};
}
#[cfg(feature = "tracing")]
pub(crate) use log_at;

/// The default line of an event: its display, with area and component.
pub(super) fn write(level: Level, area: &str, component: &str, event: &dyn fmt::Display) {
    #[cfg(feature = "tracing")]
    log_at!(level, target: "mend", area, component, "{event}");
    #[cfg(not(feature = "tracing"))]
    let _ = (level, area, component, event);
}

#[cfg(all(test, feature = "tracing"))]
mod tests {
    use super::*;

    #[test]
    fn every_level_reaches_tracing() {
        for level in [
            Level::Error,
            Level::Warn,
            Level::Info,
            Level::Debug,
            Level::Trace,
        ] {
            write(level, "test", "component", &"line");
        }
    }
}

/// Runs `future` inside a `TRACE` span `mend.call` carrying the area and
/// the component's name, only when a subscriber wants such spans: when
/// none does, the future runs as it is (one check of a cached interest).
#[cfg(feature = "tracing")]
pub(crate) async fn in_span<F: std::future::Future>(
    area: &'static str,
    component: &str,
    future: F,
) -> F::Output {
    use tracing::Instrument;
    let span = tracing::trace_span!("mend.call", area, component);
    if span.is_disabled() {
        future.await
    } else {
        future.instrument(span).await
    }
}

/// Without `tracing` there are no spans.
#[cfg(not(feature = "tracing"))]
pub(crate) async fn in_span<F: std::future::Future>(
    _area: &'static str,
    _component: &str,
    future: F,
) -> F::Output {
    future.await
}
