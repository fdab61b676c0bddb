//! Run with: cargo run --example health --features health
//!
//! Health checks that heal: a monitor probes three local parts every half
//! second: an HTTP API (liveness, over a real GET), a cache (readiness,
//! over a real TCP connect) and a worker's queue (a closure that warns
//! when the backlog grows). Two seconds in, the API wedges and answers
//! 503; after two failures in a row its liveness probe turns unhealthy and
//! runs its recovery, which restarts the API; the probe starts over and
//! the API is healthy again. Every change is printed as it happens, with
//! the health+json report a load balancer would read at `/health`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use mend::health::{
    CheckResult, Health, HealthChange, HealthEvent, HttpCheck, Monitor, Probe, TcpCheck,
};
use mend::observe::Event;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// An HTTP API whose `/healthz` answers 503 while it is wedged.
async fn start_api(wedged: Arc<AtomicBool>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route(
        "/healthz",
        get(move || {
            let wedged = wedged.load(SeqCst);
            async move {
                if wedged {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// A cache that accepts connections.
async fn start_cache() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { while listener.accept().await.is_ok() {} });
    Ok(addr)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let wedged = Arc::new(AtomicBool::new(false));
    let api = start_api(wedged.clone()).await?;
    let cache = start_cache().await?;
    let backlog = Arc::new(AtomicU64::new(40));

    let (changes, mut changed) = mpsc::unbounded_channel::<HealthEvent>();
    let half_a_second = Duration::from_millis(500);
    let restart = wedged.clone();
    let queue = backlog.clone();
    let monitor = Monitor::builder()
        .without_logging()
        .on_event(move |event: &Event| {
            if let Some(event) = event.downcast_ref::<HealthEvent>() {
                let _ = changes.send(event.clone());
            }
        })
        .probe(
            Probe::liveness(
                "api",
                "http",
                HttpCheck::get(&format!("http://{api}/healthz"))?,
            )
            .period(half_a_second)
            .timeout(Duration::from_millis(300))
            .failure_threshold(2)
            .recovery(move || {
                let restart = restart.clone();
                async move {
                    println!("   (recovery: restarting the api)");
                    restart.store(false, SeqCst);
                }
            }),
        )
        .probe(Probe::readiness("cache", "tcp", TcpCheck::new(cache)).period(half_a_second))
        .probe(
            Probe::liveness("worker", "queue", move || {
                let depth = queue.load(SeqCst) as f64;
                async move {
                    if depth > 100.0 {
                        CheckResult::warn("backlog growing").observed(depth, "items")
                    } else {
                        CheckResult::pass().observed(depth, "items")
                    }
                }
            })
            .period(half_a_second),
        )
        .build()?
        .start();

    let began = tokio::time::Instant::now();
    let wedge_at = began + Duration::from_secs(2);
    let mut wedge_armed = true;
    let print_report = |why: &str| {
        let report = monitor.report();
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("JSON");
        println!(
            "-- {why}: HTTP {}, livez {}, readyz {}\n{}",
            report.http_status(),
            monitor.livez(),
            monitor.readyz(),
            serde_json::to_string_pretty(&json).expect("JSON"),
        );
    };
    let give_up = tokio::time::sleep(Duration::from_secs(15));
    tokio::pin!(give_up);
    loop {
        tokio::select! {
            Some(event) = changed.recv() => {
                println!("{:>5.1}s {event}", began.elapsed().as_secs_f64());
                let report = monitor.report();
                println!("       /health: HTTP {} {}", report.http_status(), report.to_json());
                let healed = &*event.component == "api"
                    && !wedge_armed
                    && matches!(event.change, HealthChange::Health { to: Health::Healthy, .. });
                if healed {
                    // The probe starts over: let it run once more.
                    tokio::time::sleep(half_a_second).await;
                    print_report("healed, a period later");
                    break;
                }
            }
            () = tokio::time::sleep_until(wedge_at), if wedge_armed => {
                wedge_armed = false;
                println!("{:>5.1}s the api wedges (503) and the backlog grows", began.elapsed().as_secs_f64());
                wedged.store(true, SeqCst);
                backlog.store(250, SeqCst);
            }
            () = &mut give_up => {
                print_report("no recovery within 15 s");
                return Err("the api did not heal".into());
            }
        }
    }
    monitor.stop();
    Ok(())
}
