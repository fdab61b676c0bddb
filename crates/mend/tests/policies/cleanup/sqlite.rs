//! SQLite transactions on a real database file: a panic mid-transaction
//! leaves none of it, a failed one neither, a committed one survives a
//! reopen, and a commit SQLite refuses keeps nothing.

#![allow(clippy::result_large_err)] // rusqlite::Error is large; these are tests

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Duration;

use mend::cleanup::sqlite::{TransactionError, transaction};
use rusqlite::Connection;

fn open(path: &Path) -> Connection {
    let db = Connection::open(path).unwrap();
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS ledger (who TEXT NOT NULL, cents INTEGER NOT NULL);",
    )
    .unwrap();
    db
}

/// Rows in the ledger, read through a fresh connection (what a restart
/// would see).
fn rows_after_reopen(path: &Path) -> i64 {
    open(path)
        .query_row("SELECT count(*) FROM ledger", [], |r| r.get(0))
        .unwrap()
}

fn transfer(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute("INSERT INTO ledger VALUES ('alice', -30)", [])?;
    tx.execute("INSERT INTO ledger VALUES ('bob', 30)", [])?;
    Ok(())
}

#[test]
fn a_panic_mid_transaction_leaves_none_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let mut db = open(&path);
    let result = catch_unwind(AssertUnwindSafe(|| {
        transaction(&mut db, |tx| {
            tx.execute("INSERT INTO ledger VALUES ('alice', -30)", [])?;
            panic!("a bug between the two halves");
            #[allow(unreachable_code)]
            Ok::<(), rusqlite::Error>(())
        })
    }));
    assert!(result.is_err());
    assert_eq!(rows_after_reopen(&path), 0);
    // The connection is usable again: no transaction left open.
    assert!(db.is_autocommit());
    transaction(&mut db, transfer).unwrap();
    assert_eq!(rows_after_reopen(&path), 2);
}

#[test]
fn a_failed_transaction_is_rolled_back_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let mut db = open(&path);
    let err = transaction(&mut db, |tx| {
        tx.execute("INSERT INTO ledger VALUES ('alice', -30)", [])?;
        tx.execute("INSERT INTO ledger VALUES ('bob', NULL)", [])?; // NOT NULL
        Ok::<(), rusqlite::Error>(())
    })
    .unwrap_err();
    assert!(
        matches!(err, TransactionError::Failed { rollback: None, .. }),
        "{err}"
    );
    assert!(err.to_string().ends_with("rolled back"), "{err}");
    assert_eq!(rows_after_reopen(&path), 0);
}

#[test]
fn a_committed_transaction_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    {
        let mut db = open(&path);
        transaction(&mut db, transfer).unwrap();
    }
    assert_eq!(rows_after_reopen(&path), 2);
}

#[test]
fn a_commit_sqlite_refuses_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let mut writer = open(&path);
    writer.busy_timeout(Duration::ZERO).unwrap();
    // A reader in the middle of a read transaction holds a shared lock: in
    // rollback-journal mode the writer cannot take the exclusive lock a
    // commit needs.
    let reader = open(&path);
    reader
        .execute_batch("BEGIN; SELECT count(*) FROM ledger;")
        .unwrap();
    let err = transaction(&mut writer, transfer).unwrap_err();
    assert!(matches!(err, TransactionError::Commit(_)), "{err}");
    reader.execute_batch("COMMIT;").unwrap();
    assert!(writer.is_autocommit(), "nothing left open");
    assert_eq!(rows_after_reopen(&path), 0);
}
