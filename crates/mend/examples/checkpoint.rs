//! Run with: cargo run --example checkpoint
//!
//! A program whose state survives `kill -9`: it journals every transaction
//! (durable before it is counted), snapshots now and then, and on start
//! prints what it recovered. Kill it at any moment and run it again:
//!
//! ```text
//! cargo run --example checkpoint -- /tmp/ledger 100000 &
//! sleep 2; kill -9 $!
//! cargo run --example checkpoint -- /tmp/ledger 10
//! ```
//!
//! Arguments: the checkpoint directory (default: `mend-checkpoint-example`
//! in the temp directory) and how many transactions to add this run
//! (default 2000).

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use mend::checkpoint::{Journaled, Options, Store};
use serde::{Deserialize, Serialize};

/// Everything the application must not lose.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ApplicationState {
    /// The transactions, in order.
    data: Vec<Transaction>,
    /// Where processing has got to.
    checkpoint: Progress,
    /// Settings changed at run time, journaled like everything else.
    configuration: Configuration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Transaction {
    id: u64,
    amount: i64,
    memo: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Progress {
    next_id: u64,
    balance: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Configuration {
    name: String,
    runs: u64,
}

impl Default for Configuration {
    fn default() -> Self {
        Configuration {
            name: "demo ledger".into(),
            runs: 0,
        }
    }
}

/// One journaled change.
#[derive(Debug, Serialize, Deserialize)]
enum Change {
    Record(Transaction),
    Configure(Configuration),
}

impl Journaled for ApplicationState {
    type Change = Change;

    fn apply(&mut self, change: &Change) {
        match change {
            Change::Record(tx) => {
                self.checkpoint.next_id = tx.id + 1;
                self.checkpoint.balance += tx.amount;
                self.data.push(tx.clone());
            }
            Change::Configure(configuration) => self.configuration = configuration.clone(),
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("mend-checkpoint-example"));
    let count: u64 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(2000);

    let options = Options::default()
        .keep_snapshots(2)
        .compact_after_records(500);
    let mut store = Store::<ApplicationState>::open(&dir, options)?;
    let recovery = store.load()?;
    let state = store.state();
    if recovery.is_first_run() {
        println!("first run in {}", dir.display());
    } else {
        println!("recovered from {}: {recovery}", dir.display());
    }
    if recovery.lost_changes() {
        // Damage or removed files took changes that may have been
        // acknowledged: a service would alert here.
        eprintln!("warning: changes were lost: {recovery}");
    }
    // Check what came back: ids 0, 1, 2, ... with no gap, and the balance.
    let ids_ok = state.data.iter().zip(0..).all(|(tx, id)| tx.id == id);
    let sum: i64 = state.data.iter().map(|tx| tx.amount).sum();
    println!(
        "  {} transactions, next id {}, balance {} ({}), {:?} run {}",
        state.data.len(),
        state.checkpoint.next_id,
        state.checkpoint.balance,
        if ids_ok && sum == state.checkpoint.balance {
            "consistent"
        } else {
            "INCONSISTENT"
        },
        state.configuration.name,
        state.configuration.runs + 1,
    );

    let mut configuration = state.configuration.clone();
    configuration.runs += 1;
    store.append(&Change::Configure(configuration))?;

    for _ in 0..count {
        let id = store.state().checkpoint.next_id;
        let amount = if id % 3 == 0 { -7 } else { 11 };
        let tx = Transaction {
            id,
            amount,
            memo: format!("transaction {id}"),
        };
        let seq = store.append(&Change::Record(tx))?; // durable from here on
        if id % 500 == 0 {
            println!("  acknowledged transaction {id} (record {seq})");
        }
    }
    if let Some(error) = store.compaction_error() {
        // Appends went on; the journal is longer than it should be.
        eprintln!("warning: the last automatic snapshot failed: {error}");
    }
    let seq = store.save()?;
    println!(
        "done: {} transactions, snapshot at record {seq}",
        store.state().data.len()
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = e.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}
