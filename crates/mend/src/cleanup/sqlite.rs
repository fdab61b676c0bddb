//! SQLite transactions that commit when the work succeeds and roll back
//! when it fails or panics (feature `sqlite`), on rusqlite's own
//! [`Transaction`], whose drop already rolls back: mend does not wrap it
//! a second time, it makes the three ends explicit and reports a rollback
//! that fails instead of dropping its error.
//!
//! | the work | what happens |
//! |---|---|
//! | returns `Ok` | `COMMIT`; a failed commit is [`TransactionError::Commit`] (and rusqlite's drop rolls back what is still open) |
//! | returns `Err` | `ROLLBACK`; [`TransactionError::Failed`] carries the work's error and the rollback's, if it failed too |
//! | panics | the unwind drops the `Transaction`, which rolls back (rusqlite's `DropBehavior::Rollback`, the default, which the work must not change) |

use std::fmt;

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// Why a transaction did not commit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError<E> {
    /// SQLite would not begin the transaction.
    #[error("could not begin the transaction: {0}")]
    Begin(#[source] rusqlite::Error),
    /// The work failed; the transaction was rolled back (`rollback` says
    /// why it could not be, if it could not).
    #[error("the transaction's work failed ({error}); {}", rolled_back(.rollback))]
    Failed {
        /// The work's error.
        error: E,
        /// The rollback's error, if the rollback failed too.
        rollback: Option<rusqlite::Error>,
    },
    /// SQLite would not commit; nothing of the transaction is kept.
    #[error("could not commit the transaction: {0}")]
    Commit(#[source] rusqlite::Error),
}

fn rolled_back(rollback: &Option<rusqlite::Error>) -> String {
    match rollback {
        None => "rolled back".to_owned(),
        Some(e) => format!("and the rollback failed too: {e}"),
    }
}

/// Runs `work` in a deferred transaction on `connection`: commits if it
/// returns `Ok`, rolls back if it returns `Err` or panics.
///
/// # Errors
///
/// [`TransactionError`]: the work's error (rolled back), or SQLite's at
/// `BEGIN` or `COMMIT`.
///
/// # Examples
///
/// ```
/// use mend::cleanup::sqlite::transaction;
///
/// let mut db = rusqlite::Connection::open_in_memory()?;
/// db.execute("CREATE TABLE ledger (who TEXT, cents INTEGER)", [])?;
/// let failed = transaction(&mut db, |tx| {
///     tx.execute("INSERT INTO ledger VALUES ('alice', -30)", [])?;
///     Err::<(), _>(rusqlite::Error::InvalidQuery) // bob's half fails
/// });
/// assert!(failed.is_err());
/// let rows: i64 = db.query_row("SELECT count(*) FROM ledger", [], |r| r.get(0))?;
/// assert_eq!(rows, 0, "nothing half done");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn transaction<T, E>(
    connection: &mut Connection,
    work: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
) -> Result<T, TransactionError<E>>
where
    E: fmt::Display,
{
    transaction_with(connection, TransactionBehavior::Deferred, work)
}

/// [`transaction`] with `BEGIN IMMEDIATE` or `EXCLUSIVE`.
///
/// # Errors
///
/// As [`transaction`].
pub fn transaction_with<T, E>(
    connection: &mut Connection,
    behavior: TransactionBehavior,
    work: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
) -> Result<T, TransactionError<E>>
where
    E: fmt::Display,
{
    let tx = connection
        .transaction_with_behavior(behavior)
        .map_err(TransactionError::Begin)?;
    match work(&tx) {
        Ok(value) => {
            tx.commit().map_err(TransactionError::Commit)?;
            Ok(value)
        }
        Err(error) => {
            let rollback = tx.rollback().err();
            #[cfg(feature = "tracing")]
            if let Some(failed) = &rollback {
                tracing::error!(target: "mend::cleanup", %error, rollback = %failed, "rollback failed");
            }
            Err(TransactionError::Failed { error, rollback })
        }
    }
}
