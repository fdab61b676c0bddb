//! Lock contention on the database: transactions retried whole.

use std::collections::HashMap;

use crate::support::{App, eventually, state_dir};

#[test]
fn contended_transactions_are_retried_whole_and_committed_exactly_once() {
    let (_dir, state) = state_dir();
    let app = App::start(&state);
    app.fault("contention/on");
    let db = rusqlite::Connection::open_with_flags(
        state.join("ledger.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the database");
    let contended = || -> i64 {
        db.query_row("SELECT count(*) FROM contention", [], |r| r.get(0))
            .expect("the contender's rows")
    };
    eventually("the contender has held the lock", 10, || contended() > 0);
    // The test takes the write lock too, on a connection of its own, and
    // keeps it until a transaction has met it and been retried: the
    // contender alone may leave gaps the transactions all fit in.
    let holder = rusqlite::Connection::open(state.join("ledger.db")).expect("open the database");
    holder
        .busy_timeout(std::time::Duration::from_secs(10))
        .expect("a busy timeout");
    holder
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let retries = || {
        app.scrape()
            .value("mend_retry_retries_total", &[("retry", "database")])
    };
    // Four clients, ten transactions each, against the held write lock.
    let acknowledged: Vec<u64> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|client| {
                let app = &app;
                scope.spawn(move || {
                    (0..10)
                        .map(|n| {
                            let (status, body) =
                                app.post("/transactions", &format!("{}", client * 100 + n));
                            assert_eq!(status, 200, "{body}");
                            body.trim().parse::<u64>().expect("an id")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        eventually(
            "a transaction met the held lock and was retried",
            20,
            || retries() > 0.0,
        );
        holder.execute_batch("COMMIT").expect("give the lock back");
        clients
            .into_iter()
            .flat_map(|c| c.join().expect("a client"))
            .collect()
    });
    app.fault("contention/off");

    let m = app.scrape();
    assert_eq!(
        m.value("mend_retry_gave_up_total", &[("retry", "database")]),
        0.0
    );
    assert_eq!(m.value("app_transactions_total", &[]), 40.0);

    // The database, read beside the running application (WAL readers do
    // not block): each acknowledged transaction exactly once, nothing else.
    let mut rows: HashMap<u64, u32> = HashMap::new();
    let mut query = db
        .prepare("SELECT tx_id FROM transactions")
        .expect("a query");
    for id in query.query_map([], |r| r.get::<_, i64>(0)).expect("rows") {
        *rows.entry(id.expect("a row").unsigned_abs()).or_default() += 1;
    }
    assert_eq!(rows.len(), 40, "{rows:?}");
    for id in &acknowledged {
        assert_eq!(rows.get(id), Some(&1), "transaction {id}");
    }
    eventually("the journal check still passes", 10, || {
        app.check_status("ledger:journal") == "pass"
    });
}
