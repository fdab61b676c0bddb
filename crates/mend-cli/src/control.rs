//! The CLI's control commands: they find the daemon's socket from the same
//! config `mend run` was given, and ask its API.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hyper::Method;

use crate::api::{ServiceView, client, server};
use crate::config::Config;

/// What to ask the daemon.
#[derive(Debug)]
pub(crate) enum Ask {
    Status {
        json: bool,
    },
    Act {
        action: &'static str,
        service: String,
    },
    Signal {
        service: String,
        signal: String,
    },
    Metrics,
    Health,
}

/// The daemon's socket for `config` (or `state_dir`).
fn socket(config: &Path, state_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    let config = Config::load(config, state_dir)?;
    Ok(server::socket_path(&config.state_dir))
}

pub(crate) fn run(ask: Ask, config: &Path, state_dir: Option<&Path>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(ask_daemon(ask, config, state_dir)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn ask_daemon(ask: Ask, config: &Path, state_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let socket = socket(config, state_dir)?;
    let (status, body) = match &ask {
        Ask::Status { .. } => client::request(&socket, Method::GET, "/services").await?,
        Ask::Act { action, service } => {
            client::request(
                &socket,
                Method::POST,
                &format!("/services/{service}/{action}"),
            )
            .await?
        }
        Ask::Signal { service, signal } => {
            client::request(
                &socket,
                Method::POST,
                &format!("/services/{service}/signal/{signal}"),
            )
            .await?
        }
        Ask::Metrics => client::request(&socket, Method::GET, "/metrics").await?,
        Ask::Health => client::request(&socket, Method::GET, "/health").await?,
    };
    if !(200..300).contains(&status) && !matches!(ask, Ask::Health) {
        eprint!("error: {body}");
        return Ok(ExitCode::FAILURE);
    }
    match ask {
        Ask::Status { json: true } | Ask::Metrics | Ask::Health => print!("{body}"),
        Ask::Status { json: false } => {
            let services: Vec<ServiceView> = serde_json::from_str(&body)?;
            print!("{}", table(&services));
        }
        Ask::Act { action, service } => println!("{service}: {action} done"),
        Ask::Signal { service, signal } => println!("{service}: {signal} sent"),
    }
    Ok(if status == 503 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The services as a table a person reads.
pub(crate) fn table(services: &[ServiceView]) -> String {
    let mut out = format!(
        "{:<16} {:<11} {:>7} {:>9} {:>8} {:<6} {}\n",
        "SERVICE", "STATE", "PID", "UPTIME", "RESTARTS", "READY", "LAST EXIT / WAITING FOR"
    );
    for s in services {
        let uptime = s
            .uptime_seconds
            .map(|u| {
                humantime::format_duration(std::time::Duration::from_secs(u as u64)).to_string()
            })
            .unwrap_or_else(|| "-".into());
        let note = s
            .waiting_for
            .as_ref()
            .map(|w| format!("waiting for {w}"))
            .or_else(|| s.last_exit.clone())
            .unwrap_or_default();
        out.push_str(&format!(
            "{:<16} {:<11} {:>7} {:>9} {:>8} {:<6} {}\n",
            s.name,
            s.state,
            s.pid.map_or("-".into(), |p| p.to_string()),
            uptime,
            s.restarts,
            if s.ready { "yes" } else { "no" },
            note
        ));
    }
    out
}

/// Prints the last `lines` lines of a service's stdout and stderr files.
pub(crate) fn logs(
    service: &str,
    config: &Path,
    state_dir: Option<&Path>,
    lines: usize,
) -> ExitCode {
    let config = match Config::load(config, state_dir) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !config.services.iter().any(|s| s.name() == service) {
        eprintln!(
            "error: no service named `{service}` in {}",
            config.file.display()
        );
        return ExitCode::FAILURE;
    }
    for stream in ["out", "err"] {
        let path = config
            .state_dir
            .join("logs")
            .join(format!("{service}.{stream}"));
        #[allow(
            clippy::disallowed_methods,
            reason = "a service's output file, not a checkpoint"
        )]
        let text = std::fs::read(&path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        println!("==> {} <==", path.display());
        for line in &all[all.len().saturating_sub(lines)..] {
            println!("{line}");
        }
    }
    ExitCode::SUCCESS
}
