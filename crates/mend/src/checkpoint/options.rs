//! How many snapshots to keep and when to compact the journal.

use super::error::CheckpointError;

/// Settings of a [`Store`](super::Store), checked by
/// [`Store::open`](super::Store::open).
///
/// ```
/// use mend::checkpoint::Options;
///
/// let options = Options::default()
///     .keep_snapshots(3)
///     .compact_after_records(50_000)
///     .compact_after_bytes(64 << 20);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub(crate) keep_snapshots: usize,
    pub(crate) compact_after_records: u64,
    pub(crate) compact_after_bytes: u64,
}

impl Default for Options {
    /// Keep 2 snapshots; compact after 10 000 records or 16 MiB of journal.
    fn default() -> Self {
        Options {
            keep_snapshots: 2,
            compact_after_records: 10_000,
            compact_after_bytes: 16 << 20,
        }
    }
}

impl Options {
    /// How many snapshots to keep (at least 1). The journal is kept back to
    /// the oldest of them, so recovery can fall back to any one.
    pub fn keep_snapshots(mut self, count: usize) -> Self {
        self.keep_snapshots = count;
        self
    }

    /// Take a snapshot before the next append once the journal holds this
    /// many records since the last snapshot (at least 1).
    pub fn compact_after_records(mut self, records: u64) -> Self {
        self.compact_after_records = records;
        self
    }

    /// Take a snapshot before the next append once the journal holds this
    /// many bytes since the last snapshot (at least 1).
    pub fn compact_after_bytes(mut self, bytes: u64) -> Self {
        self.compact_after_bytes = bytes;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), CheckpointError> {
        if self.keep_snapshots == 0 {
            return Err(CheckpointError::Options(
                "keep_snapshots must be at least 1",
            ));
        }
        if self.compact_after_records == 0 {
            return Err(CheckpointError::Options(
                "compact_after_records must be at least 1",
            ));
        }
        if self.compact_after_bytes == 0 {
            return Err(CheckpointError::Options(
                "compact_after_bytes must be at least 1",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_settings_are_refused_with_a_reason() {
        assert!(Options::default().validate().is_ok());
        let e = Options::default().keep_snapshots(0).validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid checkpoint options: keep_snapshots must be at least 1"
        );
        assert!(
            Options::default()
                .compact_after_records(0)
                .validate()
                .is_err()
        );
        assert!(
            Options::default()
                .compact_after_bytes(0)
                .validate()
                .is_err()
        );
    }
}
