//! Probes and dependencies: a liveness probe restarts a service that
//! wedges (as a crash: backoff and intensity apply); readiness gates the
//! services that start after it; a one-shot that fails keeps them from
//! starting; a startup probe that never passes is a failed start; `after`
//! cycles and unknown names are refused naming both ends.

#![allow(clippy::disallowed_methods, reason = "tests touch marker files")]

use std::path::PathBuf;
use std::time::Duration;

use mend::health::{CheckResult, Health, Probe};
use mend::process::{ExitReason, Isolation, ProcessSupervisor, ServiceSpec, ServiceState};
use mend::retry::{Backoff, Jitter};
use mend::supervise::{Restart, RestartPlan};

use crate::support::{marker, script, supervise, until_status};

/// A check that passes while `file` exists.
fn file_exists(
    file: PathBuf,
) -> impl Fn() -> std::future::Ready<CheckResult> + Send + Sync + Clone + 'static {
    move || {
        std::future::ready(if file.exists() {
            CheckResult::pass()
        } else {
            CheckResult::fail("no heartbeat file")
        })
    }
}

fn fast(max: u32) -> mend::supervise::RestartPlanBuilder {
    RestartPlan::builder()
        .intensity(max, Duration::from_secs(60))
        .backoff(
            Backoff::constant(Duration::ZERO),
            Jitter::None,
            Duration::from_secs(600),
        )
}

#[tokio::test]
async fn a_liveness_probe_restarts_a_service_that_wedges() {
    let dir = tempfile::tempdir().unwrap();
    let beat = dir.path().join("beat");
    let tag = marker("liveness");
    // Alive for a moment, then wedged: its heartbeat file disappears while
    // the process goes on.
    let spec = script(
        "wedging",
        &tag,
        &format!("touch {0}; sleep 0.3; rm -f {0}; sleep 600", beat.display()),
    )
    .restarts(fast(10))
    .stop_grace(Duration::from_millis(500))
    .probe(
        Probe::liveness("ignored", "heartbeat", file_exists(beat.clone()))
            .period(Duration::from_millis(50))
            .failure_threshold(2),
    )
    .build()
    .unwrap();
    let handle = supervise("liveness", &Isolation::ProcessGroup, vec![spec]);
    let status = until_status(&handle, "wedging", "two restarts by its probe", |s| {
        s.restarts >= 2
    })
    .await;
    assert!(
        status.exits.failed >= 2,
        "a probe's restart is a failure: {status:?}"
    );
    assert_eq!(
        status.last_exit,
        Some(ExitReason::Signal {
            signal: 15,
            core_dumped: false
        }),
        "stopped with its stop signal"
    );
    let running = until_status(&handle, "wedging", "it runs again", |s| {
        s.state == ServiceState::Running
    })
    .await;
    assert_eq!(running.probes.len(), 1);
    assert_eq!(
        running.probes[0].key, "wedging:heartbeat",
        "the probe is the service's"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn readiness_gates_the_services_that_start_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let tag = marker("readiness");
    let db = script(
        "db",
        &tag,
        &format!("sleep 0.5; touch {}; sleep 600", ready.display()),
    )
    .probe(
        Probe::readiness("db", "ready", file_exists(ready.clone()))
            .period(Duration::from_millis(50)),
    )
    .build()
    .unwrap();
    let app = script("app", &tag, "sleep 600")
        .after(["db"])
        .build()
        .unwrap();
    // Given in the wrong order: the supervisor starts db first anyway.
    let handle = supervise("readiness", &Isolation::ProcessGroup, vec![app, db]);
    let waiting = until_status(&handle, "app", "app waits", |s| {
        s.state == ServiceState::Waiting
    })
    .await;
    assert_eq!(waiting.waiting_for.as_deref(), Some("db (not ready yet)"));
    assert_eq!(waiting.starts, 0);
    let db_status = handle.status("db").unwrap();
    assert!(!db_status.ready);
    assert_eq!(
        db_status.probes[0].health,
        Health::Unhealthy,
        "not ready until it first passes"
    );
    let app_status = until_status(&handle, "app", "app starts", |s| {
        s.state == ServiceState::Running
    })
    .await;
    assert!(ready.exists(), "app started only once db was ready");
    assert_eq!(app_status.waiting_for, None);
    assert!(handle.status("db").unwrap().ready);
    let names: Vec<String> = handle
        .services()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["db", "app"], "start order; stop runs in reverse");
    handle.shutdown().await;
}

