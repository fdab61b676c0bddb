//! Format 2's chain: a snapshot promises the segment it continues into,
//! a segment names its predecessor, the lock file says a store was set up.
//! What goes missing is found: refused when it leaves a gap, reported when
//! only the newest changes are gone. Format-1 directories still load.

use mend::checkpoint::fuzzing::{
    SegmentHeader, decode_record, encode_frame, encode_snapshot_format,
};
use mend::checkpoint::{
    CheckpointError, Discarded, FormatError, Io, Options, Recovery, StdIo, Store,
};

use crate::support::{Ledger, files, open, write_file};

fn seg(first: u64) -> String {
    format!("journal-{first:020}.log")
}

fn snap(seq: u64) -> String {
    format!("snapshot-{seq:020}.snap")
}

/// A store that acknowledged 1..=8 with `small_options` (snapshots after
/// 3 and 6; the newest segment, 7, holds 7 and 8).
fn eight(dir: &std::path::Path) {
    let mut store = open(dir);
    store.load().unwrap();
    for v in 1..=8 {
        store.append(&v).unwrap();
    }
    assert_eq!(files(dir, "journal-"), [seg(4), seg(7)]);
    assert_eq!(files(dir, "snapshot-"), [snap(3), snap(6)]);
}

fn lost_tail(report: &Recovery) -> Option<(String, u64, bool)> {
    report.discarded.iter().find_map(|d| match d {
        Discarded::LostTail { path, after, error } => Some((
            path.file_name().unwrap().to_str().unwrap().to_owned(),
            *after,
            error.is_some(),
        )),
        _ => None,
    })
}

#[test]
fn a_removed_newest_segment_is_reported_as_lost() {
    let dir = tempfile::tempdir().unwrap();
    eight(dir.path());
    StdIo.remove(&dir.path().join(seg(7))).unwrap();
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(6));
    assert_eq!(lost_tail(&report), Some((seg(7), 6, false)), "{report}");
    assert!(report.lost_changes() && !report.is_first_run());
    assert!(
        report
            .to_string()
            .contains("LOST any change after record 6")
    );
    // A new segment takes its place; the next load is clean.
    store.append(&7).unwrap();
    drop(store);
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert!(report.discarded.is_empty(), "{report}");
    assert_eq!(store.state().prefix_len(), Some(7));
}

#[test]
fn an_emptied_newest_segment_is_reported_as_lost() {
    let dir = tempfile::tempdir().unwrap();
    eight(dir.path());
    StdIo.truncate(&dir.path().join(seg(7)), 0).unwrap();
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(6));
    assert_eq!(lost_tail(&report), Some((seg(7), 6, true)), "{report}");
    store.append(&7).unwrap();
    // The new segment 7 follows segment 4, not itself.
    let bytes = StdIo.read(&dir.path().join(seg(7))).unwrap();
    let (frame, _) = decode_record(&bytes).unwrap();
    let header = SegmentHeader::from_frame(&frame).unwrap();
    assert_eq!((header.first, header.prev), (7, 4));
    drop(store);
    // The loss was reported once; the segment replaced, the next load is clean.
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert!(report.discarded.is_empty(), "{report}");
    assert_eq!(store.state().prefix_len(), Some(7));
}

/// A save cut short left a segment no snapshot names (an orphan), which was
/// then emptied: the loss is reported, appends go on after record 8 in a
/// new segment, not behind it in an older one.
#[test]
fn an_emptied_orphan_segment_is_replaced_not_appended_behind() {
    let dir = tempfile::tempdir().unwrap();
    eight(dir.path());
    write_file(&dir.path().join(seg(9)), b"");
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(lost_tail(&report), Some((seg(9), 8, true)), "{report}");
    store.append(&9).unwrap();
    drop(store);
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert!(report.discarded.is_empty(), "{report}");
    assert_eq!(store.state().prefix_len(), Some(9));
}

