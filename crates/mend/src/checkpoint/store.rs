//! The store: one directory, one process, one state.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Journaled;
use super::error::CheckpointError;
use super::io::{Io, StdIo};
use super::lock::{self, DirLock};
use super::options::Options;
use super::save::{self, Failure};
use super::stats::StoreStats;
use super::tail::Tail;
use super::{dir, journal, retain, snapshot};

/// A crash-safe store for one application state `S`: snapshots of the whole
/// state plus a journal of the changes since.
///
/// # Guarantee
///
/// After a crash (process kill or power loss, or both, in any order)
/// [`load`](Store::load) yields the state of a prefix of the issued writes
/// that contains every acknowledged one. A write is acknowledged when
/// [`append`](Store::append) or [`save`](Store::save) returns `Ok`: the
/// change is then on stable storage (fsync'd, and the directory entry of
/// any new file fsync'd). A write that returned an error, or was cut short
/// by the crash, may or may not be in the state, but nothing after it is
/// unless it is too. What `load` returns is durable before it returns:
/// it fsyncs what it adopts from the page cache, so a write a killed
/// process never fsync'd, once loaded, stays.
///
/// This holds as long as the file system and disk honour `fsync` (drives
/// that lie about flushing void every database's guarantees, and this one's).
///
/// # Damage and loss
///
/// Media corruption is detected by CRC-32C, reported, and not loaded. Files
/// of on-disk format 2 name each other: a snapshot the segment it
/// continues into, a segment the one before it. So a missing, emptied or
/// damaged file in the chain is found: [`load`](Store::load) refuses with
/// an error when it would leave a gap, and reports it in
/// [`Recovery::discarded`](super::Recovery::discarded) when only the newest changes are gone (see
/// [`Recovery::lost_changes`](super::Recovery::lost_changes)). What recovery **cannot detect**:
///
/// - the newest journal segment cut exactly at a record boundary (or just
///   after its header): the records after the cut are lost and the report
///   does not say so, since nothing on disk counts them;
/// - the newest segment removed, emptied or cut while no snapshot names it
///   yet, which happens only after an automatic compaction failed half way
///   ([`compaction_error`](Store::compaction_error)), until the next
///   snapshot succeeds;
/// - a directory from which every snapshot, segment *and* the lock file
///   were removed: it is an empty directory, and loads as a first run.
///
/// After any failed write, fsync or rename the store refuses further writes
/// ([`CheckpointError::Poisoned`]) until it is dropped and opened again. A
/// failed append first cuts the journal back to the last acknowledged
/// record, so the reopened store never trusts bytes that failed to sync.
pub struct Store<S: Journaled> {
    pub(super) dir: PathBuf,
    pub(super) io: Arc<dyn Io>,
    pub(super) options: Options,
    pub(super) lock: DirLock,
    pub(super) state: S,
    pub(super) loaded: bool,
    pub(super) poisoned: Option<String>,
    pub(super) next_seq: u64,
    /// The segment appends go to.
    pub(super) tail: Option<Tail>,
    /// Records and bytes journaled since the last snapshot.
    pub(super) since_snapshot: (u64, u64),
    /// When `append` compacts next (records, bytes since the snapshot).
    pub(super) compact_at: (u64, u64),
    pub(super) compaction_error: Option<CheckpointError>,
    /// Counters for [`stats`](Store::stats) and the metrics.
    pub(super) stats: Arc<StoreStats>,
    #[cfg(feature = "metrics")]
    timings: super::metrics::Timings,
}

