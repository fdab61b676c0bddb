//! Run with:
//! `cargo run -p mend --example healing_app --features tower,health,supervise,sqlite,prometheus`
//!
//! A service that heals itself, with every mechanism of mend used the way
//! a production service would use it (walked through in
//! `docs/healing-app.md`):
//!
//! - it prices each transaction with a quote from an external HTTP
//!   dependency ([`dependency`]), through a retry with a budget, a circuit
//!   breaker and a timeout as tower layers ([`quotes`]);
//! - it writes each transaction to SQLite, retried whole while the
//!   database is busy, and journals it in the checkpoint store before
//!   acknowledging it ([`ledger`]), so `kill -9` loses nothing acknowledged;
//! - a supervised worker snapshots the books every second ([`worker`]); a
//!   health monitor restarts it when it wedges;
//! - `/metrics`, `/health`, `/livez`, `/readyz`; JSON logs on stderr for
//!   every failure, retry, transition and restart; SIGTERM shuts it down
//!   in order and logs the report.
//!
//! Without arguments it runs a tour: it puts itself through each fault in
//! turn and prints what its own `/metrics` and `/health` show. With
//! `--serve` it runs until SIGTERM and takes faults over HTTP (the
//! integration test drives it this way):
//!
//! ```text
//! POST /transactions              body: amount in cents; answers the id
//! GET  /quote                     one call to the dependency
//! POST /faults/dependency/{mode}  healthy, down, slow, hang, flapping
//! POST /faults/wedge              the checkpointer wedges
//! POST /faults/contention/{on|off}  a second connection holds the write lock
//! ```
//!
//! Options: `--state DIR` (default: `mend-healing-app` in the temp
//! directory), `--listen ADDR` (default `127.0.0.1:0`), `--serve`.

mod app;
mod dependency;
mod errors;
mod health;
mod ledger;
mod quotes;
mod state;
mod tour;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// The command line.
pub(crate) struct Args {
    state: PathBuf,
    listen: String,
    serve: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        state: std::env::temp_dir().join("mend-healing-app"),
        listen: "127.0.0.1:0".into(),
        serve: false,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--serve" => args.serve = true,
            "--state" => args.state = given.next().ok_or("--state needs a directory")?.into(),
            "--listen" => args.listen = given.next().ok_or("--listen needs an address")?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    // JSON lines on stderr; mend's retries at DEBUG (each retry it
    // schedules is a debug line), everything else from INFO.
    let only = Targets::new()
        .with_default(Level::INFO)
        .with_target("mend::retry", Level::DEBUG);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr)
                .with_current_span(false)
                .with_filter(only),
        )
        .init();
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("healing_app: {e}");
            return ExitCode::from(2);
        }
    };
    match app::run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            tracing::error!(error = %e, kind = e.kind(), "could not run");
            ExitCode::FAILURE
        }
    }
}