/// Frames of the wrong kind are damage: a format-1 record or a second
/// header inside a format-2 segment, a format-1 segment where a format-2
/// snapshot names its continuation.
#[test]
fn frames_of_the_wrong_kind_are_corruption() {
    let header_len = 44;
    for (bytes, offset, expected) in [
        (
            encode_frame(1, 1, 7, b"7"),
            header_len,
            FormatError::Reserved { found: 1 },
        ),
        (
            encode_frame(2, 0, 0, &[0; 16]),
            header_len,
            FormatError::Sequence {
                expected: 7,
                found: 0,
            },
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        eight(dir.path());
        let path = dir.path().join(seg(7));
        let mut segment = StdIo.read(&path).unwrap()[..header_len as usize].to_vec();
        segment.extend(bytes);
        segment.extend(encode_frame(2, 1, 8, b"8"));
        write_file(&path, &segment);
        let err = open(dir.path()).load().unwrap_err();
        assert!(
            matches!(&err, CheckpointError::Corrupt { offset: o, source, .. } if *o == offset && *source == expected),
            "{err:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    eight(dir.path());
    let mut v1 = encode_frame(1, 1, 7, b"7");
    v1.extend(encode_frame(1, 1, 8, b"8"));
    write_file(&dir.path().join(seg(7)), &v1);
    let err = open(dir.path()).load().unwrap_err();
    assert!(
        matches!(
            &err,
            CheckpointError::Corrupt {
                offset: 0,
                source: FormatError::NoHeader,
                ..
            }
        ),
        "{err:?}"
    );
}

/// The limit stated on `Store`: nothing on disk counts the records of the
/// newest segment, so a cut at a record boundary goes unseen.
#[test]
fn a_cut_at_a_record_boundary_of_the_newest_segment_is_not_detected() {
    let dir = tempfile::tempdir().unwrap();
    eight(dir.path());
    // Header (44 bytes) and record 7 (28 + 1 bytes) stay; record 8 goes.
    StdIo.truncate(&dir.path().join(seg(7)), 44 + 29).unwrap();
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(7));
    assert!(report.discarded.is_empty(), "{report}");
}

#[test]
fn a_gap_in_the_middle_of_the_chain_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    eight(dir.path());
    // Records 4 to 6, the older snapshot's journal, gone with the newer one.
    StdIo.remove(&dir.path().join(seg(4))).unwrap();
    StdIo.remove(&dir.path().join(snap(6))).unwrap();
    let err = open(dir.path()).load().unwrap_err();
    assert!(
        matches!(&err, CheckpointError::Unrecoverable { reason } if reason.contains("missing")),
        "{err}"
    );
    // An emptied middle segment is refused too.
    let dir = tempfile::tempdir().unwrap();
    eight(dir.path());
    StdIo.truncate(&dir.path().join(seg(4)), 0).unwrap();
    StdIo.remove(&dir.path().join(snap(6))).unwrap();
    let err = open(dir.path()).load().unwrap_err();
    assert!(
        matches!(err, CheckpointError::Corrupt { offset: 0, .. }),
        "{err}"
    );
}

/// Damage behind the loaded snapshot loses nothing: reported, not refused
/// (issue 14: a torn old tail the snapshot covers made recovery refuse).
#[test]
fn damage_the_snapshot_covers_is_reported_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    eight(dir.path());
    let old = dir.path().join(seg(4));
    let len = StdIo.read(&old).unwrap().len() as u64;
    StdIo.truncate(&old, len - 5).unwrap(); // tear record 6
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(8));
    assert!(
        matches!(&report.discarded[..], [Discarded::CoveredDamage { path, .. }] if path == &old),
        "{report}"
    );
    assert!(!report.lost_changes());
    drop(store);
    // Falling back over it is another matter: refused.
    let mut bytes = StdIo.read(&dir.path().join(snap(6))).unwrap();
    bytes[40] ^= 1;
    write_file(&dir.path().join(snap(6)), &bytes);
    assert!(open(dir.path()).load().is_err());
}

#[test]
fn a_missing_segment_behind_the_snapshot_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    eight(dir.path());
    StdIo.remove(&dir.path().join(seg(4))).unwrap();
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(8));
    assert!(
        matches!(&report.discarded[..], [Discarded::CoveredMissing { path }] if path.ends_with(seg(4))),
        "{report}"
    );
}

#[test]
fn a_first_run_is_told_from_a_directory_whose_files_were_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    assert!(store.load().unwrap().is_first_run());
    store.append(&1).unwrap();
    drop(store);
    for name in StdIo.list(dir.path()).unwrap() {
        if name != "LOCK" {
            StdIo.remove(&dir.path().join(name)).unwrap();
        }
    }
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert!(!report.is_first_run(), "{report}");
    assert!(report.lost_changes());
    assert!(matches!(&report.discarded[..], [Discarded::FilesRemoved]));
    drop(store);
    // The lock file gone too: an empty directory, a first run.
    StdIo.remove(&dir.path().join("LOCK")).unwrap();
    for name in StdIo.list(dir.path()).unwrap() {
        StdIo.remove(&dir.path().join(name)).unwrap();
    }
    assert!(open(dir.path()).load().unwrap().is_first_run());
}

