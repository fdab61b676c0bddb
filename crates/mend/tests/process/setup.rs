//! What a service gets before it execs: its user and groups, its resource
//! limits, its environment and directory, read back from `/proc`.

#![allow(clippy::disallowed_methods, reason = "tests read /proc")]

use mend::process::{Isolation, Resource, ServiceState, credentials_for};

use crate::support::{backends, marker, supervise, until_status};

fn proc_line(pid: i32, file: &str, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .unwrap()
        .lines()
        .find(|line| line.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/{file}"))
        .split_whitespace()
        .skip(key.split_whitespace().count())
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn a_service_runs_as_its_user_with_its_limits_and_environment() {
    for isolation in backends() {
        let tag = marker("setup");
        let nobody = credentials_for("nobody", None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let spec = mend::process::ServiceSpec::builder("confined", ["sleep", "600"])
            .run_as(nobody.clone())
            .limit(Resource::Nofile, Some(321), Some(654))
            .clean_env()
            .env("MEND_TEST_MARKER", &tag)
            .env("GREETING", "hello")
            .dir(dir.path())
            .build()
            .unwrap();
        let handle = supervise("setup", &isolation, vec![spec]);
        let pid = until_status(&handle, "confined", "it runs", |s| s.pid.is_some())
            .await
            .pid
            .unwrap();
        let uid = nobody.uid.to_string();
        let gid = nobody.gid.to_string();
        assert_eq!(
            proc_line(pid, "status", "Uid:"),
            [uid.as_str(); 4].join(" ")
        );
        assert_eq!(
            proc_line(pid, "status", "Gid:"),
            [gid.as_str(); 4].join(" ")
        );
        assert_eq!(
            proc_line(pid, "status", "Groups:"),
            gid,
            "root's groups are gone"
        );
        assert_eq!(proc_line(pid, "limits", "Max open files"), "321 654 files");
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let mut vars: Vec<&[u8]> = environ
            .split(|&b| b == 0)
            .filter(|v| !v.is_empty())
            .collect();
        vars.sort();
        assert_eq!(
            vars,
            [
                b"GREETING=hello".as_slice(),
                b"MEND_SERVICE=confined",
                format!("MEND_SUPERVISOR={}", handle.name()).as_bytes(),
                format!("MEND_TEST_MARKER={tag}").as_bytes()
            ],
            "a clean environment holds only what the spec adds, and which service it is"
        );
        assert_eq!(
            std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap(),
            dir.path().canonicalize().unwrap()
        );
        handle.shutdown().await;
    }
}

#[tokio::test]
async fn a_spawn_that_fails_is_a_failed_start_with_its_reason() {
    let spec = mend::process::ServiceSpec::builder("missing", ["/nonexistent/program"])
        .restarts(
            mend::supervise::RestartPlan::builder()
                .intensity(1, std::time::Duration::from_secs(60)),
        )
        .build()
        .unwrap();
    let handle = supervise("missing", &Isolation::ProcessGroup, vec![spec]);
    let status = until_status(&handle, "missing", "it gives up", |s| {
        s.state == ServiceState::GaveUp
    })
    .await;
    let reason = status.last_exit.unwrap().to_string();
    assert!(reason.starts_with("could not start: "), "{reason}");
    assert!(reason.contains("No such file"), "{reason}");
    handle.shutdown().await;
}
