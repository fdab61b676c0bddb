//! The wiring: every part built, registered for metrics, routed, and
//! stopped in order on SIGTERM.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use mend::cleanup::Shutdown;
use mend::metrics::Collector;
use mend::metrics::prometheus::Exporter;
use mend::supervise::{RestartPlan, Supervisor};

use crate::Args;
use crate::dependency::{Dependency, Mode};
use crate::errors::ApplicationError;
use crate::ledger::{self, Ledger};
use crate::quotes::Quotes;
use crate::state::Transaction;
use crate::worker::{self, Heartbeat};

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) quotes: Quotes,
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) dependency: Arc<Dependency>,
    pub(crate) heartbeat: Arc<Heartbeat>,
    pub(crate) contention: Arc<AtomicBool>,
}

/// Runs the application until it is shut down; `Ok(true)` when the
/// shutdown was clean.
pub(crate) async fn run(args: Args) -> Result<bool, ApplicationError> {
    // The recorder first: histograms bind to it when their policy is built.
    let exporter = Exporter::install().map_err(ApplicationError::internal)?;
    describe_metrics();
    let collector = Arc::new(Collector::new());
    let shutdown = Shutdown::builder()
        .drain_timeout(Duration::from_secs(5))
        .build()
        .map_err(ApplicationError::internal)?;
    shutdown.listen_for_signals()?;

    #[allow(clippy::disallowed_methods, reason = "the application's own directory")]
    std::fs::create_dir_all(&args.state)?;
    let (ledger, recovery) = Ledger::open(&args.state)?;
    let ledger = Arc::new(ledger);
    tracing::info!(
        dir = %args.state.display(),
        recovered = %recovery,
        transactions = ledger.acknowledged(),
        "books opened"
    );
    if recovery.lost_changes() {
        tracing::error!(recovered = %recovery, "acknowledged changes were lost");
    }
    let (stats, database_retry) = (ledger.stats(), ledger.retry());
    collector.register(&stats);
    collector.register(&database_retry);
    let contention = Arc::new(AtomicBool::new(false));
    ledger::start_contender(&args.state, contention.clone())?;

    let dependency = Arc::new(Dependency::default());
    let dependency_addr = dependency.start().await?;
    let quotes = Quotes::new(dependency_addr, &collector).map_err(ApplicationError::Dependency)?;

    let heartbeat = Heartbeat::new();
    let supervisor = Arc::new(
        shutdown.supervise(
            Supervisor::builder("app")
                .restarts(RestartPlan::builder().intensity(10, Duration::from_secs(60)))
                .child(worker::checkpointer(ledger.clone(), heartbeat.clone()))
                .build()
                .map_err(ApplicationError::internal)?,
        ),
    );
    collector.register(&supervisor);
    let monitor = Arc::new(
        crate::health::monitor(
            quotes.breaker(),
            ledger.clone(),
            heartbeat.clone(),
            (*supervisor).clone(),
        )
        .map_err(ApplicationError::internal)?
        .start(),
    );
    collector.register(&monitor);

    let app = App {
        quotes,
        ledger: ledger.clone(),
        dependency,
        heartbeat,
        contention,
    };
    let routes = Router::new()
        .route("/quote", get(quote))
        .route("/transactions", post(transaction))
        .route("/faults/dependency/{mode}", post(dependency_fault))
        .route("/faults/wedge", post(wedge))
        .route("/faults/contention/{on}", post(contention_fault))
        .with_state(app.clone())
        .merge(exporter.router(collector.clone()))
        .merge(monitor.router());
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let addr = listener.local_addr()?;
    let token = shutdown.token();
    shutdown.tracker().spawn(async move {
        let served = axum::serve(listener, routes)
            .with_graceful_shutdown(token.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the HTTP server failed");
        }
    });
    // Hooks run in reverse order: the monitor stops, then the books get a
    // last snapshot.
    let last = ledger.clone();
    shutdown.on_shutdown(
        "last checkpoint",
        Duration::from_secs(5),
        move || async move {
            ledger::on_blocking_thread(move || last.checkpoint())
                .await
                .map_err(std::io::Error::other)
        },
    );
    let stop_monitor = monitor.clone();
    shutdown.on_shutdown(
        "stop the health monitor",
        Duration::from_secs(1),
        move || async move {
            stop_monitor.stop();
        },
    );
    println!("listening on http://{addr}");
    tracing::info!(%addr, dependency = %dependency_addr, "serving");

    if !args.serve {
        crate::tour::run(&app, &exporter, &collector, &monitor).await;
        shutdown.trigger("the tour is over");
    }
    match shutdown.wait().await {
        Ok(report) => {
            tracing::info!(clean = report.is_clean(), report = %report, "shut down");
            Ok(report.is_clean())
        }
        Err(forced) => {
            tracing::error!(%forced, "shutdown forced");
            Ok(false)
        }
    }
}

