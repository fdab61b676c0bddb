//! Everyday behaviour: first run, reopen, compaction, locking, permissions,
//! torn tails, corruption, schema versions.

use mend::checkpoint::{CheckpointError, Discarded, Io, Journaled, Options, StdIo, Store};
use serde::{Deserialize, Serialize};

use crate::support::{Ledger, copy_dir, files, open, write_file};

#[test]
fn first_run_loads_the_default_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert!(report.is_first_run());
    assert_eq!(store.state(), &Ledger::default());
    assert_eq!(store.last_seq(), 0);
    // Killed before its first append, the application starts afresh: still
    // a first run, nothing reported.
    drop(store);
    let report = open(dir.path()).load().unwrap();
    assert!(report.is_first_run(), "{report}");
    assert!(report.discarded.is_empty());
}

/// A segment a save just made holds no record yet: that is no lost tail.
#[test]
fn a_reopen_right_after_a_save_reports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.load().unwrap();
    store.append(&1).unwrap();
    assert_eq!(
        store.save().unwrap(),
        1,
        "save returns the last record in it"
    );
    drop(store);
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!((report.snapshot, report.replayed), (Some(1), 0));
    assert!(
        report.discarded.is_empty() && !report.lost_changes(),
        "{report}"
    );
    assert!(!report.is_first_run());
}

#[test]
fn appends_and_snapshots_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = open(dir.path());
        store.load().unwrap();
        for v in 1..=10 {
            assert_eq!(store.append(&v).unwrap(), v);
        }
    }
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(10));
    assert_eq!(report.last_seq, 10);
    assert!(
        report.snapshot.is_some(),
        "compaction took snapshots: {report}"
    );
    assert!(report.discarded.is_empty());
}

#[test]
fn compaction_keeps_k_snapshots_and_the_journal_back_to_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.load().unwrap();
    for v in 1..=20 {
        store.append(&v).unwrap();
    }
    // Snapshots after 3, 6, ... 18 records; the last two are kept.
    assert_eq!(
        files(dir.path(), "snapshot-"),
        vec![
            "snapshot-00000000000000000015.snap",
            "snapshot-00000000000000000018.snap"
        ]
    );
    // Segments from record 16 on: the oldest kept snapshot (15) plus the journal
    // after it gives the whole state.
    assert_eq!(
        files(dir.path(), "journal-"),
        vec![
            "journal-00000000000000000016.log",
            "journal-00000000000000000019.log"
        ]
    );
}

#[test]
fn falling_back_to_the_older_snapshot_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = open(dir.path());
        store.load().unwrap();
        for v in 1..=20 {
            store.append(&v).unwrap();
        }
    }
    let newest = dir.path().join("snapshot-00000000000000000018.snap");
    let mut bytes = StdIo.read(&newest).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    write_file(&newest, &bytes);

    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(20));
    assert_eq!(report.snapshot, Some(15));
    assert!(matches!(
        &report.discarded[..],
        [Discarded::CorruptSnapshot { path, .. }] if path == &newest
    ));
}

#[test]
fn a_second_opener_is_refused_with_the_holders_pid() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path());
    let err = Store::<Ledger>::open(dir.path(), Options::default()).unwrap_err();
    assert!(
        matches!(err, CheckpointError::Locked { pid: Some(pid), .. } if pid == std::process::id()),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&format!("process {}", std::process::id()))
    );
    drop(_first);
    open(dir.path());
}

