//! Retention: keep the newest K snapshots and the journal they need.

use std::path::Path;

use super::error::CheckpointError;
use super::io::Io;
use super::{journal, snapshot};

/// Drops the oldest snapshots beyond `keep`, then the segments whose every
/// record is in the oldest snapshot kept, then fsyncs the directory.
pub(crate) fn prune(io: &dyn Io, dir: &Path, keep: usize) -> Result<(), CheckpointError> {
    let names = io.list(dir).map_err(CheckpointError::io("list", dir))?;
    let removed = plan(&names, keep);
    for name in &removed {
        let path = dir.join(name);
        io.remove(&path)
            .map_err(CheckpointError::io("remove", &path))?;
    }
    if !removed.is_empty() {
        io.sync_dir(dir)
            .map_err(CheckpointError::io("fsync", dir))?;
    }
    Ok(())
}

/// The files to remove, in order. Snapshots go first: a crash in between
/// leaves extra segments, which are harmless, never a snapshot without the
/// journal after it. The last segment is never removed.
fn plan(names: &[String], keep: usize) -> Vec<String> {
    let mut snapshots: Vec<u64> = names
        .iter()
        .filter_map(|n| snapshot::parse_name(n))
        .collect();
    let mut segments: Vec<u64> = names
        .iter()
        .filter_map(|n| journal::parse_name(n))
        .collect();
    snapshots.sort_unstable();
    segments.sort_unstable();
    let drop_count = snapshots.len().saturating_sub(keep);
    let mut removed: Vec<String> = snapshots[..drop_count]
        .iter()
        .map(|&seq| snapshot::file_name(seq))
        .collect();
    let oldest_kept = snapshots[drop_count..].first().copied().unwrap_or(0);
    for pair in segments.windows(2) {
        // Segment pair[0] holds records pair[0] ..= pair[1] - 1.
        if pair[1] <= oldest_kept + 1 {
            removed.push(journal::file_name(pair[0]));
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(snapshots: &[u64], segments: &[u64]) -> Vec<String> {
        let mut names: Vec<String> = snapshots.iter().map(|&s| snapshot::file_name(s)).collect();
        names.extend(segments.iter().map(|&s| journal::file_name(s)));
        names.push("LOCK".into());
        names
    }

    #[test]
    fn keeps_k_snapshots_and_the_segments_after_the_oldest() {
        let removed = plan(&names(&[10, 3, 6], &[1, 4, 7, 11]), 2);
        assert_eq!(
            removed,
            [
                snapshot::file_name(3),
                journal::file_name(1),
                journal::file_name(4)
            ]
        );
    }

    #[test]
    fn a_segment_reaching_past_the_oldest_snapshot_is_kept() {
        // Segment 4 holds 4..=7, snapshot 6 needs 7.
        let removed = plan(&names(&[6, 9], &[1, 4, 8]), 2);
        assert_eq!(removed, [journal::file_name(1)]);
    }

    #[test]
    fn without_snapshots_nothing_goes() {
        assert!(plan(&names(&[], &[1, 4, 7]), 1).is_empty());
        assert!(
            plan(&names(&[5], &[1]), 1).is_empty(),
            "the last segment stays"
        );
    }
}
