//! `promtool check metrics` (Prometheus's own parser and linter) on a
//! scrape. promtool comes from `$PROMTOOL` or the `PATH`; `.ci/run`
//! installs it. Under `CI=true` a missing promtool fails the test. Shared
//! by the test binaries through `#[path]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn promtool() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PROMTOOL") {
        return Some(PathBuf::from(path));
    }
    let found = Command::new("promtool")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    found.then(|| PathBuf::from("promtool"))
}

/// Runs `promtool check metrics` on `text`.
pub(crate) fn check_with_promtool(text: &str) {
    let Some(promtool) = promtool() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "promtool is missing: .ci/run installs it"
        );
        eprintln!("promtool not found: the text was checked value by value only");
        return;
    };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