#[test]
#[allow(clippy::disallowed_methods)] // reading permissions is the point of the test
fn files_are_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.load().unwrap();
    store.append(&1).unwrap();
    store.save().unwrap();
    store.append(&2).unwrap();
    for name in StdIo.list(dir.path()).unwrap() {
        let mode = std::fs::metadata(dir.path().join(&name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[test]
fn writes_before_load_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    assert!(matches!(store.append(&1), Err(CheckpointError::NotLoaded)));
    assert!(matches!(store.save(), Err(CheckpointError::NotLoaded)));
}

#[test]
fn a_torn_tail_is_truncated_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = open(dir.path());
        store.load().unwrap();
        store.append(&1).unwrap();
        store.append(&2).unwrap();
    }
    let segment = dir.path().join("journal-00000000000000000001.log");
    let whole = StdIo.read(&segment).unwrap();
    // Half of a third record.
    let third = mend::checkpoint::fuzzing::encode_record(3, 1, b"3");
    let mut file = StdIo.append(&segment).unwrap();
    file.write(&third[..third.len() / 2]).unwrap();
    drop(file);

    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(2));
    assert!(matches!(
        &report.discarded[..],
        [Discarded::TornTail { offset, len, .. }]
            if *offset == whole.len() as u64 && *len == (third.len() / 2) as u64
    ));
    assert_eq!(StdIo.read(&segment).unwrap(), whole);
    // The cut segment takes the next append; no snapshot was needed.
    store.append(&3).unwrap();
    assert_eq!(
        files(dir.path(), "snapshot-"),
        ["snapshot-00000000000000000000.snap"]
    );
    let mut grown = whole.clone();
    grown.extend(mend::checkpoint::fuzzing::encode_record(3, 1, b"3"));
    assert_eq!(StdIo.read(&segment).unwrap(), grown);
    drop(store);
    let mut store = open(dir.path());
    store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(3));
}

#[test]
fn a_bad_record_before_valid_ones_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = open(dir.path());
        store.load().unwrap();
        store.append(&1).unwrap();
        store.append(&2).unwrap();
    }
    let segment = dir.path().join("journal-00000000000000000001.log");
    let pristine = StdIo.read(&segment).unwrap();
    // The first record's payload (after the 44-byte segment header and the
    // record's own 28-byte header), then the segment header itself.
    for (at, offset) in [(44 + 28, 44), (28, 0)] {
        let mut bytes = pristine.clone();
        bytes[at] ^= 0x20;
        write_file(&segment, &bytes);

        let mut store = open(dir.path());
        let err = store.load().unwrap_err();
        assert!(
            matches!(err, CheckpointError::Corrupt { offset: o, .. } if o == offset),
            "{err}"
        );
        assert_eq!(StdIo.read(&segment).unwrap(), bytes, "nothing truncated");
        assert!(matches!(store.append(&3), Err(CheckpointError::NotLoaded)));
    }
}

/// Version 2 of the ledger: entries became records with a note.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct LedgerV2 {
    items: Vec<Item>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    value: u64,
    note: String,
}

impl Journaled for LedgerV2 {
    type Change = Item;
    const SCHEMA_VERSION: u32 = 2;

    fn apply(&mut self, item: &Item) {
        self.items.push(Item {
            value: item.value,
            note: item.note.clone(),
        });
    }

    fn migrate(from: u32, old: serde_json::Value) -> Result<Self, String> {
        let old: Ledger = serde_json::from_value(old).map_err(|e| e.to_string())?;
        assert_eq!(from, 1);
        Ok(LedgerV2 {
            items: old.entries.iter().map(|&v| v1_item(v)).collect(),
        })
    }

    fn migrate_change(from: u32, old: serde_json::Value) -> Result<Item, String> {
        assert_eq!(from, 1);
        Ok(v1_item(old.as_u64().ok_or("not a number")?))
    }
}

fn v1_item(value: u64) -> Item {
    Item {
        value,
        note: "from v1".into(),
    }
}

#[test]
fn an_older_schema_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = open(dir.path());
        store.load().unwrap();
        for v in 1..=5 {
            store.append(&v).unwrap(); // snapshot at 3, records 4 and 5
        }
    }
    let mut store = Store::<LedgerV2>::open(dir.path(), Options::default()).unwrap();
    let report = store.load().unwrap();
    assert_eq!(report.migrated, 3, "one snapshot and two records: {report}");
    let values: Vec<u64> = store.state().items.iter().map(|i| i.value).collect();
    assert_eq!(values, [1, 2, 3, 4, 5]);
    store
        .append(&Item {
            value: 6,
            note: "v2".into(),
        })
        .unwrap();
    store.save().unwrap();
}

