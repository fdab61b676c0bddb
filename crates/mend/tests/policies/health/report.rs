//! The health+json report, field by field against the IETF draft, parsed
//! back as a client would, and served by the axum router.

use std::time::Duration;

use mend::clock::TokioClock;
use mend::health::{CheckResult, Monitor, Probe};
use serde_json::Value;

#[tokio::test(start_paused = true)]
async fn the_report_follows_the_draft_field_by_field() {
    let monitor = Monitor::builder()
        .clock(TokioClock::new())
        .without_logging()
        .probe(Probe::liveness("db", "latency", || async {
            CheckResult::pass().observed(12.5, "ms")
        }))
        .probe(Probe::readiness("queue", "depth", || async {
            CheckResult::warn("backlog growing").observed(900.0, "items")
        }))
        .build()
        .unwrap()
        .start();
    tokio::time::sleep(Duration::from_millis(1)).await;
    let report = monitor.report();
    assert_eq!(report.http_status(), 200, "warn is still 200");
    let json: Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["status"], "warn");
    let db = &json["checks"]["db:latency"];
    assert!(db.is_array(), "each check is an array of results");
    assert_eq!(db[0]["status"], "pass");
    assert_eq!(db[0]["observedValue"], 12.5);
    assert_eq!(db[0]["observedUnit"], "ms");
    assert_eq!(db[0]["componentType"], "liveness");
    let time = db[0]["time"].as_str().unwrap();
    assert!(
        humantime::parse_rfc3339(time).is_ok(),
        "RFC 3339 time: {time}"
    );
    let queue = &json["checks"]["queue:depth"][0];
    assert_eq!(queue["status"], "warn");
    assert_eq!(queue["output"], "backlog growing");
    assert!(monitor.readyz(), "a warning is ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_serves_health_livez_and_readyz() {
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = failing.clone();
    let monitor = Monitor::builder()
        .without_logging()
        .probe(
            Probe::readiness("db", "ping", move || {
                let down = flag.load(std::sync::atomic::Ordering::SeqCst);
                async move {
                    if down {
                        CheckResult::fail("connection refused")
                    } else {
                        CheckResult::pass()
                    }
                }
            })
            .period(Duration::from_millis(20))
            .failure_threshold(1),
        )
        .build()
        .unwrap()
        .start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app: axum::Router = monitor.router();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let get = move |path: &'static str| {
        tokio::task::spawn_blocking(move || crate::support::http_get(addr, path))
    };
    let (status, body) = get("/health").await.unwrap();
    assert_eq!(status, 503);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["checks"]["db:ping"][0]["status"], "fail");
    assert_eq!(get("/readyz").await.unwrap(), (503, "not ready".into()));
    assert_eq!(get("/livez").await.unwrap(), (200, "ok".into()));
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    crate::support::eventually("ready", || monitor.readyz());
    assert_eq!(get("/readyz").await.unwrap(), (200, "ok".into()));
    assert_eq!(get("/health").await.unwrap().0, 200);
    server.abort();
}

#[tokio::test(start_paused = true)]
async fn a_failure_short_of_the_threshold_warns_and_a_recovery_starts_the_entry_over() {
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (flag, healed) = (failing.clone(), failing.clone());
    let monitor = Monitor::builder()
        .clock(TokioClock::new())
        .without_logging()
        .probe(
            Probe::liveness("api", "http", move || {
                let down = flag.load(std::sync::atomic::Ordering::SeqCst);
                async move {
                    if down {
                        CheckResult::fail("HTTP 503")
                    } else {
                        CheckResult::pass()
                    }
                }
            })
            .period(Duration::from_secs(1))
            .initial_delay(Duration::from_secs(5))
            .failure_threshold(2)
            .recovery(move || {
                healed.store(false, std::sync::atomic::Ordering::SeqCst);
                async {}
            }),
        )
        .build()
        .unwrap()
        .start();
    tokio::time::sleep(Duration::from_millis(5_001)).await;
    let report = monitor.report();
    assert_eq!(report.http_status(), 200, "one failure of two: still alive");
    let json: Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["status"], "warn");
    let entry = &json["checks"]["api:http"][0];
    assert_eq!(entry["status"], "warn");
    assert_eq!(entry["output"], "failing, not yet unhealthy: HTTP 503");

    // The second failure turns it unhealthy; the recovery runs at once and
    // the probe starts over (its initial delay again), with no stale result
    // to report.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let json: Value = serde_json::from_str(&monitor.report().to_json()).unwrap();
    let entry = &json["checks"]["api:http"][0];
    assert_eq!(entry["status"], "pass", "{json}");
    assert!(entry.get("time").is_none(), "not run since: {json}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(monitor.report().http_status(), 200);
    assert!(monitor.report().to_json().contains("\"time\""));
}