impl<S: Journaled> fmt::Debug for Store<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("loaded", &self.loaded)
            .field("poisoned", &self.poisoned)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl<S: Journaled> Store<S> {
    /// Opens (creating if needed, durably: the parent of every directory it
    /// creates is fsync'd) the checkpoint directory `dir`
    /// and takes its lock. Call [`load`](Store::load) next.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Config`] for invalid options,
    /// [`CheckpointError::Locked`] (naming the holder's pid) when another
    /// store has the directory, [`CheckpointError::Io`] when it cannot be
    /// created or locked.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Self, CheckpointError> {
        Self::open_with_io(dir, options, Arc::new(StdIo))
    }

    /// [`open`](Store::open) through another [`Io`] backend (for tests:
    /// recording, fault injection, simulated power loss).
    ///
    /// # Errors
    ///
    /// As [`open`](Store::open).
    pub fn open_with_io(
        dir: impl AsRef<Path>,
        options: Options,
        io: Arc<dyn Io>,
    ) -> Result<Self, CheckpointError> {
        let dir = dir.as_ref().to_path_buf();
        options.validate(&dir)?;
        dir::create(io.as_ref(), &dir)?;
        let lock = lock::acquire(io.as_ref(), &dir)?;
        let compact_at = (options.compact_after_records, options.compact_after_bytes);
        let name = dir.display().to_string();
        Ok(Store {
            #[cfg(feature = "metrics")]
            timings: super::metrics::Timings::new(&name),
            stats: Arc::new(StoreStats::named(name)),
            dir,
            io,
            options,
            lock,
            state: S::default(),
            loaded: false,
            poisoned: None,
            next_seq: 1,
            tail: None,
            since_snapshot: (0, 0),
            compact_at,
            compaction_error: None,
        })
    }

    /// The current state: what was loaded, with every appended change applied.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The sequence number of the last change applied (0: none).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The checkpoint directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store's counters, shared: read them from any thread, or
    /// register them with a metrics
    /// [`Collector`](crate::metrics::Collector) (feature `metrics`; the
    /// series are labelled `store` with the directory as given to `open`).
    pub fn stats(&self) -> Arc<StoreStats> {
        Arc::clone(&self.stats)
    }

    /// Why the last compaction [`append`](Store::append) ran on its own
    /// failed, if it did; `None` again once a snapshot succeeds.
    pub fn compaction_error(&self) -> Option<&CheckpointError> {
        self.compaction_error.as_ref()
    }

    /// Appends `change` to the journal, returns once it is durable (written
    /// and fsync'd), then applies it to the state. Returns its sequence
    /// number.
    ///
    /// Once the journal has passed the configured size or record count it
    /// first takes a snapshot. If that fails for want of space or any
    /// reason but a failed directory fsync, the append goes on regardless:
    /// [`compaction_error`](Store::compaction_error) says why, and the next
    /// attempt comes after the journal has grown by the threshold again.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::NotLoaded`], [`CheckpointError::Poisoned`],
    /// [`CheckpointError::Encode`], [`CheckpointError::TooLarge`]: nothing
    /// was written. [`CheckpointError::Io`]: the change is not applied to
    /// the state and the store is now poisoned. The segment has been cut
    /// back to the end of the last acknowledged record, so the store opened
    /// again does not load the change (bytes that failed to sync may still
    /// be readable from the page cache, never durable). If that cut failed
    /// too, [`CheckpointError::Poisoned`] says so from then on, and until
    /// the cut is made or the machine restarts a reopen may load the change.
    /// A directory fsync that failed in a compaction is returned too.
    pub fn append(&mut self, change: &S::Change) -> Result<u64, CheckpointError> {
        self.writable()?;
        let (records, bytes) = self.since_snapshot;
        if records >= self.compact_at.0 || bytes >= self.compact_at.1 {
            match self.snapshot(true) {
                Ok(()) => {}
                Err(Failure::Fatal(error)) => return Err(self.poison(error)),
                Err(Failure::Abandoned(error)) => {
                    self.stats.compaction_failed();
                    self.compaction_error = Some(error);
                    self.compact_at = (
                        records.saturating_add(self.options.compact_after_records),
                        bytes.saturating_add(self.options.compact_after_bytes),
                    );
                }
            }
        }
        let payload = serde_json::to_vec(change).map_err(CheckpointError::Encode)?;
        if payload.len() > journal::MAX_PAYLOAD {
            return Err(CheckpointError::TooLarge {
                len: payload.len(),
                max: journal::MAX_PAYLOAD,
            });
        }
        let seq = self.next_seq;
        let record = journal::encode(seq, S::SCHEMA_VERSION, &payload);
        let Some(tail) = &mut self.tail else {
            return Err(CheckpointError::NotLoaded);
        };
        #[cfg(feature = "metrics")]
        let started = super::metrics::Timings::start();
        // On error the tail is cut back to the last acknowledged record.
        tail.append(self.io.as_ref(), &record)
            .map_err(|(error, uncut)| self.poison_with(error, uncut))?;
        #[cfg(feature = "metrics")]
        self.timings.appended(started);
        self.next_seq += 1;
        self.since_snapshot.0 += 1;
        self.since_snapshot.1 += record.len() as u64;
        self.stats
            .appended(record.len() as u64, self.since_snapshot.0);
        self.state.apply(change);
        Ok(seq)
    }

    /// Writes a snapshot of the current state and the journal segment it
    /// continues into (temporary files, fsync, rename, directory fsync),
    /// then drops snapshots beyond the configured number and the journal
    /// segments only they needed. Returns the sequence number of the last
    /// change in it.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::NotLoaded`], [`CheckpointError::Poisoned`],
    /// [`CheckpointError::Encode`]: nothing was written.
    /// [`CheckpointError::Io`]: the store is poisoned; the snapshot may or
    /// may not be durable, and either way the state still loads.
    pub fn save(&mut self) -> Result<u64, CheckpointError> {
        self.writable()?;
        self.snapshot(false)
            .map_err(|failure| self.poison(failure.into_error()))?;
        Ok(self.next_seq - 1)
    }

    /// Writes a snapshot and its segment, then prunes; `automatic` when an
    /// append compacts.
    pub(super) fn snapshot(&mut self, automatic: bool) -> Result<(), Failure> {
        #[cfg(feature = "metrics")]
        let started = super::metrics::Timings::start();
        let payload = serde_json::to_vec(&self.state)
            .map_err(|e| Failure::Abandoned(CheckpointError::Encode(e)))?;
        let seq = self.next_seq - 1;
        let bytes = snapshot::encode(S::SCHEMA_VERSION, seq, &payload);
        save::save(self.io.as_ref(), &self.dir, seq, &bytes, &mut self.tail)?;
        self.since_snapshot = (0, 0);
        self.compact_at = (
            self.options.compact_after_records,
            self.options.compact_after_bytes,
        );
        self.compaction_error = None;
        self.stats.snapshot_taken(automatic);
        #[cfg(feature = "metrics")]
        self.timings.snapshot_taken(started);
        retain::prune(self.io.as_ref(), &self.dir, self.options.keep_snapshots)
            .map_err(|error| Failure::of(error, &self.dir))
    }

    fn writable(&self) -> Result<(), CheckpointError> {
        if let Some(reason) = &self.poisoned {
            return Err(CheckpointError::Poisoned {
                reason: reason.clone(),
            });
        }
        if !self.loaded {
            return Err(CheckpointError::NotLoaded);
        }
        Ok(())
    }

    pub(super) fn poison(&mut self, error: CheckpointError) -> CheckpointError {
        self.poison_with(error, None)
    }

    fn poison_with(&mut self, error: CheckpointError, also: Option<String>) -> CheckpointError {
        let mut reason = error.to_string();
        if let Some(source) = std::error::Error::source(&error) {
            reason = format!("{reason}: {source}");
        }
        if let Some(also) = also {
            reason = format!("{reason}; {also}");
        }
        self.poisoned = Some(reason);
        self.stats.set_poisoned();
        self.tail = None;
        error
    }
}