#[test]
fn a_newer_schema_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::<LedgerV2>::open(dir.path(), Options::default()).unwrap();
        store.load().unwrap();
        store.append(&v1_item(1)).unwrap();
        store.save().unwrap();
    }
    let mut store = open(dir.path());
    let err = store.load().unwrap_err();
    assert!(
        matches!(
            err,
            CheckpointError::NewerSchema {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("newer than the application's 1"));
}

#[test]
fn a_snapshot_too_damaged_to_fall_back_from_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    {
        let mut store =
            Store::<Ledger>::open(dir.path(), Options::default().keep_snapshots(1)).unwrap();
        store.load().unwrap();
        for v in 1..=4 {
            store.append(&v).unwrap();
        }
        store.save().unwrap();
        store.append(&5).unwrap();
        store.save().unwrap(); // drops snapshot 4 and the journal up to 4
        store.append(&6).unwrap();
    }
    copy_dir(dir.path(), copy.path());
    let snap = copy.path().join("snapshot-00000000000000000005.snap");
    let mut bytes = StdIo.read(&snap).unwrap();
    bytes[40] ^= 0xff;
    write_file(&snap, &bytes);
    let mut store = open(copy.path());
    let err = store.load().unwrap_err();
    assert!(
        matches!(err, CheckpointError::Unrecoverable { .. }),
        "{err}"
    );
}

#[test]
fn debug_shows_the_directory_and_where_the_journal_is() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.load().unwrap();
    store.append(&1).unwrap();
    let debug = format!("{store:?}");
    assert!(debug.starts_with("Store {"), "{debug}");
    for field in ["dir:", "loaded: true", "poisoned: None", "next_seq: 2"] {
        assert!(debug.contains(field), "{field} in {debug}");
    }
}

#[test]
fn the_store_and_its_errors_cross_threads() {
    fn assert_send<T: Send>() {}
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_send::<Store<Ledger>>();
    assert_error::<CheckpointError>();
    assert_error::<mend::checkpoint::FormatError>();
}

#[test]
fn a_poisoned_store_stays_poisoned_until_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.load().unwrap();
    store.append(&1).unwrap();
    // Take the directory away under the store: the next segment cannot be
    // created.
    let moved = dir.path().with_extension("moved");
    StdIo.rename(dir.path(), &moved).unwrap();
    assert!(matches!(store.save(), Err(CheckpointError::Io { .. })));
    StdIo.rename(&moved, dir.path()).unwrap();
    assert!(matches!(
        store.append(&2),
        Err(CheckpointError::Poisoned { .. })
    ));
    store.load().unwrap();
    assert!(
        matches!(store.append(&2), Err(CheckpointError::Poisoned { .. })),
        "load() must not clear the poison"
    );
    drop(store);
    let mut store = open(dir.path());
    store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(1));
    store.append(&2).unwrap();
}

/// Appends 1 and 2, reopens with `options`, appends 3: is there a snapshot
/// (beyond the one of the empty state the first load writes)?
fn snapshot_after_reopen_and_one_append(options: Options) -> bool {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::<Ledger>::open(dir.path(), options.clone()).unwrap();
        store.load().unwrap();
        store.append(&1).unwrap();
        store.append(&2).unwrap();
    }
    let mut store = Store::<Ledger>::open(dir.path(), options).unwrap();
    store.load().unwrap();
    store.append(&3).unwrap();
    files(dir.path(), "snapshot-") != ["snapshot-00000000000000000000.snap"]
}

#[test]
fn compaction_counts_the_journal_found_on_reopen() {
    let records = Options::default();
    assert!(snapshot_after_reopen_and_one_append(
        records.clone().compact_after_records(2)
    ));
    assert!(!snapshot_after_reopen_and_one_append(
        records.compact_after_records(3)
    ));
    // A record with a one-digit value is 28 + 1 bytes: two make 58.
    let bytes = Options::default();
    assert!(snapshot_after_reopen_and_one_append(
        bytes.clone().compact_after_bytes(58)
    ));
    assert!(!snapshot_after_reopen_and_one_append(
        bytes.compact_after_bytes(59)
    ));
}

