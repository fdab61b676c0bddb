//! What the process after a kill, and the reopen after a failed fsync, may
//! trust. Three ways a kill or an fsync error, then a power cut, lost
//! acknowledged writes or made recovery refuse the directory (issue 14),
//! each replayed exactly on the simulated disk.

use std::sync::Arc;

use mend::checkpoint::{CheckpointError, Options, Store};

use crate::power::{try_check, workload};
use crate::sim::{Fault, Image, SimIo};
use crate::support::{Ledger, small_options};

const SEEDS: u64 = 8;

/// The steps of a clean run of `run` whose call starts with `prefix`.
fn steps_of(run: impl Fn(&SimIo), prefix: &str) -> Vec<usize> {
    let probe = SimIo::new(&Image::new(), None, 0);
    run(&probe);
    let ops = probe.ops();
    (1..=ops.len())
        .filter(|&n| ops[n - 1].starts_with(prefix))
        .collect()
}

fn first_process(io: &SimIo) {
    workload(io, 7);
}

/// A process killed between creating a journal segment and fsyncing the
/// directory left a segment whose directory entry was never durable; the
/// next process appended to it after only an fdatasync, and a power cut
/// took the segment, and the appends, away.
#[test]
fn appends_after_a_kill_at_a_directory_fsync_survive_a_power_cut() {
    let steps = steps_of(first_process, "fsync the directory");
    assert!(steps.len() >= 3, "{steps:?}");
    for step in steps {
        for seed in 0..SEEDS {
            let io = SimIo::new(&Image::new(), None, seed).fault_at(step, Fault::Kill);
            let (_, issued, acked) = workload(&io, 7);
            let (_, issued2, acked2) = workload(&io.restart(), 1);
            assert!(acked2 > acked.max(1) - 1, "the next process appended");
            let image = io.power_off();
            if let Err(e) = try_check(&image, issued.max(issued2), acked2) {
                panic!("kill at step {step}, seed {seed}: {e}");
            }
        }
    }
}

/// Appends 1..=20 in one segment (29 bytes a record, so the 18th spans
/// the first 512-byte sector boundary and a power cut can tear it).
fn one_long_segment(io: &SimIo) -> (u64, u64) {
    let Ok(mut store) =
        Store::<Ledger>::open_with_io("/sim", Options::default(), Arc::new(io.clone()))
    else {
        return (0, 0);
    };
    if store.load().is_err() {
        return (0, 0);
    }
    for v in 1..=20 {
        if store.append(&v).is_err() {
            return (v, v - 1);
        }
    }
    (20, 20)
}

/// A record written but never fsync'd by a killed process was read back
/// from the page cache; the next process snapshotted over it and started
/// a new segment, never fsyncing the old one, and a power cut that kept
/// part of it made recovery refuse a segment the snapshot already covered.
#[test]
fn what_load_adopts_is_durable_before_anything_is_acknowledged() {
    let steps = steps_of(
        |io| {
            one_long_segment(io);
        },
        "fsync journal-",
    );
    assert!(steps.len() >= 20, "{steps:?}");
    for step in steps {
        for seed in 0..SEEDS {
            let io = SimIo::new(&Image::new(), None, seed).fault_at(step, Fault::Kill);
            let (issued, _) = one_long_segment(&io);
            let mut store =
                Store::<Ledger>::open_with_io("/sim", small_options(), Arc::new(io.restart()))
                    .unwrap();
            store.load().unwrap();
            let loaded = store.last_seq();
            store.save().unwrap();
            store.append(&(loaded + 1)).unwrap();
            let image = io.power_off();
            if let Err(e) = try_check(&image, issued.max(loaded + 1), loaded + 1) {
                panic!("kill at step {step}, seed {seed}, {loaded} loaded: {e}");
            }
        }
    }
}

/// After an fsync error the docs say: drop the store and open it again.
/// The reopen read the record that failed to sync from the page cache and
/// trusted it; once the cache was gone (a power cut), so was that record,
/// and recovery refused the journal or lost the appends after it.
#[test]
fn reopening_after_a_failed_fsync_never_trusts_the_unsynced_record() {
    let options = Options::default();
    let open = |io: &SimIo| {
        Store::<Ledger>::open_with_io("/sim", options.clone(), Arc::new(io.clone())).unwrap()
    };
    // The fsync of the third append, found on a clean run.
    let probe = SimIo::new(&Image::new(), None, 0);
    let mut store = open(&probe);
    store.load().unwrap();
    store.append(&1).unwrap();
    store.append(&2).unwrap();
    let before = probe.ops().len();
    store.append(&3).unwrap();
    let ops = probe.ops();
    let sync = (before + 1..=ops.len())
        .find(|&n| ops[n - 1].starts_with("fsync journal-"))
        .expect("the append fsyncs");

    for seed in 0..SEEDS {
        let io = SimIo::new(&Image::new(), None, seed).fault_at(sync, Fault::Error);
        let mut store = open(&io);
        store.load().unwrap();
        store.append(&1).unwrap();
        store.append(&2).unwrap();
        let error = store.append(&3).unwrap_err();
        assert!(
            matches!(error, CheckpointError::Io { op: "fsync", .. }),
            "{error}"
        );
        assert!(matches!(
            store.append(&3),
            Err(CheckpointError::Poisoned { .. })
        ));
        // What the docs recommend: drop it and open it again.
        drop(store);
        let mut store = open(&io);
        store.load().unwrap();
        assert_eq!(
            store.state().entries,
            [1, 2],
            "seed {seed}: the reopen trusted the record that failed to sync"
        );
        store.append(&3).unwrap();
        store.append(&4).unwrap();
        let image = io.power_off();
        if let Err(e) = try_check(&image, 4, 4) {
            panic!("seed {seed}: {e}");
        }
    }
}

/// When the cut back after a failed fsync fails too, the refusal says so:
/// until the cut is made, a reopen may read the failed record back.
#[test]
fn a_failed_cut_back_is_named_in_the_refusal() {
    let open = |io: &SimIo| {
        Store::<Ledger>::open_with_io("/sim", Options::default(), Arc::new(io.clone())).unwrap()
    };
    let probe = SimIo::new(&Image::new(), None, 0);
    let mut store = open(&probe);
    store.load().unwrap();
    let before = probe.ops().len();
    store.append(&1).unwrap();
    let ops = probe.ops();
    let sync = (before + 1..=ops.len())
        .find(|&n| ops[n - 1].starts_with("fsync journal-"))
        .unwrap();

    let io = SimIo::new(&Image::new(), None, 0)
        .fault_at(sync, Fault::Error)
        .fault_at(sync + 1, Fault::Error);
    let mut store = open(&io);
    store.load().unwrap();
    store.append(&1).unwrap_err();
    assert!(
        io.ops()[sync].starts_with("truncate journal-"),
        "{:?}",
        io.ops()
    );
    let refusal = store.append(&1).unwrap_err().to_string();
    assert!(
        refusal.contains("could not cut") && refusal.contains("back to byte 44"),
        "{refusal}"
    );

    // Cut back when it can be: the reopen does not see the record.
    let io = SimIo::new(&Image::new(), None, 0).fault_at(sync, Fault::Error);
    let mut store = open(&io);
    store.load().unwrap();
    store.append(&1).unwrap_err();
    let refusal = store.append(&1).unwrap_err().to_string();
    assert!(!refusal.contains("could not cut"), "{refusal}");
    drop(store);
    let mut store = open(&io);
    store.load().unwrap();
    assert_eq!(store.last_seq(), 0);
}
