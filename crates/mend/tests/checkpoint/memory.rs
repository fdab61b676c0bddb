//! Recovery in bounded memory: a journal of 64 MiB (256 records of
//! 256 KiB, no snapshot since the empty one) loads while the process's
//! peak resident memory grows by less than 8 MiB. Recovery holds one
//! snapshot, the journal scanner's 64 KiB window and one record, never a
//! whole segment.
//!
//! The load runs in a child process (this test binary again, with
//! `--exact memory::child_loads_and_reports_its_peak`), so the peak
//! (`VmHWM` in `/proc/self/status`) is the load's alone.

use std::process::Command;

use mend::checkpoint::{Io, Journaled, Options, StdIo, Store};
use serde::{Deserialize, Serialize};

/// Set in the child's environment: the checkpoint directory.
const CHILD_DIR: &str = "MEND_CHECKPOINT_MEMORY_CHILD_DIR";
const RECORDS: u64 = 256;
const RECORD: usize = 256 << 10;
const BOUND: u64 = 8 << 20;

/// Counts what it is given, keeping none of it.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Tally {
    records: u64,
    bytes: u64,
}

impl Journaled for Tally {
    type Change = String;

    fn apply(&mut self, blob: &String) {
        self.records += 1;
        self.bytes += blob.len() as u64;
    }
}

fn options() -> Options {
    Options::default()
        .compact_after_records(u64::MAX)
        .compact_after_bytes(u64::MAX)
}

/// A field of `/proc/self/status`, in bytes.
fn status(field: &str) -> u64 {
    let status = StdIo.read("/proc/self/status".as_ref()).unwrap();
    let status = String::from_utf8(status).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kib: u64 = line
        .trim_start_matches(field)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib << 10
}

/// The child: runs only when the parent set `CHILD_DIR`.
#[test]
fn child_loads_and_reports_its_peak() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let before = status("VmRSS:");
    let mut store = Store::<Tally>::open(&dir, options()).unwrap();
    store.load().unwrap();
    let peak = status("VmHWM:");
    let state = store.state();
    println!(
        "loaded {} records {} bytes grew {}",
        state.records,
        state.bytes,
        peak.saturating_sub(before)
    );
}

#[test]
fn recovery_reads_a_journal_far_larger_than_its_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::<Tally>::open(dir.path(), options()).unwrap();
        store.load().unwrap();
        let blob = "m".repeat(RECORD);
        for _ in 0..RECORDS {
            store.append(&blob).unwrap();
        }
    }
    let journal: u64 = StdIo
        .list(dir.path())
        .unwrap()
        .iter()
        .filter(|n| n.starts_with("journal-"))
        .map(|n| StdIo.read(&dir.path().join(n)).unwrap().len() as u64)
        .sum();
    assert!(journal > 8 * BOUND, "{journal} bytes of journal");

    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "memory::child_loads_and_reports_its_peak",
            "--nocapture",
        ])
        .env(CHILD_DIR, dir.path())
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("loaded "))
        .unwrap_or_else(|| panic!("no report from the child: {stdout}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let (records, bytes, grew): (u64, u64, u64) = (
        words[1].parse().unwrap(),
        words[3].parse().unwrap(),
        words[6].parse().unwrap(),
    );
    assert_eq!((records, bytes), (RECORDS, RECORDS * RECORD as u64));
    eprintln!("a journal of {journal} bytes loaded with a peak {grew} bytes above the start");
    assert!(
        grew < BOUND,
        "loading {journal} bytes of journal grew the peak by {grew} bytes (bound {BOUND})"
    );
}
