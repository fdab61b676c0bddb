//! The control surface: the API on its Unix socket and on TCP, and the CLI
//! commands that use it, checked against /proc and the failures the test
//! caused.

use std::process::{Command, Stdio};

use rustix::process::{Pid, Signal, kill_process};

use serde_json::Value;

use crate::support::*;

#[test]
fn the_control_commands_show_and_steer_the_services() {
    let mend = Daemon::start(
        "control",
        r#"
[services.steady]
shell = "sleep 600"
environment = { MEND_TEST_MARKER = "@MARKER@" }

[services.done]
type = "oneshot"
shell = "echo migrated; exit 0"
environment = { MEND_TEST_MARKER = "@MARKER@" }
"#,
    );
    mend.wait_log(None, &["control API on"]);
    mend.wait_log(Some("done"), &["ended: exited with code 0"]);
    let mut services = Vec::new();
    wait("the API answers", || {
        let (code, out) = mend.control(&["status", "--json"]);
        if code == Some(0) {
            services = serde_json::from_str::<Vec<Value>>(&out).unwrap();
        }
        code == Some(0)
    });
    let steady = services.iter().find(|s| s["name"] == "steady").unwrap();
    assert_eq!(steady["state"], "running");
    assert_eq!(steady["ready"], true);
    assert!(steady["pid"].as_i64().unwrap() > 0);
    let done = services.iter().find(|s| s["name"] == "done").unwrap();
    assert_eq!(
        (done["state"].as_str(), done["ready"].as_bool()),
        (Some("exited"), Some(true))
    );

    let (code, table) = mend.control(&["status"]);
    assert_eq!(code, Some(0), "{table}");
    assert!(table.starts_with("SERVICE"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("steady") && l.contains("running")),
        "{table}"
    );

    let (code, out) = mend.control(&["stop", "steady"]);
    assert_eq!(code, Some(0), "{out}");
    let (_, json) = mend.control(&["status", "--json"]);
    assert!(
        json.contains(r#""name":"steady","state":"stopped""#),
        "{json}"
    );
    let (code, out) = mend.control(&["start", "steady"]);
    assert_eq!(code, Some(0), "{out}");
    wait("steady runs again", || {
        mend.control(&["status", "--json"])
            .1
            .contains(r#""name":"steady","state":"running""#)
    });
    let (code, out) = mend.control(&["stop", "nobody"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("no service named `nobody`"), "{out}");

    let (code, health) = mend.control(&["health"]);
    assert_eq!(code, Some(0), "{health}");
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "pass");
    assert_eq!(health["checks"]["steady:process"][0]["status"], "pass");

    let (code, metrics) = mend.control(&["metrics"]);
    assert_eq!(code, Some(0), "{metrics}");
    assert!(
        metrics.contains(r#"mend_process_up{supervisor="control",service="steady"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"mend_process_starts_total{supervisor="control",service="steady"} 2"#),
        "{metrics}"
    );
    check_with_promtool(&metrics);
    let (code, logs) = mend.control(&["logs", "done"]);
    assert_eq!(code, Some(0), "{logs}");
    assert!(logs.contains("done.out <==\nmigrated\n"), "{logs}");
    use std::os::unix::fs::PermissionsExt;
    let socket = mend.dir.path().join("control.state/mend.sock");
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn over_tcp_changes_need_the_token_and_every_endpoint_answers_during_a_crash_loop() {
    let token = "0123456789abcdef0123456789abcdef";
    let mend = Daemon::start_with(
        "tcp",
        r#"
[api]
listen = "127.0.0.1:0"
token_file = "tcp.token"

[services.steady]
shell = "sleep 600"
environment = { MEND_TEST_MARKER = "@MARKER@" }

[services.looping]
shell = "exit 1"
restart_delay = "1ms"
restart_delay_max = "5ms"
start_limit_burst = 100000
start_limit_interval = "1s"
environment = { MEND_TEST_MARKER = "@MARKER@" }
"#,
        &[("tcp.token", &format!("{token}\n"))],
        &[],
    );
    let addr = tcp_api(&mend);
    let steady = mend.pid_of("steady");
    wait("the loop is looping", || {
        mend.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.to_string().contains("looping"))
            .count()
            > 20
    });
    // Reads are open; changes need the token, compared whole.
    assert_eq!(http(&addr, "GET", "/services", None).0, 200);
    for offered in [
        None,
        Some("wrong"),
        Some(&token[..31]),
        Some("0123456789abcdef0123456789abcdeF"),
    ] {
        let (code, body) = http(&addr, "POST", "/services/steady/restart", offered);
        assert_eq!(code, 401, "{offered:?}: {body}");
    }
    assert!(
        live(&mend.marker).contains(&steady),
        "refused changes changed nothing"
    );
    let (code, body) = http(&addr, "POST", "/services/steady/restart", Some(token));
    assert_eq!(code, 200, "{body}");
    wait("the old steady is gone", || {
        !live(&mend.marker).contains(&steady)
    });

    // Every endpoint answers (the helper fails after 5 s) while `looping`
    // restarts every few milliseconds.
    for _ in 0..20 {
        for path in [
            "/services",
            "/services/looping",
            "/services/steady",
            "/health",
            "/livez",
            "/readyz",
            "/metrics",
        ] {
            let (code, body) = http(&addr, "GET", path, None);
            assert!([200, 503].contains(&code), "GET {path}: {code} {body}");
        }
        let (code, body) = http(&addr, "POST", "/services/steady/signal/CONT", Some(token));
        assert_eq!(code, 200, "{body}");
    }
    let (code, _) = mend.control(&["status"]);
    assert_eq!(code, Some(0));
}

/// `mend status --json`, parsed; the service named `name`.
fn service(mend: &Daemon, name: &str) -> Value {
    let (code, out) = mend.control(&["status", "--json"]);
    assert_eq!(code, Some(0), "{out}");
    let services: Vec<Value> = serde_json::from_str(&out).unwrap();
    services
        .into_iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {out}"))
}

#[test]
fn status_agrees_with_proc_and_with_the_crashes_the_test_caused_and_reload_runs_the_command() {
    let mend = Daemon::start(
        "truth",
        r#"
[services.victim]
shell = "trap 'echo reloaded' HUP; sleep 600 & sleep 600 & while :; do wait; done"
reload = ["kill", "-HUP", "$MAINPID"]
restart_delay = "1ms"
environment = { MEND_TEST_MARKER = "@MARKER@" }

[services.busy]
shell = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 600"
environment = { MEND_TEST_MARKER = "@MARKER@" }
"#,
    );
    mend.wait_log(None, &["control API on"]);
    // Three crashes, each a SIGKILL to whatever process status names.
    for crash in 1..=3 {
        let mut pid = 0;
        wait("victim runs with its two children", || {
            let s = service(&mend, "victim");
            pid = s["pid"].as_i64().unwrap_or(0) as i32;
            s["restarts"] == crash - 1 && s["processes"] == 3 && live(&mend.marker).contains(&pid)
        });
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        assert!(
            String::from_utf8_lossy(&cmdline).contains("trap 'echo reloaded'"),
            "status names the service's own process"
        );
        kill_process(Pid::from_raw(pid).unwrap(), Signal::KILL).unwrap();
        wait("victim is restarted", || {
            let s = service(&mend, "victim");
            s["restarts"] == crash && s["pid"].as_i64().is_some_and(|p| p as i32 != pid)
        });
    }
    let victim = service(&mend, "victim");
    assert_eq!(
        victim["last_exit"], "killed by signal 9 (SIGKILL)",
        "{victim}"
    );
    assert_eq!(victim["exits_failed"], 3, "{victim}");
    let pid = victim["pid"].as_i64().unwrap() as i32;
    let rss_kib: u64 = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let memory = victim["memory_bytes"].as_u64().unwrap();
    assert!(
        memory >= rss_kib * 1024,
        "{memory} covers at least its main process's {rss_kib} KiB"
    );

    // CPU: the busy loop counted to 200000 before it slept.
    wait("busy is asleep", || {
        let pid = service(&mend, "busy")["pid"].as_i64().unwrap_or(0) as i32;
        std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.starts_with("sleep"))
    });
    let busy = service(&mend, "busy");
    assert!(busy["cpu_seconds"].as_f64().unwrap() > 0.05, "{busy}");
    assert!(victim["cpu_seconds"].as_f64().unwrap() < busy["cpu_seconds"].as_f64().unwrap());

    // Reload runs the service's own command, with its pid; it keeps running.
    let (code, out) = mend.control(&["reload", "victim"]);
    assert_eq!(code, Some(0), "{out}");
    wait("the service saw SIGHUP", || {
        std::fs::read_to_string(mend.logs().join("victim.out"))
            .is_ok_and(|t| t.contains("reloaded"))
    });
    assert_eq!(
        service(&mend, "victim")["pid"],
        pid,
        "a reload is not a restart"
    );
    let (code, out) = mend.control(&["reload", "busy"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("busy: it has no reload command"), "{out}");
}

#[test]
fn logs_follow_carries_on_across_a_rotation() {
    let mend = Daemon::start(
        "follow",
        r#"
[services.chatty]
shell = "i=0; while :; do i=$((i+1)); echo line-$i-padded-to-be-a-little-longer; sleep 0.01; done"
log_max_bytes = 4096
log_keep = 1
environment = { MEND_TEST_MARKER = "@MARKER@" }
"#,
    );
    mend.wait_log(Some("chatty"), &["started (pid"]);
    let mut follower = KillOnDrop(
        Command::new(MEND)
            .args(["logs", "-f", "-n", "1", "chatty"])
            .arg(mend.config())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    let stdout = follower.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            sink.lock().unwrap().push(line);
        }
    });
    let rotated = mend.logs().join("chatty.out.1");
    wait("a rotation", || rotated.exists());
    // The first line of the file as it is after that rotation: written
    // after the truncation, below the follower's old offset. A follower
    // that missed the rotation skips it.
    let mut first = String::new();
    wait("lines after the rotation", || {
        first = std::fs::read_to_string(mend.logs().join("chatty.out"))
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        first.starts_with("line-")
    });
    wait("the follower prints it", || {
        seen.lock().unwrap().contains(&first)
    });
}

/// A child killed (and reaped) when the test ends, failed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves one connection on `listener` with `answer` (raw HTTP), on a
/// thread.
fn answer_once(listener: std::os::unix::net::UnixListener, answer: &'static str) {
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(answer.as_bytes());
        }
    });
}

