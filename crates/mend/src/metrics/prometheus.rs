//! The Prometheus text (feature `prometheus`): metrics-exporter-prometheus
//! set up with mend's histogram buckets, rendered after a fresh
//! [`Collector::collect`], served on an address or merged into an axum
//! router.
//!
//! # Examples
//!
//! ```no_run
//! use std::sync::Arc;
//! use mend::breaker::CircuitBreaker;
//! use mend::metrics::Collector;
//! use mend::metrics::prometheus::Exporter;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let exporter = Exporter::install()?; // before building policies
//! let collector = Arc::new(Collector::new());
//! let breaker = Arc::new(CircuitBreaker::builder("payments").build()?);
//! collector.register(&breaker);
//! // Serve GET /metrics on its own address...
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9464").await?;
//! tokio::spawn(exporter.clone().serve(listener, collector.clone()));
//! // ...or beside your own routes:
//! let app: axum::Router = exporter.router(collector);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

use std::io;
use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use super::{BUCKETS, Collector};

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The process's Prometheus recorder, and how to render and serve it.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Exporter {
    handle: PrometheusHandle,
}

impl Exporter {
    /// Installs a Prometheus recorder as the process's global `metrics`
    /// recorder, with [`BUCKETS`] for every `mend_*_seconds` histogram.
    /// Call it before building the policies whose histograms it should
    /// hold.
    ///
    /// # Errors
    ///
    /// metrics-exporter-prometheus's error, such as another recorder
    /// already installed.
    pub fn install() -> Result<Self, BuildError> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Prefix("mend_".into()), BUCKETS)?
            .install_recorder()?;
        Ok(Exporter { handle })
    }

    /// metrics-exporter-prometheus's handle, for anything else it offers.
    pub fn handle(&self) -> &PrometheusHandle {
        &self.handle
    }

    /// Reads every source of `collector`, then renders the text.
    pub fn render(&self, collector: &Collector) -> String {
        collector.collect();
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// An axum router answering `GET /metrics` with a fresh rendering, to
    /// merge into an application's own.
    pub fn router<S: Clone + Send + Sync + 'static>(&self, collector: Arc<Collector>) -> Router<S> {
        let exporter = self.clone();
        Router::new().route(
            "/metrics",
            get(move || {
                let (exporter, collector) = (exporter.clone(), collector.clone());
                async move {
                    (
                        [(header::CONTENT_TYPE, CONTENT_TYPE)],
                        exporter.render(&collector),
                    )
                        .into_response()
                }
            }),
        )
    }

    /// Serves [`router`](Self::router) on `listener` until the task is
    /// dropped.
    ///
    /// # Errors
    ///
    /// The I/O error that ended the server.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        collector: Arc<Collector>,
    ) -> io::Result<()> {
        axum::serve(listener, self.router::<()>(collector)).await
    }
}
