//! The external dependency: a quote service on its own socket on
//! 127.0.0.1, which the application calls over real HTTP. The example
//! starts it in the same process only so that one command runs the whole
//! scene; the application reaches it exactly as it would reach another
//! host. Its behaviour can be switched at run time (`POST
//! /faults/dependency/{mode}` on the application):
//!
//! | mode | what every request gets |
//! |---|---|
//! | `healthy` | 200 and a quote at once |
//! | `down` | the connection accepted and dropped, no answer (a crashed upstream behind a load balancer) |
//! | `slow` | 200 after 300 ms (slower than the breaker's slow-call limit, within the timeout) |
//! | `hang` | no answer for 30 s (past the timeout) |
//! | `flapping` | every third request 503, the rest 200 |
//!
//! Each request it sees counts in `app_dependency_requests_total`, so a
//! scrape shows how much load reached it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

/// How the dependency behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Mode {
    Healthy,
    Down,
    Slow,
    Hang,
    Flapping,
}

impl Mode {
    const ALL: [Mode; 5] = [
        Mode::Healthy,
        Mode::Down,
        Mode::Slow,
        Mode::Hang,
        Mode::Flapping,
    ];

    /// The mode named `name` in the table above.
    pub(crate) fn parse(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Healthy => "healthy",
            Mode::Down => "down",
            Mode::Slow => "slow",
            Mode::Hang => "hang",
            Mode::Flapping => "flapping",
        }
    }
}

/// The switch and the counters the dependency shares with its handler.
#[derive(Default)]
pub(crate) struct Dependency {
    mode: AtomicU8,
    seen: AtomicU64,
}

impl Dependency {
    /// Switches the behaviour of every request from now on.
    pub(crate) fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Relaxed);
    }

    pub(crate) fn mode(&self) -> Mode {
        let raw = self.mode.load(Relaxed);
        Mode::ALL
            .into_iter()
            .find(|m| *m as u8 == raw)
            .unwrap_or(Mode::Healthy)
    }

    /// Starts the quote service on 127.0.0.1 (a port the OS picks).
    pub(crate) async fn start(self: &Arc<Self>) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/quote", get(quote))
            .with_state(self.clone());
        let listener = Unanswering {
            listener,
            dependency: self.clone(),
        };
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(addr)
    }

    fn count(&self) -> u64 {
        metrics::counter!("app_dependency_requests_total").increment(1);
        self.seen.fetch_add(1, Relaxed) + 1
    }
}

async fn quote(State(dependency): State<Arc<Dependency>>) -> (StatusCode, String) {
    let n = dependency.count();
    match dependency.mode() {
        Mode::Slow => tokio::time::sleep(Duration::from_millis(300)).await,
        Mode::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
        Mode::Flapping if n % 3 == 0 => {
            return (StatusCode::SERVICE_UNAVAILABLE, "try again".into());
        }
        _ => {}
    }
    (StatusCode::OK, (100 + n % 7).to_string())
}

/// The dependency's listener: while it is `down`, each connection is
/// accepted, its request read, and then closed without an answer.
struct Unanswering {
    listener: TcpListener,
    dependency: Arc<Dependency>,
}

impl axum::serve::Listener for Unanswering {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let Ok((mut stream, from)) = self.listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await; // out of fds: let some close
                continue;
            };
            if self.dependency.mode() != Mode::Down {
                return (stream, from);
            }
            self.dependency.count();
            tokio::spawn(async move {
                let mut request = [0_u8; 1024];
                let _ = stream.read(&mut request).await;
            });
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}
