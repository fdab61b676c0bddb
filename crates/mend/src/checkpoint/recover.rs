//! Recovery: rebuild the newest state from snapshots and journal.
//!
//! [`recover`] changes no file: it returns the state, the report, and what
//! a writable `load` must then repair (temporary files to remove, a torn
//! tail to cut), so a read-only load can share it.
//!
//! 1. List the directory: snapshots, segments, temporary files left by a
//!    save a crash cut short, and whether the lock file says a store was
//!    set up here.
//! 2. Take the newest snapshot that passes its checks, reporting those
//!    that do not. Each is read whole, one at a time.
//! 3. Walk every segment in order, streamed (`replay.rs`), applying the
//!    records after the snapshot, which must follow it without a gap.
//! 4. A format-2 snapshot promises its next segment: if that is missing
//!    and nothing follows it, the tail is lost, and reported.
//! 5. Refuse a state older than a snapshot that was skipped: that would
//!    lose acknowledged writes silently.
//! 6. A directory with no snapshot and no segment is a first run, unless
//!    its lock file says a store had been set up in it: then its files were
//!    removed, and that is reported.
//!
//! Memory stays within one snapshot (the newest valid one, as read and as
//! decoded) plus the journal scanner's window and largest record.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::Journaled;
use super::error::{CheckpointError, FormatError};
use super::io::Io;
use super::replay::{self, Base};
use super::report::{Discarded, Recovery};
use super::{journal, lock, snapshot};

/// The recovered state, and what a writable load does with the directory.
#[derive(Debug)]
pub(crate) struct Recovered<S> {
    pub(crate) state: S,
    pub(crate) next_seq: u64,
    /// Records and bytes in the journal after the snapshot.
    pub(crate) since_snapshot: (u64, u64),
    pub(crate) report: Recovery,
    /// The newest segment if appends can go on in it: path, first record,
    /// length (after cutting a torn tail).
    pub(crate) tail: Option<(PathBuf, u64, u64)>,
    /// True when that tail is the one the loaded snapshot continues into
    /// (format 2), so a removed or emptied tail would be found.
    pub(crate) named: bool,
    /// Temporary files of saves cut short, to remove.
    pub(crate) temps: Vec<PathBuf>,
    /// A torn tail to cut: the segment and its valid length.
    pub(crate) torn: Option<(PathBuf, u64)>,
    /// The lock file says a store was set up here.
    pub(crate) marked: bool,
}

pub(crate) fn recover<S: Journaled>(
    io: &dyn Io,
    dir: &Path,
) -> Result<Recovered<S>, CheckpointError> {
    let mut report = Recovery::default();
    let names = io.list(dir).map_err(CheckpointError::io("list", dir))?;
    let mut snapshots = Vec::new();
    let mut segments = Vec::new();
    let mut temps = Vec::new();
    for name in &names {
        if let Some(seq) = snapshot::parse_name(name) {
            snapshots.push(seq);
        } else if let Some(first) = journal::parse_name(name) {
            segments.push(first);
        } else if snapshot::is_temp_name(name) || journal::is_temp_name(name) {
            let path = dir.join(name);
            report
                .discarded
                .push(Discarded::TempFile { path: path.clone() });
            temps.push(path);
        }
    }
    snapshots.sort_unstable();
    segments.sort_unstable();
    let marked = names.iter().any(|n| n == lock::FILE_NAME)
        && io
            .read(&dir.join(lock::FILE_NAME))
            .is_ok_and(|bytes| lock::is_marked(&bytes));
    if snapshots.is_empty() && segments.is_empty() && marked {
        report.discarded.push(Discarded::FilesRemoved);
    }

    let (base, skipped_up_to) = newest_snapshot::<S>(io, dir, &snapshots, &mut report)?;
    report.snapshot = base.as_ref().map(|(seq, _, _)| *seq);
    let (base_seq, base_v2, mut state) = base.unwrap_or((0, false, S::default()));

    let walk_base = Base {
        seq: base_seq,
        v2: base_v2,
        segments: &segments,
        oldest_snapshot: snapshots.first().copied(),
    };
    let walked = replay::walk(io, dir, &walk_base, &mut state, &mut report)?;
    let last_seq = walked.next_seq - 1;
    let continuation = base_seq + 1;
    if base_v2 && last_seq == base_seq && segments.iter().all(|&f| f < continuation) {
        report.discarded.push(Discarded::LostTail {
            path: dir.join(journal::file_name(continuation)),
            after: base_seq,
            error: None,
        });
    }
    if let Some(skipped) = skipped_up_to.filter(|&s| s > last_seq) {
        return Err(CheckpointError::Unrecoverable {
            reason: format!(
                "the snapshot at record {skipped} is corrupt and the journal and older snapshots reach only record {last_seq}"
            ),
        });
    }
    report.last_seq = last_seq;
    let named = base_v2
        && walked
            .tail
            .as_ref()
            .is_some_and(|(_, first, _)| *first == continuation);
    Ok(Recovered {
        state,
        next_seq: walked.next_seq,
        since_snapshot: walked.since_snapshot,
        report,
        tail: walked.tail,
        named,
        temps,
        torn: walked.torn,
        marked,
    })
}

