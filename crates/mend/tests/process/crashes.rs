//! Restarts: crash loops give up at their intensity, success codes and

#![allow(
    clippy::disallowed_methods,
    reason = "tests read what the services wrote"
)]
//! restart kinds decide, a start grace catches early exits, and a
//! service's leftovers are gone before its next start.

use std::time::Duration;

use mend::process::{ExitReason, Isolation, ServiceState};
use mend::retry::{Backoff, Jitter};
use mend::supervise::{Restart, RestartPlan};

use crate::support::{backends, live, marker, script, supervise, until, until_status};

fn fast_restarts(max: u32) -> mend::supervise::RestartPlanBuilder {
    RestartPlan::builder()
        .intensity(max, Duration::from_secs(60))
        .backoff(
            Backoff::constant(Duration::ZERO),
            Jitter::None,
            Duration::from_secs(600),
        )
}

#[tokio::test]
async fn a_crash_loop_gives_up_at_its_intensity_and_says_why() {
    for isolation in backends() {
        let tag = marker("crash-loop");
        let spec = script("crasher", &tag, "exit 3")
            .restarts(fast_restarts(4))
            .build()
            .unwrap();
        let handle = supervise("crash-loop", &isolation, vec![spec]);
        let status = until_status(&handle, "crasher", "it gives up", |s| {
            s.state == ServiceState::GaveUp
        })
        .await;
        assert_eq!(
            status.starts, 5,
            "{isolation:?}: the first start and 4 restarts"
        );
        assert_eq!(status.restarts, 4);
        assert_eq!(status.exits.failed, 5);
        assert_eq!(status.last_exit, Some(ExitReason::Code(3)));
        assert_eq!(status.give_ups, 1);
        assert!(live(&tag).is_empty());
        // A start by hand begins the count again.
        handle.start("crasher").await.unwrap();
        until_status(&handle, "crasher", "it gives up again", |s| s.give_ups == 2).await;
        assert_eq!(handle.status("crasher").unwrap().starts, 10);
        handle.shutdown().await;
    }
}

#[tokio::test]
async fn success_codes_and_restart_kinds_decide_what_happens_next() {
    for isolation in backends() {
        let tag = marker("kinds");
        let handle = supervise(
            "kinds",
            &isolation,
            vec![
                script("done", &tag, "exit 2")
                    .restart(Restart::Transient)
                    .success_codes([0, 2])
                    .restarts(fast_restarts(5))
                    .build()
                    .unwrap(),
                script("retried", &tag, "exit 1")
                    .restart(Restart::Transient)
                    .restarts(fast_restarts(2))
                    .build()
                    .unwrap(),
                script("once", &tag, "kill -SEGV $$")
                    .restart(Restart::Temporary)
                    .build()
                    .unwrap(),
            ],
        );
        let done = until_status(&handle, "done", "the one-shot ends", |s| {
            s.state == ServiceState::Exited
        })
        .await;
        assert_eq!(
            (done.starts, done.exits.normal),
            (1, 1),
            "exit 2 is a success here"
        );
        let retried = until_status(&handle, "retried", "it gives up", |s| {
            s.state == ServiceState::GaveUp
        })
        .await;
        assert_eq!(
            retried.starts, 3,
            "a failure of a transient service is restarted"
        );
        let once = until_status(&handle, "once", "it ends", |s| {
            s.state == ServiceState::Exited
        })
        .await;
        assert_eq!(once.starts, 1);
        assert!(
            matches!(once.last_exit, Some(ExitReason::Signal { signal: 11, .. })),
            "{:?}",
            once.last_exit
        );
        handle.shutdown().await;
    }
}

