//! `mend run` and `mend check`: configs, hostile services, probes,
//! dependencies, groups, notify services, signals.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rustix::process::Signal;

use crate::support::*;

const HOSTILE: &str = r#"
[services.crasher]
shell = "exit 3"
start_limit_burst = 2
restart_delay = "1ms"
environment = { MEND_TEST_MARKER = "@MARKER@" }

[services.stubborn]
shell = "trap '' TERM; sleep 600 & wait"
stop_grace = "300ms"
environment = { MEND_TEST_MARKER = "@MARKER@" }

[services.forker]
shell = "sleep 600 & sleep 600 & (setsid sh -c 'sleep 600 & wait' &); wait"
environment = { MEND_TEST_MARKER = "@MARKER@" }

[services.flood]
shell = "exec tr -d '\\n' < /dev/zero"
log_max_bytes = 1048576
log_keep = 2
environment = { MEND_TEST_MARKER = "@MARKER@" }

[services.migrate]
type = "oneshot"
shell = "exit 3"
success_exit_codes = [0, 3]
environment = { MEND_TEST_MARKER = "@MARKER@" }

[services.broken-migration]
type = "oneshot"
shell = "exit 4"
environment = { MEND_TEST_MARKER = "@MARKER@" }

[services.unprivileged]
command = ["sleep", "600"]
user = "nobody"
environment = { MEND_TEST_MARKER = "@MARKER@" }
"#;

#[test]
fn hostile_services_are_harmless() {
    let mut mend = Daemon::start("hostile", HOSTILE);
    // A crash loop gives up at its intensity and says why.
    let gave_up = mend.wait_log(
        Some("crasher"),
        &["gave up", "3 restarts", "more than the 2 allowed"],
    );
    assert!(gave_up.contains("until started by hand"), "{gave_up}");
    mend.wait_log(Some("crasher"), &["failed", "exited with code 3"]);
    // A one-shot's exit code decides its success.
    mend.wait_log(Some("migrate"), &["ended: exited with code 3"]);
    mend.wait_log(Some("broken-migration"), &["failed: exited with code 4"]);
    // Running as a user drops privileges.
    let pid = mend.pid_of("unprivileged");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid.split_whitespace().skip(1).collect::<Vec<_>>(),
        ["65534"; 4]
    );
    // A flood keeps the disk bounded: far less on disk than it wrote.
    let logs = mend.logs();
    let mut peak = 0;
    wait("the flood is rotated", || {
        peak = peak.max(dir_size(&logs));
        logs.join("flood.out.2").exists()
    });
    for _ in 0..100 {
        peak = peak.max(dir_size(&logs));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(peak < 512 << 20, "peak {peak} bytes of logs");
    // Everything is up: sh, sleeps, the escapee, the stubborn pair.
    wait("the forker's five processes run", || mend.live().len() >= 8);

    mend.signal(Signal::TERM);
    let status = mend.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", mend.log_text());
    mend.wait_log(Some("stubborn"), &["killed"]);
    mend.wait_log(None, &["every service stopped"]);
    // Nothing is left: grandchildren, the setsid escapee (cgroups), the
    // stubborn one.
    assert_eq!(mend.live(), Vec::<i32>::new(), "{}", mend.log_text());
}

#[test]
fn a_second_signal_kills_everything_at_once() {
    let mut mend = Daemon::start(
        "forced",
        r#"
[services.patient]
shell = "trap '' TERM; sleep 600 & wait"
stop_grace = "1h"
environment = { MEND_TEST_MARKER = "@MARKER@" }
"#,
    );
    wait("it runs", || mend.live().len() >= 2);
    mend.signal(Signal::TERM);
    mend.wait_log(None, &["SIGTERM: stopping every service"]);
    mend.signal(Signal::INT);
    let status = mend.wait_exit();
    assert_eq!(status.code(), Some(2), "{}", mend.log_text());
    mend.wait_log(None, &["killing every service's processes at once"]);
    assert_eq!(mend.live(), Vec::<i32>::new());
}

#[test]
fn check_accepts_a_good_config_and_refuses_a_bad_one_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[services.web]\ncommand = [\"sleep\", \"1\"]\n[services.db]\nshell = \"true\"\n",
    )
    .unwrap();
    let out = Command::new(MEND).arg("check").arg(&good).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok, 2 services: web, db"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[services.web]\ncommand = [\"x\"]\nrestart = \"sometimes\"\n",
    )
    .unwrap();
    for args in [vec!["check"], vec!["run"]] {
        let out = Command::new(MEND).args(&args).arg(&bad).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "{}:3:11: `services.web.restart`: unknown variant `sometimes`",
                bad.display()
            )),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn the_documented_config_checks() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mend.toml");
    let out = Command::new(MEND)
        .arg("check")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_http_service_that_wedges_is_restarted_and_gates_its_dependent() {
    let port = free_port();
    let mut mend = Daemon::start(
        "probed",
        &format!(
            r#"
[services.worker]
shell = "sleep 600"
after = ["web"]
environment = {{ MEND_TEST_MARKER = "@MARKER@" }}

[services.web]
command = ["{MEND}", "demo", "http", "--listen", "127.0.0.1:{port}", "--hang-after", "1s"]
stop_grace = "500ms"
restart_delay = "10ms"
liveness = {{ http = "http://127.0.0.1:{port}/", period = "200ms", timeout = "200ms", failure_threshold = 2 }}
readiness = {{ tcp = "127.0.0.1:{port}", period = "100ms" }}
environment = {{ MEND_TEST_MARKER = "@MARKER@" }}
"#
        ),
    );
    // web starts first (worker waits for it), and worker only once web is
    // ready.
    mend.wait_log(Some("worker"), &["started (pid"]);
    let lines = mend.log_text();
    let web_started = lines.find("service web: started").unwrap();
    let worker_started = lines.find("service worker: started").unwrap();
    assert!(web_started < worker_started, "{lines}");
    // web wedges after 1 s; its liveness probe catches it and it restarts.
    mend.wait_log(Some("web"), &["liveness probe failed"]);
    mend.wait_log(Some("web"), &["started again"]);
    mend.signal(Signal::TERM);
    assert_eq!(mend.wait_exit().code(), Some(0), "{}", mend.log_text());
    assert_eq!(mend.live(), Vec::<i32>::new());
}

