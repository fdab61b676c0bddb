//! mend under systemd, against a notification socket the test binds
//! itself: `READY=1` only once the required service is ready, `STATUS=`,
//! `WATCHDOG=1` at half the period, `STOPPING=1` at SIGTERM, and services
//! that never inherit mend's own `NOTIFY_SOCKET`.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use rustix::process::Signal;

use crate::support::*;

/// The notification lines received so far, in order.
fn receive(socket: &UnixDatagram, into: &mut Vec<String>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = socket.recv(&mut buf) {
        into.extend(
            String::from_utf8_lossy(&buf[..n])
                .lines()
                .map(str::to_owned),
        );
    }
}

#[test]
fn mend_tells_its_manager_ready_status_watchdog_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let notify = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&notify).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let flag = dir.path().join("ready-now");
    let mut mend = Daemon::start_with(
        "systemd",
        &format!(
            r#"
[services.db]
shell = "exec sleep 600"
required = true
environment = {{ MEND_TEST_MARKER = "@MARKER@" }}

[services.db.readiness]
exec = ["test", "-e", "{}"]
period = "50ms"

[services.extra]
shell = "exec sleep 600"
environment = {{ MEND_TEST_MARKER = "@MARKER@" }}
"#,
            flag.display()
        ),
        &[],
        &[
            ("NOTIFY_SOCKET", notify.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let mut said = Vec::new();
    wait("three watchdog pings and a status", || {
        receive(&socket, &mut said);
        said.iter().filter(|l| *l == "WATCHDOG=1").count() >= 3
            && said
                .iter()
                .any(|l| l.starts_with("STATUS=2 services: 2 running"))
    });
    assert!(
        !said.contains(&"READY=1".to_owned()),
        "not ready before db is: {said:?}"
    );
    // What mend was given is mend's own: its services never see it.
    for pid in mend.live() {
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let env = String::from_utf8_lossy(&env);
        assert!(
            !env.contains("NOTIFY_SOCKET=") && !env.contains("WATCHDOG_USEC="),
            "{env}"
        );
    }
    std::fs::write(&flag, "").unwrap();
    wait("READY=1", || {
        receive(&socket, &mut said);
        said.contains(&"READY=1".to_owned())
    });
    assert!(
        said.iter()
            .any(|l| l == "STATUS=2 services: 2 running (2 ready)"),
        "{said:?}"
    );
    mend.signal(Signal::TERM);
    assert_eq!(mend.wait_exit().code(), Some(0), "{}", mend.log_text());
    receive(&socket, &mut said);
    let stopping = said.iter().position(|l| l == "STOPPING=1");
    assert!(stopping.is_some(), "{said:?}");
    assert_eq!(
        said.iter().filter(|l| *l == "READY=1").count(),
        1,
        "READY=1 once: {said:?}"
    );
}
