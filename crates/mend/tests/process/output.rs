//! Output: per-service files in append mode, rotated by size, bounded on
//! disk under a flood with no newline.

#![allow(clippy::disallowed_methods, reason = "tests read the output files")]

use std::time::Duration;

use mend::process::{Isolation, LogFiles, Output, ServiceState};

use crate::support::{live, marker, script, supervise, until, until_status};

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::test]
async fn output_goes_to_files_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let tag = marker("files");
    let spec = script("talker", &tag, "echo to-out; echo to-err >&2")
        .restart(mend::supervise::Restart::Temporary)
        .output(Output::Files(LogFiles::new(dir.path())))
        .build()
        .unwrap();
    let handle = supervise("files", &Isolation::ProcessGroup, vec![spec]);
    until_status(&handle, "talker", "it ends", |s| {
        s.state == ServiceState::Exited
    })
    .await;
    let (out, err) = LogFiles::new(dir.path()).paths("talker");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "to-out\n");
    assert_eq!(std::fs::read_to_string(&err).unwrap(), "to-err\n");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o640
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn a_flood_without_newlines_keeps_the_disk_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let tag = marker("flood");
    let max = 1 << 20;
    let files = LogFiles::new(dir.path())
        .max_bytes(max)
        .keep(2)
        .check_every(Duration::from_millis(20));
    let spec = script("flood", &tag, "exec tr -d '\\n' < /dev/zero")
        .output(Output::Files(files))
        .build()
        .unwrap();
    let handle = supervise("flood", &Isolation::ProcessGroup, vec![spec]);
    // The bound: 3 files of 1 MiB (a copy holds at most 2 MiB), plus what
    // the flood writes in one check and one copy. 256 MiB is far above
    // that on a loaded machine, and a quarter of what the flood writes
    // over the run.
    let bound = 256 << 20;
    let mut peak = 0;
    until("the flood has written 1 GiB", || {
        peak = peak.max(dir_size(dir.path()));
        handle.status("flood").unwrap().rotated_bytes >= 1 << 30
    })
    .await;
    assert!(peak <= bound, "peak {peak} bytes on disk");
    handle.shutdown().await;
    assert!(live(&tag).is_empty());
    assert!(dir_size(dir.path()) <= bound);
}
