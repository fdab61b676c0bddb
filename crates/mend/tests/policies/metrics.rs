//! The metrics bridge end to end: real policies, a real scrape over HTTP
//! on 127.0.0.1, the text checked value by value and by `promtool check
//! metrics` (Prometheus's own parser and linter).
//!
//! promtool comes from `$PROMTOOL` or the `PATH`; `.ci/run` installs it.
//! Under `CI=true` a missing promtool fails the test.

#![cfg(feature = "prometheus")]

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mend::breaker::{BreakerRegistry, CircuitBreaker};
use mend::limit::{Bulkhead, KeyedRateLimiter, Quota, RateLimiter, Timeout};
use mend::metrics::Collector;
use mend::metrics::prometheus::Exporter;
use mend::retry::{Backoff, Retry};

/// The process's one recorder. Histograms record into it from every test
/// in this binary once it is installed, so the components scraped here have
/// names no other test uses (`scraped-...`).
fn exporter() -> &'static Exporter {
    static EXPORTER: OnceLock<Exporter> = OnceLock::new();
    EXPORTER.get_or_init(|| Exporter::install().expect("the only recorder"))
}

/// `GET path` over a fresh connection; the body.
fn get(addr: SocketAddr, path: &str) -> String {
    let (status, head, body) = crate::support::http_request(addr, path);
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body
}

/// One scrape over real HTTP: the exporter's endpoint served on
/// 127.0.0.1:0, `GET /metrics` from a blocking client, the server stopped.
async fn scrape_over_http(exporter: &Exporter, collector: &Arc<Collector>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(exporter.clone().serve(listener, collector.clone()));
    let text = tokio::task::spawn_blocking(move || get(addr, "/metrics"))
        .await
        .unwrap();
    server.abort();
    text
}

/// The value of the series `series` (name and labels, as rendered).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
}

