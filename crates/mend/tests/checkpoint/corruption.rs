//! Random media corruption of snapshots and journal segments (proptest).
//!
//! Flip random bytes in random files of a store that acknowledged the
//! values 1..=14. Loading must then either refuse with an error, or load a
//! state the store once acknowledged (1..=n for some n), and when n < 14
//! the report must name what was dropped. Nothing else: no panic, no gap,
//! no invented value.

use std::sync::OnceLock;

use mend::checkpoint::{Io, StdIo};
use proptest::prelude::*;

use crate::support::{open, write_file};

const VALUES: u64 = 14;

/// The pristine directory's files, built once.
fn pristine() -> &'static Vec<(String, Vec<u8>)> {
    static FILES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        store.load().unwrap();
        for v in 1..=VALUES {
            store.append(&v).unwrap();
        }
        drop(store);
        let mut files: Vec<(String, Vec<u8>)> = StdIo
            .list(dir.path())
            .unwrap()
            .into_iter()
            .filter(|n| n != "LOCK")
            .map(|n| {
                let bytes = StdIo.read(&dir.path().join(&n)).unwrap();
                (n, bytes)
            })
            .collect();
        files.sort();
        assert!(files.len() >= 4, "{files:?}");
        files
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn corruption_is_harmless_or_refused(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 1u8..=255), 1..4)
    ) {
        let files = pristine();
        let mut damaged = files.clone();
        for (file, at, mask) in &flips {
            let bytes = &mut damaged[file.index(files.len())].1;
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] ^= mask;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in &damaged {
            write_file(&dir.path().join(name), bytes);
        }
        let mut store = open(dir.path());
        match store.load() {
            Err(_refused) => {}
            Ok(report) => {
                let n = store.state().prefix_len();
                prop_assert!(n.is_some(), "loaded a state never acknowledged: {:?}", store.state());
                let n = n.unwrap() as u64;
                prop_assert!(n <= VALUES);
                if n < VALUES {
                    prop_assert!(!report.discarded.is_empty(), "dropped {} values silently", VALUES - n);
                }
            }
        }
    }
}