#[tokio::test]
async fn a_failed_oneshot_keeps_its_dependents_from_starting() {
    let tag = marker("migration");
    let migrate = script("migrate", &tag, "exit 1")
        .oneshot()
        .restart(Restart::Temporary)
        .build()
        .unwrap();
    let seed = script("seed", &tag, "exit 0")
        .oneshot()
        .restart(Restart::Temporary)
        .build()
        .unwrap();
    let app = script("app", &tag, "sleep 600")
        .after(["migrate", "seed"])
        .build()
        .unwrap();
    let handle = supervise(
        "migration",
        &Isolation::ProcessGroup,
        vec![migrate, seed, app],
    );
    until_status(&handle, "seed", "seed succeeds", |s| s.ready).await;
    let held = until_status(&handle, "app", "app is held by the failed migration", |s| {
        s.waiting_for.as_deref() == Some("migrate (failed)")
    })
    .await;
    assert_eq!(held.starts, 0);
    assert!(!handle.status("migrate").unwrap().ready);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_startup_probe_that_never_passes_is_a_failed_start() {
    let tag = marker("startup");
    let spec = script("slow", &tag, "sleep 600")
        .restarts(fast(1))
        .stop_grace(Duration::from_millis(200))
        .probe(
            Probe::startup("slow", "never", || async { CheckResult::fail("not yet") })
                .period(Duration::from_millis(20))
                .failure_threshold(3),
        )
        .probe(
            Probe::liveness("slow", "ok", || async { CheckResult::pass() })
                .period(Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    let handle = supervise("startup", &Isolation::ProcessGroup, vec![spec]);
    let status = until_status(&handle, "slow", "it gives up", |s| {
        s.state == ServiceState::GaveUp
    })
    .await;
    assert_eq!((status.starts, status.exits.failed), (2, 2), "{status:?}");
    assert!(!status.ready);
    handle.shutdown().await;
}

#[test]
fn after_cycles_and_unknown_names_are_refused_naming_both_ends() {
    let spec = |name: &str, after: &[&str]| {
        ServiceSpec::builder(name, ["true"])
            .after(after.iter().copied())
            .build()
            .unwrap()
    };
    let build = |specs: Vec<ServiceSpec>| {
        let mut builder = ProcessSupervisor::builder("deps");
        for s in specs {
            builder = builder.service(s);
        }
        builder.build().map(|_| ()).unwrap_err()
    };
    let unknown = build(vec![spec("app", &["db"])]);
    assert_eq!(unknown.field, "after");
    assert_eq!(unknown.value, "app -> db");
    assert!(unknown.expected.contains("there is no `db`"), "{unknown}");
    let cycle = build(vec![
        spec("web", &[]),
        spec("a", &["c"]),
        spec("b", &["a"]),
        spec("c", &["b"]),
    ]);
    assert_eq!(cycle.value, "a -> c -> b -> a", "{cycle}");
    let own = ServiceSpec::builder("self", ["true"])
        .after(["self"])
        .build()
        .unwrap_err();
    assert_eq!(own.field, "after");
}

#[tokio::test]
async fn a_dependency_that_gives_up_stops_the_dependents_that_ask_for_it() {
    let tag = marker("dep-down");
    let db = script("db", &tag, "sleep 0.5; exit 1")
        .restarts(fast(0))
        .build()
        .unwrap();
    let bound = script("bound", &tag, "sleep 600")
        .after(["db"])
        .stop_with_dependencies(true)
        .build()
        .unwrap();
    let loose = script("loose", &tag, "sleep 600")
        .after(["db"])
        .build()
        .unwrap();
    let handle = supervise("dep-down", &Isolation::ProcessGroup, vec![db, bound, loose]);
    until_status(&handle, "bound", "bound runs", |s| {
        s.state == ServiceState::Running
    })
    .await;
    until_status(&handle, "db", "db gives up", |s| {
        s.state == ServiceState::GaveUp
    })
    .await;
    let held = until_status(&handle, "bound", "bound is stopped and held", |s| {
        s.waiting_for.as_deref() == Some("db (gave up)")
    })
    .await;
    assert_eq!((held.starts, held.exits.stopped), (1, 1));
    let loose = handle.status("loose").unwrap();
    assert_eq!(
        loose.state,
        ServiceState::Running,
        "by default it keeps running"
    );
    handle.shutdown().await;
}

/// Live processes whose command line holds `needle`.
fn running_with(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .count()
}

#[tokio::test]
async fn an_exec_check_judges_the_exit_and_leaves_nothing_when_cut_off() {
    use mend::health::HealthCheck;
    use mend::process::ExecCheck;

    assert!(ExecCheck::new(["true"]).check().await.status.passes());
    let failed = ExecCheck::new(["sh", "-c", "exit 3"]).check().await;
    assert!(!failed.status.passes());
    assert_eq!(failed.output.as_deref(), Some("exited with code 3"));
    // Cut off by a probe's timeout: it and what it started are killed.
    let needle = format!("{}.{}", 600 + std::process::id() % 1000, std::process::id());
    let slow = ExecCheck::new([
        "sh".to_owned(),
        "-c".to_owned(),
        format!("sleep {needle} & sleep {needle}"),
    ]);
    let run = slow.check();
    let cut = tokio::time::timeout(Duration::from_millis(300), run).await;
    assert!(cut.is_err(), "still running at the timeout");
    crate::support::until("both sleeps are gone", || running_with(&needle) == 0).await;
}
