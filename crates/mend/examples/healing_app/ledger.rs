//! The books: every transaction goes to a real SQLite database and to the
//! checkpoint store, in that order, before it is acknowledged.
//!
//! - The database runs in WAL mode with `busy_timeout = 0`: a writer that
//!   finds another holding the write lock gets `SQLITE_BUSY` at once,
//!   instead of waiting inside SQLite where no policy can see it. Each
//!   transaction is `BEGIN IMMEDIATE` (the write lock taken up front) and
//!   is retried *whole* by mend's retry (`database`): inside a WAL
//!   transaction a single statement cannot be retried on its own, so the
//!   unit of retry is the transaction. mend's transaction guard
//!   ([`transaction_with`]) commits when the work succeeds and rolls back
//!   on an error, a panic, or anything else that drops it.
//! - Then the checkpoint store journals the transaction (written and
//!   fsync'd), and only then is it acknowledged. A crash between the
//!   commit and the journal leaves a row nobody was told about, never an
//!   acknowledged transaction that is missing; ids carry on after the
//!   highest in either place, so a row is never written twice.
//! - A contender thread on a second connection takes the write lock in a
//!   loop while contention is switched on: real lock contention.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mend::checkpoint::{Options, Recovery, Store, StoreStats};
use mend::cleanup::sqlite::transaction_with;
use mend::retry::{Backoff, Retry};
use parking_lot::Mutex;
use rusqlite::{Connection, TransactionBehavior};

use crate::errors::{AppClassify, ApplicationError};
use crate::state::{Change, Configuration, LedgerState, Transaction};

/// The database and the checkpoint store, written together.
pub(crate) struct Ledger {
    books: Mutex<Books>,
    retry: Arc<DatabaseRetry>,
    /// Read without the books' lock, which a transaction holds through its
    /// retries' waits: the health check reads these every 200 ms.
    stats: Arc<StoreStats>,
    acknowledged: AtomicUsize,
}

/// The retry around each whole transaction.
pub(crate) type DatabaseRetry = Retry<mend::clock::SystemClock, AppClassify>;

struct Books {
    db: Connection,
    store: Store<LedgerState>,
    next_id: u64,
}

impl Ledger {
    /// Opens (or creates) the books in `dir`, recovering the checkpoint
    /// store's state. Returns what the recovery found.
    pub(crate) fn open(dir: &Path) -> Result<(Ledger, Recovery), ApplicationError> {
        let mut store = Store::<LedgerState>::open(
            dir.join("checkpoint"),
            Options::default().compact_after_records(1_000),
        )?;
        let recovery = store.load()?;
        let db = open_database(&dir.join("ledger.db"))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS transactions (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 tx_id INTEGER NOT NULL,
                 amount_cents INTEGER NOT NULL,
                 quote INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS contention (at INTEGER NOT NULL);",
        )?;
        let in_db: Option<i64> =
            db.query_row("SELECT max(tx_id) FROM transactions", [], |r| r.get(0))?;
        let next_id = store
            .state()
            .next_id()
            .max(in_db.map_or(1, |max| max.unsigned_abs() + 1));
        let starts = store.state().configuration.starts + 1;
        store.append(&Change::Configure(Configuration { starts }))?;
        let retry = Retry::builder("database")
            .max_attempts(200)
            .deadline(Duration::from_secs(10))
            .backoff(
                Backoff::exponential(Duration::from_millis(1), 2.0)
                    .with_cap(Duration::from_millis(20)),
            )
            .classify(AppClassify)
            .build()
            .map_err(ApplicationError::internal)?;
        let (stats, acknowledged) = (store.stats(), store.state().transactions.len());
        let books = Books { db, store, next_id };
        Ok((
            Ledger {
                books: Mutex::new(books),
                retry: Arc::new(retry),
                stats,
                acknowledged: AtomicUsize::new(acknowledged),
            },
            recovery,
        ))
    }

