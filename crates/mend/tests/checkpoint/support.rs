//! What the checkpoint tests share: a ledger state, a seeded random number
//! generator and directory helpers (through `StdIo`, so tests too stay off
//! `std::fs`).

use std::path::Path;

use mend::checkpoint::{Io, Journaled, Options, StdIo, Store};
use serde::{Deserialize, Serialize};

/// The test state: the values appended, in order. Every test appends
/// 1, 2, 3, ... so a valid state is always `1..=n`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Ledger {
    pub(crate) entries: Vec<u64>,
}

impl Journaled for Ledger {
    type Change = u64;

    fn apply(&mut self, value: &u64) {
        self.entries.push(*value);
    }
}

impl Ledger {
    /// How many values, checking they are exactly `1..=n`.
    pub(crate) fn prefix_len(&self) -> Option<usize> {
        let n = self.entries.len();
        (self.entries.iter().copied().eq(1..=n as u64)).then_some(n)
    }
}

/// Options that compact often, so tests cross snapshot boundaries.
pub(crate) fn small_options() -> Options {
    Options::default()
        .keep_snapshots(2)
        .compact_after_records(3)
}

pub(crate) fn open(dir: &Path) -> Store<Ledger> {
    Store::open(dir, small_options()).expect("open")
}

/// Copies every checkpoint file (not the lock) from one directory to another.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    let io = StdIo;
    io.create_dir_all(to).unwrap();
    for name in io.list(from).unwrap() {
        if name == "LOCK" {
            continue;
        }
        let bytes = io.read(&from.join(&name)).unwrap();
        write_file(&to.join(&name), &bytes);
    }
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) {
    let mut file = StdIo.create(path).unwrap();
    file.write(bytes).unwrap();
    file.sync().unwrap();
}

pub(crate) fn files(dir: &Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = StdIo
        .list(dir)
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// xorshift64*: small, seeded, the same on every machine.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(crate) fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}
