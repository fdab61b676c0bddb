//! Stopping: the stop signal, the grace, then SIGKILL to everything left;
//! grandchildren and `setsid` escapees under cgroups; what escapes a
//! process group; signals and restarts by hand.

use std::time::Duration;

use mend::process::{Backend, ExitReason, Isolation, ServiceState, Signal};
use rustix::process::{Pid, kill_process};

use crate::support::{backends, live, marker, script, session_of, supervise, until, until_status};

#[tokio::test]
async fn a_service_that_ignores_sigterm_is_killed_after_its_grace() {
    for isolation in backends() {
        let tag = marker("stubborn");
        let spec = script(
            "stubborn",
            &tag,
            "trap '' TERM; echo up; while :; do sleep 1; done",
        )
        .stop_grace(Duration::from_millis(200))
        .build()
        .unwrap();
        let handle = supervise("stubborn", &isolation, vec![spec]);
        until_status(&handle, "stubborn", "it runs", |s| {
            s.state == ServiceState::Running
        })
        .await;
        // Its trap is set once its first `sleep` runs.
        until("its loop runs", || live(&tag).len() >= 2).await;
        handle.stop("stubborn").await.unwrap();
        assert!(
            live(&tag).is_empty(),
            "{isolation:?}: stop returns once all is gone"
        );
        let status = handle.status("stubborn").unwrap();
        assert_eq!(status.state, ServiceState::Stopped);
        assert_eq!(status.kills, 1);
        assert_eq!(status.exits.stopped, 1);
        assert_eq!(
            status.last_exit,
            Some(ExitReason::Signal {
                signal: 9,
                core_dumped: false
            })
        );
        handle.shutdown().await;
    }
}

#[tokio::test]
async fn stop_leaves_no_process_and_cgroups_catch_setsid_escapees() {
    for isolation in backends() {
        let tag = marker("escapee");
        // Grandchildren in the group, and a double fork into a new session.
        let spec = script(
            "forker",
            &tag,
            "sleep 600 & sleep 600 & (setsid sh -c 'sleep 600 & wait' &) ; wait",
        )
        .stop_grace(Duration::from_secs(5))
        .build()
        .unwrap();
        let handle = supervise("escapee", &isolation, vec![spec]);
        // sh, 2 sleeps, the setsid sh and its sleep.
        until("all of it runs", || live(&tag).len() >= 5).await;
        let escaped: Vec<i32> = live(&tag)
            .into_iter()
            .filter(|&pid| session_of(pid) == Some(pid))
            .collect();
        assert_eq!(escaped.len(), 1, "one process leads a session of its own");
        handle.stop("forker").await.unwrap();
        match handle.status("forker").unwrap().backend {
            Backend::Cgroup(_) => {
                assert!(live(&tag).is_empty(), "the cgroup holds escapees too")
            }
            _ => {
                // A process group. The documented escape: the new session's leader and its
                // child are left running. Clean them up.
                let left = live(&tag);
                assert!(!left.is_empty() && left.contains(&escaped[0]), "{left:?}");
                for pid in left {
                    let _ = kill_process(Pid::from_raw(pid).unwrap(), Signal::KILL);
                }
                until("the escapees are gone", || live(&tag).is_empty()).await;
            }
        }
        handle.shutdown().await;
        if let Backend::Cgroup(dir) = handle.backend() {
            assert!(!dir.exists(), "shutdown removes the supervisor's cgroup");
        }
    }
}

#[tokio::test]
async fn signals_and_restarts_by_hand_reach_the_service() {
    let tag = marker("by-hand");
    let spec = script(
        "worker",
        &tag,
        "trap 'exit 0' USR1; while :; do sleep 1; done",
    )
    .restart(mend::supervise::Restart::Transient)
    .build()
    .unwrap();
    let handle = supervise("by-hand", &Isolation::ProcessGroup, vec![spec]);
    let first = until_status(&handle, "worker", "it runs", |s| s.pid.is_some()).await;
    handle.restart("worker").await.unwrap();
    let second = until_status(&handle, "worker", "it runs again", |s| {
        s.pid.is_some() && s.pid != first.pid
    })
    .await;
    assert_eq!(
        (second.starts, second.restarts),
        (2, 0),
        "a restart by hand is not a failure"
    );
    // Its trap is set once its first `sleep` runs.
    until("it waits in its loop", || live(&tag).len() >= 2).await;
    assert!(handle.signal("worker", Signal::USR1).await.unwrap());
    let ended = until_status(&handle, "worker", "USR1 ends it", |s| {
        s.state == ServiceState::Exited
    })
    .await;
    assert_eq!(ended.last_exit, Some(ExitReason::Code(0)));
    assert!(
        !handle.signal("worker", Signal::USR1).await.unwrap(),
        "nothing runs"
    );
    assert!(handle.stop("nobody").await.is_err());
    handle.shutdown().await;
    assert!(live(&tag).is_empty());
}

#[tokio::test]
async fn kill_all_ends_every_service_at_once_without_waiting_for_graces() {
    for isolation in backends() {
        let tag = marker("kill-all");
        let stubborn = |name: &str| {
            script(name, &tag, "trap '' TERM; sleep 600 & wait")
                .stop_grace(Duration::from_secs(3600))
                .build()
                .unwrap()
        };
        let handle = supervise("kill-all", &isolation, vec![stubborn("a"), stubborn("b")]);
        until("both run with their children", || live(&tag).len() >= 4).await;
        let shutdown = tokio::spawn({
            let handle = handle.clone();
            async move { handle.shutdown().await }
        });
        until("b is being stopped", || {
            handle
                .status("b")
                .is_some_and(|s| s.state == ServiceState::Stopping)
        })
        .await;
        handle.kill_all();
        shutdown.await.unwrap();
        assert!(live(&tag).is_empty(), "{isolation:?}");
    }
}
