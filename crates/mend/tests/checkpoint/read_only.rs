//! A read-only load, for inspection tools: the state and the report a
//! writable load would give, and not one file touched (no lock file, no
//! torn tail cut, no temporary file removed).

use std::io;
use std::path::Path;

use mend::checkpoint::{CheckpointError, Discarded, Io, IoFile, IoReader, StdIo, Store};

use crate::support::{Ledger, copy_dir, open, small_options, write_file};

/// Reads through `StdIo`; every call that could change anything fails the
/// test.
#[derive(Debug)]
struct ReadOnlyIo;

fn changed(what: &str, path: &Path) -> ! {
    panic!("a read-only load called {what} on {}", path.display())
}

impl Io for ReadOnlyIo {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        changed("create_dir_all", dir)
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
        changed("create", path)
    }
    fn append(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        changed("append", path)
    }
    fn open_lock(&self, path: &Path, _: &[u8]) -> io::Result<Box<dyn IoFile>> {
        changed("open_lock", path)
    }
    fn truncate(&self, path: &Path, _: u64) -> io::Result<()> {
        changed("truncate", path)
    }
    fn rename(&self, from: &Path, _: &Path) -> io::Result<()> {
        changed("rename", from)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        changed("remove", path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        changed("sync_dir", dir)
    }
}

/// Every file's name and bytes.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = StdIo
        .list(dir)
        .unwrap()
        .into_iter()
        .map(|name| {
            let bytes = StdIo.read(&dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_read_only_load_reports_what_load_would_and_changes_nothing() {
    let live = tempfile::tempdir().unwrap();
    {
        let mut store = open(live.path());
        store.load().unwrap();
        for v in 1..=11 {
            store.append(&v).unwrap();
        }
    }
    // Something for a writable load to repair: a torn tail, an unfinished
    // save, a damaged newest snapshot; and no lock file.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(live.path(), dir.path());
    let tail = dir.path().join("journal-00000000000000000010.log");
    let mut bytes = StdIo.read(&tail).unwrap();
    bytes.extend_from_slice(&[b'M', b'J', b'R', b'N', 9]);
    write_file(&tail, &bytes);
    write_file(
        &dir.path().join("snapshot-00000000000000000011.tmp"),
        b"half",
    );
    let newest = dir.path().join("snapshot-00000000000000000009.snap");
    let mut bytes = StdIo.read(&newest).unwrap();
    bytes[40] ^= 1;
    write_file(&newest, &bytes);
    let before = contents(dir.path());

    let (state, report) = Store::<Ledger>::load_read_only_with_io(dir.path(), &ReadOnlyIo).unwrap();
    assert_eq!(contents(dir.path()), before, "a file changed");
    assert_eq!(state.prefix_len(), Some(11));
    assert_eq!(report.discarded.len(), 3, "{report}");
    assert!(matches!(report.discarded[0], Discarded::TempFile { .. }));

    // The same through the real backend, then what a writable load says.
    let (again, same) = Store::<Ledger>::load_read_only(dir.path()).unwrap();
    assert_eq!((&again, &same), (&state, &report));
    assert_eq!(contents(dir.path()), before);
    let mut store = Store::<Ledger>::open(dir.path(), small_options()).unwrap();
    assert_eq!(store.load().unwrap(), report);
    assert_eq!(store.state(), &state);
}

#[test]
fn a_read_only_load_of_a_missing_directory_creates_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("nothing-here");
    let err = Store::<Ledger>::load_read_only_with_io(&dir, &ReadOnlyIo).unwrap_err();
    assert!(
        matches!(err, CheckpointError::Io { op: "list", .. }),
        "{err}"
    );
    assert!(StdIo.list(parent.path()).unwrap().is_empty());
}
