//! What a writable `load` does to the directory before the store
//! acknowledges anything.
//!
//! A killed process can leave records in the page cache that nobody
//! fsync'd, and files whose directory entries were never fsync'd; the next
//! process reads them like any other. So `load`, after recovery:
//!
//! 1. removes the temporary files of saves cut short, and cuts a torn tail;
//! 2. fsyncs the segment appends will go to, the newest;
//! 3. fsyncs the directory (the entries of everything it adopted);
//! 4. then, unless that segment is the one a format-2 snapshot continues
//!    into (a format-1 directory, a save a crash cut short, a fall back to
//!    an older snapshot, a lost tail, a first run), writes a snapshot, so
//!    every append it acknowledges goes to a segment a snapshot names.
//!
//! That makes everything it loaded durable: when the newest segment is
//! the loaded snapshot's continuation it is the only one holding records
//! after the snapshot (step 2); otherwise the snapshot of step 4 holds
//! them all.
//!
//! [`Store::load`], and [`Store::load_read_only`], which shares the
//! recovery and changes nothing.

use std::io;
use std::path::Path;

use super::Journaled;
use super::error::CheckpointError;
use super::io::{Io, StdIo};
use super::recover::{Recovered, recover};
use super::report::Recovery;
use super::save::Failure;
use super::stats::LoadOutcome;
use super::store::Store;
use super::tail::Tail;

impl<S: Journaled> Store<S> {
    /// Recovers the newest state from disk: the newest valid snapshot with
    /// the journal replayed on it, migrating older schema versions. Read it
    /// with [`state`](Store::state). On the first run the state is
    /// `S::default()` and [`Recovery::is_first_run`] is true.
    ///
    /// A torn tail (an incomplete last record, never acknowledged) is cut
    /// off; an unfinished save is removed; a damaged snapshot is skipped
    /// for an older one; a lost tail is reported. Everything it loaded is
    /// fsync'd, with the directory, before it returns; when the journal
    /// does not go on from a format-2 snapshot (a first run, a format-1
    /// directory, a save a crash cut short) it also writes a snapshot.
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
        let loaded = self.recover_and_adopt();
        let outcome = match &loaded {
            Ok(report) => LoadOutcome::of(report),
            Err(_) => LoadOutcome::Failed,
        };
        self.stats.loaded(outcome, self.since_snapshot.0);
        loaded
    }

    fn recover_and_adopt(&mut self) -> Result<Recovery, CheckpointError> {
        self.loaded = false;
        self.tail = None;
        let recovered = recover::<S>(self.io.as_ref(), &self.dir)?;
        self.tail = adopt(self.io.as_ref(), &self.dir, &recovered)?;
        self.state = recovered.state;
        self.next_seq = recovered.next_seq;
        self.since_snapshot = recovered.since_snapshot;
        self.compact_at = (
            self.options.compact_after_records,
            self.options.compact_after_bytes,
        );
        if self.poisoned.is_none() {
            if !recovered.named {
                self.snapshot(false).map_err(|failure| match failure {
                    Failure::Fatal(error) => self.poison(error),
                    Failure::Abandoned(error) => error,
                })?;
            }
            if !recovered.marked {
                self.lock.mark()?;
            }
        }
        self.loaded = true;
        Ok(recovered.report)
    }

    /// Recovers the state in `dir` as [`load`](Store::load) would, without
    /// taking the lock or changing any file: for inspection tools.
    ///
    /// It reads without the lock, so for an exact answer run it on a
    /// directory no store has open; on a live one it may fail on a file
    /// removed under it, or report a write in progress as a torn tail.
    /// The report names what a writable load would discard (temporary
    /// files, a torn tail) though nothing is removed or cut.
    ///
    /// # Errors
    ///
    /// As [`load`](Store::load); [`CheckpointError::Io`] if `dir` does not
    /// exist.
    pub fn load_read_only(dir: impl AsRef<Path>) -> Result<(S, Recovery), CheckpointError> {
        Self::load_read_only_with_io(dir, &StdIo)
    }

    /// [`load_read_only`](Store::load_read_only) through another [`Io`].
    ///
    /// # Errors
    ///
    /// As [`load_read_only`](Store::load_read_only).
    pub fn load_read_only_with_io(
        dir: impl AsRef<Path>,
        io: &dyn Io,
    ) -> Result<(S, Recovery), CheckpointError> {
        let recovered = recover::<S>(io, dir.as_ref())?;
        Ok((recovered.state, recovered.report))
    }
}

/// Steps 1 to 3; returns the segment appends go to, if one can take them.
fn adopt<S>(
    io: &dyn Io,
    dir: &Path,
    recovered: &Recovered<S>,
) -> Result<Option<Tail>, CheckpointError> {
    for temp in &recovered.temps {
        match io.remove(temp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(CheckpointError::io("remove", temp)(e));
            }
            _ => {}
        }
    }
    if let Some((path, len)) = &recovered.torn {
        io.truncate(path, *len)
            .map_err(CheckpointError::io("truncate", path))?;
    }
    let mut tail = None;
    if let Some((path, first, len)) = &recovered.tail {
        let mut file = io.append(path).map_err(CheckpointError::io("open", path))?;
        file.sync().map_err(CheckpointError::io("fsync", path))?;
        tail = Some(Tail::new(file, path.clone(), *first, *len));
    }
    io.sync_dir(dir)
        .map_err(CheckpointError::io("fsync", dir))?;
    Ok(tail)
}
