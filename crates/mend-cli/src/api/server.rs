//! The API server: axum on the Unix socket `STATE_DIR/mend.sock`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mend::metrics::Collector;
use mend::metrics::prometheus::Exporter;
use mend::process::{ProcessHandle, ServiceState, Signal};
use serde_json::json;

use super::ServiceView;

/// What the handlers share.
#[derive(Clone)]
struct Api {
    handle: ProcessHandle,
    exporter: Option<Exporter>,
    collector: Arc<Collector>,
}

/// The socket's path in `state_dir`.
pub(crate) fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join("mend.sock")
}

/// Serves the API on `STATE_DIR/mend.sock` until the task is dropped.
pub(crate) async fn serve(handle: ProcessHandle, state_dir: &Path) -> std::io::Result<()> {
    let path = socket_path(state_dir);
    #[allow(
        clippy::disallowed_methods,
        reason = "the daemon's own socket, not a checkpoint"
    )]
    {
        let _ = std::fs::remove_file(&path);
    }
    let listener = tokio::net::UnixListener::bind(&path)?;
    #[allow(
        clippy::disallowed_methods,
        reason = "the daemon's own socket, not a checkpoint"
    )]
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let collector = Arc::new(Collector::new());
    let source = Arc::new(handle.clone());
    collector.register(&source);
    // One recorder per process: a second install (a test, say) gets none,
    // and /metrics says so.
    let exporter = Exporter::install().ok();
    let api = Api {
        handle,
        exporter,
        collector,
    };
    let app = Router::new()
        .route("/services", get(list))
        .route("/services/{name}", get(one))
        .route("/services/{name}/{action}", post(act))
        .route("/services/{name}/signal/{signal}", post(send_signal))
        .route("/health", get(health))
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(api);
    // Keep the source registered as long as the server runs.
    let _keep = source;
    axum::serve(listener, app).await
}

async fn list(State(api): State<Api>) -> Json<Vec<ServiceView>> {
    Json(api.handle.services().iter().map(ServiceView::of).collect())
}

async fn one(State(api): State<Api>, UrlPath(name): UrlPath<String>) -> Response {
    match api.handle.status(&name) {
        Some(status) => Json(ServiceView::of(&status)).into_response(),
        None => not_found(&name),
    }
}

async fn act(
    State(api): State<Api>,
    UrlPath((name, action)): UrlPath<(String, String)>,
) -> Response {
    let done = match action.as_str() {
        "start" => api.handle.start(&name).await,
        "stop" => api.handle.stop(&name).await,
        "restart" => api.handle.restart(&name).await,
        _ => {
            return (
                StatusCode::NOT_FOUND,
                format!("no action `{action}`: start, stop, restart\n"),
            )
                .into_response();
        }
    };
    match done {
        Ok(()) => Json(json!({ "ok": true, "service": name, "action": action })).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, format!("{e}\n")).into_response(),
    }
}

async fn send_signal(
    State(api): State<Api>,
    UrlPath((name, signal)): UrlPath<(String, String)>,
) -> Response {
    let Some(signal) = signal_named(&signal) else {
        return (
            StatusCode::BAD_REQUEST,
            format!("unknown signal `{signal}`\n"),
        )
            .into_response();
    };
    match api.handle.signal(&name, signal).await {
        Ok(running) => Json(json!({ "ok": running, "service": name })).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, format!("{e}\n")).into_response(),
    }
}

fn signal_named(name: &str) -> Option<Signal> {
    let bare = name.trim_start_matches("SIG");
    [
        ("HUP", Signal::HUP),
        ("INT", Signal::INT),
        ("QUIT", Signal::QUIT),
        ("KILL", Signal::KILL),
        ("USR1", Signal::USR1),
        ("USR2", Signal::USR2),
        ("TERM", Signal::TERM),
        ("CONT", Signal::CONT),
        ("STOP", Signal::STOP),
    ]
    .iter()
    .find(|(n, _)| *n == bare)
    .map(|(_, s)| *s)
}

async fn health(State(api): State<Api>) -> Response {
    let services = api.handle.services();
    let mut worst = "pass";
    let mut checks = serde_json::Map::new();
    for status in &services {
        let verdict = ServiceView::health(status);
        if verdict == "fail" || (verdict == "warn" && worst == "pass") {
            worst = verdict;
        }
        checks.insert(
            format!("{}:process", status.name),
            json!([{
                "componentType": "service",
                "status": verdict,
                "output": status.last_exit.as_ref().map(ToString::to_string),
                "observedValue": status.restarts,
                "observedUnit": "restarts",
            }]),
        );
    }
    let code = if worst == "fail" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = json!({ "status": worst, "serviceId": api.handle.name(), "checks": checks });
    (
        code,
        [(header::CONTENT_TYPE, "application/health+json")],
        body.to_string(),
    )
        .into_response()
}

async fn readyz(State(api): State<Api>) -> Response {
    let waiting: Vec<String> = api
        .handle
        .services()
        .iter()
        .filter(|s| {
            !s.ready
                && matches!(
                    s.state,
                    ServiceState::Running | ServiceState::Waiting | ServiceState::Restarting { .. }
                )
        })
        .map(|s| s.name.to_string())
        .collect();
    if waiting.is_empty() {
        (StatusCode::OK, "ready\n".to_owned()).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", waiting.join(", ")),
        )
            .into_response()
    }
}

async fn metrics(State(api): State<Api>) -> Response {
    match &api.exporter {
        Some(exporter) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            exporter.render(&api.collector),
        )
            .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "no metrics recorder\n").into_response(),
    }
}

fn not_found(name: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no service named `{name}`\n"),
    )
        .into_response()
}