#[tokio::test]
async fn a_process_that_ends_within_its_start_grace_failed_to_start() {
    let tag = marker("grace");
    let handle = supervise(
        "grace",
        &mend::process::Isolation::ProcessGroup,
        vec![
            script("early", &tag, "exit 0")
                .restart(Restart::Transient)
                .start_grace(Duration::from_secs(30))
                .restarts(fast_restarts(1))
                .build()
                .unwrap(),
        ],
    );
    let status = until_status(&handle, "early", "it gives up", |s| {
        s.state == ServiceState::GaveUp
    })
    .await;
    assert_eq!(
        status.exits.failed, 2,
        "exit 0 within the grace is a failed start"
    );
    assert_eq!(status.exits.normal, 0);
    handle.shutdown().await;
}

#[tokio::test]
async fn what_a_crashed_service_started_is_gone_before_its_next_start() {
    for isolation in backends() {
        let tag = marker("leftovers");
        // Starts two grandchildren (one that ignores SIGTERM) and crashes.
        let spec = script(
            "parent",
            &tag,
            "sleep 600 & sh -c 'trap \"\" TERM; sleep 600' & sleep 0.2; exit 1",
        )
        .stop_grace(Duration::from_millis(300))
        .restarts(fast_restarts(1))
        .build()
        .unwrap();
        let handle = supervise("leftovers", &isolation, vec![spec]);
        until_status(&handle, "parent", "it gives up", |s| {
            s.state == ServiceState::GaveUp
        })
        .await;
        until("no process of it is left", || live(&tag).is_empty()).await;
        let status = handle.status("parent").unwrap();
        assert_eq!(status.starts, 2);
        assert!(
            status.kills >= 1,
            "the TERM-proof grandchild was killed: {status:?}"
        );
        handle.shutdown().await;
    }
}

#[tokio::test]
async fn a_service_that_gave_up_starts_afresh_after_its_cooldown() {
    let tag = marker("cooldown");
    let spec = script("phoenix", &tag, "exit 1")
        .restarts(fast_restarts(1))
        .restart_cooldown(Duration::from_millis(200))
        .build()
        .unwrap();
    let handle = supervise(
        "cooldown",
        &mend::process::Isolation::ProcessGroup,
        vec![spec],
    );
    let status = until_status(&handle, "phoenix", "it gave up twice", |s| s.give_ups >= 2).await;
    assert!(status.starts >= 4, "2 starts per round: {status:?}");
    handle.shutdown().await;
}

#[tokio::test]
async fn the_give_up_command_runs_once_with_the_service_and_its_exits() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record");
    let tag = marker("give-up");
    let spec = script("doomed", &tag, "exit 3")
        .restarts(fast_restarts(2))
        .on_give_up(
            [
                "/bin/sh".to_owned(),
                "-c".to_owned(),
                format!(
                    "printf '%s|%s|%s\\n' \"$MEND_SERVICE\" \"$MEND_REASON\" \"$MEND_EXITS\" >> {}",
                    record.display()
                ),
            ],
            Duration::from_secs(10),
        )
        .build()
        .unwrap();
    let hung = script("hung", &tag, "exit 1")
        .restarts(fast_restarts(0))
        .on_give_up(
            ["/bin/sh", "-c", "sleep 600 & sleep 600"],
            Duration::from_millis(100),
        )
        .build()
        .unwrap();
    let handle = supervise(
        "give-up",
        &mend::process::Isolation::ProcessGroup,
        vec![spec, hung],
    );
    until_status(&handle, "doomed", "it gives up", |s| {
        s.state == ServiceState::GaveUp
    })
    .await;
    until("the command wrote its record", || {
        std::fs::read_to_string(&record)
            .is_ok_and(|r| r.starts_with("doomed|") && r.ends_with('\n'))
    })
    .await;
    let text = std::fs::read_to_string(&record).unwrap();
    let (service, rest) = text.split_once('|').unwrap();
    let (reason, exits) = rest.split_once('|').unwrap();
    assert_eq!(service, "doomed");
    assert_eq!(reason, "3 restarts within 60s, more than the 2 allowed");
    let exits: Vec<&str> = exits.trim_end().lines().collect();
    assert_eq!(exits.len(), 3, "{exits:?}");
    assert!(
        exits
            .iter()
            .all(|e| e.starts_with("exited with code 3 after")),
        "{exits:?}"
    );
    // The hung command is killed after its timeout, with what it started.
    until_status(&handle, "hung", "it gives up", |s| {
        s.state == ServiceState::GaveUp
    })
    .await;
    until("the hung command and its child are gone", || {
        live(&tag).is_empty()
    })
    .await;
    handle.shutdown().await;
    let record = std::fs::read_to_string(&record).unwrap();
    assert_eq!(record.matches("doomed|").count(), 1, "once: {record}");
}

