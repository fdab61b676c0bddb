//! The file operations a checkpoint store does, behind one small trait.
//!
//! Every byte the [`Store`](super::Store) reads or writes goes through
//! [`Io`] and [`IoFile`], so tests can record the order of operations, fail
//! any one of them, or keep written and durable bytes apart to simulate a
//! power cut (redb's `StorageBackend` does the same). [`StdIo`] is the real
//! backend on `std::fs`; it is the only place in `checkpoint/` that touches
//! the file system (clippy's `disallowed-types` and `disallowed-methods`
//! enforce it).
//!
//! Implement [`Io`] only to test or to wrap the real backend: the store's
//! guarantees hold only if `sync` and `sync_dir` make data durable.
//!
//! # Examples
//!
//! ```
//! use mend::checkpoint::{Io, IoFile, StdIo};
//!
//! let dir = std::env::temp_dir().join(format!("mend-io-doc-{}", std::process::id()));
//! let io = StdIo;
//! io.create_dir_all(&dir)?;
//! let mut file = io.create(&dir.join("note"))?;
//! file.write(b"hello")?;
//! file.sync()?;
//! io.sync_dir(&dir)?;
//! assert_eq!(io.read(&dir.join("note"))?, b"hello");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), std::io::Error>(())
//! ```

// The one file that may use std::fs: it *is* the std backend.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Files the store creates are readable and writable by their owner only.
const MODE: u32 = 0o600;

/// The file-system operations of a checkpoint store.
///
/// Paths are absolute or relative to the process's directory; the store
/// only names files directly inside its own directory.
pub trait Io: fmt::Debug + Send + Sync {
    /// Creates `dir` and its parents if they do not exist.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The names of the entries in `dir` (names that are not UTF-8 are left out).
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// The whole content of a file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Opens a file for reading at any offset, a piece at a time (recovery
    /// reads journal segments this way, in bounded memory).
    fn reader(&self, path: &Path) -> io::Result<Box<dyn IoReader>>;
    /// Creates a file (or truncates an existing one) for writing, mode 0600.
    fn create(&self, path: &Path) -> io::Result<Box<dyn IoFile>>;
    /// Opens a file for appending, creating it (mode 0600) if needed.
    fn append(&self, path: &Path) -> io::Result<Box<dyn IoFile>>;
    /// Opens a lock file for reading and writing, without truncating it;
    /// writes through the handle start at byte 0. If it does not exist it
    /// is created (mode 0600) already holding `initial`: no reader ever
    /// sees it empty.
    fn open_lock(&self, path: &Path, initial: &[u8]) -> io::Result<Box<dyn IoFile>>;
    /// Cuts a file to `len` bytes and makes the new length durable.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Renames `from` to `to`, replacing `to` atomically if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// An open file, as [`Io`] hands it out.
pub trait IoFile: fmt::Debug + Send {
    /// Writes some of `buf` at the end of what this handle has written,
    /// returning how much (it may be less than all of it).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// Makes everything written so far durable (`fdatasync`).
    fn sync(&mut self) -> io::Result<()>;
    /// Takes an exclusive advisory lock without waiting: `Ok(false)` when
    /// someone else holds it. The lock lasts until the handle is dropped.
    fn try_lock(&mut self) -> io::Result<bool>;
}

/// A file open for reading, as [`Io::reader`] hands it out.
pub trait IoReader: fmt::Debug + Send {
    /// The file's length in bytes.
    fn size(&mut self) -> io::Result<u64>;
    /// Fills `buf` with the bytes at `offset`; an error if the file ends
    /// first.
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
}

/// Writes all of `buf`, going on after short writes.
pub(crate) fn write_all(file: &mut dyn IoFile, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match file.write(buf) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => buf = &buf[n.min(buf.len())..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The real backend: `std::fs`, `fdatasync`, `flock`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdIo;

impl Io for StdIo {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        File::open(path)?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn reader(&self, path: &Path) -> io::Result<Box<dyn IoReader>> {
        Ok(Box::new(StdReader(File::open(path)?)))
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(MODE)
            .open(path)?;
        Ok(Box::new(StdFile(file)))
    }

    fn append(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(MODE)
            .open(path)?;
        Ok(Box::new(StdFile(file)))
    }

    fn open_lock(&self, path: &Path, initial: &[u8]) -> io::Result<Box<dyn IoFile>> {
        let open = || OpenOptions::new().read(true).write(true).open(path);
        match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            opened => return Ok(Box::new(StdFile(opened?))),
        }
        // Write the content under a name of our own, then link it into
        // place: link(2) never replaces, so of racing creators one wins and
        // the file appears with its content.
        static TEMPS: AtomicU64 = AtomicU64::new(0);
        let n = TEMPS.fetch_add(1, Ordering::Relaxed);
        let temp = path.with_extension(format!("{}-{n}.tmp", std::process::id()));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(MODE)
            .open(&temp)?;
        let linked = file
            .write_all(initial)
            .and_then(|()| std::fs::hard_link(&temp, path));
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            // A file system without hard links: create it in place.
            Err(_) => {
                drop(
                    OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .mode(MODE)
                        .open(path)?,
                );
            }
        }
        Ok(Box::new(StdFile(open()?)))
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

#[derive(Debug)]
struct StdFile(File);

impl IoFile for StdFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn try_lock(&mut self) -> io::Result<bool> {
        use rustix::fs::{FlockOperation, flock};
        match flock(&self.0, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Debug)]
struct StdReader(File);

impl IoReader for StdReader {
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.0.read_exact_at(buf, offset)
    }
}
