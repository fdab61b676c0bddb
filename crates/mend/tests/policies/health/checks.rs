//! The ready-made checks against real sockets and processes on this
//! machine: servers that stop answering and come back, a server that hangs,
//! commands that exit, die, hang and leave children behind. Real time:
//! waits are for a condition with a generous deadline, never a fixed sleep.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use mend::health::{
    CheckResult, CommandCheck, Health, HealthChange, HealthCheck, HealthEvent, HttpCheck, Monitor,
    Probe, Status, TcpCheck,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::support::wait_for;

/// Binds `addr` again after a server let it go (the kernel may take a
/// moment to free it).
async fn rebind(addr: SocketAddr) -> TcpListener {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => return listener,
            Err(e) if tokio::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("rebind {addr}: {e}"),
        }
    }
}

/// A keep-alive HTTP/1.1 server that answers every request with the status
/// in `status` (0: read the request and never answer). Connections it
/// accepted live on after it stops accepting, as with a real server.
struct Server {
    addr: SocketAddr,
    status: Arc<AtomicU16>,
    accepting: Option<JoinHandle<()>>,
}

impl Server {
    async fn start(status: u16) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let status = Arc::new(AtomicU16::new(status));
        let accepting = Some(tokio::spawn(Self::accept(listener, status.clone())));
        Server {
            addr,
            status,
            accepting,
        }
    }

    async fn accept(listener: TcpListener, status: Arc<AtomicU16>) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let status = status.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if !line.is_empty() {
                        continue; // the request line and headers
                    }
                    let code = status.load(SeqCst);
                    if code == 0 {
                        std::future::pending::<()>().await;
                    }
                    let answer = format!("HTTP/1.1 {code} Whatever\r\nContent-Length: 2\r\n\r\nok");
                    if write.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    /// Stops accepting connections (the port refuses them); those already
    /// open stay.
    async fn stop_accepting(&mut self) {
        if let Some(task) = self.accepting.take() {
            task.abort();
            let _ = task.await; // the listener is dropped by now
        }
    }

    /// Accepts on the same address again.
    async fn come_back(&mut self) {
        let listener = rebind(self.addr).await;
        self.accepting = Some(tokio::spawn(Self::accept(listener, self.status.clone())));
    }

    fn answer(&self, status: u16) {
        self.status.store(status, SeqCst);
    }
}

fn assert_fails(result: &CheckResult, mentioning: &str) {
    assert_eq!(result.status, Status::Fail, "{result:?}");
    let output = result.output.as_deref().unwrap_or_default();
    assert!(
        output.contains(mentioning),
        "{output:?} should mention {mentioning:?}"
    );
}

#[tokio::test]
async fn tcp_check_fails_while_nothing_listens_and_passes_when_it_comes_back() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let check = TcpCheck::new(addr);
    let up = check.check().await;
    assert_eq!(up.status, Status::Pass, "{up:?}");
    assert_eq!(up.observed_unit, Some("ms"));
    assert!(up.observed_value.unwrap() >= 0.0);

    drop(listener);
    assert_fails(&check.check().await, &format!("connect to {addr}"));

    let _back = rebind(addr).await;
    assert_eq!(check.check().await.status, Status::Pass);
}

#[tokio::test]
async fn http_check_passes_200_to_399_and_fails_the_rest() {
    let server = Server::start(200).await;
    let check = HttpCheck::get(&format!("http://{}/healthz", server.addr)).unwrap();
    for (status, passes) in [
        (200, true),
        (204, true),
        (302, true),
        (399, true),
        (404, false),
        (500, false),
        (503, false),
    ] {
        server.answer(status);
        let result = check.check().await;
        assert_eq!(result.status.passes(), passes, "HTTP {status}: {result:?}");
        assert_eq!(result.observed_unit, Some("ms"), "HTTP {status} is timed");
        if !passes {
            assert_fails(&result, &format!("HTTP {status}"));
        }
    }
}

#[tokio::test]
async fn http_check_opens_a_fresh_connection_so_a_server_that_stopped_accepting_is_down() {
    let mut server = Server::start(200).await;
    let check = HttpCheck::get(&format!("http://{}/", server.addr)).unwrap();
    assert_eq!(check.check().await.status, Status::Pass);

    // A kept connection would still be answered: the check must not use one.
    server.stop_accepting().await;
    assert_fails(
        &check.check().await,
        &format!("GET http://{}/", server.addr),
    );

    server.come_back().await;
    assert_eq!(check.check().await.status, Status::Pass);
}

