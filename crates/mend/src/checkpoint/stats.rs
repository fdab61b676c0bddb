//! What a [`Store`](super::Store) has done, counted where it happens and
//! readable from any thread: [`Store::stats`](super::Store::stats) hands out
//! the shared counters, which a metrics
//! [`Collector`](crate::metrics::Collector) reads at a scrape (feature
//! `metrics`) while the store itself stays `&mut`.

use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};

use super::report::Recovery;

/// How a [`load`](super::Store::load) ended, as the metrics label it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadOutcome {
    /// Nothing had ever been acknowledged in the directory.
    FirstRun,
    /// The newest acknowledged state, nothing discarded.
    Clean,
    /// The newest acknowledged state; something never acknowledged (a torn
    /// tail, an unfinished save, a damaged older snapshot) was discarded.
    Repaired,
    /// Changes that may have been acknowledged are missing
    /// ([`Recovery::lost_changes`]).
    Lost,
    /// The load returned an error.
    Failed,
}

impl LoadOutcome {
    /// Every outcome, in the order of [`label`](LoadOutcome::label)s.
    pub const ALL: [LoadOutcome; 5] = [
        LoadOutcome::FirstRun,
        LoadOutcome::Clean,
        LoadOutcome::Repaired,
        LoadOutcome::Lost,
        LoadOutcome::Failed,
    ];

    /// How a recovery report reads.
    pub fn of(recovery: &Recovery) -> Self {
        if recovery.lost_changes() {
            LoadOutcome::Lost
        } else if recovery.is_first_run() {
            LoadOutcome::FirstRun
        } else if recovery.discarded.is_empty() {
            LoadOutcome::Clean
        } else {
            LoadOutcome::Repaired
        }
    }

    /// The metrics label: `first_run`, `clean`, `repaired`, `lost`, `failed`.
    pub fn label(self) -> &'static str {
        match self {
            LoadOutcome::FirstRun => "first_run",
            LoadOutcome::Clean => "clean",
            LoadOutcome::Repaired => "repaired",
            LoadOutcome::Lost => "lost",
            LoadOutcome::Failed => "failed",
        }
    }
}

/// The counters of one store. Every count only grows, except
/// [`journal_records`](StoreStats::journal_records), which a snapshot
/// empties, and [`poisoned`](StoreStats::poisoned).
///
/// ```
/// use mend::checkpoint::{Journaled, Options, Store};
/// # #[derive(Default, serde::Serialize, serde::Deserialize)]
/// # struct Count(u64);
/// # impl Journaled for Count {
/// #     type Change = u64;
/// #     const SCHEMA_VERSION: u32 = 1;
/// #     fn apply(&mut self, n: &u64) { self.0 += n; }
/// # }
/// # let dir = tempfile::tempdir()?;
/// let mut store = Store::<Count>::open(dir.path(), Options::default())?;
/// let stats = store.stats();
/// store.load()?;
/// store.append(&2)?;
/// assert_eq!((stats.appends(), stats.journal_records()), (1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct StoreStats {
    pub(super) name: String,
    appends: AtomicU64,
    appended_bytes: AtomicU64,
    saves: AtomicU64,
    compactions: AtomicU64,
    compaction_failures: AtomicU64,
    journal_records: AtomicU64,
    poisoned: AtomicBool,
    loads: [AtomicU64; LoadOutcome::ALL.len()],
}

impl StoreStats {
    pub(super) fn named(name: String) -> Self {
        StoreStats {
            name,
            ..StoreStats::default()
        }
    }

    /// The store's directory, as its metrics label it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Changes appended (acknowledged).
    pub fn appends(&self) -> u64 {
        self.appends.load(Relaxed)
    }

    /// Bytes of journal records appended.
    pub fn appended_bytes(&self) -> u64 {
        self.appended_bytes.load(Relaxed)
    }

    /// Snapshots written by [`save`](super::Store::save) (and by a load that
    /// starts a new chain).
    pub fn saves(&self) -> u64 {
        self.saves.load(Relaxed)
    }

    /// Snapshots an [`append`](super::Store::append) took on its own.
    pub fn compactions(&self) -> u64 {
        self.compactions.load(Relaxed)
    }

    /// Automatic compactions that failed and were put off.
    pub fn compaction_failures(&self) -> u64 {
        self.compaction_failures.load(Relaxed)
    }

    /// Journal records since the last snapshot: what a load would replay.
    pub fn journal_records(&self) -> u64 {
        self.journal_records.load(Relaxed)
    }

    /// True once the store refuses writes after a failed write or fsync.
    pub fn poisoned(&self) -> bool {
        self.poisoned.load(Relaxed)
    }

    /// Loads that ended with `outcome`.
    pub fn loads(&self, outcome: LoadOutcome) -> u64 {
        self.loads[outcome as usize].load(Relaxed)
    }

    pub(super) fn appended(&self, bytes: u64, records_since_snapshot: u64) {
        self.appends.fetch_add(1, Relaxed);
        self.appended_bytes.fetch_add(bytes, Relaxed);
        self.journal_records.store(records_since_snapshot, Relaxed);
    }

    pub(super) fn snapshot_taken(&self, automatic: bool) {
        let count = if automatic {
            &self.compactions
        } else {
            &self.saves
        };
        count.fetch_add(1, Relaxed);
        self.journal_records.store(0, Relaxed);
    }

    pub(super) fn compaction_failed(&self) {
        self.compaction_failures.fetch_add(1, Relaxed);
    }

    pub(super) fn loaded(&self, outcome: LoadOutcome, records_since_snapshot: u64) {
        self.loads[outcome as usize].fetch_add(1, Relaxed);
        self.journal_records.store(records_since_snapshot, Relaxed);
    }

    pub(super) fn set_poisoned(&self) {
        self.poisoned.store(true, Relaxed);
    }
}

impl fmt::Debug for StoreStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreStats")
            .field("name", &self.name)
            .field("appends", &self.appends())
            .field("saves", &self.saves())
            .field("compactions", &self.compactions())
            .field("journal_records", &self.journal_records())
            .field("poisoned", &self.poisoned())
            .finish_non_exhaustive()
    }
}
