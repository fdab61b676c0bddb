//! The API server: axum on the Unix socket `STATE_DIR/mend.sock` (mode
//! 0600) and, when the config's `[api]` table asks, on a TCP address,
//! where every request that changes anything must carry the token.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mend::metrics::Collector;
use mend::metrics::prometheus::Exporter;
use mend::process::{ProcessHandle, ReloadError, ServiceState, Signal};
use serde_json::json;
use subtle::ConstantTimeEq as _;
use tokio::net::{TcpListener, UnixListener};

use super::{ServiceView, VERSION_HEADER};
use crate::config::TcpApi;
use crate::reload::Reloader;

/// What the handlers share.
#[derive(Clone)]
struct Api {
    handle: ProcessHandle,
    reloader: Arc<Reloader>,
    exporter: Option<Exporter>,
    collector: Arc<Collector>,
}

/// The socket's path in `state_dir`.
pub(crate) fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join("mend.sock")
}

/// The API's listeners, bound: serve them with [`Bound::serve`].
pub(crate) struct Bound {
    unix: UnixListener,
    tcp: Option<(TcpListener, Option<String>)>,
}

impl Bound {
    /// Binds `STATE_DIR/mend.sock` (mode 0600, replacing a stale one) and
    /// the TCP address, if any, so a mistake stops mend before it starts
    /// anything.
    pub(crate) async fn bind(state_dir: &Path, tcp: Option<&TcpApi>) -> std::io::Result<Bound> {
        let path = socket_path(state_dir);
        #[allow(
            clippy::disallowed_methods,
            reason = "the daemon's own socket, not a checkpoint"
        )]
        {
            let _ = std::fs::remove_file(&path);
        }
        let unix = UnixListener::bind(&path)?;
        #[allow(
            clippy::disallowed_methods,
            reason = "the daemon's own socket, not a checkpoint"
        )]
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        let tcp = match tcp {
            Some(api) => Some((TcpListener::bind(api.listen).await?, api.token.clone())),
            None => None,
        };
        Ok(Bound { unix, tcp })
    }

    /// The TCP address it listens on, if any (the real port when the
    /// config gave port 0).
    pub(crate) fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// Serves `handle` on both until the task is dropped.
    pub(crate) async fn serve(
        self,
        handle: ProcessHandle,
        reloader: Arc<Reloader>,
    ) -> std::io::Result<()> {
        let collector = Arc::new(Collector::new());
        let source = Arc::new(handle.clone());
        collector.register(&source);
        // One recorder per process: a second install (a test, say) gets
        // none, and /metrics says so.
        let exporter = Exporter::install().ok();
        let app = router(Api {
            handle,
            reloader,
            exporter,
            collector,
        });
        // Keep the source registered as long as the server runs.
        let _keep = source;
        let unix = axum::serve(self.unix, app.clone());
        match self.tcp {
            None => unix.await,
            Some((listener, token)) => {
                let guarded = app.layer(middleware::from_fn_with_state(
                    Arc::new(token),
                    changes_need_the_token,
                ));
                let tcp = axum::serve(listener, guarded);
                tokio::select! {
                    done = unix => done,
                    done = tcp => done,
                }
            }
        }
    }
}

fn router(api: Api) -> Router {
    Router::new()
        .route("/services", get(list))
        .route("/services/{name}", get(one))
        .route("/services/{name}/{action}", post(act))
        .route("/services/{name}/signal/{signal}", post(send_signal))
        .route("/reload-config", post(reload_config))
        .route("/health", get(health))
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(api)
        .layer(middleware::map_response(|mut response: Response| async {
            response.headers_mut().insert(
                VERSION_HEADER,
                HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
            );
            response
        }))
}

/// On TCP: reads pass; a request that changes anything (any method but
/// GET and HEAD) needs `Authorization: Bearer TOKEN`, compared in
/// constant time, and is refused when no token is configured.
async fn changes_need_the_token(
    State(token): State<Arc<Option<String>>>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(request.method().as_str(), "GET" | "HEAD") {
        return next.run(request).await;
    }
    let Some(token) = token.as_deref() else {
        return (
            StatusCode::FORBIDDEN,
            "changes over TCP need a token (`token_file` in `[api]`); use the Unix socket\n",
        )
            .into_response();
    };
    let offered = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(offered.as_bytes().ct_eq(token.as_bytes())) {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "this change needs `Authorization: Bearer TOKEN`\n",
        )
            .into_response()
    }
}

async fn reload_config(State(api): State<Api>) -> Response {
    match api.reloader.reload().await {
        Ok(applied) => {
            tracing::info!("config read again: {applied}");
            format!("reloaded: {applied}\n").into_response()
        }
        Err(e) => {
            tracing::error!("the config was not reloaded, the running one stays: {e}");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("not reloaded, the running config stays: {e}\n"),
            )
                .into_response()
        }
    }
}

async fn list(State(api): State<Api>) -> Json<Vec<ServiceView>> {
    Json(
        api.handle
            .services()
            .iter()
            .map(|s| ServiceView::of(s, api.handle.usage(&s.name)))
            .collect(),
    )
}

async fn one(State(api): State<Api>, UrlPath(name): UrlPath<String>) -> Response {
    match api.handle.status(&name) {
        Some(status) => Json(ServiceView::of(&status, api.handle.usage(&name))).into_response(),
        None => not_found(&name),
    }
}

async fn act(
    State(api): State<Api>,
    UrlPath((name, action)): UrlPath<(String, String)>,
) -> Response {
    let done = match action.as_str() {
        "start" => api.handle.start(&name).await.map_err(ReloadError::from),
        "stop" => api.handle.stop(&name).await.map_err(ReloadError::from),
        "restart" => api.handle.restart(&name).await.map_err(ReloadError::from),
        "reload" => api.handle.reload(&name).await,
        _ => {
            return (
                StatusCode::NOT_FOUND,
                format!("no action `{action}`: start, stop, restart, reload\n"),
            )
                .into_response();
        }
    };
    let code = match done {
        Ok(()) => {
            return Json(json!({ "ok": true, "service": name, "action": action })).into_response();
        }
        Err(ReloadError::Service(_)) => StatusCode::NOT_FOUND,
        Err(ReloadError::NoCommand | ReloadError::NotRunning) => StatusCode::CONFLICT,
        Err(_) => StatusCode::BAD_GATEWAY,
    };
    (code, format!("{name}: {}\n", done.unwrap_err())).into_response()
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