/// The application's own series, beside mend's.
fn describe_metrics() {
    metrics::describe_counter!(
        "app_transactions_total",
        "transactions acknowledged (committed and journaled)"
    );
    metrics::describe_counter!(
        "app_errors_total",
        "requests that failed, by the kind of their error"
    );
    metrics::describe_counter!(
        "app_dependency_requests_total",
        "requests the quote service received, every attempt included"
    );
}

/// Logs and counts a failed request.
fn failed(error: ApplicationError, what: &'static str) -> ApplicationError {
    metrics::counter!("app_errors_total", "kind" => error.kind()).increment(1);
    tracing::warn!(request = what, kind = error.kind(), transient = error.is_transient(), error = %error, "request failed");
    error
}

impl App {
    /// One quote from the dependency; a failure is logged and counted.
    pub(crate) async fn quote(&self) -> Result<u64, ApplicationError> {
        self.quotes.quote().await.map_err(|e| failed(e, "quote"))
    }

    /// Prices `amount_cents`, records it, returns it once it is durable;
    /// a failure is logged and counted.
    pub(crate) async fn transaction(
        &self,
        amount_cents: i64,
    ) -> Result<Transaction, ApplicationError> {
        let recorded = async {
            let quote = self.quotes.quote().await?;
            let ledger = self.ledger.clone();
            ledger::on_blocking_thread(move || ledger.record(amount_cents, quote)).await
        };
        recorded.await.map_err(|e| failed(e, "transaction"))
    }
}

async fn quote(State(app): State<App>) -> Result<String, ApplicationError> {
    Ok(app.quote().await?.to_string())
}

/// `POST /transactions`: the amount in cents in the body; answers the
/// transaction's id once it is durable.
async fn transaction(State(app): State<App>, body: String) -> Result<String, ApplicationError> {
    let amount = body.trim().parse().map_err(|_| {
        failed(
            ApplicationError::BadRequest(format!("{body:?} is not an amount in cents")),
            "transaction",
        )
    })?;
    Ok(app.transaction(amount).await?.id.to_string())
}

async fn dependency_fault(
    State(app): State<App>,
    Path(mode): Path<String>,
) -> Result<StatusCode, ApplicationError> {
    let mode = Mode::parse(&mode)
        .ok_or_else(|| ApplicationError::BadRequest(format!("no dependency mode {mode:?}")))?;
    tracing::warn!(fault = "dependency", mode = mode.name(), "fault injected");
    app.dependency.set(mode);
    Ok(StatusCode::NO_CONTENT)
}

async fn wedge(State(app): State<App>) -> StatusCode {
    tracing::warn!(fault = "wedge", "fault injected");
    app.heartbeat.wedge();
    StatusCode::NO_CONTENT
}

async fn contention_fault(
    State(app): State<App>,
    Path(on): Path<String>,
) -> Result<StatusCode, ApplicationError> {
    let on = match on.as_str() {
        "on" => true,
        "off" => false,
        _ => return Err(ApplicationError::BadRequest(format!("{on:?}: on or off"))),
    };
    tracing::warn!(fault = "contention", on, "fault injected");
    app.contention.store(on, Relaxed);
    Ok(StatusCode::NO_CONTENT)
}
