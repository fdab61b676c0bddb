//! Small programs the demo config and the tests supervise, built into the
//! `mend` binary (`mend demo ...`) so one `cargo run` builds everything
//! the demo needs: an HTTP service that can wedge.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use clap::Subcommand;
use tokio::signal::unix::{SignalKind, signal};

/// The demo programs.
#[derive(Debug, Subcommand)]
pub(crate) enum Demo {
    /// An HTTP service answering `GET /` with 200 until it wedges: it
    /// keeps accepting connections but never answers again, after
    /// `--hang-after` or at SIGUSR1 (what a liveness probe must catch).
    Http {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Wedge after this long.
        #[arg(long, value_parser = humantime::parse_duration)]
        hang_after: Option<Duration>,
    },
    /// A service that reports readiness the systemd way: `READY=1` on
    /// `NOTIFY_SOCKET` after `--ready-after`, then `WATCHDOG=1` four times
    /// per `WATCHDOG_USEC` period, until `--starve-after` (then it goes
    /// on running, silent: a wedge only a watchdog notices).
    Notify {
        /// Say `READY=1` after this long.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "500ms")]
        ready_after: Duration,
        /// Stop feeding the watchdog after this long.
        #[arg(long, value_parser = humantime::parse_duration)]
        starve_after: Option<Duration>,
    },
}

pub(crate) fn run(demo: Demo) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match demo {
        Demo::Notify {
            ready_after,
            starve_after,
        } => match notify(ready_after, starve_after) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("demo notify: {e}");
                ExitCode::FAILURE
            }
        },
        Demo::Http { listen, hang_after } => match runtime.block_on(http(listen, hang_after)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("demo http: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn http(listen: SocketAddr, hang_after: Option<Duration>) -> std::io::Result<()> {
    let hung = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let wedge = hung.clone();
    tokio::spawn(async move {
        match hang_after {
            Some(after) => {
                tokio::select! {
                    () = tokio::time::sleep(after) => {}
                    _ = usr1.recv() => {}
                }
            }
            None => {
                usr1.recv().await;
            }
        }
        println!("wedged: no answer from now on");
        wedge.store(true, Ordering::SeqCst);
    });
    let app = Router::new().route(
        "/",
        get(move || {
            let hung = hung.clone();
            async move {
                if hung.load(Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
                "ok\n"
            }
        }),
    );
    axum::serve(listener, app).await
}

/// The notifying service (plain threads: it only sleeps and sends).
#[allow(
    clippy::disallowed_methods,
    reason = "a demo program that sleeps for real"
)]
fn notify(ready_after: Duration, starve_after: Option<Duration>) -> std::io::Result<()> {
    let socket = std::env::var("NOTIFY_SOCKET").map_err(|_| {
        std::io::Error::other("no NOTIFY_SOCKET: run me as a `type = \"notify\"` service")
    })?;
    let period = std::env::var("WATCHDOG_USEC")
        .ok()
        .and_then(|usec| usec.parse().ok())
        .map(Duration::from_micros);
    let sender = std::os::unix::net::UnixDatagram::unbound()?;
    std::thread::sleep(ready_after);
    sender.send_to(b"READY=1\nSTATUS=ready, serving", &socket)?;
    println!("ready");
    let tick = period.map_or(Duration::from_secs(1), |p| p / 4);
    let mut elapsed = Duration::ZERO;
    let mut said_wedged = false;
    loop {
        let starving = starve_after.is_some_and(|after| elapsed >= after);
        if period.is_some() && !starving {
            sender.send_to(b"WATCHDOG=1", &socket)?;
        }
        if starving && !said_wedged {
            println!("wedged: no more WATCHDOG=1");
            said_wedged = true;
        }
        std::thread::sleep(tick);
        elapsed += tick;
    }
}
