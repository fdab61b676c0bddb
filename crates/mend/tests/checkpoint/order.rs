//! Proof 1, order: a recording backend on real files logs every operation,
//! and the log must show file data fsync'd before its rename, the directory
//! fsync'd after it (and after a new segment is created), and every append
//! acknowledged only after the fsync that covers it.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mend::checkpoint::{Io, IoFile, IoReader, StdIo, Store};

use crate::support::{Ledger, small_options};

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Create(String),
    Write(String),
    Sync(String),
    Rename(String, String),
    Remove(String),
    SyncDir,
    /// Logged by the test when `append` or `save` returned `Ok`.
    Ack,
}

/// Real files through `StdIo`, with a log of every operation, and the
/// names files were renamed to (a handle writes under its file's name).
#[derive(Debug, Clone, Default)]
struct RecordingIo(
    Arc<Mutex<Vec<Op>>>,
    Arc<Mutex<Vec<(String, String)>>>,
    /// Every directory fsync'd, in order.
    Arc<Mutex<Vec<PathBuf>>>,
);

impl RecordingIo {
    fn log(&self, op: Op) {
        self.0.lock().unwrap().push(op);
    }

    fn ops(&self) -> Vec<Op> {
        self.0.lock().unwrap().clone()
    }

    /// The name a file opened as `name` has now.
    fn current(&self, name: &str) -> String {
        let mut name = name.to_owned();
        for (from, to) in self.1.lock().unwrap().iter() {
            if *from == name {
                name = to.clone();
            }
        }
        name
    }
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_owned()
}

impl Io for RecordingIo {
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
        self.log(Op::Create(name(path)));
        let inner = StdIo.create(path)?;
        Ok(Box::new(RecordingFile {
            io: self.clone(),
            name: name(path),
            inner,
        }))
    }
    fn append(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let inner = StdIo.append(path)?;
        Ok(Box::new(RecordingFile {
            io: self.clone(),
            name: name(path),
            inner,
        }))
    }
    fn open_lock(&self, path: &Path, initial: &[u8]) -> io::Result<Box<dyn IoFile>> {
        StdIo.open_lock(path, initial)
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        StdIo.truncate(path, len)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.log(Op::Rename(name(from), name(to)));
        self.1.lock().unwrap().push((name(from), name(to)));
        StdIo.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.log(Op::Remove(name(path)));
        StdIo.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.log(Op::SyncDir);
        self.2.lock().unwrap().push(dir.to_path_buf());
        StdIo.sync_dir(dir)
    }
}

#[derive(Debug)]
struct RecordingFile {
    io: RecordingIo,
    name: String,
    inner: Box<dyn IoFile>,
}

impl IoFile for RecordingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io.log(Op::Write(self.io.current(&self.name)));
        self.inner.write(buf)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.io.log(Op::Sync(self.io.current(&self.name)));
        self.inner.sync()
    }
    fn try_lock(&mut self) -> io::Result<bool> {
        self.inner.try_lock()
    }
}