#[tokio::test]
async fn a_server_that_never_answers_is_cut_by_the_monitor_and_comes_back_healthy() {
    let server = Server::start(0).await;
    let check = HttpCheck::get(&format!("http://{}/", server.addr)).unwrap();
    let monitor = Monitor::builder()
        .without_logging()
        .probe(
            Probe::liveness("web", "http", check)
                .period(Duration::from_millis(50))
                .timeout(Duration::from_millis(100))
                .failure_threshold(1),
        )
        .build()
        .unwrap()
        .start();
    wait_for("the hung server is unhealthy", || {
        monitor.health("web:http") == Some(Health::Unhealthy)
    })
    .await;
    let report = monitor.report();
    assert_eq!(report.http_status(), 503);
    assert!(
        report.to_json().contains("timed out after"),
        "{}",
        report.to_json()
    );
    assert!(!monitor.livez());

    server.answer(200);
    wait_for("the answering server is healthy", || {
        monitor.health("web:http") == Some(Health::Healthy)
    })
    .await;
    assert!(monitor.livez());
    monitor.stop();
}

/// A marker no other process on the machine carries: a number of seconds
/// to sleep, unique to this run and call.
fn unique_sleep() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("7{}.{}", std::process::id(), NEXT.fetch_add(1, SeqCst) + 1)
}

/// Whether a live process has `marker` in its command line (a zombie's is
/// empty, so a dead process waiting for pid 1 to reap it does not count).
#[allow(clippy::disallowed_methods)] // /proc, not a checkpoint
fn running(marker: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| std::fs::read(entry.ok()?.path().join("cmdline")).ok())
        .any(|cmdline| {
            cmdline
                .split(|&b| b == 0)
                .any(|arg| arg == marker.as_bytes())
        })
}

#[tokio::test]
async fn command_check_judges_the_exit() {
    let pass = CommandCheck::new(["true"]).check().await;
    assert_eq!(pass.status, Status::Pass, "{pass:?}");
    let code = CommandCheck::new(["sh", "-c", "exit 3"]).check().await;
    assert_fails(&code, "exited with code 3");
    let signal = CommandCheck::new(["sh", "-c", "kill -9 $$"]).check().await;
    assert_fails(&signal, "killed by signal 9");
    let missing = CommandCheck::new(["/nonexistent/mend-check"]).check().await;
    assert_fails(&missing, "/nonexistent/mend-check");
}

#[tokio::test]
async fn command_check_runs_in_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let check = CommandCheck::new(["sh", "-c", "test -f marker"]).dir(dir.path());
    assert_eq!(check.check().await.status, Status::Fail);
    #[allow(clippy::disallowed_methods)] // a marker file, not a checkpoint
    std::fs::write(dir.path().join("marker"), b"").unwrap();
    assert_eq!(check.check().await.status, Status::Pass);
}

#[tokio::test]
async fn command_check_leaves_nothing_running_when_it_exits() {
    let marker = unique_sleep();
    let script = format!("sleep {marker} & exit 0");
    let result = CommandCheck::new(["sh", "-c", script.as_str()])
        .check()
        .await;
    assert_eq!(result.status, Status::Pass, "{result:?}");
    wait_for("the background sleep is killed", || !running(&marker)).await;
}

#[tokio::test]
async fn command_check_cut_by_a_timeout_leaves_nothing_running() {
    let (first, second) = (unique_sleep(), unique_sleep());
    let script = format!("sleep {first} & sleep {second}");
    let check = CommandCheck::new(["sh", "-c", script.as_str()]);
    let run = tokio::spawn(async move { check.check().await });
    wait_for("both sleeps run", || running(&first) && running(&second)).await;
    run.abort(); // what the monitor's timeout does: drop the check's future
    assert!(run.await.unwrap_err().is_cancelled());
    wait_for("both sleeps are killed", || {
        !running(&first) && !running(&second)
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_check_or_recovery_that_panics_is_a_failure_and_the_probe_goes_on() {
    let recoveries = Arc::new(AtomicU32::new(0));
    let counted = recoveries.clone();
    let events = crate::support::Events::default();
    let monitor = Monitor::builder()
        .without_logging()
        .on_event(events.sink())
        .probe(
            Probe::liveness("app", "panics", || -> std::future::Ready<CheckResult> {
                panic!("the check blew up")
            })
            .period(Duration::from_secs(1))
            .failure_threshold(1)
            .recovery(move || {
                counted.fetch_add(1, SeqCst);
                async { panic!("so did the recovery") as () }
            }),
        )
        .build()
        .unwrap()
        .start();
    tokio::time::sleep(Duration::from_millis(1)).await;
    let report = monitor.report();
    assert!(
        report
            .to_json()
            .contains("the check panicked: the check blew up"),
        "{}",
        report.to_json()
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(
        recoveries.load(SeqCst) >= 2,
        "the probe went on after a panicking recovery"
    );
    let reported = events.all().iter().any(|e| {
        matches!(
            e.downcast_ref::<HealthEvent>().map(|e| &e.change),
            Some(HealthChange::RecoveryFinished { error: Some(error), .. })
                if error == "the recovery panicked: so did the recovery"
        )
    });
    assert!(reported, "the recovery's panic is reported");
    monitor.stop();
}