/// The newest snapshot that passes its checks, decoded: its record, whether
/// it is format 2, the state. Also the newest one skipped, if any.
#[allow(clippy::type_complexity)]
fn newest_snapshot<S: Journaled>(
    io: &dyn Io,
    dir: &Path,
    snapshots: &[u64],
    report: &mut Recovery,
) -> Result<(Option<(u64, bool, S)>, Option<u64>), CheckpointError> {
    let mut skipped_up_to = None;
    for &seq in snapshots.iter().rev() {
        let path = dir.join(snapshot::file_name(seq));
        let bytes = io.read(&path).map_err(CheckpointError::io("read", &path))?;
        let error = match snapshot::decode(&bytes) {
            Ok(snap) if snap.seq == seq => {
                let state = decode_payload::<S>(
                    &path,
                    0,
                    (snap.schema, S::SCHEMA_VERSION),
                    snap.payload,
                    S::migrate,
                    report,
                )?;
                return Ok((Some((seq, snap.format >= 2, state)), skipped_up_to));
            }
            Ok(snap) => FormatError::Sequence {
                expected: seq,
                found: snap.seq,
            },
            Err(FormatError::NewerFormat { found }) => {
                return Err(CheckpointError::NewerFormat {
                    path,
                    found,
                    supported: snapshot::FORMAT,
                });
            }
            Err(error) => error,
        };
        skipped_up_to = skipped_up_to.max(Some(seq));
        report
            .discarded
            .push(Discarded::CorruptSnapshot { path, error });
    }
    Ok((None, skipped_up_to))
}

/// Decodes a payload written under `schema`, migrating it if it is older.
pub(crate) fn decode_payload<T: DeserializeOwned>(
    path: &Path,
    offset: u64,
    (schema, supported): (u32, u32),
    payload: &[u8],
    migrate: fn(u32, serde_json::Value) -> Result<T, String>,
    report: &mut Recovery,
) -> Result<T, CheckpointError> {
    let decode_error = |source| CheckpointError::Decode {
        path: path.to_path_buf(),
        offset,
        source,
    };
    match schema.cmp(&supported) {
        std::cmp::Ordering::Equal => serde_json::from_slice(payload).map_err(decode_error),
        std::cmp::Ordering::Greater => Err(CheckpointError::NewerSchema {
            path: path.to_path_buf(),
            found: schema,
            supported,
        }),
        std::cmp::Ordering::Less => {
            let value = serde_json::from_slice(payload).map_err(decode_error)?;
            report.migrated += 1;
            migrate(schema, value).map_err(|reason| CheckpointError::Migration {
                path: path.to_path_buf(),
                from: schema,
                reason,
            })
        }
    }
}
