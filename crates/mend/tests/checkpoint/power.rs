//! Proof 3, power loss: a simulated disk keeps written and durable bytes
//! apart (as redb's crash_consistency test does). At every sync point of a
//! workload, in turn, the power goes: the crash image keeps what was
//! durable plus any subset of the unsynced writes, some torn at 512-byte
//! sector boundaries, and any subset (in order) of the directory changes
//! since the last directory fsync. Recovery from the image must yield a
//! prefix of the issued appends containing every acknowledged one, and
//! recovery itself is crashed too.

use std::sync::Arc;

use mend::checkpoint::Store;

use crate::sim::{Image, SimIo};
use crate::support::{Ledger, Rng, small_options};

/// Opens, loads and appends `count` more values (saving every 4th),
/// stopping at the first error. Returns (values loaded, highest issued,
/// highest acknowledged); all zero when the open or load itself failed.
pub(crate) fn workload(io: &SimIo, count: u64) -> (u64, u64, u64) {
    let Ok(mut store) =
        Store::<Ledger>::open_with_io("/sim", small_options(), Arc::new(io.clone()))
    else {
        return (0, 0, 0);
    };
    let Ok(_) = store.load() else {
        return (0, 0, 0);
    };
    let start = store.state().prefix_len().expect("loaded a valid prefix") as u64;
    let (mut issued, mut acked) = (start, start);
    for v in start + 1..=start + count {
        issued = v;
        if store.append(&v).is_err() {
            return (start, issued, acked);
        }
        acked = v;
        if v % 4 == 0 && store.save().is_err() {
            return (start, issued, acked);
        }
    }
    (start, issued, acked)
}

/// Loads an image with no crash and checks it holds `acked..=issued` values.
fn check(image: &Image, issued: u64, acked: u64, context: &str) -> u64 {
    try_check(image, issued, acked).unwrap_or_else(|e| panic!("{context}: {e}"))
}

/// As [`check`], saying what is wrong instead of panicking.
pub(crate) fn try_check(image: &Image, issued: u64, acked: u64) -> Result<u64, String> {
    let io = SimIo::new(image, None, 0);
    let mut store = Store::<Ledger>::open_with_io("/sim", small_options(), Arc::new(io)).unwrap();
    let report = store.load().map_err(|e| format!("recovery failed: {e}"))?;
    let n = store
        .state()
        .prefix_len()
        .ok_or_else(|| format!("not a prefix: {:?}", store.state()))? as u64;
    if acked <= n && n <= issued {
        Ok(n)
    } else {
        Err(format!(
            "recovered {n} values, acknowledged {acked}, issued {issued} ({report})"
        ))
    }
}

#[test]
fn power_loss_at_every_sync_point_keeps_every_acknowledged_append() {
    const APPENDS: u64 = 14;
    const SEEDS: u64 = 12;
    let clean = SimIo::new(&Image::new(), None, 0);
    let (_, issued, acked) = workload(&clean, APPENDS);
    assert_eq!((issued, acked), (APPENDS, APPENDS));
    let sync_points = clean.syncs();
    assert!(
        sync_points > 2 * APPENDS as usize,
        "{sync_points} sync points"
    );

    let mut crashes = 0;
    for crash_at in 1..=sync_points {
        for seed in 0..SEEDS {
            let io = SimIo::new(&Image::new(), Some(crash_at), seed);
            let (_, issued, acked) = workload(&io, APPENDS);
            let image = io.image().expect("the power went");
            crashes += 1;
            let context = format!("crash at sync {crash_at}, seed {seed}");
            let n = check(&image, issued, acked, &context);

            // Crash again, during recovery or the appends after it.
            let mut rng = Rng::new(seed);
            let again = SimIo::new(&image, Some(1 + rng.below(6) as usize), seed + 1000);
            let (_, issued2, acked2) = workload(&again, 5);
            let Some(image2) = again.image() else {
                continue;
            };
            let context = format!("{context}, then at sync {}", again.syncs());
            check(&image2, issued2.max(n), acked2.max(acked), &context);
        }
    }
    assert_eq!(crashes, sync_points * SEEDS as usize);
}