#[test]
fn control_commands_say_what_is_wrong_with_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lonely.toml");
    std::fs::write(&config, "[services.web]\ncommand = [\"sleep\", \"1\"]\n").unwrap();
    let state = dir.path().join("lonely.state");
    std::fs::create_dir(&state).unwrap();
    let socket = state.join("mend.sock");
    let status = |uid: Option<u32>| {
        // Another user may not reach the build's binary (a checkout in a
        // 0700 directory): it runs a copy in this test's directory.
        let mut command = Command::new(if uid.is_some() {
            dir.path().join("mend")
        } else {
            MEND.into()
        });
        command.arg("status").arg(&config);
        if let Some(uid) = uid {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(uid);
        }
        let out = command.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    let said = status(None);
    assert!(
        said.contains("no mend is running here: no socket at"),
        "{said}"
    );

    // A socket left behind by a mend that was killed.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let said = status(None);
    assert!(said.contains("no mend answers at"), "{said}");

    // Something that is not mend, and a mend of another version.
    for (answer, expected) in [
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]",
            "answers, but not as mend",
        ),
        (
            "HTTP/1.1 200 OK\r\nmend-version: 0.0.1\r\nContent-Length: 2\r\n\r\n[]",
            "is version 0.0.1, this command is",
        ),
    ] {
        std::fs::remove_file(&socket).unwrap();
        answer_once(
            std::os::unix::net::UnixListener::bind(&socket).unwrap(),
            answer,
        );
        let said = status(None);
        assert!(said.contains(expected), "{said}");
    }

    // Run as another user (really: the command runs as `nobody`), the
    // socket's owner is named. Its directory must let that user look.
    // Only root can run a command as another user (CI runs as root).
    if !rustix::process::geteuid().is_root() {
        assert!(std::env::var("CI").is_err(), "CI runs the tests as root");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::copy(MEND, dir.path().join("mend")).unwrap();
    for path in [dir.path(), state.as_path()] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let said = status(Some(65534));
    assert!(
        said.contains("belongs to uid 0, and only its owner may use it"),
        "{said}"
    );
}
