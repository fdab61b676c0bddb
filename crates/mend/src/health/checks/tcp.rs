//! [`TcpCheck`]: can a connection be made?

use std::net::SocketAddr;

use crate::health::{CheckFuture, CheckResult, HealthCheck};

/// Passes when a TCP connection to the address is made; the observed value
/// is how long connecting took, in milliseconds.
#[derive(Debug, Clone)]
pub struct TcpCheck {
    addr: SocketAddr,
}

impl TcpCheck {
    /// A check of `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        TcpCheck { addr }
    }
}

impl HealthCheck for TcpCheck {
    fn check(&self) -> CheckFuture {
        let addr = self.addr;
        Box::pin(async move {
            let began = tokio::time::Instant::now();
            match tokio::net::TcpStream::connect(addr).await {
                Ok(_) => CheckResult::pass().observed(began.elapsed().as_secs_f64() * 1e3, "ms"),
                Err(e) => CheckResult::fail(format!("connect to {addr}: {e}")),
            }
        })
    }
}