#[tokio::test]
async fn groups_restart_with_one_for_all_and_rest_for_one() {
    use mend::process::ProcessSupervisor;
    use mend::supervise::Strategy;

    let dir = tempfile::tempdir().unwrap();
    let fail = |name: &str| dir.path().join(name);
    let tag = marker("groups");
    // Each member fails once when its file exists (the file is removed),
    // and otherwise runs.
    let member = |name: &str| {
        script(
            name,
            &tag,
            &format!(
                "if [ -e {0} ]; then rm {0}; sleep 0.2; exit 1; fi; sleep 600",
                fail(name).display()
            ),
        )
        .build()
        .unwrap()
    };
    let plan = || {
        RestartPlan::builder()
            .intensity(5, Duration::from_secs(60))
            .backoff(
                Backoff::constant(Duration::ZERO),
                Jitter::None,
                Duration::from_secs(600),
            )
    };
    let handle = ProcessSupervisor::builder("groups")
        .isolation(mend::process::Isolation::ProcessGroup)
        .without_logging()
        .service(member("a1"))
        .service(member("a2"))
        .service(member("r1"))
        .service(member("r2"))
        .service(member("r3"))
        .group("pair", Strategy::OneForAll, plan(), ["a1", "a2"])
        .group("chain", Strategy::RestForOne, plan(), ["r1", "r2", "r3"])
        .build()
        .unwrap()
        .start()
        .unwrap();
    let pids = || -> Vec<Option<i32>> {
        ["a1", "a2", "r1", "r2", "r3"]
            .iter()
            .map(|n| handle.status(n).unwrap().pid)
            .collect()
    };
    until("all run", || pids().iter().all(Option::is_some)).await;
    let before = pids();
    // a2 fails: the whole pair restarts (a1 too).
    std::fs::write(fail("a2"), "").unwrap();
    handle.restart("a2").await.unwrap(); // run again now, to see the file
    until_status(&handle, "a2", "a2 failed once and runs again", |s| {
        s.exits.failed == 1 && s.state == ServiceState::Running
    })
    .await;
    let a1 = until_status(&handle, "a1", "a1 restarted with its group", |s| {
        s.exits.stopped == 1 && s.state == ServiceState::Running
    })
    .await;
    assert_ne!(a1.pid, before[0]);
    let a2 = handle.status("a2").unwrap();
    assert!(
        a1.since < a2.since,
        "the group starts again in order, a1 before a2 (the cause): {a1:?} {a2:?}"
    );
    // r2 fails: r2 and r3 restart, r1 keeps running.
    std::fs::write(fail("r2"), "").unwrap();
    handle.restart("r2").await.unwrap();
    until_status(&handle, "r2", "r2 failed once and runs again", |s| {
        s.exits.failed == 1 && s.state == ServiceState::Running
    })
    .await;
    let r3 = until_status(&handle, "r3", "r3 restarted after r2", |s| {
        s.exits.stopped == 1 && s.state == ServiceState::Running
    })
    .await;
    assert_ne!(r3.pid, before[4]);
    let r1 = handle.status("r1").unwrap();
    assert_eq!(
        (r1.pid, r1.exits.stopped, r1.starts),
        (before[2], 0, 1),
        "r1 untouched"
    );
    handle.shutdown().await;
    assert!(live(&tag).is_empty());
}

