//! `mend reload-config` and SIGHUP: unchanged services keep their
//! processes, changed ones (and what starts after them) restart, new ones
//! start, removed ones stop; a config that does not check changes nothing.
//! Processes are told apart in /proc by a role in their environment.

use rustix::process::Signal;

use crate::support::*;

/// The live process of `role` leading its group (the service's own).
fn pid_of_role(mend: &Daemon, role: &str) -> Option<i32> {
    let needle = format!("ROLE={role}\0");
    live(&mend.marker).into_iter().find(|pid| {
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let pgrp = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().nth(2)?.parse::<i32>().ok());
        env.windows(needle.len()).any(|w| w == needle.as_bytes()) && pgrp == Some(*pid)
    })
}

fn service(role: &str, extra: &str) -> String {
    format!(
        "[services.{role}]\nshell = \"exec sleep 600\"\n{extra}\
         environment = {{ MEND_TEST_MARKER = \"@MARKER@\", ROLE = \"{role}\" }}\n\n"
    )
}

#[test]
fn a_reload_touches_only_what_changed_and_a_bad_config_changes_nothing() {
    let first = [
        service("kept", ""),
        service("changed", "stop_grace = \"2s\"\n"),
        service("follower", "after = [\"changed\"]\n"),
        service("removed", ""),
    ]
    .concat();
    let mut mend = Daemon::start("reload", &first);
    let mut pids = std::collections::HashMap::new();
    wait("all four run", || {
        for role in ["kept", "changed", "follower", "removed"] {
            if let Some(pid) = pid_of_role(&mend, role) {
                pids.insert(role, pid);
            }
        }
        pids.len() == 4
    });
    let marker = mend.marker.clone();
    let write = |text: &str| {
        std::fs::write(mend.config(), text.replace("@MARKER@", &marker)).unwrap();
    };

    // SIGHUP with a new config.
    write(
        &[
            service("kept", ""),
            service("changed", "stop_grace = \"3s\"\n"),
            service("follower", "after = [\"changed\"]\n"),
            service("added", ""),
        ]
        .concat(),
    );
    mend.signal(Signal::HUP);
    mend.wait_log(None, &["read again", "removed: removed"]);
    wait(
        "changed and follower restart, added starts, removed stops",
        || {
            pid_of_role(&mend, "changed").is_some_and(|p| p != pids["changed"])
                && pid_of_role(&mend, "follower").is_some_and(|p| p != pids["follower"])
                && pid_of_role(&mend, "added").is_some()
                && pid_of_role(&mend, "removed").is_none()
        },
    );
    assert_eq!(pid_of_role(&mend, "kept"), Some(pids["kept"]), "untouched");
    let now: Vec<Option<i32>> = ["kept", "changed", "follower", "added"]
        .iter()
        .map(|r| pid_of_role(&mend, r))
        .collect();

    // A config that does not check: refused whole, by the command too.
    write(
        &[
            service("kept", "restart = \"sometimes\"\n"),
            service("added", ""),
        ]
        .concat(),
    );
    // (The command reads the config too, to find the daemon: it says so
    // itself. SIGHUP asks the daemon alone.)
    let (code, out) = mend.control(&["reload-config"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(":3:11: `services.kept.restart`"), "{out}");
    mend.signal(Signal::HUP);
    mend.wait_log(
        None,
        &[
            "not reloaded, the running one stays",
            ":3:11: `services.kept.restart`",
        ],
    );
    // A change a reload cannot make: refused too.
    write(&format!("[mend]\nisolation = \"process-group\"\n{first}"));
    let (code, out) = mend.control(&["reload-config"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("needs mend restarted"), "{out}");
    let after: Vec<Option<i32>> = ["kept", "changed", "follower", "added"]
        .iter()
        .map(|r| pid_of_role(&mend, r))
        .collect();
    assert_eq!(after, now, "nothing changed");

    mend.signal(Signal::TERM);
    assert_eq!(mend.wait_exit().code(), Some(0), "{}", mend.log_text());
    assert!(mend.live().is_empty());
}
