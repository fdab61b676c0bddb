//! `/health`, `/livez` and `/readyz` for an axum application, in one line:
//! `app.merge(monitor.router())`.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::monitor::MonitorHandle;
use super::report::CONTENT_TYPE;
use crate::clock::Clock;

impl<C: Clock + Send + Sync + 'static> MonitorHandle<C> {
    /// An axum router: `GET /health` answers the [`Report`](super::Report)
    /// as health+json (200 or 503), `GET /livez` and `GET /readyz` answer
    /// 200 `ok` or 503 `not alive` / `not ready`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let (health, live, ready) = (self.clone(), self.clone(), self.clone());
        Router::new()
            .route(
                "/health",
                get(move || {
                    let report = health.report();
                    async move {
                        let status = StatusCode::from_u16(report.http_status())
                            .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                        (
                            status,
                            [(header::CONTENT_TYPE, CONTENT_TYPE)],
                            report.to_json(),
                        )
                            .into_response()
                    }
                }),
            )
            .route(
                "/livez",
                get(move || {
                    let alive = live.livez();
                    async move { yes_or_no(alive, "not alive") }
                }),
            )
            .route(
                "/readyz",
                get(move || {
                    let ready_now = ready.readyz();
                    async move { yes_or_no(ready_now, "not ready") }
                }),
            )
    }
}

fn yes_or_no(yes: bool, no: &'static str) -> Response {
    if yes {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, no).into_response()
    }
}
