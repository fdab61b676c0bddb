//! mend survives its own death: SIGKILLed at moments a seeded generator
//! picks (during starts, crashes, probe failures, backoffs, restarts by
//! hand), a new mend on
//! the same state directory re-adopts what still runs. Checked in /proc,
//! not by asking mend: no service ever runs twice, a service stopped by
//! hand stays down, the others run again; and the restart counts mend
//! reports never go back. `MEND_READOPT_ROUNDS` sets the rounds (20 by
//! default).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

const CONFIG: &str = r#"
[services.steady]
shell = "sleep 600 & sleep 600 & wait"
environment = { MEND_TEST_MARKER = "@MARKER@", ROLE = "steady" }

[services.flaky]
shell = "sleep 600 & sleep 0.3; exit 1"
restart_delay = "20ms"
restart_delay_max = "200ms"
start_limit_burst = 1000000
environment = { MEND_TEST_MARKER = "@MARKER@", ROLE = "flaky" }

[services.probed]
shell = "sleep 600 & wait"
start_limit_burst = 1000000
restart_delay = "20ms"
environment = { MEND_TEST_MARKER = "@MARKER@", ROLE = "probed" }
# Fails about one check in four.
liveness = { exec = ["sh", "-c", "test $(( $(od -An -N1 -tu1 /dev/urandom) % 4 )) -ne 0"], period = "50ms", failure_threshold = 1 }

[services.held]
shell = "exec sleep 600"
environment = { MEND_TEST_MARKER = "@MARKER@", ROLE = "held" }
"#;

/// How many runs of a role are alive now.
fn shells(marker: &str, role: &str) -> usize {
    shell_pids(marker, role).len()
}

/// What a person needs to see when two runs are found: each run's stat
/// and cgroup.
fn describe(marker: &str, role: &str) -> String {
    shell_pids(marker, role)
        .iter()
        .map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
            format!("{stat} | {}", cgroup.trim())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The runs of a role alive now: each run of a service leads a process
/// group of its own, so its processes that lead their group (what they
/// fork and orphan does not).
fn shell_pids(marker: &str, role: &str) -> Vec<i32> {
    let needle = format!("ROLE={role}\0");
    let leads_its_group = |pid: i32| -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        stat.rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().nth(2)?.parse::<i32>().ok())
            == Some(pid)
    };
    live(marker)
        .into_iter()
        .filter(|&pid| {
            let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            env.windows(needle.len()).any(|w| w == needle.as_bytes()) && leads_its_group(pid)
        })
        .collect()
}

/// Restart counts by service, from `mend status --json`, once it answers.
fn restarts(mend: &Daemon) -> Vec<(String, u64)> {
    let mut out;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, text) = mend.control(&["status", "--json"]);
        out = text;
        if code == Some(0) {
            break;
        }
        if Instant::now() >= deadline {
            // Who holds the ledger's lock, if that is why.
            let holders: Vec<String> = std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                .filter(|pid| {
                    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                        fds.filter_map(Result::ok).any(|fd| {
                            std::fs::read_link(fd.path()).is_ok_and(|p| p.ends_with("ledger/LOCK"))
                        })
                    })
                })
                .map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
                .collect();
            panic!(
                "the new mend never answered: {out}\nledger lock held by: {holders:#?}\n{}",
                mend.log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let services: Vec<Value> = serde_json::from_str(&out).unwrap();
    services
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["restarts"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_killed_mend_is_replaced_and_readopts_its_services_never_running_one_twice() {
    let rounds: u32 = std::env::var("MEND_READOPT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let mut mend = Daemon::start("readopt", CONFIG);
    wait("steady runs", || shells(&mend.marker, "steady") == 1);
    let (code, out) = mend.control(&["stop", "held"]);
    assert_eq!(code, Some(0), "{out}");
    let mut before = restarts(&mend);
    // A seeded generator: the same moments on every run (xorshift).
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut adopted = 0;
    for round in 0..rounds {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let pause = Duration::from_millis(seed % 700);
        let until = Instant::now() + pause;
        // Every other round, a restart by hand is under way (steady's stop
        // signal, its grace) when mend is killed.
        let mut by_hand = (round % 2 == 1).then(|| {
            std::process::Command::new(MEND)
                .args(["restart", "steady"])
                .arg(mend.config())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        });
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        mend.kill_and_start_again();
        if let Some(command) = &mut by_hand {
            let _ = command.wait();
        }
        // From the new mend's start: never two runs of one service, and
        // the one stopped by hand stays down.
        let settle = Instant::now() + Duration::from_millis(400);
        while Instant::now() < settle {
            for role in ["steady", "flaky", "probed"] {
                let n = shells(&mend.marker, role);
                assert!(
                    n <= 1,
                    "round {round}: {n} runs of {role}:\n{}\n{}",
                    describe(&mend.marker, role),
                    mend.log_text()
                );
            }
            assert_eq!(
                shells(&mend.marker, "held"),
                0,
                "round {round}: held was started"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        wait("steady runs once", || shells(&mend.marker, "steady") == 1);
        let after = restarts(&mend);
        for ((name, was), (_, now)) in before.iter().zip(&after) {
            assert!(
                now >= was,
                "round {round}: {name}'s restarts went from {was} to {now}"
            );
        }
        adopted += mend
            .lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.to_string().contains("adopted (pid"))
            .count();
        before = after;
    }
    assert!(
        adopted >= rounds as usize,
        "steady at least is adopted each round: {adopted}"
    );
    eprintln!("{rounds} rounds, {adopted} adoptions; restarts at the end: {before:?}");
    mend.signal(rustix::process::Signal::TERM);
    assert_eq!(mend.wait_exit().code(), Some(0), "{}", mend.log_text());
    wait("nothing of it is left", || mend.live().is_empty());
}
