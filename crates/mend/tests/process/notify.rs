//! Services that report readiness the systemd way: `READY=1` on
//! `NOTIFY_SOCKET` makes them ready (and starts what waits for them),
//! `STATUS=` shows in their status, a missed `WATCHDOG=1` restarts them.
//! The notifying service is this test binary, re-executed to run
//! [`notifying_service`] (which does nothing in a normal test run).

#![allow(
    clippy::disallowed_methods,
    reason = "the helper service sleeps for real between messages"
)]

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use mend::clock::Clock;
use mend::process::{Isolation, ServiceSpec, ServiceState};
use mend::retry::{Backoff, Jitter};
use mend::supervise::RestartPlan;

use crate::support::{marker, script, supervise, until_status};

const MODE: &str = "MEND_TEST_NOTIFY";

/// The service: waits a moment, says `READY=1` and a status, then feeds
/// its watchdog (`ping`) or stops feeding it after three times
/// (`starve`).
#[test]
fn notifying_service() {
    let Ok(mode) = std::env::var(MODE) else {
        return; // a normal test run: nothing to do
    };
    let socket = std::env::var("NOTIFY_SOCKET").expect("mend gives NOTIFY_SOCKET");
    let period: u64 = std::env::var("WATCHDOG_USEC")
        .expect("and WATCHDOG_USEC")
        .parse()
        .unwrap();
    let sender = UnixDatagram::unbound().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    sender
        .send_to(b"READY=1\nSTATUS=serving\n", &socket)
        .unwrap();
    let mut pings = 0;
    loop {
        if mode == "ping" || pings < 3 {
            sender.send_to(b"WATCHDOG=1", &socket).unwrap();
            pings += 1;
        }
        std::thread::sleep(Duration::from_micros(period / 4));
    }
}

fn notifying(name: &str, tag: &str, mode: &str, watchdog: Duration) -> ServiceSpec {
    ServiceSpec::builder(
        name,
        [
            std::env::current_exe()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
            "notify::notifying_service".into(),
            "--exact".into(),
            "--nocapture".into(),
        ],
    )
    .env(MODE, mode)
    .env("MEND_TEST_MARKER", tag)
    .notify(Some(watchdog))
    .stop_grace(Duration::from_millis(200))
    .restarts(
        RestartPlan::builder()
            .intensity(10, Duration::from_secs(60))
            .backoff(
                Backoff::constant(Duration::ZERO),
                Jitter::None,
                Duration::from_secs(600),
            ),
    )
    .build()
    .unwrap()
}

#[tokio::test]
async fn a_notify_service_is_ready_only_after_ready_1() {
    let tag = marker("notify");
    let app = script("app", &tag, "sleep 600")
        .after(["notifier"])
        .build()
        .unwrap();
    let handle = supervise(
        "notify",
        &Isolation::ProcessGroup,
        vec![
            notifying("notifier", &tag, "ping", Duration::from_secs(2)),
            app,
        ],
    );
    let running = until_status(&handle, "notifier", "it runs", |s| {
        s.state == ServiceState::Running
    })
    .await;
    assert!(!running.ready, "running is not ready: {running:?}");
    assert_eq!(handle.status("app").unwrap().starts, 0);
    let ready = until_status(&handle, "notifier", "READY=1 arrives", |s| s.ready).await;
    assert_eq!(ready.notify_status.as_deref(), Some("serving"));
    until_status(&handle, "app", "app starts after it", |s| {
        s.state == ServiceState::Running
    })
    .await;
    // Fed, its watchdog (500 ms) never fires: its first run lasts.
    let fed = until_status(
        &handle,
        "notifier",
        "its run outlasts three watchdog periods",
        |s| {
            s.since.is_some_and(|since| {
                mend::clock::SystemClock
                    .wall()
                    .as_unix_nanos()
                    .saturating_sub(since.as_unix_nanos())
                    > 1_500_000_000
            })
        },
    )
    .await;
    assert_eq!((fed.starts, fed.exits.failed), (1, 0), "{fed:?}");
    handle.shutdown().await;
}

#[tokio::test]
async fn a_missed_watchdog_restarts_the_service() {
    let tag = marker("watchdog");
    let handle = supervise(
        "watchdog",
        &Isolation::ProcessGroup,
        vec![notifying(
            "starved",
            &tag,
            "starve",
            Duration::from_millis(400),
        )],
    );
    let status = until_status(
        &handle,
        "starved",
        "restarted after a missed watchdog",
        |s| s.restarts >= 1,
    )
    .await;
    assert!(status.exits.failed >= 1, "{status:?}");
    assert_eq!(
        status.last_exit,
        Some(mend::process::ExitReason::Signal {
            signal: 15,
            core_dumped: false
        })
    );
    handle.shutdown().await;
}
