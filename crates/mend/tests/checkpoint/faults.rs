//! Proof 2, faults: on real files, fail each kind of operation in turn, at
//! every point it happens in a workload (create, write, short write, fsync,
//! rename, directory fsync, remove, ENOSPC, EIO). The caller gets an error,
//! the store refuses further writes, nothing panics, and a reopened store
//! loads every acknowledged change.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mend::checkpoint::{CheckpointError, Io, IoFile, IoReader, StdIo, Store};

use crate::support::{Ledger, open, small_options};

const EIO: i32 = 5;
const EACCES: i32 = 13;
const EXDEV: i32 = 18;
const ENOSPC: i32 = 28;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Create,
    Write,
    /// Half the bytes are written, then the next write fails.
    ShortWrite,
    Sync,
    Rename,
    SyncDir,
    Remove,
}

/// Real files through `StdIo`; once armed, the `nth` operation of `kind`
/// fails with `errno`.
#[derive(Debug)]
struct FaultIo {
    kind: Kind,
    nth: usize,
    errno: i32,
    armed: AtomicBool,
    seen: AtomicUsize,
    fired: AtomicBool,
    /// Every write writes at most this many bytes (short writes that are
    /// not errors).
    max_write: Mutex<Option<usize>>,
}

impl FaultIo {
    fn shared(kind: Kind, nth: usize, errno: i32) -> Faults {
        Faults(Arc::new(FaultIo {
            kind,
            nth,
            errno,
            armed: AtomicBool::new(false),
            seen: AtomicUsize::new(0),
            fired: AtomicBool::new(false),
            max_write: Mutex::new(None),
        }))
    }

    fn check(&self, kind: Kind) -> io::Result<()> {
        if !self.armed.load(Ordering::SeqCst) || kind != self.kind {
            return Ok(());
        }
        if self.seen.fetch_add(1, Ordering::SeqCst) == self.nth {
            self.fired.store(true, Ordering::SeqCst);
            return Err(io::Error::from_raw_os_error(self.errno));
        }
        Ok(())
    }
}

/// A handle on one shared [`FaultIo`].
#[derive(Debug, Clone)]
struct Faults(Arc<FaultIo>);

impl std::ops::Deref for Faults {
    type Target = FaultIo;
    fn deref(&self) -> &FaultIo {
        &self.0
    }
}

impl Io for Faults {
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
        self.check(Kind::Create)?;
        let inner = StdIo.create(path)?;
        Ok(Box::new(FaultFile {
            io: self.clone(),
            inner,
            failing: false,
        }))
    }
    fn append(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let inner = StdIo.append(path)?;
        Ok(Box::new(FaultFile {
            io: self.clone(),
            inner,
            failing: false,
        }))
    }
    fn open_lock(&self, path: &Path, initial: &[u8]) -> io::Result<Box<dyn IoFile>> {
        StdIo.open_lock(path, initial)
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        StdIo.truncate(path, len)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check(Kind::Rename)?;
        StdIo.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.check(Kind::Remove)?;
        StdIo.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.check(Kind::SyncDir)?;
        StdIo.sync_dir(dir)
    }
}

#[derive(Debug)]
struct FaultFile {
    io: Faults,
    inner: Box<dyn IoFile>,
    /// A short write happened: the next write fails.
    failing: bool,
}

impl IoFile for FaultFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failing {
            self.failing = false;
            return Err(io::Error::from_raw_os_error(self.io.errno));
        }
        self.io.check(Kind::Write)?;
        let limit = self.io.max_write.lock().unwrap().unwrap_or(buf.len());
        let mut len = buf.len().min(limit);
        if self.io.check(Kind::ShortWrite).is_err() {
            self.failing = true;
            len = buf.len() / 2;
            if len == 0 {
                return Err(io::Error::from_raw_os_error(self.io.errno));
            }
        }
        self.inner.write(&buf[..len])
    }
    fn sync(&mut self) -> io::Result<()> {
        self.io.check(Kind::Sync)?;
        self.inner.sync()
    }
    fn try_lock(&mut self) -> io::Result<bool> {
        self.inner.try_lock()
    }
}

/// What the workload ran into.
struct Outcome {
    issued: u64,
    acked: u64,
    error: Option<CheckpointError>,
    /// The first failed compaction `append` went on after.
    compaction: Option<String>,
}

/// Appends 5.. on top of 1..=4, saving every 4th, until an error.
fn workload(store: &mut Store<Ledger>) -> Outcome {
    let mut outcome = Outcome {
        issued: store.last_seq(),
        acked: store.last_seq(),
        error: None,
        compaction: None,
    };
    for v in outcome.acked + 1..=outcome.acked + 12 {
        outcome.issued = v;
        if let Err(e) = store.append(&v) {
            outcome.error = Some(e);
            return outcome;
        }
        outcome.acked = v;
        if outcome.compaction.is_none() {
            outcome.compaction = store.compaction_error().map(|e| format!("{e}: {e:?}"));
        }
        if v % 4 == 0
            && let Err(e) = store.save()
        {
            outcome.error = Some(e);
            return outcome;
        }
    }
    outcome
}