    /// Commits a transaction to the database (retried whole while the
    /// database is busy), then journals it; returns it once both are
    /// durable. Blocks: call it from a blocking thread.
    pub(crate) fn record(
        &self,
        amount_cents: i64,
        quote: u64,
    ) -> Result<Transaction, ApplicationError> {
        let mut books = self.books.lock();
        let transaction = Transaction {
            id: books.next_id,
            amount_cents,
            quote,
        };
        let db = &mut books.db;
        self.retry.call(|| {
            transaction_with(db, TransactionBehavior::Immediate, |tx| {
                tx.execute(
                    "INSERT INTO transactions (tx_id, amount_cents, quote) VALUES (?1, ?2, ?3)",
                    (
                        sql_int(transaction.id),
                        transaction.amount_cents,
                        sql_int(transaction.quote),
                    ),
                )?;
                Ok::<_, ApplicationError>(())
            })
            .map_err(ApplicationError::from)
        })?;
        books.next_id += 1;
        books.store.append(&Change::Record(transaction.clone()))?;
        self.acknowledged.fetch_add(1, Relaxed);
        metrics::counter!("app_transactions_total").increment(1);
        Ok(transaction)
    }

    /// Records the time and takes a snapshot of the state, so the next
    /// start replays nothing older. Blocks.
    pub(crate) fn checkpoint(&self) -> Result<(), ApplicationError> {
        let mut books = self.books.lock();
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        books.store.append(&Change::Checkpointed { at_ms })?;
        books.store.save()?;
        Ok(())
    }

    /// The retry around each transaction, for the metrics collector.
    pub(crate) fn retry(&self) -> Arc<DatabaseRetry> {
        self.retry.clone()
    }

    /// The checkpoint store's counters, for the metrics collector.
    pub(crate) fn stats(&self) -> Arc<StoreStats> {
        self.stats.clone()
    }

    /// How many transactions the store holds (acknowledged ones).
    pub(crate) fn acknowledged(&self) -> usize {
        self.acknowledged.load(Relaxed)
    }

    /// Whether the store still accepts writes (it refuses them all after a
    /// write or an fsync failed).
    pub(crate) fn writable(&self) -> bool {
        !self.stats.poisoned()
    }
}

/// SQLite integers are signed; ids and quotes stay far below `i64::MAX`.
fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn open_database(path: &Path) -> Result<Connection, rusqlite::Error> {
    let db = Connection::open(path)?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "FULL")?;
    db.busy_timeout(Duration::ZERO)?;
    Ok(db)
}

/// Starts the contender: a thread with a connection of its own that,
/// while `on` is set, holds the write lock 10 ms out of every 20.
pub(crate) fn start_contender(dir: &Path, on: Arc<AtomicBool>) -> Result<(), ApplicationError> {
    let db = open_database(&dir.join("ledger.db"))?;
    // The contender waits for the lock politely; only the application's
    // own transactions meet SQLITE_BUSY.
    db.busy_timeout(Duration::from_secs(5))?;
    std::thread::Builder::new()
        .name("contender".into())
        .spawn(move || contend(&db, &on))?;
    Ok(())
}

#[allow(
    clippy::disallowed_methods,
    reason = "the contender holds a real lock for real time"
)]
fn contend(db: &Connection, on: &AtomicBool) {
    loop {
        if !on.load(Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let held = db.execute_batch("BEGIN IMMEDIATE; INSERT INTO contention VALUES (1);");
        std::thread::sleep(Duration::from_millis(10));
        if held.is_ok() {
            let _ = db.execute_batch("COMMIT");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs blocking work on the books (`record`, `checkpoint`) on tokio's
/// blocking threads, so no runtime thread waits on SQLite or an fsync.
pub(crate) async fn on_blocking_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApplicationError> + Send + 'static,
) -> Result<T, ApplicationError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApplicationError::internal)?
}