#[test]
fn a_snapshot_under_another_name_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = open(dir.path());
        store.load().unwrap();
        for v in 1..=8 {
            store.append(&v).unwrap(); // snapshots at 3 and 6
        }
    }
    // Snapshot 3's bytes under snapshot 6's name.
    let three = StdIo
        .read(&dir.path().join("snapshot-00000000000000000003.snap"))
        .unwrap();
    let six = dir.path().join("snapshot-00000000000000000006.snap");
    write_file(&six, &three);
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(8));
    assert_eq!(report.snapshot, Some(3));
    assert!(matches!(
        &report.discarded[..],
        [Discarded::CorruptSnapshot {
            error: mend::checkpoint::FormatError::Sequence {
                expected: 6,
                found: 3
            },
            ..
        }]
    ));
}

#[test]
fn a_corrupt_newest_snapshot_at_the_last_record_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = open(dir.path());
        store.load().unwrap();
        for v in 1..=5 {
            store.append(&v).unwrap(); // snapshot at 3
        }
        store.save().unwrap(); // snapshot at 5, the last record
    }
    let five = dir.path().join("snapshot-00000000000000000005.snap");
    let mut bytes = StdIo.read(&five).unwrap();
    bytes[20] ^= 1;
    write_file(&five, &bytes);
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(5));
    assert_eq!((report.snapshot, report.replayed), (Some(3), 2));
}

#[test]
fn a_corrupt_only_snapshot_without_journal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = open(dir.path());
        store.load().unwrap();
        store.append(&1).unwrap();
        store.save().unwrap();
    }
    StdIo
        .remove(&dir.path().join("journal-00000000000000000001.log"))
        .unwrap();
    let one = dir.path().join("snapshot-00000000000000000001.snap");
    let mut bytes = StdIo.read(&one).unwrap();
    bytes[37] ^= 1;
    write_file(&one, &bytes);
    let mut store = open(dir.path());
    let err = store.load().unwrap_err();
    assert!(
        matches!(err, CheckpointError::Unrecoverable { .. }),
        "an empty state must not stand in for a damaged one: {err}"
    );
}

#[test]
fn appends_never_continue_a_segment_that_ends_before_them() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::<Ledger>::open(dir.path(), Options::default()).unwrap();
        store.load().unwrap();
        for v in 1..=5 {
            store.append(&v).unwrap();
        }
        store.save().unwrap();
    }
    // The journal lost records 4 and 5, which snapshot 5 holds anyway.
    let segment = dir.path().join("journal-00000000000000000001.log");
    StdIo.truncate(&segment, 3 * 29).unwrap();
    let mut store = Store::<Ledger>::open(dir.path(), Options::default()).unwrap();
    store.load().unwrap();
    store.append(&6).unwrap();
    drop(store);
    let mut store = open(dir.path());
    store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(6));
}

#[test]
fn a_record_in_a_newer_format_is_a_clear_error_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = open(dir.path());
        store.load().unwrap();
        store.append(&1).unwrap();
    }
    // Record 2 as a future mend might write it: format version 3, valid CRC.
    let mut record = mend::checkpoint::fuzzing::encode_record(2, 1, b"2");
    record[12..14].copy_from_slice(&3u16.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&record[..8]), &record[12..]);
    record[8..12].copy_from_slice(&crc.to_le_bytes());
    let segment = dir.path().join("journal-00000000000000000001.log");
    StdIo.append(&segment).unwrap().write(&record).unwrap();
    let before = StdIo.read(&segment).unwrap();

    let mut store = open(dir.path());
    let err = store.load().unwrap_err();
    assert!(
        matches!(
            err,
            CheckpointError::NewerFormat {
                found: 3,
                supported: 2,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        StdIo.read(&segment).unwrap(),
        before,
        "not cut as a torn tail"
    );
}
