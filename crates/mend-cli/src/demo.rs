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
