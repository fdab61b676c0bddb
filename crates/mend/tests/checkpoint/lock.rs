//! One process at a time: a racing opener is always told the holder's
//! pid, and a lock that only a forked child's copy of our own descriptor
//! still holds (between fork and exec) is waited for, not refused.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use mend::checkpoint::{CheckpointError, Io, IoFile, IoReader, Options, StdIo, Store};

use crate::support::Ledger;

const ROUNDS: usize = 150;
const OPENERS: usize = 5;

/// The five-opener race of issue 14, with threads: separate opens of the
/// lock file conflict under `flock` even within one process.
#[test]
fn racing_openers_are_always_told_the_holders_pid() {
    let me = std::process::id();
    let mut refusals = 0;
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let start = Arc::new(Barrier::new(OPENERS));
        let done = Arc::new(Barrier::new(OPENERS));
        let openers: Vec<_> = (0..OPENERS)
            .map(|_| {
                let (start, done) = (start.clone(), done.clone());
                let dir = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    start.wait();
                    let opened = Store::<Ledger>::open(&dir, Options::default());
                    // Hold the lock until everyone has tried.
                    done.wait();
                    opened.err()
                })
            })
            .collect();
        let errors: Vec<Option<CheckpointError>> =
            openers.into_iter().map(|t| t.join().unwrap()).collect();
        let held = errors.iter().filter(|e| e.is_none()).count();
        assert_eq!(held, 1, "round {round}: {errors:?}");
        for error in errors.into_iter().flatten() {
            refusals += 1;
            assert!(
                matches!(error, CheckpointError::Locked { pid: Some(pid), .. } if pid == me),
                "round {round}: refused without the holder's pid: {error}"
            );
        }
    }
    assert_eq!(refusals, ROUNDS * (OPENERS - 1));
}

/// Real files, whose lock looks taken by someone else for the first
/// `busy` attempts: what a forked child's copy of the descriptor does
/// between fork and exec.
#[derive(Debug)]
struct BusyLock {
    busy: usize,
    tries: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct BusyFile {
    inner: Box<dyn IoFile>,
    busy: usize,
    tries: Arc<AtomicUsize>,
}

impl IoFile for BusyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.inner.sync()
    }
    fn try_lock(&mut self) -> io::Result<bool> {
        if self.tries.fetch_add(1, Ordering::SeqCst) < self.busy {
            return Ok(false);
        }
        self.inner.try_lock()
    }
}

impl Io for BusyLock {
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
        StdIo.create(path)
    }
    fn append(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        StdIo.append(path)
    }
    fn open_lock(&self, path: &Path, initial: &[u8]) -> io::Result<Box<dyn IoFile>> {
        Ok(Box::new(BusyFile {
            inner: StdIo.open_lock(path, initial)?,
            busy: self.busy,
            tries: self.tries.clone(),
        }))
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

fn open_busy(dir: &Path, busy: usize) -> (Result<Store<Ledger>, CheckpointError>, usize) {
    let tries = Arc::new(AtomicUsize::new(0));
    let io = BusyLock {
        busy,
        tries: tries.clone(),
    };
    let opened = Store::open_with_io(dir, Options::default(), Arc::new(io));
    (opened, tries.load(Ordering::SeqCst))
}

#[test]
fn a_lock_only_our_own_pid_holds_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    // A store of this process held the directory and was dropped; a
    // child forked meanwhile still holds the lock for a moment.
    drop(Store::<Ledger>::open(dir.path(), Options::default()).unwrap());
    let (opened, tries) = open_busy(dir.path(), 150);
    assert!(opened.is_ok(), "{:?}", opened.err());
    assert_eq!(tries, 151);
}

#[test]
fn a_lock_held_by_a_live_store_of_this_process_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let _held = Store::<Ledger>::open(dir.path(), Options::default()).unwrap();
    let (opened, tries) = open_busy(dir.path(), usize::MAX);
    assert!(
        matches!(opened, Err(CheckpointError::Locked { pid: Some(pid), .. }) if pid == std::process::id())
    );
    assert_eq!(tries, 1, "no waiting for a holder that will not let go");
}

#[test]
fn a_lock_held_by_another_process_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    StdIo.create_dir_all(dir.path()).unwrap();
    let mut lock = StdIo
        .open_lock(&dir.path().join("LOCK"), b"         1\n")
        .unwrap();
    lock.sync().unwrap();
    let (opened, tries) = open_busy(dir.path(), usize::MAX);
    assert!(
        matches!(opened, Err(CheckpointError::Locked { pid: Some(1), .. })),
        "{:?}",
        opened.err()
    );
    assert_eq!(tries, 1);
}