#[test]
fn after_cycles_and_probe_mistakes_are_refused_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[services.a]\nshell = \"true\"\nafter = [\"b\"]\n[services.b]\nshell = \"true\"\nafter = [\"a\"]\n",
            ":3:1: `services.a.after`: a -> b -> a",
        ),
        (
            "[services.a]\nshell = \"true\"\nafter = [\"ghost\"]\n",
            ":3:1: `services.a.after`: a -> ghost",
        ),
        (
            "[services.a]\nshell = \"true\"\nliveness = { http = \"x\", tcp = \"127.0.0.1:1\" }\n",
            ":3:1: `services.a.liveness`: expected exactly one of",
        ),
        (
            "[services.a]\nshell = \"true\"\nreadiness = { tcp = \"localhost\" }\n",
            ":3:1: `services.a.readiness`: invalid `tcp` address",
        ),
        (
            "[services.a]\nshell = \"true\"\nliveness = { exec = [\"true\"], period = \"0s\" }\n",
            ":3:1: `services.a.liveness`: invalid value 0ns",
        ),
    ];
    for (text, expected) in cases {
        let file = dir.path().join("deps.toml");
        std::fs::write(&file, text).unwrap();
        let out = Command::new(MEND).arg("check").arg(&file).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("{}{expected}", file.display())),
            "{text}\n{stderr}"
        );
    }
}

#[test]
fn a_one_for_all_group_restarts_whole_and_a_bad_group_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let once = dir.path().join("fail-once");
    std::fs::write(&once, "").unwrap();
    let mut mend = Daemon::start(
        "group",
        &format!(
            r#"
[services.leader]
shell = "sleep 600"
environment = {{ MEND_TEST_MARKER = "@MARKER@" }}

[services.follower]
shell = "if [ -e {0} ]; then rm {0}; sleep 0.3; exit 1; fi; sleep 600"
environment = {{ MEND_TEST_MARKER = "@MARKER@" }}

[groups.pair]
strategy = "one_for_all"
services = ["leader", "follower"]
restart_delay = "10ms"
"#,
            once.display()
        ),
    );
    mend.wait_log(Some("follower"), &["failed: exited with code 1"]);
    mend.wait_log(Some("leader"), &["stopping it: its group pair restarts"]);
    mend.wait_log(Some("leader"), &["started again"]);
    mend.wait_log(Some("follower"), &["started again"]);
    mend.signal(Signal::TERM);
    assert_eq!(mend.wait_exit().code(), Some(0), "{}", mend.log_text());
    assert_eq!(mend.live(), Vec::<i32>::new());

    let bad = dir.path().join("bad-group.toml");
    std::fs::write(
        &bad,
        "[services.a]\nshell = \"true\"\n\n[groups.g]\nstrategy = \"one_for_all\"\nservices = [\"a\", \"ghost\"]\n",
    )
    .unwrap();
    let out = Command::new(MEND).arg("check").arg(&bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:4:1: `groups.g`: invalid `members` = ghost",
            bad.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_notify_service_gates_its_dependent_and_a_missed_watchdog_restarts_it() {
    let mut mend = Daemon::start(
        "notify",
        &format!(
            r#"
[services.ready-first]
type = "notify"
command = ["{MEND}", "demo", "notify", "--ready-after", "300ms", "--starve-after", "1s"]
watchdog = "400ms"
stop_grace = "200ms"
restart_delay = "10ms"
environment = {{ MEND_TEST_MARKER = "@MARKER@" }}

[services.after-it]
shell = "sleep 600"
after = ["ready-first"]
environment = {{ MEND_TEST_MARKER = "@MARKER@" }}
"#
        ),
    );
    mend.wait_log(Some("after-it"), &["started (pid"]);
    mend.wait_log(Some("ready-first"), &["no WATCHDOG=1 within 400ms"]);
    mend.wait_log(Some("ready-first"), &["started again"]);
    mend.signal(Signal::TERM);
    assert_eq!(mend.wait_exit().code(), Some(0), "{}", mend.log_text());
    assert_eq!(mend.live(), Vec::<i32>::new());
}
