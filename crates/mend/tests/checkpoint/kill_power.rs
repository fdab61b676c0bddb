//! Proof 3b, a kill or an I/O error, then a power cut: the cases a power
//! cut alone never reaches, because a killed process leaves bytes in the
//! page cache that the next process reads but nobody ever fsync'd.
//!
//! For every step of a workload (every call into the simulated disk), in
//! turn: the process is killed there and a new process opens the store,
//! loads and appends; or the step fails with EIO and the same process does
//! what the docs say to do, drops the store and opens it again. Then, for
//! every sync point after that step, and once more after the last one, the
//! power goes. Recovery from every image must yield a prefix of the issued
//! appends that holds every acknowledged one.

use crate::power::{try_check, workload};
use crate::sim::{Fault, Image, SimIo};

/// Appends in the first process, and in the one after the fault.
const FIRST: u64 = 8;
const SECOND: u64 = 5;
const SEEDS: u64 = 5;

/// One case: the first process runs into `fault` at `step`; the next one
/// (a new process after a kill, a reopen after an error) goes on; the power
/// goes at sync point `crash_at` (or never). Returns the disk, and the
/// highest values issued and acknowledged; `None` when the workload never
/// reached `step`.
fn scenario(step: usize, fault: Fault, seed: u64, crash_at: Option<usize>) -> Option<Run> {
    let io = SimIo::new(&Image::new(), crash_at, seed).fault_at(step, fault);
    let (_, issued, acked) = workload(&io, FIRST);
    io.fired()?;
    let next = match fault {
        Fault::Kill => io.restart(),
        // "drop it and open it again": the same process, the same cache.
        Fault::Error => io.clone(),
    };
    let (_, issued2, acked2) = workload(&next, SECOND);
    Some(Run {
        io,
        issued: issued.max(issued2),
        acked: acked.max(acked2),
    })
}

struct Run {
    io: SimIo,
    issued: u64,
    acked: u64,
}

#[test]
fn a_kill_or_an_io_error_then_a_power_cut_keeps_every_acknowledged_append() {
    let mut cases = 0;
    let mut failures = Vec::new();
    for fault in [Fault::Kill, Fault::Error] {
        for step in 1.. {
            // Probe without a power cut: does the fault fire, and how many
            // sync points follow it?
            let Some(probe) = scenario(step, fault, 0, None) else {
                assert!(step > 20, "the workload took only {step} steps");
                break;
            };
            let (fired, op) = probe.io.fired().unwrap();
            let last = probe.io.syncs();
            for seed in 0..SEEDS {
                for crash_at in (fired + 1..=last).map(Some).chain([None]) {
                    let run = scenario(step, fault, seed, crash_at).unwrap();
                    let image = run.io.power_off();
                    cases += 1;
                    if let Err(e) = try_check(&image, run.issued, run.acked) {
                        failures.push(format!(
                            "{fault:?} at step {step} ({op}, after sync {fired}), power cut \
                             at sync {crash_at:?}, seed {seed}: {e}"
                        ));
                    }
                }
            }
        }
    }
    eprintln!("{cases} kill-or-error + power-cut cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases lost acknowledged appends or refused to load:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
