//! `mend`, the process supervisor daemon.
//!
//! Today it answers `--help` and `--version`; the daemon itself (config,
//! processes, probes, API) grows here on top of the `mend` library.

use std::process::ExitCode;

use clap::Parser;

/// Self-healing process supervisor built on the mend library.
///
/// The daemon is not built yet; `cargo run --example breaker` shows the
/// library's circuit breaker at work.
#[derive(Debug, Parser)]
#[command(name = "mend", version, about, arg_required_else_help = true)]
struct Cli {}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    use super::Cli;
    use clap::Parser;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn version_and_help_are_answered() {
        let version = Cli::try_parse_from(["mend", "--version"]).unwrap_err();
        assert_eq!(version.kind(), ErrorKind::DisplayVersion);
        assert!(version.to_string().contains(env!("CARGO_PKG_VERSION")));
        let help = Cli::try_parse_from(["mend", "--help"]).unwrap_err();
        assert_eq!(help.kind(), ErrorKind::DisplayHelp);
        let bare = Cli::try_parse_from(["mend"]).unwrap_err();
        assert_eq!(
            bare.kind(),
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
    }
}
