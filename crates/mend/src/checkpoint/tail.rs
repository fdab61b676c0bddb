//! The segment appends go to, and what happens when an append fails.
//!
//! After a failed write or fsync the bytes of that record may sit in the
//! page cache without ever reaching the disk: Linux marks the pages clean
//! after a failed writeback, so the next read returns them and the next
//! fsync succeeds without writing them (PostgreSQL's "fsyncgate"). A
//! store opened again would read the record back and trust it, and lose
//! it, and whatever it acknowledged after it, once the cache is gone.
//!
//! So a failed append cuts the segment back to the end of the last
//! acknowledged record (truncate and fsync) before the store refuses
//! further writes. If that cut fails as well, the store's error says so:
//! the disk is failing, and until the cut is made (or the machine has
//! restarted, emptying the page cache) a reopen may read that record back.

use std::io;
use std::path::PathBuf;

use super::error::CheckpointError;
use super::io::{Io, IoFile, write_all};
use super::journal::SEGMENT_HEADER_LEN;

/// The open segment: its handle, its path, its first record, and its
/// length, which is where the last acknowledged record ends.
#[derive(Debug)]
pub(crate) struct Tail {
    file: Box<dyn IoFile>,
    path: PathBuf,
    first: u64,
    len: u64,
}

impl Tail {
    pub(crate) fn new(file: Box<dyn IoFile>, path: PathBuf, first: u64, len: u64) -> Self {
        Tail {
            file,
            path,
            first,
            len,
        }
    }

    /// True when this is the format-2 segment starting at `first`, with no
    /// record in it yet.
    pub(crate) fn is_empty_at(&self, first: u64) -> bool {
        self.first == first && self.len == SEGMENT_HEADER_LEN
    }

    /// Writes and fsyncs one record. On error, cuts the segment back to
    /// where it was (see the module docs); when that fails too, the second
    /// item says why.
    pub(crate) fn append(
        &mut self,
        io: &dyn Io,
        record: &[u8],
    ) -> Result<(), (CheckpointError, Option<String>)> {
        let written = write_all(self.file.as_mut(), record)
            .map_err(CheckpointError::io("write", &self.path))
            .and_then(|()| {
                self.file
                    .sync()
                    .map_err(CheckpointError::io("fsync", &self.path))
            });
        match written {
            Ok(()) => {
                self.len += record.len() as u64;
                Ok(())
            }
            Err(error) => {
                let uncut = cut_back(io, &self.path, self.len).err().map(|e| {
                    format!(
                        "could not cut {} back to byte {} ({e}): until it is, or the \
                         machine restarts, a reopen may read back the record that failed",
                        self.path.display(),
                        self.len
                    )
                });
                Err((error, uncut))
            }
        }
    }
}

/// Truncates `path` to `len`; a file that is gone needs no cut.
fn cut_back(io: &dyn Io, path: &std::path::Path, len: u64) -> io::Result<()> {
    match io.truncate(path, len) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
