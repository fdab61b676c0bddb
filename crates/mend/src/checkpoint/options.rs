//! How many snapshots to keep and when to compact the journal.

use std::path::Path;

use crate::config::{Checks, ConfigError};

/// The most snapshots a store keeps ([`Options::keep_snapshots`]): each is a
/// file, and recovery may read every one of them.
pub const MAX_KEEP_SNAPSHOTS: usize = 1_000;

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
    /// How many snapshots to keep, from 1 to [`MAX_KEEP_SNAPSHOTS`]. The
    /// journal is kept back to the oldest of them, so recovery can fall back
    /// to any one.
    pub fn keep_snapshots(mut self, count: usize) -> Self {
        self.keep_snapshots = count;
        self
    }

    /// Take a snapshot before the next append once the journal holds this
    /// many records since the last snapshot (at least 1; `u64::MAX` never
    /// compacts by count).
    pub fn compact_after_records(mut self, records: u64) -> Self {
        self.compact_after_records = records;
        self
    }

    /// Take a snapshot before the next append once the journal holds this
    /// many bytes since the last snapshot (at least 1; `u64::MAX` never
    /// compacts by size).
    pub fn compact_after_bytes(mut self, bytes: u64) -> Self {
        self.compact_after_bytes = bytes;
        self
    }

    /// Checks every setting, naming the store's directory in the error.
    pub(crate) fn validate(&self, dir: &Path) -> Result<(), ConfigError> {
        let checks = Checks::named("checkpoint store", &dir.display().to_string());
        checks.count(
            "keep_snapshots",
            self.keep_snapshots,
            1,
            MAX_KEEP_SNAPSHOTS,
            "snapshots",
        )?;
        checks.count(
            "compact_after_records",
            self.compact_after_records,
            1,
            u64::MAX,
            "records",
        )?;
        checks.count(
            "compact_after_bytes",
            self.compact_after_bytes,
            1,
            u64::MAX,
            "bytes",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(options: Options) -> Result<(), ConfigError> {
        options.validate(Path::new("/var/lib/app"))
    }

    #[test]
    fn keep_snapshots_is_held_between_1_and_its_maximum() {
        let e = check(Options::default().keep_snapshots(0)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "checkpoint store `/var/lib/app`: invalid `keep_snapshots` = 0: \
             expected between 1 and 1000 snapshots"
        );
        assert!(check(Options::default().keep_snapshots(1)).is_ok());
        assert!(check(Options::default().keep_snapshots(MAX_KEEP_SNAPSHOTS)).is_ok());
        let e = check(Options::default().keep_snapshots(MAX_KEEP_SNAPSHOTS + 1)).unwrap_err();
        assert_eq!((e.field, e.value.as_str()), ("keep_snapshots", "1001"));
    }

    #[test]
    fn compaction_thresholds_refuse_zero_and_take_any_other_count() {
        assert!(check(Options::default()).is_ok());
        for (options, field) in [
            (
                Options::default().compact_after_records(0),
                "compact_after_records",
            ),
            (
                Options::default().compact_after_bytes(0),
                "compact_after_bytes",
            ),
        ] {
            assert_eq!(check(options).unwrap_err().field, field);
        }
        for n in [1, u64::MAX] {
            assert!(check(Options::default().compact_after_records(n)).is_ok());
            assert!(check(Options::default().compact_after_bytes(n)).is_ok());
        }
    }
}
