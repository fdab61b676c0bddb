//! A disk too full for a snapshot, with room for records: past the
//! compaction threshold, appends go on (issue 14: each one first tried a
//! snapshot and failed), the failed compaction is reported beside them, and
//! it is tried again only after the journal has grown by the threshold.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mend::checkpoint::{CheckpointError, Io, IoFile, IoReader, Options, StdIo, Store};

use crate::support::{Ledger, open, small_options};

const ENOSPC: i32 = 28;

/// Real files; while `full`, a snapshot cannot be created.
#[derive(Debug, Default)]
struct NoRoomForSnapshots {
    full: AtomicBool,
    attempts: AtomicUsize,
}

impl Io for NoRoomForSnapshots {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        StdIo.create_dir_all(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        StdIo.list(dir)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        StdIo.read(path)
    }
    fn reader(&self, path: &Path) -> io::Result<Box<dyn IoReader>> {
        StdIo.reader(path)
    }
    fn create(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let name = path.file_name().unwrap().to_str().unwrap();
        if name.starts_with("snapshot-") && self.full.load(Ordering::SeqCst) {
            self.attempts.fetch_add(1, Ordering::SeqCst);
            return Err(io::Error::from_raw_os_error(ENOSPC));
        }
        StdIo.create(path)
    }
    fn append(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        StdIo.append(path)
    }
    fn open_lock(&self, path: &Path, initial: &[u8]) -> io::Result<Box<dyn IoFile>> {
        StdIo.open_lock(path, initial)
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        StdIo.truncate(path, len)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdIo.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        StdIo.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        StdIo.sync_dir(dir)
    }
}

#[test]
fn appends_go_on_when_a_compaction_they_did_not_ask_for_fails() {
    let dir = tempfile::tempdir().unwrap();
    let io = Arc::new(NoRoomForSnapshots::default());
    let mut store = Store::<Ledger>::open_with_io(dir.path(), small_options(), io.clone()).unwrap();
    store.load().unwrap();
    io.full.store(true, Ordering::SeqCst);
    // Compaction is due every 3 records: it is tried before appends 4, 7
    // and 10, and fails each time; every append succeeds.
    for v in 1..=12 {
        assert_eq!(store.append(&v).unwrap(), v);
    }
    assert_eq!(io.attempts.load(Ordering::SeqCst), 3);
    let error = store.compaction_error().expect("the failure is reported");
    assert!(
        matches!(error, CheckpointError::Io { op: "create", source, .. } if source.raw_os_error() == Some(ENOSPC)),
        "{error}"
    );
    let stats = store.stats();
    assert_eq!((stats.compaction_failures(), stats.compactions()), (3, 0));
    assert_eq!(stats.journal_records(), 12);
    // An explicit save is asked for: its failure is an error, as ever.
    assert!(!stats.poisoned());
    assert!(store.save().is_err());
    assert!(stats.poisoned());
    drop(store);

    let mut store = Store::<Ledger>::open_with_io(dir.path(), small_options(), io.clone()).unwrap();
    store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(12));
    // Room again: the next compaction succeeds and clears the report.
    io.full.store(false, Ordering::SeqCst);
    store.append(&13).unwrap();
    assert!(store.compaction_error().is_none());
    drop(store);
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(13));
    assert_eq!(report.snapshot, Some(12), "{report}");
}

/// The same with a byte threshold: each record of one digit is 29 bytes,
/// so 100 bytes are passed after 4 records; a failed compaction is tried
/// again 100 bytes later (after 8 records), then after 12.
#[test]
fn a_compaction_due_by_size_is_tried_again_a_threshold_later() {
    let dir = tempfile::tempdir().unwrap();
    let io = Arc::new(NoRoomForSnapshots::default());
    let options = Options::default()
        .compact_after_records(u64::MAX)
        .compact_after_bytes(100);
    let mut store = Store::<Ledger>::open_with_io(dir.path(), options, io.clone()).unwrap();
    store.load().unwrap();
    io.full.store(true, Ordering::SeqCst);
    let mut tried_before = Vec::new();
    for v in 1..=12 {
        let attempts = io.attempts.load(Ordering::SeqCst);
        store.append(&v).unwrap();
        if io.attempts.load(Ordering::SeqCst) > attempts {
            tried_before.push(v);
        }
    }
    assert_eq!(tried_before, [5, 9]);
}
