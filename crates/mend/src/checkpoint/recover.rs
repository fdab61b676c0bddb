//! Recovery: rebuild the newest state from snapshots and journal.
//!
//! 1. Remove temporary snapshot files (saves that never finished).
//! 2. Scan every journal segment. A bad record with a valid record after it,
//!    or a bad record in a segment that is not the last, is corruption: an
//!    error. A bad record at the end of the last segment is a torn tail: it
//!    is truncated away and reported.
//! 3. Take the newest snapshot that passes its checks, reporting the ones
//!    that do not, and replay every record after it, which must follow it
//!    without a gap.
//! 4. Refuse a state older than a snapshot that was skipped: that would
//!    lose acknowledged writes silently.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::Journaled;
use super::error::{CheckpointError, FormatError};
use super::io::Io;
use super::journal;
use super::report::{Discarded, Recovery};
use super::snapshot;

/// The recovered state and where appends go on.
#[derive(Debug)]
pub(crate) struct Recovered<S> {
    pub(crate) state: S,
    pub(crate) next_seq: u64,
    /// The last segment, with its length, if appends can go on in it.
    pub(crate) tail: Option<(PathBuf, u64)>,
    /// Records and bytes in the journal after the snapshot.
    pub(crate) since_snapshot: (u64, u64),
    /// The segments whose records were replayed, in order.
    pub(crate) replayed: Vec<PathBuf>,
    pub(crate) report: Recovery,
}

struct OwnedRecord {
    seq: u64,
    schema: u32,
    payload: Vec<u8>,
    path: PathBuf,
    offset: u64,
}

pub(crate) fn recover<S: Journaled>(
    io: &dyn Io,
    dir: &Path,
) -> Result<Recovered<S>, CheckpointError> {
    let mut report = Recovery::default();
    let names = io.list(dir).map_err(CheckpointError::io("list", dir))?;
    let mut snapshots = Vec::new();
    let mut segments = Vec::new();
    for name in names {
        if let Some(seq) = snapshot::parse_name(&name) {
            snapshots.push(seq);
        } else if let Some(first) = journal::parse_name(&name) {
            segments.push(first);
        } else if snapshot::is_temp_name(&name) {
            let path = dir.join(&name);
            io.remove(&path)
                .map_err(CheckpointError::io("remove", &path))?;
            report.discarded.push(Discarded::TempFile { path });
        }
    }
    snapshots.sort_unstable();
    segments.sort_unstable();

    let (records, tail) = read_journal(io, dir, &segments, &mut report)?;

    let mut base = None;
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
                    &mut report,
                )?;
                base = Some((seq, state));
                break;
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
    report.snapshot = base.as_ref().map(|(seq, _)| *seq);
    let (base_seq, mut state) = base.unwrap_or_else(|| (0, S::default()));

    let mut next_seq = base_seq + 1;
    let mut since_snapshot = (0, 0);
    let mut replayed: Vec<PathBuf> = Vec::new();
    for record in records.iter().filter(|r| r.seq > base_seq) {
        if record.seq != next_seq {
            return Err(CheckpointError::Unrecoverable {
                reason: format!(
                    "journal records {next_seq} to {} after the snapshot at record {base_seq} are missing",
                    record.seq - 1
                ),
            });
        }
        let change = decode_payload::<S::Change>(
            &record.path,
            record.offset,
            (record.schema, S::SCHEMA_VERSION),
            &record.payload,
            S::migrate_change,
            &mut report,
        )?;
        state.apply(&change);
        if replayed.last() != Some(&record.path) {
            replayed.push(record.path.clone());
        }
        next_seq += 1;
        report.replayed += 1;
        since_snapshot.0 += 1;
        since_snapshot.1 += (journal::HEADER_LEN + record.payload.len()) as u64;
    }
    let last_seq = next_seq - 1;
    if let Some(skipped) = skipped_up_to.filter(|&s| s > last_seq) {
        return Err(CheckpointError::Unrecoverable {
            reason: format!(
                "the snapshot at record {skipped} is corrupt and the journal and older snapshots reach only record {last_seq}"
            ),
        });
    }
    report.last_seq = last_seq;
    Ok(Recovered {
        state,
        next_seq,
        tail: tail.and_then(|(path, end_seq, len)| (end_seq == next_seq).then_some((path, len))),
        since_snapshot,
        replayed,
        report,
    })
}

/// The valid records of every segment, in order, and the last segment with
/// the sequence number its next record would carry and its length.
#[allow(clippy::type_complexity)]
fn read_journal(
    io: &dyn Io,
    dir: &Path,
    segments: &[u64],
    report: &mut Recovery,
) -> Result<(Vec<OwnedRecord>, Option<(PathBuf, u64, u64)>), CheckpointError> {
    let mut records = Vec::new();
    let mut tail = None;
    for (i, &first) in segments.iter().enumerate() {
        let path = dir.join(journal::file_name(first));
        let bytes = io.read(&path).map_err(CheckpointError::io("read", &path))?;
        let scan = journal::scan(&bytes);
        let mut expected = first;
        for (offset, record) in &scan.records {
            if record.seq != expected {
                return Err(CheckpointError::Corrupt {
                    path,
                    offset: *offset,
                    source: FormatError::Sequence {
                        expected,
                        found: record.seq,
                    },
                });
            }
            expected += 1;
            records.push(OwnedRecord {
                seq: record.seq,
                schema: record.schema,
                payload: record.payload.to_vec(),
                path: path.clone(),
                offset: *offset,
            });
        }
        let is_last = i + 1 == segments.len();
        if let Some(bad) = scan.bad {
            if let FormatError::NewerFormat { found } = bad.error {
                return Err(CheckpointError::NewerFormat {
                    path,
                    found,
                    supported: journal::FORMAT,
                });
            }
            if !is_last || bad.next_valid.is_some() {
                return Err(CheckpointError::Corrupt {
                    path,
                    offset: bad.offset,
                    source: bad.error,
                });
            }
            io.truncate(&path, bad.offset)
                .map_err(CheckpointError::io("truncate", &path))?;
            report.discarded.push(Discarded::TornTail {
                path: path.clone(),
                offset: bad.offset,
                len: bytes.len() as u64 - bad.offset,
                error: bad.error,
            });
        }
        if is_last {
            tail = Some((path, expected, scan.valid_len));
        }
    }
    Ok((records, tail))
}

/// Decodes a payload written under `schema`, migrating it if it is older.
fn decode_payload<T: DeserializeOwned>(
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
