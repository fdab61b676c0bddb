//! What a bad frame, a lost header or a missing predecessor means, by
//! where it is in the chain (see the parent module's docs).

use super::super::error::{CheckpointError, FormatError};
use super::super::journal::{self, SegmentHeader};
use super::super::report::{Discarded, Recovery};
use super::super::scan::Bad;
use super::{Base, Segment, Walked};

impl Segment<'_> {
    /// A bad frame.
    /// Returns true for a torn tail (to be cut off).
    pub(super) fn bad(
        &self,
        bad: Bad,
        size: u64,
        report: &mut Recovery,
        walked: &mut Walked,
    ) -> Result<bool, CheckpointError> {
        if let FormatError::NewerFormat { found } = bad.error {
            return Err(CheckpointError::NewerFormat {
                path: self.path.to_path_buf(),
                found,
                supported: journal::FORMAT,
            });
        }
        // A format-2 segment is renamed into place with its header, so a
        // bad header is damage; a format-1 segment's first record can be
        // torn like any other.
        let lost_header = bad.offset == 0 && self.expect_v2;
        if self.newest && bad.next_valid.is_none() && !lost_header {
            walked.torn = Some((self.path.to_path_buf(), bad.offset));
            report.discarded.push(Discarded::TornTail {
                path: self.path.to_path_buf(),
                offset: bad.offset,
                len: size - bad.offset,
                error: bad.error,
            });
            return Ok(true);
        }
        let nothing_after = bad.next_valid.is_none();
        self.damaged((bad.offset, bad.error), nothing_after, report, walked)
            .map(|()| false)
    }

    /// Damage that is no torn tail: reported if the base covers it.
    /// `nothing_after`: no valid frame follows, so in the newest segment a
    /// lost header is a lost tail rather than damage in the middle.
    pub(super) fn damaged(
        &self,
        (offset, error): (u64, FormatError),
        nothing_after: bool,
        report: &mut Recovery,
        walked: &Walked,
    ) -> Result<(), CheckpointError> {
        if self.covered {
            report.discarded.push(Discarded::CoveredDamage {
                path: self.path.to_path_buf(),
                offset,
                error,
            });
            return Ok(());
        }
        if self.newest && offset == 0 && nothing_after {
            // The newest segment, header lost: whatever it held is gone.
            report.discarded.push(Discarded::LostTail {
                path: self.path.to_path_buf(),
                after: walked.next_seq - 1,
                error: Some(error),
            });
            return Ok(());
        }
        Err(CheckpointError::Corrupt {
            path: self.path.to_path_buf(),
            offset,
            source: error,
        })
    }

    /// A format-2 segment's predecessor must be there, unless retention
    /// dropped it (the oldest snapshot covers everything before this one).
    pub(super) fn check_prev(
        &self,
        header: SegmentHeader,
        base: &Base<'_>,
        walked: &Walked,
        report: &mut Recovery,
    ) -> Result<(), CheckpointError> {
        let dropped = base.oldest_snapshot.is_some_and(|s| self.first - 1 <= s);
        if header.prev == 0 || base.segments.contains(&header.prev) || dropped {
            return Ok(());
        }
        let missing = self.path.with_file_name(journal::file_name(header.prev));
        if self.first - 1 <= base.seq {
            report
                .discarded
                .push(Discarded::CoveredMissing { path: missing });
            return Ok(());
        }
        Err(CheckpointError::Unrecoverable {
            reason: format!(
                "{} follows {}, which is missing: journal records from {} to {} are lost",
                self.path.display(),
                missing.display(),
                walked.next_seq.max(header.prev),
                self.first - 1
            ),
        })
    }
}
