//! Writing a snapshot, and the segment it continues into, in an order a
//! crash cannot break.
//!
//! 1. The snapshot is written under a temporary name and fsync'd.
//! 2. The segment it continues into, `journal-<seq + 1>.log`, is written
//!    under a temporary name (its format-2 header naming the segment
//!    before it), fsync'd, renamed into place, and the directory fsync'd.
//!    Appends go to it from then on. (If the open segment already is that
//!    one, with no record yet, it is kept.)
//! 3. The snapshot is renamed into place and the directory fsync'd.
//!
//! So a format-2 snapshot on disk always has its next segment on disk, and
//! a missing one is loss, not a crash. A crash between 2 and 3 leaves a
//! segment no snapshot names yet; `load` then saves again.
//!
//! A failure is [`Failure::Fatal`] when a directory fsync failed: the
//! directory's entries may not be durable, and only recovery from disk
//! says what is there. Any other failure only abandons the save: its
//! temporary files are removed (as far as that works; `load` removes what
//! is left) and the journal is as it was, so appends can go on.

use std::path::Path;

use super::error::CheckpointError;
use super::io::{Io, write_all};
use super::journal::{self, SEGMENT_HEADER_LEN, SegmentHeader};
use super::snapshot;
use super::tail::Tail;

/// Why a save did not finish.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A directory fsync failed: the store must refuse further writes.
    Fatal(CheckpointError),
    /// Nothing the journal depends on changed: appends can go on.
    Abandoned(CheckpointError),
}

impl Failure {
    /// Sorts an error of the store's directory `dir`.
    pub(crate) fn of(error: CheckpointError, dir: &Path) -> Failure {
        match &error {
            CheckpointError::Io {
                op: "fsync", path, ..
            } if path == dir => Failure::Fatal(error),
            _ => Failure::Abandoned(error),
        }
    }

    pub(crate) fn into_error(self) -> CheckpointError {
        match self {
            Failure::Fatal(error) | Failure::Abandoned(error) => error,
        }
    }
}

/// Writes the snapshot `bytes` after record `seq`, and the segment after
/// it, switching `tail` to that segment (see the module docs).
pub(crate) fn save(
    io: &dyn Io,
    dir: &Path,
    seq: u64,
    bytes: &[u8],
    tail: &mut Option<Tail>,
) -> Result<(), Failure> {
    let temp = dir.join(snapshot::temp_name(seq));
    let steps = write_temp(io, &temp, bytes).and_then(|()| {
        if !tail.as_ref().is_some_and(|t| t.is_empty_at(seq + 1)) {
            *tail = Some(new_segment(io, dir, seq + 1)?);
        }
        let path = dir.join(snapshot::file_name(seq));
        io.rename(&temp, &path)
            .map_err(CheckpointError::io("rename", &temp))?;
        io.sync_dir(dir).map_err(CheckpointError::io("fsync", dir))
    });
    steps.map_err(|error| {
        let _ = io.remove(&temp);
        Failure::of(error, dir)
    })
}

fn write_temp(io: &dyn Io, temp: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let mut file = io
        .create(temp)
        .map_err(CheckpointError::io("create", temp))?;
    write_all(file.as_mut(), bytes).map_err(CheckpointError::io("write", temp))?;
    file.sync().map_err(CheckpointError::io("fsync", temp))
}

/// Creates `journal-<first>.log` holding only its header, durably.
fn new_segment(io: &dyn Io, dir: &Path, first: u64) -> Result<Tail, CheckpointError> {
    let names = io.list(dir).map_err(CheckpointError::io("list", dir))?;
    let prev = names
        .iter()
        .filter_map(|name| journal::parse_name(name))
        .filter(|&f| f < first)
        .max()
        .unwrap_or(0);
    let temp = dir.join(journal::temp_name(first));
    let path = dir.join(journal::file_name(first));
    let created = (|| {
        let mut file = io
            .create(&temp)
            .map_err(CheckpointError::io("create", &temp))?;
        let header = SegmentHeader { first, prev }.encode();
        write_all(file.as_mut(), &header).map_err(CheckpointError::io("write", &temp))?;
        file.sync().map_err(CheckpointError::io("fsync", &temp))?;
        io.rename(&temp, &path)
            .map_err(CheckpointError::io("rename", &temp))?;
        Ok::<_, CheckpointError>(file)
    })();
    let file = created.inspect_err(|_| {
        let _ = io.remove(&temp);
    })?;
    io.sync_dir(dir)
        .map_err(CheckpointError::io("fsync", dir))?;
    Ok(Tail::new(file, path, first, SEGMENT_HEADER_LEN))
}
