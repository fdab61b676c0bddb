//! [`HttpCheck`]: does a GET answer 2xx or 3xx?

use std::fmt;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::health::{CheckFuture, CheckResult, HealthCheck};

/// Passes when a `GET` of the URI answers a status from 200 to 399
/// (Kubernetes' rule); the observed value is the time to the response's
/// end, in milliseconds. Plain HTTP, with hyper-util's client, and like
/// Kubernetes a fresh connection for every run: a server that still answers
/// on an old connection but no longer accepts new ones is down.
#[derive(Clone)]
pub struct HttpCheck {
    uri: Uri,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl HttpCheck {
    /// A check of `uri` (`http://host:port/path`).
    ///
    /// # Errors
    ///
    /// The URI's parse error.
    pub fn get(uri: &str) -> Result<Self, hyper::http::uri::InvalidUri> {
        Ok(HttpCheck {
            uri: uri.parse()?,
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http(),
        })
    }
}

impl HealthCheck for HttpCheck {
    fn check(&self) -> CheckFuture {
        let (uri, client) = (self.uri.clone(), self.client.clone());
        Box::pin(async move {
            let began = tokio::time::Instant::now();
            let response = match client.get(uri.clone()).await {
                Ok(response) => response,
                Err(e) => return CheckResult::fail(format!("GET {uri}: {e}")),
            };
            let status = response.status();
            // Read the body to its end: a server that fails mid-body fails.
            if let Err(e) = response.into_body().collect().await {
                return CheckResult::fail(format!("GET {uri}: reading the body: {e}"));
            }
            let took = began.elapsed().as_secs_f64() * 1e3;
            if (200..400).contains(&status.as_u16()) {
                CheckResult::pass().observed(took, "ms")
            } else {
                CheckResult::fail(format!("GET {uri}: HTTP {}", status.as_u16()))
                    .observed(took, "ms")
            }
        })
    }
}

impl fmt::Debug for HttpCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpCheck").field("uri", &self.uri).finish()
    }
}
