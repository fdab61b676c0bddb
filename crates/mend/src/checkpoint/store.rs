//! The store: one directory, one process, one state.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Journaled;
use super::error::CheckpointError;
use super::io::{Io, StdIo, write_all};
use super::lock::{self, DirLock};
use super::options::Options;
use super::recover::recover;
use super::report::Recovery;
use super::retain;
use super::tail::Tail;
use super::{journal, snapshot};

/// A crash-safe store for one application state `S`: snapshots of the whole
/// state plus a journal of the changes since.
///
/// # Guarantee
///
/// After a crash (process kill or power loss) [`load`](Store::load) yields
/// the state of a prefix of the issued writes that contains every
/// acknowledged one. A write is acknowledged when [`append`](Store::append)
/// or [`save`](Store::save) returns `Ok`: the change is then on stable
/// storage (fsync'd, and the directory entry of any new file fsync'd). A
/// write that returned an error, or was cut short by the crash, may or may
/// not be in the state, but nothing after it is unless it is too. Media
/// corruption is detected by CRC-32C, reported, and not loaded.
///
/// This holds as long as the file system and disk honour `fsync` (drives
/// that lie about flushing void every database's guarantees, and this one's).
///
/// After any failed write, fsync or rename the store refuses further writes
/// ([`CheckpointError::Poisoned`]) until it is dropped and opened again. A
/// failed append first cuts the journal back to the last acknowledged
/// record, so the reopened store never trusts bytes that failed to sync.
pub struct Store<S: Journaled> {
    dir: PathBuf,
    io: Arc<dyn Io>,
    options: Options,
    _lock: DirLock,
    state: S,
    loaded: bool,
    poisoned: Option<String>,
    next_seq: u64,
    /// The segment appends go to; `None` until one is needed.
    tail: Option<Tail>,
    /// Records and bytes journaled since the last snapshot.
    since_snapshot: (u64, u64),
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
    /// Opens (creating if needed) the checkpoint directory `dir` and takes
    /// its lock. Call [`load`](Store::load) next.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Options`] for invalid options,
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
        options.validate()?;
        let dir = dir.as_ref().to_path_buf();
        io.create_dir_all(&dir)
            .map_err(CheckpointError::io("create", &dir))?;
        let lock = lock::acquire(io.as_ref(), &dir)?;
        Ok(Store {
            dir,
            io,
            options,
            _lock: lock,
            state: S::default(),
            loaded: false,
            poisoned: None,
            next_seq: 1,
            tail: None,
            since_snapshot: (0, 0),
        })
    }

    /// Recovers the newest state from disk: the newest valid snapshot with
    /// the journal replayed on it, migrating older schema versions. Read it
    /// with [`state`](Store::state). On the first run the state is
    /// `S::default()` and [`Recovery::is_first_run`] is true.
    ///
    /// A torn tail (an incomplete last record, never acknowledged) is cut
    /// off; an unfinished snapshot is removed; a damaged snapshot is skipped
    /// for an older one. All of it is in the returned report.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Corrupt`] for a bad record that is not a torn
    /// tail, [`CheckpointError::Unrecoverable`] when damage leaves no way to
    /// the newest acknowledged state, [`CheckpointError::NewerFormat`] /
    /// [`CheckpointError::NewerSchema`] for files this build cannot read,
    /// [`CheckpointError::Migration`], [`CheckpointError::Decode`],
    /// [`CheckpointError::Io`]. The store stays unloaded and refuses writes.
    pub fn load(&mut self) -> Result<Recovery, CheckpointError> {
        self.loaded = false;
        self.tail = None;
        let recovered = recover::<S>(self.io.as_ref(), &self.dir)?;
        self.tail = self.adopt(&recovered.replayed, recovered.tail.as_ref())?;
        self.state = recovered.state;
        self.next_seq = recovered.next_seq;
        self.since_snapshot = recovered.since_snapshot;
        self.loaded = true;
        Ok(recovered.report)
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

    /// Appends `change` to the journal, returns once it is durable (written
    /// and fsync'd), then applies it to the state. Returns its sequence
    /// number. Takes a snapshot first when the journal has passed the
    /// configured size or record count.
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
    pub fn append(&mut self, change: &S::Change) -> Result<u64, CheckpointError> {
        self.writable()?;
        let (records, bytes) = self.since_snapshot;
        if records >= self.options.compact_after_records
            || bytes >= self.options.compact_after_bytes
        {
            self.save()?;
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
        // On error the tail is cut back to the last acknowledged record.
        self.write_record(seq, &record)
            .map_err(|(e, uncut)| self.poison_with(e, uncut))?;
        self.next_seq += 1;
        self.since_snapshot.0 += 1;
        self.since_snapshot.1 += record.len() as u64;
        self.state.apply(change);
        Ok(seq)
    }

    /// Writes a snapshot of the current state (temporary file, fsync,
    /// rename, directory fsync), starts a new journal segment, then drops
    /// snapshots beyond the configured number and the journal segments only
    /// they needed. Returns the sequence number of the last change in it.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::NotLoaded`], [`CheckpointError::Poisoned`],
    /// [`CheckpointError::Encode`]: nothing was written.
    /// [`CheckpointError::Io`]: the store is poisoned; the snapshot may or
    /// may not be durable, and either way the state still loads.
    pub fn save(&mut self) -> Result<u64, CheckpointError> {
        self.writable()?;
        let payload = serde_json::to_vec(&self.state).map_err(CheckpointError::Encode)?;
        let seq = self.next_seq - 1;
        let bytes = snapshot::encode(S::SCHEMA_VERSION, seq, &payload);
        self.write_snapshot(seq, &bytes)
            .map_err(|e| self.poison(e))?;
        self.tail = None;
        self.since_snapshot = (0, 0);
        retain::prune(self.io.as_ref(), &self.dir, self.options.keep_snapshots)
            .map_err(|e| self.poison(e))?;
        Ok(seq)
    }

    /// Makes durable what `load` is about to hand out: a killed process may
    /// have left records in the page cache that nobody fsync'd, and files
    /// whose directory entries were never fsync'd. Every segment whose
    /// records were replayed and the tail are fsync'd, then the directory,
    /// before anything is acknowledged. Returns the tail, open for appends.
    fn adopt(
        &self,
        replayed: &[PathBuf],
        tail: Option<&(PathBuf, u64)>,
    ) -> Result<Option<Tail>, CheckpointError> {
        let mut tail_file = None;
        let tail_path = tail.map(|(path, _)| path);
        for path in replayed
            .iter()
            .chain(tail_path.filter(|p| !replayed.contains(p)))
        {
            let mut file = self
                .io
                .append(path)
                .map_err(CheckpointError::io("open", path))?;
            file.sync().map_err(CheckpointError::io("fsync", path))?;
            if let Some((tail_path, len)) = tail.filter(|(tail_path, _)| tail_path == path) {
                tail_file = Some(Tail::new(file, tail_path.clone(), *len));
            }
        }
        self.io
            .sync_dir(&self.dir)
            .map_err(CheckpointError::io("fsync", &self.dir))?;
        Ok(tail_file)
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

    fn poison(&mut self, error: CheckpointError) -> CheckpointError {
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
        self.tail = None;
        error
    }

    fn write_record(
        &mut self,
        seq: u64,
        record: &[u8],
    ) -> Result<(), (CheckpointError, Option<String>)> {
        let tail = match &mut self.tail {
            Some(tail) => tail,
            None => {
                // A new segment: its directory entry must be durable before
                // the first record in it is acknowledged.
                let path = self.dir.join(journal::file_name(seq));
                let file = self
                    .io
                    .create(&path)
                    .map_err(|e| (CheckpointError::io("create", &path)(e), None))?;
                self.io
                    .sync_dir(&self.dir)
                    .map_err(|e| (CheckpointError::io("fsync", &self.dir)(e), None))?;
                self.tail.insert(Tail::new(file, path, 0))
            }
        };
        tail.append(self.io.as_ref(), record)
    }

    fn write_snapshot(&self, seq: u64, bytes: &[u8]) -> Result<(), CheckpointError> {
        let temp = self.dir.join(snapshot::temp_name(seq));
        let path = self.dir.join(snapshot::file_name(seq));
        let mut file = self
            .io
            .create(&temp)
            .map_err(CheckpointError::io("create", &temp))?;
        write_all(file.as_mut(), bytes).map_err(CheckpointError::io("write", &temp))?;
        file.sync().map_err(CheckpointError::io("fsync", &temp))?;
        drop(file);
        self.io
            .rename(&temp, &path)
            .map_err(CheckpointError::io("rename", &temp))?;
        self.io
            .sync_dir(&self.dir)
            .map_err(CheckpointError::io("fsync", &self.dir))
    }
}
