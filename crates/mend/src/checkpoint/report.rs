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
    /// True on a first run: no change has ever been acknowledged in the
    /// directory (it was empty, or holds only what a first `load` wrote for
    /// the default state) and nothing was found missing or damaged. The
    /// state is `S::default()`.
    ///
    /// A directory whose snapshots and segments were removed is not a
    /// first run: [`Discarded::FilesRemoved`] says so, unless the lock file
    /// went too (then nothing is left to tell it from an empty directory).
    pub fn is_first_run(&self) -> bool {
        self.snapshot.unwrap_or(0) == 0 && self.last_seq == 0 && self.discarded.is_empty()
    }

    /// True when the report names changes that may have been acknowledged
    /// and are not in the state: a lost tail, or removed files. (A torn
    /// tail is a write a crash cut short, never acknowledged unless the
    /// media damaged it.)
    pub fn lost_changes(&self) -> bool {
        self.discarded
            .iter()
            .any(|d| matches!(d, Discarded::LostTail { .. } | Discarded::FilesRemoved))
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
    /// media damaged it. It was truncated away (a read-only load leaves it).
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
    /// A temporary file (a snapshot or a segment being written) from a save
    /// that did not finish. Removed.
    TempFile {
        /// The file.
        path: PathBuf,
    },
    /// The newest segment is missing, or its format-2 header is gone (the
    /// file was emptied, or the media damaged it), though a format-2
    /// snapshot or segment says it must exist: every change after record
    /// `after` that it held is lost, acknowledged or not. A new segment
    /// replaces it.
    LostTail {
        /// The segment.
        path: PathBuf,
        /// The last record in the loaded state.
        after: u64,
        /// What is wrong with it; `None`: the file is missing.
        error: Option<FormatError>,
    },
    /// Damage in a segment whose every record the loaded snapshot holds:
    /// nothing of the state is lost, but falling back to an older snapshot
    /// would have needed it. Left in place for inspection.
    CoveredDamage {
        /// The segment.
        path: PathBuf,
        /// Where the bad bytes start.
        offset: u64,
        /// What is wrong with them.
        error: FormatError,
    },
    /// A segment the next one names as its predecessor is missing, though
    /// no snapshot present covers it (so retention did not drop it). The
    /// loaded snapshot holds its records; an older one could no longer be
    /// fallen back to.
    CoveredMissing {
        /// The missing segment.
        path: PathBuf,
    },
    /// The lock file says a store was set up in the directory, but no
    /// snapshot or segment is left: they were removed. The state is
    /// `S::default()`.
    FilesRemoved,
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
                "a torn tail of {len} bytes at byte {offset} of {}",
                path.display()
            ),
            Discarded::TempFile { path } => {
                write!(f, "removed unfinished {}", path.display())
            }
            Discarded::LostTail { path, after, error } => {
                write!(
                    f,
                    "LOST any change after record {after}: {} ",
                    path.display()
                )?;
                match error {
                    None => write!(f, "is missing"),
                    Some(error) => write!(f, "has no valid header ({error})"),
                }
            }
            Discarded::CoveredDamage {
                path,
                offset,
                error,
            } => write!(
                f,
                "damage at byte {offset} of {} ({error}), all of it in the snapshot",
                path.display()
            ),
            Discarded::CoveredMissing { path } => write!(
                f,
                "{} is missing, all of it in the snapshot; older snapshots cannot be fallen back to",
                path.display()
            ),
            Discarded::FilesRemoved => write!(
                f,
                "LOST everything: the directory held a store, and its snapshots and journal were removed"
            ),
        }
    }
}