#[path = "../common/promtool.rs"]
mod promtool;
use promtool::check_with_promtool;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_reads_every_policy_and_promtool_accepts_it() {
    let exporter = exporter();
    let collector = Arc::new(Collector::new());

    let breaker = Arc::new(
        CircuitBreaker::builder("scraped-payments")
            .count_window(10)
            .minimum_calls(4)
            .slow_call_duration(Duration::from_secs(5))
            .without_logging()
            .build()
            .unwrap(),
    );
    let retry = Arc::new(
        Retry::builder("scraped-payments")
            .max_attempts(3)
            .backoff(Backoff::constant(Duration::from_millis(1)))
            .deadline(Duration::from_secs(5))
            .without_logging()
            .build()
            .unwrap(),
    );
    let bulkhead = Arc::new(Bulkhead::builder("db").max_concurrent(1).build().unwrap());
    let quota = Quota::per_minute(NonZeroU32::new(2).unwrap());
    let limiter = Arc::new(RateLimiter::builder("api", quota).build().unwrap());
    let keyed = Arc::new(
        KeyedRateLimiter::builder("per-user", quota)
            .build::<u32>()
            .unwrap(),
    );
    let timeout = Arc::new(
        Timeout::builder("scraped-search", Duration::from_millis(20))
            .build()
            .unwrap(),
    );
    let registry = Arc::new(
        BreakerRegistry::builder(CircuitBreaker::builder("hosts").without_logging())
            .max_keys(1_000)
            .build::<u32>()
            .unwrap(),
    );
    collector.register(&breaker);
    collector.register(&retry);
    collector.register(&bulkhead);
    collector.register(&limiter);
    collector.register(&keyed);
    collector.register(&timeout);
    collector.register(&registry);
    let per_key = Arc::new(
        BreakerRegistry::builder(CircuitBreaker::builder("tenants").without_logging())
            .max_keys(10)
            .metrics_per_key(true)
            .build::<u32>()
            .unwrap(),
    );
    collector.register(&per_key);
    for tenant in 0..3 {
        let _ = per_key
            .get(&tenant)
            .unwrap()
            .call(|| Ok::<_, std::io::Error>(()));
    }

    for _ in 0..3 {
        breaker.call(|| Ok::<_, std::io::Error>(())).unwrap();
    }
    for _ in 0..4 {
        // The third failure (3 of 6, 50 %) opens it; the fourth is refused.
        let _ = breaker.call(|| Err::<(), _>(std::io::Error::other("down")));
    }
    let _ = breaker.call(|| Ok::<_, std::io::Error>(())); // refused too
    let mut n = 0;
    retry
        .call(|| {
            n += 1;
            if n < 3 {
                Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
            } else {
                Ok(())
            }
        })
        .unwrap();
    let held = bulkhead.try_acquire().unwrap();
    assert!(bulkhead.try_acquire().is_err());
    for _ in 0..3 {
        let _ = limiter.check();
    }
    for user in [1, 1, 1, 2] {
        let _ = keyed.check(&user);
    }
    let hang = || async {
        std::future::pending::<()>().await;
        Ok::<(), std::io::Error>(())
    };
    assert!(timeout.call_async(hang).await.is_err());
    for host in 0..100 {
        let _ = registry
            .get(&host)
            .unwrap()
            .call(|| Ok::<_, std::io::Error>(()));
    }

    let text = scrape_over_http(exporter, &collector).await;
    drop(held);

    let p = |series: &str| value(&text, series);
    assert_eq!(
        p(r#"mend_breaker_calls_total{breaker="scraped-payments",outcome="success"}"#),
        3.0
    );
    assert_eq!(
        p(r#"mend_breaker_calls_total{breaker="scraped-payments",outcome="failure"}"#),
        3.0
    );
    assert_eq!(
        p(r#"mend_breaker_rejected_total{breaker="scraped-payments"}"#),
        2.0
    );
    assert_eq!(
        p(r#"mend_breaker_state{breaker="scraped-payments",state="open"}"#),
        1.0
    );
    assert_eq!(
        p(r#"mend_breaker_transitions_total{breaker="scraped-payments",to="open"}"#),
        1.0
    );
    assert_eq!(
        p(r#"mend_breaker_call_duration_seconds_count{breaker="scraped-payments"}"#),
        6.0,
        "every timed call"
    );
    assert_eq!(
        p(r#"mend_retry_attempts_total{retry="scraped-payments"}"#),
        3.0
    );
    assert_eq!(
        p(r#"mend_retry_retries_total{retry="scraped-payments"}"#),
        2.0
    );
    assert_eq!(
        p(r#"mend_retry_call_duration_seconds_count{retry="scraped-payments"}"#),
        1.0
    );
    assert_eq!(p(r#"mend_bulkhead_rejected_total{bulkhead="db"}"#), 1.0);
    assert_eq!(p(r#"mend_bulkhead_in_flight{bulkhead="db"}"#), 1.0);
    assert_eq!(p(r#"mend_rate_limiter_rejected_total{limiter="api"}"#), 1.0);
    assert_eq!(
        p(r#"mend_rate_limiter_admitted_total{limiter="per-user"}"#),
        3.0
    );
    assert_eq!(p(r#"mend_rate_limiter_keys{limiter="per-user"}"#), 2.0);
    assert_eq!(
        p(r#"mend_timeout_elapsed_total{timeout="scraped-search"}"#),
        1.0
    );
    assert_eq!(
        p(r#"mend_timeout_call_duration_seconds_count{timeout="scraped-search"}"#),
        1.0,
        "the cut-off call is timed"
    );
    assert!(p(r#"mend_timeout_call_duration_seconds_sum{timeout="scraped-search"}"#) >= 0.02);
    assert_eq!(
        p(r#"mend_limit_episodes_total{limit="db",kind="bulkhead"}"#),
        1.0
    );
    // 100 keys: summed under the registry's name, no series per key.
    assert_eq!(p(r#"mend_breaker_registry_keys{registry="hosts"}"#), 100.0);
    assert_eq!(
        p(r#"mend_breaker_calls_total{breaker="hosts",outcome="success"}"#),
        100.0
    );
    assert!(
        !text.contains("hosts/"),
        "no series per key unless asked for"
    );
    assert_eq!(
        p(r#"mend_breaker_calls_total{breaker="tenants/2",outcome="success"}"#),
        1.0,
        "asked for: a series per key"
    );
    assert!(text.contains("# TYPE mend_breaker_call_duration_seconds histogram"));

    check_with_promtool(&text);
}

#[cfg(feature = "health")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_probes_are_scraped_with_their_results_and_recoveries() {
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

    use mend::health::{CheckResult, Monitor, Probe};

    let exporter = exporter();
    let collector = Arc::new(Collector::new());
    let recoveries = Arc::new(AtomicU32::new(0));
    let counted = recoveries.clone();
    let hour = Duration::from_secs(3600);
    let monitor = Arc::new(
        Monitor::builder()
            .without_logging()
            .probe(
                Probe::readiness("scraped-cache", "ping", || async { CheckResult::pass() })
                    .period(hour),
            )
            .probe(
                Probe::liveness("scraped-worker", "heartbeat", || async {
                    CheckResult::fail("stale")
                })
                .period(hour)
                .failure_threshold(1)
                .recovery(move || {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    async {}
                }),
            )
            .build()
            .unwrap()
            .start(),
    );
    collector.register(&monitor);
    crate::support::wait_for("a recovery", || recoveries.load(SeqCst) >= 1).await;

    let text = scrape_over_http(exporter, &collector).await;
    let p = |series: &str| value(&text, series);
    let cache = r#"component="scraped-cache",measurement="ping",kind="readiness""#;
    assert_eq!(p(&format!("mend_health_check_healthy{{{cache}}}")), 1.0);
    assert_eq!(
        p(&format!(
            "mend_health_check_results_total{{{cache},status=\"pass\"}}"
        )),
        1.0,
        "one run an hour"
    );
    assert_eq!(
        p(&format!(
            "mend_health_check_duration_seconds_count{{{cache}}}"
        )),
        1.0
    );
    let worker = r#"component="scraped-worker",measurement="heartbeat",kind="liveness""#;
    assert!(
        p(&format!(
            "mend_health_check_results_total{{{worker},status=\"fail\"}}"
        )) >= 1.0
    );
    assert!(p(&format!("mend_health_recoveries_total{{{worker}}}")) >= 1.0);
    check_with_promtool(&text);
    monitor.stop();
}

#[cfg(feature = "supervise")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_is_scraped_with_its_children() {
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

    use mend::supervise::{ChildSpec, RestartPlan, Supervisor};

    let exporter = exporter();
    let collector = Arc::new(Collector::new());
    let runs = Arc::new(AtomicU32::new(0));
    let counted = runs.clone();
    let supervisor = Arc::new(
        Supervisor::builder("scraped-sup")
            .restarts(RestartPlan::builder().intensity(5, Duration::from_secs(60)))
            .without_logging()
            .child(ChildSpec::new("steady", |ctx| async move {
                ctx.cancelled().await;
                Ok::<(), std::io::Error>(())
            }))
            .child(ChildSpec::new("flaky", move |ctx| {
                let run = counted.fetch_add(1, SeqCst);
                async move {
                    if run < 2 {
                        return Err(std::io::Error::other("lost the queue"));
                    }
                    ctx.cancelled().await;
                    Ok(())
                }
            }))
            .build()
            .unwrap()
            .start(),
    );
    collector.register(&supervisor);
    crate::support::wait_for("three starts of flaky", || runs.load(SeqCst) == 3).await;

    let text = scrape_over_http(exporter, &collector).await;
    let p = |series: &str| value(&text, series);
    let flaky = r#"supervisor="scraped-sup",child="flaky""#;
    assert_eq!(p(&format!("mend_supervise_starts_total{{{flaky}}}")), 3.0);
    assert_eq!(p(&format!("mend_supervise_restarts_total{{{flaky}}}")), 2.0);
    assert_eq!(
        p(&format!(
            "mend_supervise_exits_total{{{flaky},reason=\"error\"}}"
        )),
        2.0
    );
    assert_eq!(
        p(r#"mend_supervise_children{supervisor="scraped-sup",phase="running"}"#),
        2.0
    );
    assert_eq!(
        p(r#"mend_supervise_give_ups_total{supervisor="scraped-sup"}"#),
        0.0
    );
    check_with_promtool(&text);
    supervisor.shutdown().await.unwrap();
}

#[cfg(feature = "process")]
#[tokio::test]
async fn a_process_supervisor_exports_its_services() {
    use mend::process::{Isolation, ProcessSupervisor, ServiceSpec, ServiceState};
    use mend::retry::Jitter;
    use mend::supervise::RestartPlan;

    let exporter = exporter();
    let collector = Arc::new(Collector::new());
    let handle = ProcessSupervisor::builder("scraped-proc")
        .isolation(Isolation::ProcessGroup)
        .without_logging()
        .service(
            ServiceSpec::builder("sleeper", ["sleep", "600"])
                .build()
                .unwrap(),
        )
        .service(
            ServiceSpec::builder("crasher", ["sh", "-c", "exit 4"])
                .restarts(
                    RestartPlan::builder()
                        .intensity(2, Duration::from_secs(60))
                        .backoff(
                            Backoff::constant(Duration::ZERO),
                            Jitter::None,
                            Duration::from_secs(60),
                        ),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
        .start()
        .unwrap();
    // The collector holds sources weakly: keep this one alive.
    let source = Arc::new(handle.clone());
    collector.register(&source);
    crate::support::wait_for("the crasher gives up, the sleeper runs", || {
        handle.status("crasher").unwrap().state == ServiceState::GaveUp
            && handle.status("sleeper").unwrap().state == ServiceState::Running
    })
    .await;

    let text = scrape_over_http(exporter, &collector).await;
    let p = |series: &str| value(&text, series);
    let crasher = r#"supervisor="scraped-proc",service="crasher""#;
    let sleeper = r#"supervisor="scraped-proc",service="sleeper""#;
    assert_eq!(p(&format!("mend_process_up{{{sleeper}}}")), 1.0);
    assert_eq!(p(&format!("mend_process_up{{{crasher}}}")), 0.0);
    assert_eq!(p(&format!("mend_process_starts_total{{{crasher}}}")), 3.0);
    assert_eq!(p(&format!("mend_process_restarts_total{{{crasher}}}")), 2.0);
    assert_eq!(
        p(&format!(
            "mend_process_exits_total{{{crasher},kind=\"failed\"}}"
        )),
        3.0
    );
    assert_eq!(p(&format!("mend_process_give_ups_total{{{crasher}}}")), 1.0);
    check_with_promtool(&text);
    handle.shutdown().await;
}

#[cfg(feature = "checkpoint")]
#[test]
fn a_checkpoint_store_is_scraped_with_its_writes_and_loads() {
    use mend::checkpoint::{Journaled, Options, Store};

    #[derive(Default, serde::Serialize, serde::Deserialize)]
    struct Total(u64);

    impl Journaled for Total {
        type Change = u64;
        fn apply(&mut self, n: &u64) {
            self.0 += n;
        }
    }

    let exporter = exporter();
    let collector = Collector::new();
    let dir = tempfile::tempdir().unwrap();
    // Opened after the recorder is installed: its histograms bind to it.
    let mut store =
        Store::<Total>::open(dir.path(), Options::default().compact_after_records(4)).unwrap();
    collector.register(&store.stats());
    store.load().unwrap();
    for n in 1..=10 {
        store.append(&n).unwrap();
    }
    let text = exporter.render(&collector);
    let p = |series: &str| value(&text, series);
    let store = format!(r#"store="{}""#, dir.path().display());
    let with = |extra: &str| format!("{{{store},{extra}}}");
    assert_eq!(
        p(&format!("mend_checkpoint_appends_total{{{store}}}")),
        10.0
    );
    assert!(p(&format!("mend_checkpoint_appended_bytes_total{{{store}}}")) > 10.0 * 28.0);
    // Compactions before appends 5 and 9; the first load's snapshot is a save.
    assert_eq!(
        p(&format!(
            "mend_checkpoint_snapshots_total{}",
            with(r#"trigger="compaction""#)
        )),
        2.0
    );
    assert_eq!(
        p(&format!(
            "mend_checkpoint_snapshots_total{}",
            with(r#"trigger="save""#)
        )),
        1.0
    );
    assert_eq!(
        p(&format!(
            "mend_checkpoint_loads_total{}",
            with(r#"outcome="first_run""#)
        )),
        1.0
    );
    assert_eq!(
        p(&format!(
            "mend_checkpoint_loads_total{}",
            with(r#"outcome="lost""#)
        )),
        0.0
    );
    assert_eq!(
        p(&format!("mend_checkpoint_journal_records{{{store}}}")),
        2.0
    );
    assert_eq!(p(&format!("mend_checkpoint_poisoned{{{store}}}")), 0.0);
    assert_eq!(
        p(&format!(
            "mend_checkpoint_append_duration_seconds_count{{{store}}}"
        )),
        10.0
    );
    assert_eq!(
        p(&format!(
            "mend_checkpoint_snapshot_duration_seconds_count{{{store}}}"
        )),
        3.0
    );
    check_with_promtool(&text);
}
