//! Helpers shared by the policy tests.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mend::observe::Event;

/// An error worth retrying.
pub(crate) fn reset() -> io::Error {
    io::Error::from(io::ErrorKind::ConnectionReset)
}

/// An error not worth retrying.
pub(crate) fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

/// Collects the events a policy emits.
#[derive(Clone, Default)]
pub(crate) struct Events(pub Arc<Mutex<Vec<Arc<Event>>>>);

impl Events {
    pub(crate) fn sink(&self) -> impl Fn(&Event) + Send + Sync + 'static {
        let seen = self.0.clone();
        move |event: &Event| seen.lock().unwrap().push(event.to_arc())
    }

    pub(crate) fn all(&self) -> Vec<Arc<Event>> {
        self.0.lock().unwrap().clone()
    }

    /// The delays of the retries scheduled so far.
    pub(crate) fn delays(&self) -> Vec<Duration> {
        use mend::retry::{RetryEvent, RetryEventKind};
        self.all()
            .into_iter()
            .filter_map(|e| match e.downcast_ref::<RetryEvent>()?.kind {
                RetryEventKind::Scheduled { delay } => Some(delay),
                _ => None,
            })
            .collect()
    }
}

pub(crate) const MS: Duration = Duration::from_millis(1);
