//! `mend`, the process supervisor daemon, built on the `mend` library:
//! `mend run CONFIG` supervises the services of a TOML file in the
//! foreground; `mend check CONFIG` validates one without running
//! anything. The binary is thin: config, wiring and logging; everything
//! about processes is `mend::process`.

mod api;
mod config;
mod control;
mod demo;
mod logging;
mod logs;
mod reload;
mod run;
mod systemd;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use config::Config;

/// Self-healing process supervisor built on the mend library.
#[derive(Debug, Parser)]
#[command(name = "mend", version, about, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Supervise the services of CONFIG in the foreground until SIGTERM or
    /// SIGINT (a second one kills everything at once).
    Run {
        /// The config file.
        #[arg(default_value = "mend.toml")]
        config: PathBuf,
        /// Where output files go (default: the config's `state_dir`, or
        /// NAME.state beside the config).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Log JSON lines instead of human-readable ones.
        #[arg(long)]
        log_json: bool,
        /// Stop by itself after this long ("30s", "2m").
        #[arg(long = "for", value_parser = humantime::parse_duration)]
        run_for: Option<Duration>,
    },
    /// Check CONFIG (keys, values, users, environment files) without
    /// running anything.
    Check {
        /// The config file.
        config: PathBuf,
    },
    /// Show every service of the daemon running CONFIG: state, pid,
    /// uptime, restarts, readiness, last exit.
    Status {
        /// The config `mend run` was given.
        #[arg(default_value = "mend.toml")]
        config: PathBuf,
        /// The state directory, if `mend run` was given one.
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Start a service that is down (a start by hand: a service that gave
    /// up starts its count over).
    Start(Target),
    /// Stop a service (its stop signal, its grace, then SIGKILL to what is
    /// left) and keep it down.
    Stop(Target),
    /// Stop a service and start it again.
    Restart(Target),
    /// Run a service's own reload command (its `reload` key, systemd's
    /// `ExecReload=`) and wait for it to end.
    Reload(Target),
    /// Read CONFIG again and apply it to the running daemon (as SIGHUP
    /// does): unchanged services keep running, changed ones restart, new
    /// ones start, removed ones stop; a config that does not check is
    /// refused whole.
    ReloadConfig {
        /// The config `mend run` was given.
        #[arg(default_value = "mend.toml")]
        config: PathBuf,
        /// The state directory, if `mend run` was given one.
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Send a signal to every process of a service.
    Signal {
        /// The signal: HUP, USR1, ...
        signal: String,
        #[command(flatten)]
        target: Target,
    },
    /// The last lines a service wrote to stdout and stderr (its files in
    /// the state directory).
    Logs {
        #[command(flatten)]
        target: Target,
        /// How many lines of each.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Keep printing what it writes, across rotations, until Ctrl-C.
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// The daemon's Prometheus metrics.
    Metrics {
        /// The config `mend run` was given.
        #[arg(default_value = "mend.toml")]
        config: PathBuf,
        /// The state directory, if `mend run` was given one.
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// The daemon's health report (application/health+json); exits 1 when
    /// a service fails.
    Health {
        /// The config `mend run` was given.
        #[arg(default_value = "mend.toml")]
        config: PathBuf,
        /// The state directory, if `mend run` was given one.
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Small programs for the demo config and the tests.
    #[command(subcommand)]
    Demo(demo::Demo),
}

/// Which service of which daemon.
#[derive(Debug, clap::Args)]
struct Target {
    /// The service.
    service: String,
    /// The config `mend run` was given.
    #[arg(default_value = "mend.toml")]
    config: PathBuf,
    /// The state directory, if `mend run` was given one.
    #[arg(long)]
    state_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let act = |action: &'static str, t: Target| {
        control::run(
            control::Ask::Act {
                action,
                service: t.service,
            },
            &t.config,
            t.state_dir.as_deref(),
        )
    };
    match cli.command {
        Command::Status {
            config,
            state_dir,
            json,
        } => control::run(control::Ask::Status { json }, &config, state_dir.as_deref()),
        Command::Start(target) => act("start", target),
        Command::Stop(target) => act("stop", target),
        Command::Restart(target) => act("restart", target),
        Command::Signal { signal, target } => control::run(
            control::Ask::Signal {
                service: target.service,
                signal,
            },
            &target.config,
            target.state_dir.as_deref(),
        ),
        Command::Reload(target) => control::run(
            control::Ask::Reload {
                service: target.service,
            },
            &target.config,
            target.state_dir.as_deref(),
        ),
        Command::Logs {
            target,
            lines,
            follow,
        } => logs::run(
            &target.service,
            &target.config,
            target.state_dir.as_deref(),
            lines,
            follow,
        ),
        Command::ReloadConfig { config, state_dir } => {
            control::run(control::Ask::ReloadConfig, &config, state_dir.as_deref())
        }
        Command::Metrics { config, state_dir } => {
            control::run(control::Ask::Metrics, &config, state_dir.as_deref())
        }
        Command::Health { config, state_dir } => {
            control::run(control::Ask::Health, &config, state_dir.as_deref())
        }
        Command::Demo(demo) => demo::run(demo),
        Command::Check { config } => match Config::load(&config, None) {
            Ok(config) => {
                let names: Vec<&str> = config.services.iter().map(|s| s.name()).collect();
                println!(
                    "{}: ok, {} services: {}",
                    config.file.display(),
                    names.len(),
                    names.join(", ")
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(run::FAILED)
            }
        },
        Command::Run {
            config,
            state_dir,
            log_json,
            run_for,
        } => {
            logging::init(log_json);
            let config = match Config::load(&config, state_dir.as_deref()) {
                Ok(config) => config,
                Err(e) => {
                    tracing::error!("{e}");
                    return ExitCode::from(run::FAILED);
                }
            };
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    tracing::error!("starting the runtime: {e}");
                    return ExitCode::from(run::FAILED);
                }
            };
            runtime.block_on(run::run(config, run_for))
        }
    }
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
        assert!(Cli::try_parse_from(["mend", "run", "x.toml", "--for", "soon"]).is_err());
        assert!(Cli::try_parse_from(["mend", "run", "x.toml", "--for", "15s"]).is_ok());
    }
}