/// Injects the fault at every occurrence in turn. Returns how many there
/// were, and at how many the fault hit a compaction `append` ran on its own
/// (which fails quietly, the append going on).
fn run_fault(kind: Kind, errno: i32, label: &str) -> (usize, usize) {
    let mut compactions = 0;
    for nth in 0.. {
        let dir = tempfile::tempdir().unwrap();
        let io = FaultIo::shared(kind, nth, errno);
        let mut store =
            Store::<Ledger>::open_with_io(dir.path(), small_options(), Arc::new(io.clone()))
                .unwrap();
        store.load().unwrap();
        for v in 1..=4 {
            store.append(&v).unwrap();
        }
        store.save().unwrap();
        io.armed.store(true, Ordering::SeqCst);
        let Outcome {
            issued,
            acked,
            error,
            compaction,
        } = workload(&mut store);
        if !io.fired.load(Ordering::SeqCst) {
            assert!(error.is_none(), "{label}: error without a fault: {error:?}");
            assert!(nth > 0, "{label}: the workload never did this operation");
            return (nth, compactions); // faults injected at occurrences 0..nth
        }
        let context = format!("{label}, fault at occurrence {nth}");
        match error {
            Some(error) => {
                assert!(
                    matches!(&error, CheckpointError::Io { source, .. } if source.raw_os_error() == Some(errno)),
                    "{context}: {error}"
                );
                assert!(
                    matches!(store.append(&999), Err(CheckpointError::Poisoned { .. })),
                    "{context}: wrote again after a failure"
                );
            }
            None => {
                // A compaction the append did not ask for failed: the
                // append, and the ones after it, went on.
                let compaction =
                    compaction.unwrap_or_else(|| panic!("{context}: no error returned"));
                assert!(
                    compaction.contains(&format!("code: {errno},")),
                    "{context}: {compaction}"
                );
                assert_eq!(acked, issued, "{context}");
                compactions += 1;
            }
        }
        drop(store);

        let mut store = open(dir.path());
        let report = store
            .load()
            .unwrap_or_else(|e| panic!("{context}: reopen failed: {e}"));
        let n = store.state().prefix_len().expect("a prefix") as u64;
        assert!(
            acked <= n && n <= issued,
            "{context}: loaded {n}, acknowledged {acked}, issued {issued} ({report})"
        );
        store.append(&(n + 1)).unwrap();
    }
    unreachable!()
}

#[test]
fn a_failed_create_is_an_error_and_loses_nothing() {
    assert!(run_fault(Kind::Create, EACCES, "create").0 >= 3);
}

#[test]
fn a_failed_write_is_an_error_and_loses_nothing() {
    assert!(run_fault(Kind::Write, EIO, "write").0 >= 10);
}

#[test]
fn a_short_write_then_a_failure_is_an_error_and_loses_nothing() {
    assert!(run_fault(Kind::ShortWrite, ENOSPC, "short write").0 >= 10);
}

#[test]
fn a_full_disk_is_an_error_and_loses_nothing() {
    let (occurrences, compactions) = run_fault(Kind::Write, ENOSPC, "ENOSPC");
    assert!(occurrences >= 10);
    assert!(compactions >= 2, "{compactions} compactions failed quietly");
}

#[test]
fn a_failed_fsync_is_an_error_and_loses_nothing() {
    let (occurrences, compactions) = run_fault(Kind::Sync, EIO, "fsync EIO");
    assert!(occurrences >= 10);
    // The fsync of a snapshot's temporary file only abandons a compaction.
    assert!(compactions >= 1, "{compactions} compactions failed quietly");
}

#[test]
fn a_failed_rename_is_an_error_and_loses_nothing() {
    assert!(run_fault(Kind::Rename, EXDEV, "rename").0 >= 2);
}

#[test]
fn a_failed_directory_fsync_is_an_error_and_loses_nothing() {
    assert!(run_fault(Kind::SyncDir, EIO, "directory fsync").0 >= 4);
}

#[test]
fn a_failed_remove_is_an_error_and_loses_nothing() {
    assert!(run_fault(Kind::Remove, EIO, "remove").0 >= 2);
}

#[test]
fn short_writes_that_succeed_are_finished() {
    let dir = tempfile::tempdir().unwrap();
    let io = FaultIo::shared(Kind::Write, usize::MAX, EIO);
    *io.max_write.lock().unwrap() = Some(5);
    let mut store =
        Store::<Ledger>::open_with_io(dir.path(), small_options(), Arc::new(io.clone())).unwrap();
    store.load().unwrap();
    let outcome = workload(&mut store);
    assert!(outcome.error.is_none());
    assert_eq!((outcome.issued, outcome.acked), (12, 12));
    drop(store);
    let mut store = open(dir.path());
    store.load().unwrap();
    assert_eq!(store.state().prefix_len(), Some(12));
}

/// The temporary file of a save cut short must go before anything is
/// acknowledged: a load that cannot remove it fails, unless it is gone
/// already.
#[test]
fn a_leftover_temporary_file_that_cannot_be_removed_fails_the_load() {
    const ENOENT: i32 = 2;
    for (errno, loads) in [(EIO, false), (ENOENT, true)] {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path()));
        crate::support::write_file(&dir.path().join("snapshot-00000000000000000007.tmp"), b"x");
        let io = FaultIo::shared(Kind::Remove, 0, errno);
        io.armed.store(true, Ordering::SeqCst);
        let mut store =
            Store::<Ledger>::open_with_io(dir.path(), small_options(), Arc::new(io.clone()))
                .unwrap();
        let loaded = store.load();
        assert!(io.fired.load(Ordering::SeqCst));
        assert_eq!(loaded.is_ok(), loads, "errno {errno}: {loaded:?}");
        if let Err(error) = loaded {
            assert!(
                matches!(error, CheckpointError::Io { op: "remove", .. }),
                "{error}"
            );
        }
    }
}
