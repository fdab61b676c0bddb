//! Helpers: the helper programs (small shell scripts, exec'd through
//! `/bin/sh -c` by the spec on purpose), counting a test's processes in
//! `/proc`, waiting for a condition, re-executing one test in a process
//! of its own.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "tests read /proc and wait for real processes"
)]

use std::future::Future;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mend::process::{
    Backend, Isolation, ProcessHandle, ProcessSupervisor, ServiceSpec, ServiceSpecBuilder,
    ServiceStatus,
};

/// Both backends, each as a test runs it: cgroups where the machine has a
/// writable v2 hierarchy (CI must), and process groups.
pub(crate) fn backends() -> Vec<Isolation> {
    let mut backends = vec![Isolation::ProcessGroup];
    if cgroups_available() {
        backends.push(Isolation::Auto);
    } else {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs as root with a writable cgroup v2 hierarchy: the cgroup backend must be tested"
        );
        eprintln!("no writable cgroup v2 hierarchy: the cgroup backend is not tested here");
    }
    backends
}

fn cgroups_available() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| m.contains(" - cgroup2 "))
        && rustix::process::geteuid().is_root()
}

/// A marker no other test uses: put in a service's environment, every
/// process it starts carries it.
pub(crate) fn marker(test: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{test}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A service running `script` under `/bin/sh -c`, marked with `marker`.
pub(crate) fn script(name: &str, marker: &str, script: &str) -> ServiceSpecBuilder {
    ServiceSpec::shell(name, script).env("MEND_TEST_MARKER", marker)
}

/// The live processes carrying `marker` (zombies have no environment left
/// and are not counted).
pub(crate) fn live(marker: &str) -> Vec<i32> {
    let needle = format!("MEND_TEST_MARKER={marker}\0");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .collect()
}

/// The session of a process, from `/proc/PID/stat` (field 6, counted after
/// the command name's last parenthesis). Not `getsid`: in a container whose
/// session leader is outside the pid namespace the kernel reports 0, which
/// rustix refuses with a panic.
pub(crate) fn session_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_ascii_whitespace().nth(3)?.parse().ok()
}

/// Waits until `done` holds, or fails after 20 s saying `what`.
pub(crate) async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until a service's status satisfies `done`; the status.
pub(crate) async fn until_status(
    handle: &ProcessHandle,
    service: &str,
    what: &str,
    mut done: impl FnMut(&ServiceStatus) -> bool,
) -> ServiceStatus {
    until(what, || handle.status(service).is_some_and(|s| done(&s))).await;
    handle.status(service).unwrap()
}

/// Starts a supervisor of `specs` with `isolation`, quiet.
pub(crate) fn supervise(
    name: &str,
    isolation: &Isolation,
    specs: Vec<ServiceSpec>,
) -> ProcessHandle {
    // The name names a cgroup: unique to this test process, so runs of
    // this binary side by side on one machine never share one.
    let mut builder = ProcessSupervisor::builder(&format!("{name}-{}", std::process::id()))
        .isolation(isolation.clone())
        .without_logging();
    for spec in specs {
        builder = builder.service(spec);
    }
    let handle = builder.build().unwrap().start().unwrap();
    match isolation {
        Isolation::ProcessGroup => assert_eq!(handle.backend(), &Backend::ProcessGroup),
        _ => assert!(
            matches!(handle.backend(), Backend::Cgroup(_)),
            "{:?}",
            handle.backend()
        ),
    }
    handle
}

/// Runs `body` in a copy of this test binary of its own (for what is
/// process-wide), on a fresh tokio runtime there; here, checks it passed.
pub(crate) fn in_own_process<F: Future<Output = ()>>(test: &str, body: impl FnOnce() -> F) {
    const VAR: &str = "MEND_TEST_REEXEC";
    if std::env::var(VAR).as_deref() == Ok(test) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(body());
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(VAR, test)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{test} in its own process failed:\n{text}"
    );
    assert!(text.contains("1 passed"), "{test} did not run:\n{text}");
}