#[test]
fn syncs_come_before_renames_and_acknowledgements() {
    let dir = tempfile::tempdir().unwrap();
    let io = RecordingIo::default();
    let mut store =
        Store::<Ledger>::open_with_io(dir.path(), small_options(), Arc::new(io.clone())).unwrap();
    store.load().unwrap();
    for v in 1..=12 {
        store.append(&v).unwrap();
        io.log(Op::Ack);
        if v % 5 == 0 {
            store.save().unwrap();
            io.log(Op::Ack);
        }
    }
    let ops = io.ops();
    let acks: Vec<usize> = (0..ops.len()).filter(|&i| ops[i] == Op::Ack).collect();
    assert_eq!(acks.len(), 14);
    let mut renames = 0;
    let mut appends = 0;
    let mut start = 0;
    for &ack in &acks {
        let window = &ops[start..ack];
        let at = |i: usize| start + i;
        for (i, op) in window.iter().enumerate() {
            match op {
                // Snapshot: written, fsync'd, renamed, directory fsync'd,
                // before anything is removed or acknowledged.
                Op::Rename(from, _) => {
                    renames += 1;
                    let last_write = window.iter().rposition(|o| o == &Op::Write(from.clone()));
                    let sync = window.iter().rposition(|o| o == &Op::Sync(from.clone()));
                    assert!(
                        matches!((last_write, sync), (Some(w), Some(s)) if w < s && s < i),
                        "{from} not fsync'd after its last write and before the rename at {}: {window:?}",
                        at(i)
                    );
                    let dir_sync = window[i..].iter().position(|o| o == &Op::SyncDir);
                    let first_remove = window[i..].iter().position(|o| matches!(o, Op::Remove(_)));
                    assert!(
                        dir_sync.is_some(),
                        "no directory fsync after rename at {}",
                        at(i)
                    );
                    if let Some(r) = first_remove {
                        assert!(
                            dir_sync.unwrap() < r,
                            "removed before the rename was durable"
                        );
                    }
                    if let Some(last_remove) =
                        window.iter().rposition(|o| matches!(o, Op::Remove(_)))
                    {
                        assert!(
                            window[last_remove..].contains(&Op::SyncDir),
                            "removals not made durable: {window:?}"
                        );
                    }
                }
                // Append: the record's last write is covered by an fsync of
                // the same file before the ack; a new segment's directory
                // entry is durable before it.
                Op::Write(file) if file.starts_with("journal-") && file.ends_with(".log") => {
                    if window[i + 1..]
                        .iter()
                        .any(|o| o == &Op::Write(file.clone()))
                    {
                        continue;
                    }
                    appends += 1;
                    assert!(
                        window[i + 1..].contains(&Op::Sync(file.clone())),
                        "append to {file} acknowledged without an fsync after its write: {window:?}"
                    );
                    let created = |o: &Op| match o {
                        Op::Create(name) | Op::Rename(_, name) => name == file,
                        _ => false,
                    };
                    if let Some(c) = window.iter().position(created) {
                        let dir_sync = window[c..i].iter().position(|o| o == &Op::SyncDir);
                        assert!(
                            dir_sync.is_some(),
                            "new segment {file} not made durable: {window:?}"
                        );
                    }
                }
                _ => {}
            }
        }
        start = ack + 1;
    }
    assert_eq!(appends, 12);
    assert!(renames >= 4, "{renames} snapshots");
}

/// A new directory's entry lives in its parent: creating the checkpoint
/// directory (and missing parents) fsyncs each parent, top down, before
/// `open` returns; opening an existing one does not.
#[test]
fn creating_the_directory_fsyncs_each_new_entrys_parent() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("a").join("b").join("c");
    let io = RecordingIo::default();
    let store = Store::<Ledger>::open_with_io(&dir, small_options(), Arc::new(io.clone())).unwrap();
    let synced = io.2.lock().unwrap().clone();
    assert_eq!(
        synced,
        [
            root.path().to_path_buf(),
            root.path().join("a"),
            root.path().join("a").join("b"),
        ]
    );
    drop(store);
    io.2.lock().unwrap().clear();
    drop(Store::<Ledger>::open_with_io(&dir, small_options(), Arc::new(io.clone())).unwrap());
    assert!(
        io.2.lock().unwrap().is_empty(),
        "no new entry, nothing to fsync"
    );
}

/// A save right after a save keeps the segment the first one made (it
/// holds no record yet) instead of writing it again.
#[test]
fn a_save_right_after_a_save_keeps_the_empty_segment() {
    let dir = tempfile::tempdir().unwrap();
    let io = RecordingIo::default();
    let mut store =
        Store::<Ledger>::open_with_io(dir.path(), small_options(), Arc::new(io.clone())).unwrap();
    store.load().unwrap();
    store.append(&1).unwrap();
    store.save().unwrap();
    let before = io.ops().len();
    store.save().unwrap();
    let again = &io.ops()[before..];
    assert!(
        !again
            .iter()
            .any(|o| matches!(o, Op::Create(n) if n.starts_with("journal-"))),
        "{again:?}"
    );
    assert!(again.contains(&Op::Rename(
        "snapshot-00000000000000000001.tmp".into(),
        "snapshot-00000000000000000001.snap".into()
    )));
}
