//! Commit-or-rollback guards on two resources with no rollback of their
//! own: a file rewritten in place, and an in-memory ledger. Each scenario
//! runs with the guard and without it: without, the failure leaves the
//! resource half changed (so the scenario can see the damage a missing
//! guard does); with, it never does.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // plain files, not checkpoints

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use mend::cleanup::Guard;

/// How a two-step change goes wrong midway.
#[derive(Clone, Copy, PartialEq)]
enum Midway {
    Fine,
    Error,
    Panic,
}

fn trouble(midway: Midway) -> Result<(), String> {
    match midway {
        Midway::Fine => Ok(()),
        Midway::Error => Err("the disk filled up".into()),
        Midway::Panic => panic!("a bug midway"),
    }
}

/// Rewrites the file in place in two halves, `trouble` between them.
fn rewrite(path: &Path, new: &str, midway: Midway, guarded: bool) -> Result<(), String> {
    let original = std::fs::read(path).map_err(|e| e.to_string())?;
    let write_half = |path: &Path, text: &str, truncate: bool| -> Result<(), String> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .append(!truncate)
            .truncate(truncate)
            .open(path)
            .map_err(|e| e.to_string())?;
        file.write_all(text.as_bytes()).map_err(|e| e.to_string())
    };
    let (first, second) = new.split_at(new.len() / 2);
    if guarded {
        let guard = Guard::new("config rewrite", path, |path: &mut &Path| {
            std::fs::write(path, &original).map_err(|e| e.to_string())
        });
        write_half(&guard, first, true)?;
        trouble(midway)?;
        write_half(&guard, second, false)?;
        guard.commit(|_| Ok::<(), String>(()))?;
    } else {
        write_half(path, first, true)?;
        trouble(midway)?;
        write_half(path, second, false)?;
    }
    Ok(())
}

#[test]
fn a_file_rewritten_in_place_is_whole_before_or_after_never_half() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.toml");
    for guarded in [false, true] {
        for midway in [Midway::Error, Midway::Panic] {
            std::fs::write(&path, "port = 8080\n").unwrap();
            let result = catch_unwind(AssertUnwindSafe(|| {
                rewrite(&path, "port = 9090\nworkers = 4\n", midway, guarded)
            }));
            assert!(!matches!(result, Ok(Ok(()))), "it went wrong midway");
            let now = std::fs::read_to_string(&path).unwrap();
            if guarded {
                assert_eq!(now, "port = 8080\n", "rolled back");
            } else {
                assert_eq!(now, "port = 9090\n", "without a guard: half written");
            }
        }
    }
    std::fs::write(&path, "port = 8080\n").unwrap();
    rewrite(&path, "port = 9090\nworkers = 4\n", Midway::Fine, true).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "port = 9090\nworkers = 4\n",
        "committed"
    );
}

#[derive(Debug, Clone, PartialEq)]
struct Ledger {
    alice: i64,
    bob: i64,
}

fn transfer(ledger: &mut Ledger, cents: i64, midway: Midway, guarded: bool) -> Result<(), String> {
    if !guarded {
        ledger.alice -= cents;
        trouble(midway)?;
        ledger.bob += cents;
        return Ok(());
    }
    let before = ledger.clone();
    let mut step = Guard::new("transfer", ledger, move |l: &mut &mut Ledger| {
        **l = before;
        Ok::<(), String>(())
    });
    step.alice -= cents;
    trouble(midway)?;
    step.bob += cents;
    step.commit(|_| Ok::<(), String>(()))?;
    Ok(())
}

#[test]
fn a_ledger_never_loses_money_midway() {
    for guarded in [false, true] {
        for midway in [Midway::Error, Midway::Panic] {
            let mut ledger = Ledger { alice: 100, bob: 0 };
            let _ = catch_unwind(AssertUnwindSafe(|| {
                transfer(&mut ledger, 30, midway, guarded)
            }));
            let total = ledger.alice + ledger.bob;
            if guarded {
                assert_eq!(ledger, Ledger { alice: 100, bob: 0 });
            } else {
                assert_eq!(total, 70, "without a guard: 30 cents vanish");
            }
        }
    }
    let mut ledger = Ledger { alice: 100, bob: 0 };
    transfer(&mut ledger, 30, Midway::Fine, true).unwrap();
    assert_eq!(ledger, Ledger { alice: 70, bob: 30 });
}

#[test]
fn a_failed_commit_rolls_back_and_returns_its_error() {
    let mut value = 1;
    let mut guard = Guard::new("x", &mut value, |v: &mut &mut i32| {
        **v = 1;
        Ok::<(), String>(())
    });
    **guard = 2;
    let err = guard
        .commit(|_| Err::<(), _>("commit refused"))
        .unwrap_err();
    assert_eq!(err, "commit refused");
    assert_eq!(value, 1);
}

#[test]
fn an_explicit_rollback_reports_its_error() {
    let guard = Guard::new("x", 5, |_: &mut i32| Err::<(), _>("undo failed"));
    assert_eq!(guard.rollback().unwrap_err(), "undo failed");
    let guard = Guard::new("x", 5, |v: &mut i32| {
        *v = 0;
        Ok::<(), String>(())
    });
    assert_eq!(guard.rollback(), Ok(0));
}

#[test]
fn a_rollback_that_fails_while_unwinding_is_logged_not_a_second_panic() {
    // A second panic during an unwind aborts the process: this test would
    // not finish.
    let result = catch_unwind(|| {
        let _guard = Guard::new("doomed", (), |_: &mut ()| Err::<(), _>("undo failed too"));
        panic!("the first failure");
    });
    assert!(result.is_err());
    // And dropped outside a panic, quietly too.
    drop(Guard::new("doomed", (), |_: &mut ()| {
        Err::<(), _>("undo failed")
    }));
}
