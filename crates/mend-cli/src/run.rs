//! `mend run`: the supervisor in the foreground. It becomes a child
//! subreaper (it owns every process it starts, and the orphans they
//! leave), starts the config's services through `mend::process`, and
//! stops them all, in reverse start order, each with its grace, at
//! SIGTERM or SIGINT (or when `--for` runs out). A second signal kills
//! everything at once.

use std::process::ExitCode;
use std::time::Duration;

use mend::process::{Backend, OrphanReaper, ProcessSupervisor};
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;

/// How a run ends.
pub(crate) const STOPPED: u8 = 0;
/// A second signal cut the stop short: everything was killed.
pub(crate) const FORCED: u8 = 2;
/// mend could not start.
pub(crate) const FAILED: u8 = 1;

/// Runs the services of `config` until a signal or `run_for`.
pub(crate) async fn run(config: Config, run_for: Option<Duration>) -> ExitCode {
    match supervise(config, run_for).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(FAILED)
        }
    }
}

async fn supervise(config: Config, run_for: Option<Duration>) -> anyhow::Result<u8> {
    use anyhow::Context as _;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let reaper = OrphanReaper::start().context("becoming a child subreaper")?;
    #[allow(
        clippy::disallowed_methods,
        reason = "the daemon's state directory, not a checkpoint"
    )]
    std::fs::create_dir_all(&config.state_dir).with_context(|| {
        format!(
            "creating the state directory {}",
            config.state_dir.display()
        )
    })?;
    let count = config.services.len();
    let loaded = config.clone();
    // Bound before anything starts: a taken address stops mend here.
    let api = crate::api::server::Bound::bind(&config.state_dir, config.tcp_api.as_ref())
        .await
        .context("binding the control API")?;
    let manager = crate::systemd::Manager::from_env().context("reading NOTIFY_SOCKET")?;
    let mut builder = ProcessSupervisor::builder(&config.name)
        .isolation(config.isolation.clone())
        .runtime_dir(config.state_dir.join("run"))
        .ledger(config.state_dir.join("ledger"));
    // For tests: a supervisor that believes the machine rebooted.
    if let Ok(boot_id) = std::env::var("MEND_BOOT_ID") {
        builder = builder.boot_id(boot_id);
    }
    for spec in config.services {
        builder = builder.service(spec);
    }
    for group in config.groups {
        builder = builder.group(&group.name, group.strategy, group.plan, group.services);
    }
    let handle = builder
        .build()
        .context("the supervisor")?
        .start()
        .context("starting the supervisor")?;
    let isolation = match handle.backend() {
        Backend::Cgroup(dir) => format!("a cgroup each, under {}", dir.display()),
        _ => "a process group each (a descendant that calls setsid escapes)".to_owned(),
    };
    tracing::info!(
        "mend {}: {count} services from {}, output in {}, {isolation}",
        env!("CARGO_PKG_VERSION"),
        config.file.display(),
        config.state_dir.join("logs").display(),
    );

    tracing::info!(
        "control API on {} (`mend status` from this directory)",
        crate::api::server::socket_path(&config.state_dir).display()
    );
    if let Some(addr) = api.tcp_addr() {
        let token = match config.tcp_api.as_ref().and_then(|t| t.token.as_ref()) {
            Some(_) => "changes need the token",
            None => "read-only: no token is set",
        };
        tracing::info!("control API also on http://{addr} ({token})");
    }
    let reloader = std::sync::Arc::new(crate::reload::Reloader::new(
        config.file.clone(),
        Some(config.state_dir.clone()),
        loaded,
        handle.clone(),
    ));
    let api = tokio::spawn({
        let handle = handle.clone();
        let reloader = reloader.clone();
        async move {
            if let Err(e) = api.serve(handle, reloader).await {
                tracing::error!("the control API stopped: {e}");
            }
        }
    });
    let reporter = manager.map(|manager| {
        let manager = std::sync::Arc::new(manager);
        let task = tokio::spawn({
            let manager = manager.clone();
            let handle = handle.clone();
            let required = config.required.clone();
            async move { manager.report(handle, required).await }
        });
        (manager, task)
    });
    let mut hangup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    let stop_at = sleep_for(run_for);
    tokio::pin!(stop_at);
    let why = loop {
        tokio::select! {
            _ = terminate.recv() => break "SIGTERM",
            _ = interrupt.recv() => break "SIGINT",
            () = &mut stop_at => break "the --for time ran out",
            _ = hangup.recv() => match reloader.reload().await {
                Ok(applied) => tracing::info!("SIGHUP: config {} read again: {applied}", config.file.display()),
                Err(e) => tracing::error!("SIGHUP: the config was not reloaded, the running one stays: {e}"),
            },
        }
    };
    tracing::info!(
        "{why}: stopping every service in reverse start order, each with its grace (a second signal kills everything now)"
    );
    if let Some((manager, task)) = &reporter {
        task.abort();
        manager.stopping(count);
    }
    let shutdown = handle.shutdown();
    tokio::pin!(shutdown);
    let code = tokio::select! {
        () = &mut shutdown => STOPPED,
        _ = terminate.recv() => FORCED,
        _ = interrupt.recv() => FORCED,
    };
    if code == FORCED {
        tracing::warn!("second signal: killing every service's processes at once");
        handle.kill_all();
        shutdown.await;
    }
    api.abort();
    #[allow(clippy::disallowed_methods, reason = "the daemon's own socket")]
    let _ = std::fs::remove_file(crate::api::server::socket_path(&config.state_dir));
    reaper.reap_now();
    tracing::info!(
        orphans_reaped = reaper.reaped(),
        "{}",
        if code == STOPPED {
            "every service stopped"
        } else {
            "every service killed"
        }
    );
    Ok(code)
}

async fn sleep_for(run_for: Option<Duration>) {
    match run_for {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
