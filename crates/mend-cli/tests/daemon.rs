//! `mend run` and `mend check` as a user runs them: the real binary, a
//! config file written by the test, hostile services, signals; processes
//! counted in `/proc` by a marker in their environment, never by asking
//! mend. Waits are on conditions with generous deadlines.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "tests read /proc, write configs and wait for real processes"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};
use serde_json::Value;

const MEND: &str = env!("CARGO_BIN_EXE_mend");

/// A `mend run` in a temporary directory, its JSON log lines collected.
struct Daemon {
    name: String,
    child: Child,
    dir: tempfile::TempDir,
    lines: Arc<Mutex<Vec<Value>>>,
    marker: String,
}

impl Daemon {
    /// Writes `services` (TOML tables; `@MARKER@` is replaced by a marker
    /// that every service's environment gets) and runs mend on it.
    fn start(test: &str, services: &str) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let marker = format!("{test}-{}", std::process::id());
        // The file's name names the supervisor and its cgroup: one per
        // test, so tests side by side never share one.
        let config = dir.path().join(format!("{test}.toml"));
        std::fs::write(&config, services.replace("@MARKER@", &marker)).unwrap();
        let mut child = Command::new(MEND)
            .args(["run", "--log-json"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                sink.lock().unwrap().push(value);
            }
        });
        Daemon {
            name: test.to_owned(),
            child,
            dir,
            lines,
            marker,
        }
    }

    /// Waits for a log line whose message contains every one of `words`
    /// (and, if given, is about `service`); the message.
    fn wait_log(&self, service: Option<&str>, words: &[&str]) -> String {
        let mut found = None;
        wait(
            &format!("a log line with {words:?} about {service:?}"),
            || {
                found = self.lines.lock().unwrap().iter().find_map(|line| {
                    let message = line.get("message")?.as_str()?;
                    let about = line.get("service").and_then(Value::as_str);
                    (service.is_none_or(|s| about == Some(s))
                        && words.iter().all(|w| message.contains(w)))
                    .then(|| message.to_owned())
                });
                found.is_some()
            },
        );
        found.unwrap()
    }

    /// The pid a `started (pid N)` line gave `service`.
    fn pid_of(&self, service: &str) -> i32 {
        let message = self.wait_log(Some(service), &["started (pid "]);
        message
            .split("pid ")
            .nth(1)
            .and_then(|rest| rest.trim_end_matches(')').split([')', ',']).next())
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("no pid in {message:?}"))
    }

    fn signal(&self, signal: Signal) {
        kill_process(Pid::from_raw(self.child.id() as i32).unwrap(), signal).unwrap();
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let mut status = None;
        wait("mend exits", || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status.unwrap()
    }

    /// The live processes of this daemon's services.
    fn live(&self) -> Vec<i32> {
        live(&self.marker)
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join(format!("{}.toml", self.name))
    }

    /// Runs `mend ARGS... CONFIG` (a control command); its exit code and
    /// stdout.
    fn control(&self, args: &[&str]) -> (Option<i32>, String) {
        let out = Command::new(MEND)
            .args(args)
            .arg(self.config())
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    fn logs(&self) -> PathBuf {
        self.dir.path().join(format!("{}.state/logs", self.name))
    }

    fn log_text(&self) -> String {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for pid in live(&self.marker) {
            let _ = kill_process(Pid::from_raw(pid).unwrap(), Signal::KILL);
        }
    }
}

/// Waits until `done`, or fails after 30 s saying `what`.
fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Live processes carrying `marker` in their environment.
fn live(marker: &str) -> Vec<i32> {
    let needle = format!("MEND_TEST_MARKER={marker}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .collect()
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

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

/// A port free on 127.0.0.1 now (bound to 0, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// promtool, from `$PROMTOOL` or the `PATH`; `.ci/run` installs it.
fn promtool() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PROMTOOL") {
        return Some(path.into());
    }
    let found = Command::new("promtool").arg("--version").output().is_ok();
    assert!(
        found || std::env::var("CI").is_err(),
        "CI must have promtool"
    );
    found.then(|| "promtool".into())
}

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
    if let Some(promtool) = promtool() {
        let mut check = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        check
            .stdin
            .take()
            .unwrap()
            .write_all(metrics.as_bytes())
            .unwrap();
        let out = check.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
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
