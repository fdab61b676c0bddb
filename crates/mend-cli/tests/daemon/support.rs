//! What every daemon test shares: [`Daemon`], a `mend run` in a temporary
//! directory with its JSON log lines collected; waits on conditions with
//! generous deadlines; processes counted in `/proc` by a marker in their
//! environment, never by asking mend.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};
use serde_json::Value;

pub(crate) const MEND: &str = env!("CARGO_BIN_EXE_mend");

/// A `mend run` in a temporary directory, its JSON log lines collected.
pub(crate) struct Daemon {
    pub(crate) name: String,
    pub(crate) child: Child,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) lines: Arc<Mutex<Vec<Value>>>,
    pub(crate) marker: String,
}

impl Daemon {
    /// Writes `services` (TOML tables; `@MARKER@` is replaced by a marker
    /// that every service's environment gets) and runs mend on it.
    pub(crate) fn start(test: &str, services: &str) -> Daemon {
        Daemon::start_with(test, services, &[], &[])
    }

    /// [`start`](Self::start), with `files` (name, text) written beside
    /// the config first and `env` given to mend.
    pub(crate) fn start_with(
        test: &str,
        services: &str,
        files: &[(&str, &str)],
        env: &[(&str, &str)],
    ) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let marker = format!("{test}-{}", std::process::id());
        // The file's name names the supervisor and its cgroup: one per
        // test, so tests side by side never share one.
        let config = dir.path().join(format!("{test}.toml"));
        std::fs::write(&config, services.replace("@MARKER@", &marker)).unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let child = spawn_mend(&config, env, &lines);
        Daemon {
            name: test.to_owned(),
            child,
            dir,
            lines,
            marker,
        }
    }

    /// SIGKILLs this mend (nothing of it runs its shutdown) and starts a
    /// new one on the same config and state directory; its log starts
    /// empty.
    pub(crate) fn kill_and_start_again(&mut self) {
        self.signal(Signal::KILL);
        self.child.wait().unwrap();
        self.lines = Arc::new(Mutex::new(Vec::new()));
        self.child = spawn_mend(&self.config(), &[], &self.lines);
    }

    /// Waits for a log line whose message contains every one of `words`
    /// (and, if given, is about `service`); the message.
    pub(crate) fn wait_log(&self, service: Option<&str>, words: &[&str]) -> String {
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
    pub(crate) fn pid_of(&self, service: &str) -> i32 {
        let message = self.wait_log(Some(service), &["started (pid "]);
        message
            .split("pid ")
            .nth(1)
            .and_then(|rest| rest.trim_end_matches(')').split([')', ',']).next())
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("no pid in {message:?}"))
    }

    pub(crate) fn signal(&self, signal: Signal) {
        kill_process(Pid::from_raw(self.child.id() as i32).unwrap(), signal).unwrap();
    }

    pub(crate) fn wait_exit(&mut self) -> ExitStatus {
        let mut status = None;
        wait("mend exits", || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status.unwrap()
    }

    /// The live processes of this daemon's services.
    pub(crate) fn live(&self) -> Vec<i32> {
        live(&self.marker)
    }

    pub(crate) fn config(&self) -> PathBuf {
        self.dir.path().join(format!("{}.toml", self.name))
    }

    /// Runs `mend ARGS... CONFIG` (a control command); its exit code and
    /// stdout.
    pub(crate) fn control(&self, args: &[&str]) -> (Option<i32>, String) {
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

    pub(crate) fn logs(&self) -> PathBuf {
        self.dir.path().join(format!("{}.state/logs", self.name))
    }

    pub(crate) fn log_text(&self) -> String {
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

/// Runs `mend run --log-json CONFIG` with `env`, its log lines collected
/// into `lines`.
fn spawn_mend(config: &Path, env: &[(&str, &str)], lines: &Arc<Mutex<Vec<Value>>>) -> Child {
    let mut child = Command::new(MEND)
        .args(["run", "--log-json"])
        .arg(config)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sink = lines.clone();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
            sink.lock().unwrap().push(value);
        }
    });
    child
}

/// Waits until `done`, or fails after 30 s saying `what`.
pub(crate) fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Live processes carrying `marker` in their environment.
pub(crate) fn live(marker: &str) -> Vec<i32> {
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

pub(crate) fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A port free on 127.0.0.1 now (bound to 0, then released).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `promtool check metrics`, as the library's tests run it.
#[path = "../../../mend/tests/common/promtool.rs"]
mod promtool;
pub(crate) use promtool::check_with_promtool;

/// One HTTP/1.1 request over TCP to `addr`, written by hand so the test
/// sees exactly what goes over the wire; the status and body. Fails if no
/// answer comes within 5 s.
pub(crate) fn http(addr: &str, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: mend\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .unwrap_or_else(|e| panic!("{method} {path}: no answer within 5 s: {e}"));
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: not HTTP: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_owned());
    (status, body)
}

/// The address a daemon's log gives its TCP API.
pub(crate) fn tcp_api(mend: &Daemon) -> String {
    let line = mend.wait_log(None, &["control API also on http://"]);
    line.split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned()
}
