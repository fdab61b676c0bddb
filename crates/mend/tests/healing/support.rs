//! Starting the example, talking to it, reading its metrics and its
//! health, waiting for a condition.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../common/http.rs"]
mod http;
#[path = "../common/promtool.rs"]
mod promtool;
pub(crate) use promtool::check_with_promtool;

/// The state the example's checkpoint store keeps: the example's own
/// definition, so `load()` here decodes exactly what it wrote.
#[allow(dead_code, reason = "the test reads the state, it never changes it")]
#[path = "../../examples/healing_app/state.rs"]
pub(crate) mod state;

/// The example binary, next to this test's own (`target/<profile>/`).
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let binary = profile.join("examples").join("healing_app");
    let build = "cargo test builds it; alone: cargo build -p mend --example healing_app \
                 --features tower,health,supervise,sqlite,prometheus";
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {build}", binary.display()));
    // A test run of this target alone does not rebuild the example: refuse
    // to test an old build of changed sources.
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/healing_app");
    for source in std::fs::read_dir(&sources).expect("the example's sources") {
        let source = source.expect("a source file").path();
        let changed = std::fs::metadata(&source)
            .and_then(|m| m.modified())
            .expect("a source's time");
        assert!(
            changed <= built,
            "{} is older than {}: {build}",
            binary.display(),
            source.display()
        );
    }
    binary
}

/// The example, running in `--serve` mode on a state directory.
pub(crate) struct App {
    child: Child,
    /// Its stdout, kept open so a later print never meets a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
    pub(crate) addr: SocketAddr,
    stderr: PathBuf,
}

impl App {
    /// Starts the example on `state` and waits for it to listen.
    pub(crate) fn start(state: &Path) -> App {
        let stderr = state.with_extension(format!("{}.log", std::process::id()));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr)
            .expect("the log file");
        let mut child = Command::new(binary())
            .args(["--serve", "--state"])
            .arg(state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start the example");
        // Its first line: "listening on http://ADDR". The read blocks until
        // it comes or the process ends (then the line is empty).
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("its stdout"));
        stdout.read_line(&mut line).expect("read its stdout");
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the example did not start: {line:?}\n{}", read(&stderr));
        };
        let addr = addr.parse().expect("an address");
        App {
            child,
            _stdout: stdout,
            addr,
            stderr,
        }
    }

    /// `GET path`: status and body.
    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        let (status, _, body) = http::request(self.addr, "GET", path, "");
        (status, body)
    }

    /// `POST path` with `body`: status and body.
    pub(crate) fn post(&self, path: &str, body: &str) -> (u16, String) {
        let (status, _, body) = http::request(self.addr, "POST", path, body);
        (status, body)
    }

    /// `POST path` with `body`, or `None` when the example did not answer
    /// (it died mid-request).
    pub(crate) fn try_post(&self, path: &str, body: &str) -> Option<(u16, String)> {
        let (status, _, body) = http::try_request(self.addr, "POST", path, body).ok()?;
        Some((status, body))
    }

    /// Switches a fault (`dependency/down`, `wedge`, `contention/on`, ...).
    pub(crate) fn fault(&self, fault: &str) {
        let (status, body) = self.post(&format!("/faults/{fault}"), "");
        assert_eq!(status, 204, "fault {fault}: {body}");
    }

    /// A scrape of `/metrics`.
    pub(crate) fn scrape(&self) -> Metrics {
        let (status, _, text) = http::request(self.addr, "GET", "/metrics", "");
        assert_eq!(status, 200, "{text}");
        Metrics(text)
    }

    /// The `/health` document, parsed, and its HTTP status.
    pub(crate) fn health(&self) -> (u16, serde_json::Value) {
        let (status, body) = self.get("/health");
        let document = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        (status, document)
    }

    /// The status of the check `key` (`component:measurement`) in `/health`.
    pub(crate) fn check_status(&self, key: &str) -> String {
        let (_, document) = self.health();
        document["checks"][key][0]["status"]
            .as_str()
            .unwrap_or_else(|| panic!("no check {key} in {document}"))
            .to_owned()
    }

    /// Sends `signal` to the example.
    pub(crate) fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, signal).expect("signal the example");
    }

    /// Waits for the example to end (20 s at most); its exit status.
    pub(crate) fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the example did not end:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// [`wait`](App::wait), and what it logged.
    pub(crate) fn wait_keeping_log(mut self) -> (std::process::ExitStatus, String) {
        let status = self.wait();
        (status, self.log())
    }

    /// What it logged on stderr so far (JSON lines).
    pub(crate) fn log(&self) -> String {
        read(&self.stderr)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- the example's log:\n{}", self.log());
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A scrape's text.
pub(crate) struct Metrics(pub(crate) String);

impl Metrics {
    /// The value of the series `name` whose labels include `labels`; 0
    /// when there is none (a counter never incremented is not rendered).
    pub(crate) fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (found, label_text) = match series.split_once('{') {
                    Some((found, rest)) => (found, rest.strip_suffix('}')?),
                    None => (series, ""),
                };
                let has = |(k, v): &(&str, &str)| {
                    label_text
                        .split(',')
                        .any(|pair| pair == format!("{k}=\"{v}\""))
                };
                (found == name && labels.iter().all(has)).then(|| value.parse().ok())?
            })
            .unwrap_or(0.0)
    }
}

/// Polls `condition` every 50 ms until it holds; fails the test after
/// `seconds` (generous: the machine may be loaded).
pub(crate) fn eventually(what: &str, seconds: u64, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !condition() {
        assert!(Instant::now() < deadline, "not within {seconds} s: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A fresh state directory (removed when the guard drops).
pub(crate) fn state_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let state = dir.path().join("state");
    (dir, state)
}
