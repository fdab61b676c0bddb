//! Helpers shared by the policy tests.
//!
//! Some serve only tests behind a feature (health, supervise, prometheus):
//! built with fewer features, they go unused.
#![cfg_attr(
    not(all(feature = "health", feature = "supervise", feature = "prometheus")),
    allow(dead_code)
)]

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

#[path = "../common/http.rs"]
mod http;

/// `GET path` over a fresh connection, as a blocking client would; the
/// status line's code, the head and the body.
pub(crate) fn http_request(addr: std::net::SocketAddr, path: &str) -> (u16, String, String) {
    http::request(addr, "GET", path, "")
}

/// `GET path`: the status and the body.
pub(crate) fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = http_request(addr, path);
    (status, body)
}

/// Polls `condition` until it holds, or fails the test after 10 s (real
/// time: for real processes and sockets, never under paused time).
#[allow(clippy::disallowed_methods)] // the real clock and a real wait, on purpose
pub(crate) fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "not within 10 s: {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// [`eventually`] for async tests: polls between the runtime's other work.
#[allow(clippy::disallowed_methods)] // the real clock, on purpose
pub(crate) async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "not within 10 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