#[tokio::test]
async fn a_group_that_gives_up_stops_every_member() {
    use mend::process::ProcessSupervisor;
    use mend::supervise::Strategy;

    let tag = marker("group-gives-up");
    let handle = ProcessSupervisor::builder(&format!("group-gives-up-{}", std::process::id()))
        .isolation(mend::process::Isolation::ProcessGroup)
        .without_logging()
        .service(script("steady", &tag, "sleep 600").build().unwrap())
        .service(script("doomed", &tag, "sleep 0.3; exit 1").build().unwrap())
        .service(script("outsider", &tag, "sleep 600").build().unwrap())
        .group(
            "pair",
            Strategy::OneForOne,
            fast_restarts(0),
            ["steady", "doomed"],
        )
        .build()
        .unwrap()
        .start()
        .unwrap();
    until_status(&handle, "doomed", "the group gives up", |s| {
        s.state == ServiceState::GaveUp
    })
    .await;
    let steady = until_status(&handle, "steady", "its sibling is stopped with it", |s| {
        s.state == ServiceState::GaveUp
    })
    .await;
    assert_eq!((steady.starts, steady.exits.stopped), (1, 1));
    assert_eq!(
        handle.status("outsider").unwrap().state,
        ServiceState::Running,
        "not in the group"
    );
    // A start by hand starts the group's count over.
    handle.start("doomed").await.unwrap();
    until_status(&handle, "doomed", "it runs again", |s| s.starts == 2).await;
    handle.shutdown().await;
    assert!(live(&tag).is_empty());
}

#[tokio::test]
async fn status_says_when_a_backoff_ends_and_usage_counts_what_runs() {
    use mend::clock::{Clock, SystemClock};
    for isolation in backends() {
        let tag = marker("backoff");
        let ran = std::env::temp_dir().join(format!("{tag}.ran"));
        let _ = std::fs::remove_file(&ran);
        // The first two runs end at once (the first restart is at once,
        // the backoff starts with the second); the next ones run with a
        // child.
        let spec = script(
            "patient",
            &tag,
            &format!(
                "n=$(cat {0} 2>/dev/null || echo 0); echo $((n+1)) > {0}; \
                 if [ $n -ge 2 ]; then sleep 600 & wait; fi; exit 1",
                ran.display()
            ),
        )
        .restarts(
            RestartPlan::builder()
                .intensity(5, Duration::from_secs(60))
                .backoff(
                    Backoff::constant(Duration::from_secs(3600)),
                    Jitter::None,
                    Duration::from_secs(600),
                ),
        )
        .build()
        .unwrap();
        let handle = supervise("backoff", &isolation, vec![spec]);
        let waiting = until_status(&handle, "patient", "it waits out its backoff", |s| {
            matches!(s.state, ServiceState::Restarting { .. })
        })
        .await;
        let now = SystemClock.wall().as_unix_nanos();
        let due = waiting
            .restart_due
            .expect("a due time while restarting")
            .as_unix_nanos();
        let left = Duration::from_nanos(due.saturating_sub(now));
        assert!(
            left > Duration::from_secs(3590) && left <= Duration::from_secs(3600),
            "{isolation:?}: {left:?}"
        );
        assert_eq!(
            handle.usage("patient").map(|u| u.processes),
            match isolation {
                // Its cgroup stays, empty.
                Isolation::ProcessGroup => None,
                _ => Some(0),
            },
            "{isolation:?}"
        );
        handle.start("patient").await.unwrap();
        let running = until_status(&handle, "patient", "a start by hand cuts it short", |s| {
            s.state == ServiceState::Running
        })
        .await;
        assert_eq!(running.restart_due, None);
        // Both readings are snapshots of a shell that forks: wait until
        // they agree on the shell and its sleep.
        until("usage counts the shell and its sleep", || {
            live(&tag).len() == 2
                && handle
                    .usage("patient")
                    .is_some_and(|u| u.processes == 2 && u.memory_bytes > 0)
        })
        .await;
        handle.shutdown().await;
        assert!(live(&tag).is_empty());
        let _ = std::fs::remove_file(&ran);
    }
}
