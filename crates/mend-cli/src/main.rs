//! `mend`, the process supervisor daemon.
//!
//! Today it only answers `--help` and `--version`; the daemon itself (config,
//! processes, probes, API) grows here on top of the `mend` library.

use std::process::ExitCode;

use clap::Parser;

/// Self-healing process supervisor built on the mend library.
#[derive(Debug, Parser)]
#[command(name = "mend", version, about, long_about = None)]
struct Cli {}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    println!(
        "mend {}: the supervisor daemon is not built yet; see `cargo run --example breaker`",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::SUCCESS
}
