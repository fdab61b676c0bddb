//! What a store counts ([`Store::stats`]): appends, snapshots by trigger,
//! failed compactions, loads by outcome, the journal since the last
//! snapshot and poisoning, read from the shared counters the metrics
//! export.

use mend::checkpoint::{Io, LoadOutcome, StdIo, Store};

use crate::support::{Ledger, open};

fn loads(store: &Store<Ledger>) -> Vec<(LoadOutcome, u64)> {
    let stats = store.stats();
    LoadOutcome::ALL
        .into_iter()
        .map(|outcome| (outcome, stats.loads(outcome)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[test]
fn appends_snapshots_and_the_journal_since_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path()); // compacts every 3 records
    let stats = store.stats();
    assert_eq!(stats.name(), dir.path().display().to_string());
    store.load().unwrap();
    assert_eq!(loads(&store), [(LoadOutcome::FirstRun, 1)]);
    // The first load starts the chain with a snapshot of the default state.
    assert_eq!((stats.saves(), stats.compactions()), (1, 0));

    let mut bytes = 0;
    for v in 1..=7 {
        bytes += mend::checkpoint::fuzzing::encode_record(v, 1, v.to_string().as_bytes()).len();
        store.append(&v).unwrap();
    }
    assert_eq!(stats.appends(), 7);
    assert_eq!(stats.appended_bytes(), bytes as u64);
    // Compactions before appends 4 and 7; one record since.
    assert_eq!((stats.compactions(), stats.journal_records()), (2, 1));
    store.save().unwrap();
    assert_eq!((stats.saves(), stats.journal_records()), (2, 0));
    store.append(&8).unwrap();
    assert_eq!(stats.journal_records(), 1);
    assert!(!stats.poisoned());
    assert_eq!(stats.compaction_failures(), 0);
    drop(store);

    let mut store = open(dir.path());
    store.load().unwrap();
    assert_eq!(loads(&store), [(LoadOutcome::Clean, 1)]);
    assert_eq!(store.stats().journal_records(), 1, "what the load replayed");
    assert_eq!(store.stats().appends(), 0, "counts are per opened store");
}

#[test]
fn each_load_is_counted_by_what_it_found() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = open(dir.path());
        store.load().unwrap();
        store.append(&1).unwrap();
        store.append(&2).unwrap();
    }
    let segment = dir.path().join("journal-00000000000000000001.log");
    let pristine = StdIo.read(&segment).unwrap();
    // Half a record after the last: a torn tail, repaired.
    let third = mend::checkpoint::fuzzing::encode_record(3, 1, b"3");
    let mut torn = pristine.clone();
    torn.extend_from_slice(&third[..third.len() / 2]);
    crate::support::write_file(&segment, &torn);
    let mut store = open(dir.path());
    store.load().unwrap();
    assert_eq!(loads(&store), [(LoadOutcome::Repaired, 1)]);
    drop(store);

    // A damaged first record before a valid one: corruption, a failed load,
    // counted even though the store stays unloaded; a second load counts
    // again.
    let mut damaged = pristine.clone();
    damaged[44 + 28] ^= 0x20;
    crate::support::write_file(&segment, &damaged);
    let mut store = open(dir.path());
    store.load().unwrap_err();
    store.load().unwrap_err();
    assert_eq!(loads(&store), [(LoadOutcome::Failed, 2)]);
    drop(store);

    // The segment gone: the changes it held are lost, and said to be.
    StdIo.remove(&segment).unwrap();
    let mut store = open(dir.path());
    let report = store.load().unwrap();
    assert!(report.lost_changes(), "{report}");
    assert_eq!(loads(&store), [(LoadOutcome::Lost, 1)]);
}

#[test]
fn outcome_labels_are_the_metrics_labels() {
    let labels: Vec<_> = LoadOutcome::ALL.iter().map(|o| o.label()).collect();
    assert_eq!(labels, ["first_run", "clean", "repaired", "lost", "failed"]);
}
