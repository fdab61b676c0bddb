//! What the application must never lose, kept by mend's checkpoint store:
//! every acknowledged transaction, the time of the last checkpoint, and
//! the configuration. Each change is journaled (written and fsync'd)
//! before the request that made it is answered, so a `kill -9` at any
//! moment loses nothing that was acknowledged.
//!
//! The integration test reads this same file (`#[path]`) to open the
//! store after killing the application.

use mend::checkpoint::Journaled;
use serde::{Deserialize, Serialize};

/// The state the checkpoint store keeps.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct LedgerState {
    /// Every acknowledged transaction, in the order it was acknowledged.
    pub(crate) transactions: Vec<Transaction>,
    /// When the worker last took a snapshot (milliseconds since the Unix
    /// epoch; 0 before the first).
    pub(crate) last_checkpoint_ms: u64,
    /// Settings the application runs with, journaled like the rest.
    pub(crate) configuration: Configuration,
}

/// One acknowledged transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Transaction {
    /// Unique, increasing; also the row's key in the database.
    pub(crate) id: u64,
    /// What the caller asked for, in cents.
    pub(crate) amount_cents: i64,
    /// The dependency's quote the amount was priced at.
    pub(crate) quote: u64,
}

/// Settings kept across restarts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Configuration {
    /// How many times the application has started on this state.
    pub(crate) starts: u64,
}

/// One journaled change.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Change {
    /// A transaction committed to the database, about to be acknowledged.
    Record(Transaction),
    /// A snapshot was taken at this time.
    Checkpointed {
        /// Milliseconds since the Unix epoch.
        at_ms: u64,
    },
    /// New settings.
    Configure(Configuration),
}

impl Journaled for LedgerState {
    type Change = Change;

    fn apply(&mut self, change: &Change) {
        match change {
            Change::Record(transaction) => self.transactions.push(transaction.clone()),
            Change::Checkpointed { at_ms } => self.last_checkpoint_ms = *at_ms,
            Change::Configure(configuration) => self.configuration = configuration.clone(),
        }
    }
}

impl LedgerState {
    /// The id the next transaction gets.
    #[allow(dead_code, reason = "the test includes this file and does not call it")]
    pub(crate) fn next_id(&self) -> u64 {
        self.transactions.last().map_or(1, |t| t.id + 1)
    }
}
