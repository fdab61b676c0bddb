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
    Reload {
        service: String,
    },
    ReloadConfig,
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
        Ask::Reload { service } => {
            client::request(
                &socket,
                Method::POST,
                &format!("/services/{service}/reload"),
            )
            .await?
        }
        Ask::ReloadConfig => client::request(&socket, Method::POST, "/reload-config").await?,
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
        Ask::Reload { service } => println!("{service}: reloaded"),
        Ask::ReloadConfig => print!("{body}"),
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
        "{:<16} {:<11} {:>7} {:>9} {:>8} {:<6} {:>8} {:>8} {}\n",
        "SERVICE",
        "STATE",
        "PID",
        "UPTIME",
        "RESTARTS",
        "READY",
        "CPU",
        "MEMORY",
        "LAST EXIT / WAITING FOR"
    );
    for s in services {
        let uptime = s
            .uptime_seconds
            .map(|u| {
                humantime::format_duration(std::time::Duration::from_secs(u as u64)).to_string()
            })
            .unwrap_or_else(|| "-".into());
        let backoff = s
            .restart_in_seconds
            .map(|left| format!("restarts in {left:.1}s"));
        let note = s
            .waiting_for
            .as_ref()
            .map(|w| format!("waiting for {w}"))
            .into_iter()
            .chain(backoff)
            .chain(s.last_exit.clone())
            .collect::<Vec<_>>()
            .join("; ");
        out.push_str(&format!(
            "{:<16} {:<11} {:>7} {:>9} {:>8} {:<6} {:>8} {:>8} {}\n",
            s.name,
            s.state,
            s.pid.map_or("-".into(), |p| p.to_string()),
            uptime,
            s.restarts,
            if s.ready { "yes" } else { "no" },
            s.cpu_seconds.map_or("-".into(), |c| format!("{c:.2}s")),
            s.memory_bytes.map_or("-".into(), |m| format!(
                "{:.1}M",
                m as f64 / (1 << 20) as f64
            )),
            note
        ));
    }
    out
}
