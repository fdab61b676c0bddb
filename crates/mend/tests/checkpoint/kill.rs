//! Proof 4, real kills: a child process (this test binary, re-run with
//! `--exact kill::child_appends_until_killed`) appends 1, 2, 3, ... and
//! prints `ack N` after each append returns. The parent SIGKILLs it after a
//! random number of acknowledgements, reopens the store, and checks that
//! every acknowledged value is there, in order, with no gap, and that
//! nothing corrupt was loaded. `MEND_CHECKPOINT_KILL_ROUNDS` sets the number
//! of rounds (default 200).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mend::checkpoint::{Discarded, Store};

use crate::support::{Ledger, Rng, small_options};

/// Set in the child's environment: the checkpoint directory.
const CHILD_DIR: &str = "MEND_CHECKPOINT_KILL_CHILD_DIR";
const ROUNDS: &str = "MEND_CHECKPOINT_KILL_ROUNDS";
/// How long the parent waits for the child's next line: generous, for a
/// loaded machine; it is a deadline, not a sleep.
const DEADLINE: Duration = Duration::from_secs(120);

/// The child: runs only when the parent set `CHILD_DIR`.
#[test]
fn child_appends_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let mut store = Store::<Ledger>::open(&dir, small_options()).expect("child: open");
    store.load().expect("child: load");
    let mut n = store.state().prefix_len().expect("child: loaded a prefix") as u64;
    let mut out = std::io::stdout().lock();
    loop {
        n += 1;
        store.append(&n).expect("child: append");
        // Acknowledged: tell the parent. If the parent is gone, stop.
        if writeln!(out, "ack {n}").and_then(|()| out.flush()).is_err() {
            return;
        }
        if n.is_multiple_of(5) {
            store.save().expect("child: save");
        }
    }
}

/// One round: start a child, wait for `acks` acknowledgements, kill it.
/// Returns the highest value acknowledged.
fn round(dir: &Path, acks: u64) -> u64 {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "kill::child_appends_until_killed", "--nocapture"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("ack ")
                && tx.send(n.parse::<u64>().unwrap()).is_err()
            {
                break;
            }
        }
    });
    let mut acked = 0;
    let mut seen = 0;
    while seen < acks {
        match rx.recv_timeout(DEADLINE) {
            Ok(n) => {
                acked = n;
                seen += 1;
            }
            Err(e) => {
                let _ = child.kill();
                let output = child.wait_with_output().unwrap();
                panic!(
                    "child stopped acknowledging ({e}): {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
    }
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    reader.join().unwrap();
    // Lines written before the kill are acknowledgements too.
    while let Ok(n) = rx.try_recv() {
        acked = n;
    }
    acked
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_append() {
    let rounds: u64 = std::env::var(ROUNDS)
        .ok()
        .map(|r| r.parse().expect("MEND_CHECKPOINT_KILL_ROUNDS is a number"))
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(0x6b69_6c6c);
    let mut acked = 0;
    let mut torn = 0;
    for r in 0..rounds {
        // Often mid-stream, sometimes before the first append finishes.
        let acks = if rng.below(8) == 0 {
            0
        } else {
            1 + rng.below(25)
        };
        acked = acked.max(round(dir.path(), acks));

        let mut store = Store::<Ledger>::open(dir.path(), small_options())
            .unwrap_or_else(|e| panic!("round {r}: reopen: {e}"));
        let report = store
            .load()
            .unwrap_or_else(|e| panic!("round {r}: recovery refused the directory: {e}"));
        let n = store
            .state()
            .prefix_len()
            .unwrap_or_else(|| panic!("round {r}: a gap: {:?}", store.state()))
            as u64;
        assert!(
            n >= acked,
            "round {r}: loaded {n}, acknowledged {acked} ({report})"
        );
        for discarded in &report.discarded {
            assert!(
                matches!(
                    discarded,
                    Discarded::TornTail { .. } | Discarded::TempFile { .. }
                ),
                "round {r}: a kill should only leave torn tails and temp files: {discarded}"
            );
            torn += 1;
        }
        acked = n;
    }
    eprintln!("{rounds} kills, {acked} values, {torn} torn tails or temp files cleaned up");
}