/// A directory as mend's format 1 wrote it: snapshot 3, then a segment
/// of records 4 and 5, no segment headers.
fn format_one(dir: &std::path::Path) {
    StdIo.create_dir_all(dir).unwrap();
    let state = serde_json::to_vec(&Ledger {
        entries: vec![1, 2, 3],
    })
    .unwrap();
    write_file(&dir.join(snap(3)), &encode_snapshot_format(1, 1, 3, &state));
    let mut journal = encode_frame(1, 1, 4, b"4");
    journal.extend(encode_frame(1, 1, 5, b"5"));
    write_file(&dir.join(seg(4)), &journal);
}

#[test]
fn a_format_one_directory_loads_and_moves_to_format_two() {
    let dir = tempfile::tempdir().unwrap();
    format_one(dir.path());
    let (state, report) = Store::<Ledger>::load_read_only(dir.path()).unwrap();
    assert_eq!(state.prefix_len(), Some(5));
    assert_eq!((report.snapshot, report.replayed), (Some(3), 2));
    let mut store = Store::<Ledger>::open(dir.path(), Options::default()).unwrap();
    let report = store.load().unwrap();
    assert!(report.discarded.is_empty(), "{report}");
    assert_eq!(store.state().prefix_len(), Some(5));
    // load wrote a format-2 snapshot and the segment it continues into.
    assert_eq!(files(dir.path(), "snapshot-"), [snap(3), snap(5)]);
    assert_eq!(files(dir.path(), "journal-"), [seg(4), seg(6)]);
    store.append(&6).unwrap();
    drop(store);
    StdIo.remove(&dir.path().join(seg(6))).unwrap();
    let report = open(dir.path()).load().unwrap();
    assert_eq!(lost_tail(&report), Some((seg(6), 5, false)), "{report}");
}

#[test]
fn a_format_one_torn_tail_is_cut_as_before() {
    let dir = tempfile::tempdir().unwrap();
    format_one(dir.path());
    let path = dir.path().join(seg(4));
    let mut bytes = StdIo.read(&path).unwrap();
    bytes.extend_from_slice(&encode_frame(1, 1, 6, b"6")[..10]);
    write_file(&path, &bytes);
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(5));
    assert!(
        matches!(&report.discarded[..], [Discarded::TornTail { .. }]),
        "{report}"
    );
    // Cut, and never appended to again: a format-1 segment takes no
    // format-2 record; the next append goes to the new chain.
    let cut = StdIo.read(&path).unwrap();
    store.append(&6).unwrap();
    assert_eq!(StdIo.read(&path).unwrap(), cut);
    assert_eq!(files(dir.path(), "journal-"), [seg(4), seg(6)]);
    drop(store);
    let mut store = open(dir.path());
    store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(6));
}

/// A segment header that names itself (or a later segment) as its
/// predecessor was never written by mend: damage.
#[test]
fn a_header_naming_no_earlier_segment_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    eight(dir.path());
    let path = dir.path().join(seg(7));
    let bytes = StdIo.read(&path).unwrap();
    let mut forged = SegmentHeader { first: 7, prev: 7 }.encode();
    forged.extend_from_slice(&bytes[forged.len()..]);
    write_file(&path, &forged);
    let err = open(dir.path()).load().unwrap_err();
    assert!(
        matches!(
            &err,
            CheckpointError::Corrupt {
                offset: 0,
                source: FormatError::NoHeader,
                ..
            }
        ),
        "{err:?}"
    );
}

/// A damaged header on the newest segment, nothing valid after it: a lost
/// tail (a format-2 segment is renamed in whole, so it is no torn write).
/// A format-1 segment torn in its first record is a torn tail, as ever.
#[test]
fn a_damaged_newest_header_is_a_lost_tail_a_torn_first_record_is_not() {
    let dir = tempfile::tempdir().unwrap();
    eight(dir.path());
    let path = dir.path().join(seg(7));
    let header = StdIo.read(&path).unwrap()[..44].to_vec();
    let mut damaged = header.clone();
    damaged[30] ^= 1;
    write_file(&path, &damaged);
    let report = open(dir.path()).load().unwrap();
    assert!(
        matches!(
            &report.discarded[..],
            [Discarded::LostTail {
                after: 6,
                error: Some(FormatError::Checksum { .. }),
                ..
            }]
        ),
        "{report}"
    );

    let dir = tempfile::tempdir().unwrap();
    format_one(dir.path());
    let torn = encode_frame(1, 1, 6, b"6");
    write_file(&dir.path().join(seg(6)), &torn[..10]);
    let report = open(dir.path()).load().unwrap();
    assert!(
        matches!(
            &report.discarded[..],
            [Discarded::TornTail {
                offset: 0,
                len: 10,
                ..
            }]
        ),
        "{report}"
    );
}
