//! Reaping, each test in a process of its own (being a subreaper, the fd
//! table and zombies among descendants are process-wide): 1,000
//! crash-restarts leave no zombie and no descriptor behind, and a child
//! started with `tokio::process` beside the orphan reaper keeps its own
//! exit status.

#![allow(clippy::disallowed_methods, reason = "tests read /proc")]

use std::time::Duration;

use mend::process::{Isolation, OrphanReaper, ServiceState};
use mend::retry::{Backoff, Jitter};
use mend::supervise::RestartPlan;

use crate::support::{
    backends, in_own_process, live, marker, script, supervise, until, until_status,
};

/// Our zombie descendants: children whose state is `Z` (orphans below us
/// are re-parented to us, the subreaper, so every zombie we caused is a
/// child of ours).
fn zombie_children() -> Vec<i32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let rest = &stat[stat.rfind(')').unwrap() + 2..];
                let mut fields = rest.split(' ');
                fields.next() == Some("Z") && fields.next() == Some(me.as_str())
            })
        })
        .collect()
}

fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            Some(format!(
                "{} -> {}",
                e.file_name().to_str()?,
                target.display()
            ))
        })
        .collect();
    fds.sort();
    fds
}

#[test]
fn a_thousand_crash_restarts_leave_no_zombie_and_no_descriptor() {
    in_own_process(
        "reaping::a_thousand_crash_restarts_leave_no_zombie_and_no_descriptor",
        || async {
            let reaper = OrphanReaper::start().unwrap();
            for isolation in backends() {
                let tag = marker("thousand");
                // Each run leaves an orphan behind (a grandchild that
                // outlives its parent briefly), then crashes.
                let spec = script("crasher", &tag, "sleep 0.01 & exit 1")
                    .restarts(
                        RestartPlan::builder()
                            .intensity(999, Duration::from_secs(3600))
                            .backoff(
                                Backoff::constant(Duration::ZERO),
                                Jitter::None,
                                Duration::from_secs(3600),
                            ),
                    )
                    .build()
                    .unwrap();
                // Warm up what opens lazily (the runtime's signal pipe, the
                // cgroup probe), then take the fd table.
                let warm = supervise("warm", &isolation, vec![]);
                warm.shutdown().await;
                let fds_before = open_fds();
                let handle = supervise("thousand", &isolation, vec![spec]);
                let status =
                    until_status(&handle, "crasher", "1,000 starts, then it gives up", |s| {
                        s.state == ServiceState::GaveUp
                    })
                    .await;
                assert_eq!(status.starts, 1000, "{isolation:?}: {status:?}");
                handle.shutdown().await;
                drop(handle);
                until("nothing of it lives", || live(&tag).is_empty()).await;
                until("no zombie is left among our children", || {
                    reaper.reap_now();
                    zombie_children().is_empty()
                })
                .await;
                until("the fd table is as it was", || open_fds() == fds_before).await;
            }
            assert!(
                reaper.reaped() > 0,
                "orphans were re-parented to us and reaped"
            );
        },
    );
}

#[test]
fn a_tokio_child_beside_the_orphan_reaper_keeps_its_exit_status() {
    in_own_process(
        "reaping::a_tokio_child_beside_the_orphan_reaper_keeps_its_exit_status",
        || async {
            let reaper = OrphanReaper::start().unwrap();
            let tag = marker("beside");
            // A service that leaves orphans, so the reaper has work.
            let spec = script("orphaner", &tag, "(sleep 0.05 &); sleep 600")
                .build()
                .unwrap();
            let handle = supervise("beside", &Isolation::ProcessGroup, vec![spec]);
            let mut child = tokio::process::Command::new("sh")
                .args(["-c", "exit 7"])
                .spawn()
                .unwrap();
            let pid = child.id().unwrap() as i32;
            // Once it is a zombie, the reaper passes over it (several
            // times, at once, not by chance of timing) ...
            until("the child is a zombie", || zombie_children().contains(&pid)).await;
            for _ in 0..3 {
                reaper.reap_now();
            }
            assert!(zombie_children().contains(&pid), "the reaper left it alone");
            // ... and its owner reaps it, with its status.
            let status = child.wait().await.unwrap();
            assert_eq!(status.code(), Some(7));
            until("the service's orphan was reaped", || {
                reaper.reap_now();
                reaper.reaped() >= 1
            })
            .await;
            handle.shutdown().await;
        },
    );
}
