//! `kill -9` in the middle of work, and a clean SIGTERM.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use mend::checkpoint::{Options, Store};
use rustix::process::Signal;

use crate::support::state::LedgerState;
use crate::support::{App, eventually, state_dir};

/// The transactions the checkpoint store holds, as a fresh process loads
/// them.
fn load(state: &Path) -> (LedgerState, bool) {
    let mut store = Store::<LedgerState>::open(state.join("checkpoint"), Options::default())
        .expect("open the store");
    let recovery = store.load().expect("load the store");
    let lost = recovery.lost_changes();
    drop(recovery);
    let LedgerState {
        transactions,
        last_checkpoint_ms,
        configuration,
    } = store.state();
    (
        LedgerState {
            transactions: transactions.clone(),
            last_checkpoint_ms: *last_checkpoint_ms,
            configuration: configuration.clone(),
        },
        lost,
    )
}

/// Each transaction id in the database, with how many rows carry it.
fn rows(state: &Path) -> HashMap<u64, u32> {
    let db = rusqlite::Connection::open(state.join("ledger.db")).expect("open the database");
    let mut rows = HashMap::new();
    let mut query = db
        .prepare("SELECT tx_id FROM transactions")
        .expect("a query");
    for id in query.query_map([], |r| r.get::<_, i64>(0)).expect("rows") {
        *rows.entry(id.expect("a row").unsigned_abs()).or_default() += 1;
    }
    rows
}

#[test]
fn kill_9_mid_flight_loses_no_acknowledged_transaction() {
    let (_dir, state) = state_dir();
    let mut app = App::start(&state);
    let acknowledged = Mutex::new(Vec::<u64>::new());
    let killed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // Three clients write until the process dies under them.
        for client in 0..3 {
            let (app, acknowledged, killed) = (&app, &acknowledged, &killed);
            scope.spawn(move || {
                for n in 0.. {
                    match app.try_post("/transactions", &format!("{}", client * 10_000 + n)) {
                        Some((200, id)) => acknowledged
                            .lock()
                            .unwrap()
                            .push(id.trim().parse().expect("an id")),
                        Some((status, body)) => panic!("{status}: {body}"),
                        None if killed.load(SeqCst) => return,
                        None => panic!("the example stopped answering before the kill"),
                    }
                }
            });
        }
        eventually("30 transactions acknowledged", 30, || {
            acknowledged.lock().unwrap().len() >= 30
        });
        // Before the kill, from the scrape: what was acknowledged by then
        // is counted (more may be acknowledged while the scrape runs).
        let seen = acknowledged.lock().unwrap().len();
        let counted = app.scrape().value("app_transactions_total", &[]);
        assert!(
            counted >= seen as f64,
            "{counted} counted, {seen} acknowledged"
        );
        killed.store(true, SeqCst);
        app.signal(Signal::KILL);
    });
    let status = app.wait();
    assert_eq!(status.code(), None, "killed by a signal: {status:?}");
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(acknowledged.len() >= 30);

    // After it, from the store's load() and from the database.
    let (loaded, lost) = load(&state);
    assert!(!lost, "the load reports no lost change");
    let journaled: Vec<u64> = loaded.transactions.iter().map(|t| t.id).collect();
    let rows = rows(&state);
    for id in &acknowledged {
        assert!(
            journaled.contains(id),
            "acknowledged transaction {id} is not in the store"
        );
        assert_eq!(
            rows.get(id),
            Some(&1),
            "acknowledged transaction {id} in the database"
        );
    }
    assert!(
        rows.values().all(|&n| n == 1),
        "no transaction twice: {rows:?}"
    );

    // The crash window between a commit and its journal record, made
    // certain: a row committed that nobody was acknowledged for.
    let orphan = rows.keys().copied().max().unwrap_or(0) + 1;
    rusqlite::Connection::open(state.join("ledger.db"))
        .and_then(|db| {
            db.execute(
                "INSERT INTO transactions (tx_id, amount_cents, quote) VALUES (?1, 1, 1)",
                [i64::try_from(orphan).expect("small")],
            )
        })
        .expect("insert the orphan row");

    // A restart: counters start again, the books carry on after the
    // highest id either place holds, and nothing is written twice.
    let app = App::start(&state);
    let m = app.scrape();
    assert_eq!(m.value("app_transactions_total", &[]), 0.0);
    assert_eq!(
        m.value("mend_checkpoint_loads_total", &[("outcome", "lost")])
            + m.value("mend_checkpoint_loads_total", &[("outcome", "failed")]),
        0.0
    );
    let (status, id) = app.post("/transactions", "7");
    assert_eq!(status, 200, "{id}");
    let id: u64 = id.trim().parse().expect("an id");
    assert!(id > orphan, "new id {id}, highest before {orphan}");
    drop(app);
    assert!(super::crash::rows(&state).values().all(|&n| n == 1));
}

#[test]
fn sigterm_shuts_down_in_order_and_logs_the_report() {
    let (_dir, state) = state_dir();
    let app = App::start(&state);
    for amount in ["100", "-40", "5"] {
        assert_eq!(app.post("/transactions", amount).0, 200);
    }
    app.signal(Signal::TERM);
    let log_after = {
        let status = app.wait_keeping_log();
        assert!(status.0.success(), "exit {:?}\n{}", status.0, status.1);
        status.1
    };
    let report = log_after
        .lines()
        .find(|line| line.contains("\"message\":\"shut down\""))
        .unwrap_or_else(|| panic!("no shutdown report in\n{log_after}"));
    assert!(report.contains("\"clean\":true"), "{report}");
    assert!(
        report.contains("hook last checkpoint: finished"),
        "{report}"
    );
    let (loaded, lost) = load(&state);
    assert!(!lost);
    assert_eq!(loaded.transactions.len(), 3);
    assert!(
        loaded.last_checkpoint_ms > 0,
        "the last checkpoint hook ran"
    );
    assert_eq!(loaded.configuration.starts, 1);
}
