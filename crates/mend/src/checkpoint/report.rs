//! What `load` recovered, and what it found and left out.

use std::fmt;
use std::path::PathBuf;

use super::error::FormatError;

/// The report of a [`Store::load`](super::Store::load).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// The sequence number of the snapshot the state was rebuilt from, or
    /// `None` when it was rebuilt from the journal alone.
    pub snapshot: Option<u64>,
    /// Journal records replayed on top of that snapshot.
    pub replayed: u64,
    /// The sequence number of the last change in the loaded state (0: none).
    pub last_seq: u64,
    /// Snapshots or records migrated from an older schema version.
    pub migrated: u64,
    /// What was found on disk and left out of the state.
    pub discarded: Vec<Discarded>,
}

impl Recovery {
    /// True when nothing had been saved: the state is `S::default()`.
    pub fn is_first_run(&self) -> bool {
        self.snapshot.is_none() && self.last_seq == 0 && self.discarded.is_empty()
    }
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.snapshot {
            Some(seq) => write!(f, "snapshot at record {seq}")?,
            None => write!(f, "no snapshot")?,
        }
        write!(
            f,
            ", {} records replayed, last record {}",
            self.replayed, self.last_seq
        )?;
        if self.migrated > 0 {
            write!(f, ", {} migrated from an older schema", self.migrated)?;
        }
        for discarded in &self.discarded {
            write!(f, "; {discarded}")?;
        }
        Ok(())
    }
}

/// Something `load` found on disk and did not use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Discarded {
    /// A snapshot failed its checks; an older snapshot and the journal were
    /// used instead. The file is left in place for inspection.
    CorruptSnapshot {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        error: FormatError,
    },
    /// The last segment ended in an incomplete record with no valid record
    /// after it: a write cut short by a crash, never acknowledged unless the
    /// media damaged it. It was truncated away.
    TornTail {
        /// The segment.
        path: PathBuf,
        /// Where the torn record started (the new length of the file).
        offset: u64,
        /// How many bytes were cut.
        len: u64,
        /// Why the record did not decode.
        error: FormatError,
    },
    /// A temporary snapshot file from a save that did not finish. Removed.
    TempFile {
        /// The file.
        path: PathBuf,
    },
}

impl fmt::Display for Discarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discarded::CorruptSnapshot { path, error } => {
                write!(f, "skipped corrupt snapshot {} ({error})", path.display())
            }
            Discarded::TornTail {
                path, offset, len, ..
            } => write!(
                f,
                "truncated a torn tail of {len} bytes at byte {offset} of {}",
                path.display()
            ),
            Discarded::TempFile { path } => {
                write!(f, "removed unfinished snapshot {}", path.display())
            }
        }
    }
}
