//! Crash-safe state: snapshots and a journal that never lose an
//! acknowledged write.
//!
//! Use a [`Store`] when a service must come back after a crash (a kill -9,
//! a power cut) with the state it had acknowledged: a supervisor's restart
//! counts, a queue's offsets, a ledger. The state is any serde type that
//! implements [`Journaled`]: it says how a change is applied, and how to
//! migrate data written under an older schema version.
//!
//! - [`Store::append`] writes one change to the journal and returns once it
//!   is durable (fsync per append).
//! - [`Store::save`] writes a snapshot of the whole state and the journal
//!   segment it continues into (temporary files, fsync, rename, directory
//!   fsync), keeps the last few snapshots, and drops the journal the kept
//!   snapshots no longer need. It also runs on its own when the journal
//!   passes [`Options::compact_after_records`] or
//!   [`Options::compact_after_bytes`]; if it fails then, the append goes
//!   on and [`Store::compaction_error`] says why.
//! - [`Store::load`] rebuilds the newest state: the newest valid snapshot
//!   with the journal replayed on it, streamed in bounded memory. Its
//!   [`Recovery`] report says what was used and what was discarded (a torn
//!   tail, a damaged snapshot, a lost tail). What it loads is fsync'd
//!   before it returns. [`Store::load_read_only`] gives the same state and
//!   report without the lock and without changing any file, for tools.
//!
//! The guarantee, and what recovery cannot detect, are stated on [`Store`].
//! Every byte has a CRC-32C; damage is reported and never loaded. One
//! process at a time holds a directory (an advisory `flock`; the error names
//! the holder's pid). All file access goes through the [`Io`] trait, which
//! is how the tests record, fail and crash it.
//!
//! Payloads are JSON (serde_json): deterministic for a given value (struct
//! fields in declaration order), self-describing so an older schema can be
//! migrated as a [`serde_json::Value`], and readable when something needs
//! inspecting by hand. Size and speed are not the point here; the journal's
//! cost is the fsync.
//!
//! Files in the directory: `snapshot-<seq>.snap` (see the layout in
//! `snapshot.rs`), `journal-<first seq>.log` segments (layout in
//! `journal.rs`), `LOCK` (the holder's pid, then `initialized` once a
//! store has been set up), all created 0600. This build writes on-disk
//! format 2 and reads formats 1 and 2.
//!
//! # Examples
//!
//! ```
//! use mend::checkpoint::{Journaled, Options, Store};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Default, Serialize, Deserialize)]
//! struct Ledger {
//!     balance: i64,
//!     entries: Vec<i64>,
//! }
//!
//! impl Journaled for Ledger {
//!     type Change = i64;
//!     fn apply(&mut self, amount: &i64) {
//!         self.balance += amount;
//!         self.entries.push(*amount);
//!     }
//! }
//!
//! # let dir = std::env::temp_dir().join(format!("mend-checkpoint-doc-{}", std::process::id()));
//! let mut store = Store::<Ledger>::open(&dir, Options::default())?;
//! let recovery = store.load()?;
//! println!("recovered: {recovery}");
//! store.append(&100)?; // durable when it returns
//! store.append(&-30)?;
//! store.save()?;
//! assert_eq!(store.state().balance, 70);
//! # drop(store);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), mend::checkpoint::CheckpointError>(())
//! ```

mod dir;
mod error;
mod io;
mod journal;
mod load;
mod lock;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
mod options;
mod recover;
mod replay;
mod report;
mod retain;
mod save;
mod scan;
mod snapshot;
mod stats;
mod store;
mod tail;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use error::{CheckpointError, FormatError};
pub use io::{Io, IoFile, IoReader, StdIo};
pub use options::{MAX_KEEP_SNAPSHOTS, Options};
pub use report::{Discarded, Recovery};
pub use stats::{LoadOutcome, StoreStats};
pub use store::Store;

/// An application state a [`Store`] can keep: serde, a default for the
/// first run, and a change type applied to it.
///
/// `apply` must be deterministic and infallible: it runs again on every
/// recovery, for every change after the snapshot. Validate a change before
/// appending it.
pub trait Journaled: Default + Serialize + DeserializeOwned {
    /// One change to the state, as written to the journal.
    type Change: Serialize + DeserializeOwned;

    /// The version of the state's and the change's schema. Raise it when
    /// either changes shape, and teach [`migrate`](Journaled::migrate) and
    /// [`migrate_change`](Journaled::migrate_change) the old shape.
    const SCHEMA_VERSION: u32 = 1;

    /// Applies one change.
    fn apply(&mut self, change: &Self::Change);

    /// Builds the state from a snapshot written under the older schema
    /// version `from`. The default knows no older version.
    ///
    /// # Errors
    ///
    /// A message saying why it cannot; `load` then fails with
    /// [`CheckpointError::Migration`].
    fn migrate(from: u32, old: serde_json::Value) -> Result<Self, String> {
        let _ = old;
        Err(format!("no migration from schema version {from}"))
    }

    /// Builds a change from a journal record written under the older
    /// schema version `from`. The default knows no older version.
    ///
    /// # Errors
    ///
    /// As [`migrate`](Journaled::migrate).
    fn migrate_change(from: u32, old: serde_json::Value) -> Result<Self::Change, String> {
        let _ = old;
        Err(format!(
            "no migration of changes from schema version {from}"
        ))
    }
}

/// The on-disk decoders and encoders, for the fuzz targets in `fuzz/`.
/// Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::journal::{
        Frame, HEADER_LEN as RECORD_HEADER_LEN, SegmentHeader, decode as decode_record,
        encode as encode_record, encode_frame,
    };
    pub use super::scan::{Bad, Bytes, OwnedFrame, Scan, scan as scan_segment};
    pub use super::snapshot::{
        HEADER_LEN as SNAPSHOT_HEADER_LEN, Snapshot, decode as decode_snapshot,
        encode as encode_snapshot, encode_format as encode_snapshot_format,
    };
}
