//! What can go wrong with a checkpoint store, and why bytes on disk were
//! refused.
//!
//! [`CheckpointError`] is what every fallible [`Store`](super::Store) method
//! returns. [`FormatError`] says why one snapshot or journal record did not
//! decode; it is the `source` of [`CheckpointError::Corrupt`] and is named
//! in the [`Recovery`](super::Recovery) report when a snapshot is skipped.

use std::io;
use std::path::PathBuf;

use crate::config::ConfigError;

/// A checkpoint store failed or refused to do something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Another store (in this or another process) holds the directory.
    #[error("checkpoint directory {} is in use by {}", .dir.display(), holder(*.pid))]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// The pid written in the lock file by the holder, if it could be read.
        pid: Option<u32>,
    },
    /// A file operation failed. If it was a write, the store is now poisoned.
    #[error("could not {op} {}", .path.display())]
    Io {
        /// What was being done: "write", "fsync", "rename", ...
        op: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// An earlier write, fsync or rename failed, so the store refuses to
    /// write again: the kernel may have dropped the data it failed to write
    /// (PostgreSQL's "fsyncgate"), and only recovery from disk says what is
    /// really there.
    #[error("store refuses writes after an earlier failure ({reason}); drop it and open it again")]
    Poisoned {
        /// The earlier failure.
        reason: String,
    },
    /// `save` or `append` was called before `load`.
    #[error("store has not been loaded; call load() before writing")]
    NotLoaded,
    /// Bytes that must be valid are not: a checksum failed, or a journal
    /// record is bad with valid records after it (so it is not a torn tail).
    #[error("corrupt checkpoint data in {} at byte {offset}", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the bad bytes start.
        offset: u64,
        /// What is wrong with them.
        #[source]
        source: FormatError,
    },
    /// No valid snapshot and journal together give the latest state.
    #[error("no usable state in the checkpoint directory: {reason}")]
    Unrecoverable {
        /// What is missing.
        reason: String,
    },
    /// A file was written by a newer mend with an on-disk format this build
    /// does not read.
    #[error("{} uses on-disk format version {found}; this build reads up to {supported}", .path.display())]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// Its format version.
        found: u16,
        /// The newest format version this build reads.
        supported: u16,
    },
    /// A file holds a schema version newer than the application's: a newer
    /// build of the application wrote it.
    #[error("{} holds schema version {found}, newer than the application's {supported}", .path.display())]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The schema version in the file.
        found: u32,
        /// The application's [`Journaled::SCHEMA_VERSION`](super::Journaled::SCHEMA_VERSION).
        supported: u32,
    },
    /// The application's migration from an older schema version failed.
    #[error("could not migrate {} from schema version {from}: {reason}", .path.display())]
    Migration {
        /// The file.
        path: PathBuf,
        /// The schema version found in the file.
        from: u32,
        /// What the migration said.
        reason: String,
    },
    /// A payload passed its checksum but is not valid for the application's
    /// types: its schema changed without a new schema version.
    #[error("payload in {} at byte {offset} passed its checksum but does not decode", .path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// Where the snapshot or record starts.
        offset: u64,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// The state or a change could not be serialised.
    #[error("could not encode the state or change")]
    Encode(#[source] serde_json::Error),
    /// A journal record's payload is over the 4 GiB a record can hold.
    #[error("change encodes to {len} bytes, over the record limit of {max}")]
    TooLarge {
        /// The encoded length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A setting of the [`Options`](super::Options) cannot work.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

fn holder(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("process {pid}"),
        None => "another process (its pid could not be read)".to_owned(),
    }
}

impl CheckpointError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| CheckpointError::Io { op, path, source }
    }
}

/// Why a snapshot or a journal record did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The bytes end before the header or the payload does.
    #[error("truncated: {needed} bytes needed, {available} present")]
    Truncated {
        /// Bytes the header says there should be.
        needed: u64,
        /// Bytes there are.
        available: u64,
    },
    /// The bytes do not start with the magic number.
    #[error("magic number is wrong")]
    BadMagic,
    /// The CRC-32C over header and payload does not match.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the bytes.
        computed: u32,
    },
    /// A snapshot file is longer than its header says.
    #[error("{extra} bytes after the end of the payload")]
    TrailingBytes {
        /// How many.
        extra: u64,
    },
    /// The format version is newer than this build reads.
    #[error("format version {found} is newer than this build reads")]
    NewerFormat {
        /// The version found.
        found: u16,
    },
    /// A field that is always written as zero is not (a format version or
    /// reserved field that no version of mend writes).
    #[error("reserved field is {found}, not a value mend writes")]
    Reserved {
        /// The value found.
        found: u64,
    },
    /// A journal segment that must be format 2 does not start with its
    /// header (or the header names another segment).
    #[error("the segment does not start with its format-2 header")]
    NoHeader,
    /// A journal record's sequence number is not the one expected there.
    #[error("sequence number {found} where {expected} was expected")]
    Sequence {
        /// The number that should be there.
        expected: u64,
        /// The number that is.
        found: u64,
    },
}
