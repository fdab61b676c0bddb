//! Walking the journal: every segment in order, streamed, its records
//! checked and those after the base snapshot applied to the state.
//!
//! What a bad frame means depends on where it is:
//!
//! - in a segment the loaded snapshot *covers* (the next segment starts at
//!   or before the snapshot's record + 1, so every record here is in the
//!   snapshot): reported ([`Discarded::CoveredDamage`]), not refused; only
//!   a fallback to an older snapshot would have needed it;
//! - at the end of the newest segment, with nothing valid after it: a
//!   torn tail, cut off and reported;
//! - a format-2 segment that has lost its header (emptied, or damaged
//!   there) while it is the newest: reported as a lost tail;
//! - anywhere else: [`CheckpointError::Corrupt`].
//!
//! A format-2 segment names its predecessor. A predecessor that is gone
//! although no snapshot present covers it (retention drops only segments
//! the oldest snapshot covers) is reported if the loaded snapshot covers
//! it and refused otherwise; records that do not follow on from the last
//! one are refused as a gap.

use std::path::{Path, PathBuf};

use super::Journaled;
use super::error::{CheckpointError, FormatError};
use super::io::Io;
use super::journal::{self, SEGMENT_HEADER_LEN, SegmentHeader};
use super::recover::decode_payload;
use super::report::Recovery;
use super::scan::{Scanner, Step};

mod damage;

/// What the walk starts from.
#[derive(Debug)]
pub(crate) struct Base<'a> {
    /// The loaded snapshot's record (0: none).
    pub(crate) seq: u64,
    /// True when that snapshot is format 2: its next segment must exist.
    pub(crate) v2: bool,
    /// The names (first records) of the segments, ascending.
    pub(crate) segments: &'a [u64],
    /// The oldest snapshot present, valid or not (retention's mark).
    pub(crate) oldest_snapshot: Option<u64>,
}

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct Walked {
    pub(crate) next_seq: u64,
    /// Records and bytes applied after the base.
    pub(crate) since_snapshot: (u64, u64),
    /// A torn tail to cut: the newest segment and its valid length.
    pub(crate) torn: Option<(PathBuf, u64)>,
    /// The newest segment, if appends can go on in it: a format-2 segment,
    /// intact, ending exactly at `next_seq`. Its first record and length.
    pub(crate) tail: Option<(PathBuf, u64, u64)>,
}

/// Walks every segment, applying the records after `base.seq` to `state`.
pub(crate) fn walk<S: Journaled>(
    io: &dyn Io,
    dir: &Path,
    base: &Base<'_>,
    state: &mut S,
    report: &mut Recovery,
) -> Result<Walked, CheckpointError> {
    let mut walked = Walked {
        next_seq: base.seq + 1,
        ..Walked::default()
    };
    let mut prev_v2 = false;
    for (i, &first) in base.segments.iter().enumerate() {
        let path = dir.join(journal::file_name(first));
        let next = base.segments.get(i + 1);
        let segment = Segment {
            path: &path,
            first,
            newest: next.is_none(),
            covered: next.is_some_and(|&n| n - 1 <= base.seq),
            expect_v2: prev_v2 || (base.v2 && first == base.seq + 1),
        };
        let mut reader = io
            .reader(&path)
            .map_err(CheckpointError::io("open", &path))?;
        let mut scanner =
            Scanner::new(reader.as_mut()).map_err(CheckpointError::io("read", &path))?;
        prev_v2 = segment.read(&mut scanner, base, state, report, &mut walked)?;
    }
    Ok(walked)
}

/// One segment and what its place in the chain allows.
pub(super) struct Segment<'p> {
    path: &'p Path,
    first: u64,
    newest: bool,
    covered: bool,
    /// It must be format 2: the base snapshot or an earlier format-2
    /// segment says so.
    expect_v2: bool,
}

impl Segment<'_> {
    /// Reads the segment; returns whether it is format 2.
    fn read<S: Journaled>(
        &self,
        scanner: &mut Scanner<'_>,
        base: &Base<'_>,
        state: &mut S,
        report: &mut Recovery,
        walked: &mut Walked,
    ) -> Result<bool, CheckpointError> {
        let mut v2 = None;
        let mut expected = self.first;
        loop {
            let next = scanner.next();
            let (offset, frame) = match next.map_err(CheckpointError::io("read", self.path))? {
                Step::Frame(offset, frame) => (offset, frame),
                Step::End => break,
                Step::Bad(bad) => {
                    let offset = bad.offset;
                    if self.bad(bad, scanner.size(), report, walked)?
                        && v2 == Some(true)
                        && expected == walked.next_seq
                    {
                        // Cut back, the torn segment takes appends again.
                        walked.tail = Some((self.path.to_path_buf(), self.first, offset));
                    }
                    return Ok(v2.unwrap_or(self.expect_v2));
                }
            };
            let is_v2 = *v2.get_or_insert(frame.format == journal::FORMAT);
            if offset == 0 && is_v2 {
                let header = SegmentHeader::from_frame(&frame)
                    .filter(|h| h.first == self.first && h.prev < h.first)
                    .ok_or(FormatError::NoHeader);
                let header = match header {
                    Ok(header) => header,
                    Err(error) => {
                        let damage = (0, error);
                        return self.damaged(damage, false, report, walked).map(|()| true);
                    }
                };
                self.check_prev(header, base, walked, report)?;
                if self.first > walked.next_seq {
                    return Err(gap(walked.next_seq, self.first, base.seq));
                }
                continue;
            }
            // A frame of the other format, or a format-1 segment where a
            // format-2 one must be. (A header frame anywhere but first
            // fails the sequence check below.)
            if (frame.format == journal::FORMAT) != is_v2 || self.expect_v2 && !is_v2 {
                let error = if offset == 0 {
                    FormatError::NoHeader
                } else {
                    FormatError::Reserved {
                        found: u64::from(frame.format),
                    }
                };
                return self
                    .damaged((offset, error), false, report, walked)
                    .map(|()| is_v2);
            }
            if frame.seq != expected {
                let error = FormatError::Sequence {
                    expected,
                    found: frame.seq,
                };
                return self
                    .damaged((offset, error), false, report, walked)
                    .map(|()| is_v2);
            }
            expected += 1;
            if frame.seq <= base.seq {
                continue;
            }
            if frame.seq != walked.next_seq {
                return Err(gap(walked.next_seq, frame.seq, base.seq));
            }
            let change = decode_payload::<S::Change>(
                self.path,
                offset,
                (frame.schema, S::SCHEMA_VERSION),
                frame.payload,
                S::migrate_change,
                report,
            )?;
            state.apply(&change);
            walked.next_seq += 1;
            report.replayed += 1;
            walked.since_snapshot.0 += 1;
            walked.since_snapshot.1 += (journal::HEADER_LEN + frame.payload.len()) as u64;
        }
        let v2 = v2.unwrap_or(false);
        if scanner.size() == 0 && self.expect_v2 {
            let error = FormatError::Truncated {
                needed: SEGMENT_HEADER_LEN,
                available: 0,
            };
            return self
                .damaged((0, error), true, report, walked)
                .map(|()| true);
        }
        if self.newest && v2 && expected == walked.next_seq {
            walked.tail = Some((self.path.to_path_buf(), self.first, scanner.offset()));
        }
        Ok(v2)
    }
}

pub(super) fn gap(next_seq: u64, found: u64, base: u64) -> CheckpointError {
    CheckpointError::Unrecoverable {
        reason: format!(
            "journal records {next_seq} to {} after the snapshot at record {base} are missing",
            found - 1
        ),
    }
}
