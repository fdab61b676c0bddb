//! The supervisor's ledger: what it must know to survive its own death.
//! For each service, a [`ServiceRecord`] (its process's identity, its
//! counters, its restart accounting, whether it was stopped on purpose)
//! kept in a [`checkpoint::Store`](crate::checkpoint::Store), so a
//! supervisor started again after a SIGKILL re-adopts the processes that
//! are still the same ones and never starts a second copy.
//!
//! When a record is written, and why the order matters:
//!
//! - after a spawn: the pid is not known before; a supervisor that dies in
//!   between leaves a process no record names, which the next one finds in
//!   the service's cgroup (or, under process groups, by the `MEND_SERVICE`
//!   and `MEND_SUPERVISOR` every service's environment carries) and kills
//!   before it starts the service again;
//! - before a stop on purpose is acted on: a supervisor that dies during
//!   the stop must not start the service again;
//! - after an exit (the restart accounting of the decision) and a give-up;
//! - at a clean shutdown the ledger is emptied: the next start is fresh.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Journaled, Options, Store};
use crate::supervise::RestartMemory;

/// What the supervisor keeps about one service across its own death.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceRecord {
    /// Its running process, if one runs.
    pub pid: Option<i32>,
    /// That process's start time, clock ticks after boot (`/proc`).
    pub start_time: u64,
    /// The boot the record was written in.
    pub boot_id: String,
    /// Starts and restarts so far.
    pub starts: u64,
    /// Restarts so far (not counting starts by hand).
    pub restarts: u64,
    /// Stopped on purpose (by hand): stays down.
    pub stopped: bool,
    /// Gave up: stays down until started by hand.
    pub gave_up: bool,
    /// Its backoff position and intensity window.
    pub memory: RestartMemory,
}

/// Every service's record.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Book {
    services: BTreeMap<String, ServiceRecord>,
}

/// A change to the book.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Entry {
    /// A service's record, replaced whole.
    Record(String, ServiceRecord),
    /// Every record dropped (a clean shutdown).
    Clear,
}

impl Journaled for Book {
    type Change = Entry;

    fn apply(&mut self, change: &Entry) {
        match change {
            Entry::Record(name, record) => {
                self.services.insert(name.clone(), record.clone());
            }
            Entry::Clear => self.services.clear(),
        }
    }
}

/// The store, shared by a supervisor's service tasks.
pub(crate) struct Ledger {
    store: Mutex<Store<Book>>,
    boot_id: String,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("boot_id", &self.boot_id)
            .finish()
    }
}

impl Ledger {
    /// Opens (creating) the store in `dir` and loads it; the records of
    /// this boot (`boot_id`), and what loading found.
    pub(crate) fn open(
        dir: &Path,
        boot_id: String,
    ) -> io::Result<(Ledger, BTreeMap<String, ServiceRecord>, String)> {
        // A supervisor killed while it forked leaves, for the moment
        // between fork and exec, a child that shares the store's lock:
        // wait up to 5 s for that to pass (a live holder keeps it).
        let mut tries = 0;
        let mut store = loop {
            match Store::<Book>::open(dir, Options::default()) {
                Err(crate::checkpoint::CheckpointError::Locked { .. }) if tries < 50 => {
                    tries += 1;
                    #[allow(clippy::disallowed_methods, reason = "once, at a supervisor's start")]
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                opened => break opened.map_err(io::Error::other)?,
            }
        };
        let recovery = store.load().map_err(io::Error::other)?;
        let records = store
            .state()
            .services
            .iter()
            .filter(|(_, r)| r.boot_id == boot_id)
            .map(|(name, r)| (name.clone(), r.clone()))
            .collect();
        let ledger = Ledger {
            store: Mutex::new(store),
            boot_id,
        };
        Ok((ledger, records, recovery.to_string()))
    }

    /// Writes `record` for `service`; durable when it returns (an fsync).
    /// A failure is reported, not fatal: the service runs on, and only
    /// its re-adoption after a crash is at risk.
    pub(crate) fn write(&self, service: &str, mut record: ServiceRecord) {
        record.boot_id.clone_from(&self.boot_id);
        let written = self
            .store
            .lock()
            .append(&Entry::Record(service.to_owned(), record));
        if let Err(_e) = written {
            #[cfg(feature = "tracing")]
            tracing::error!(target: "mend::process", service, "cannot write its record to the ledger: {_e}");
        }
    }

    /// Drops every record and compacts (a clean shutdown).
    pub(crate) fn clear(&self) {
        let mut store = self.store.lock();
        let cleared = store.append(&Entry::Clear).and_then(|_| store.save());
        if let Err(_e) = cleared {
            #[cfg(feature = "tracing")]
            tracing::error!(target: "mend::process", "cannot clear the ledger: {_e}");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::disallowed_methods,
        reason = "tests start real processes and wait for them"
    )]

    use std::time::{Duration, Instant};

    use super::*;
    use crate::process::proc_stat::ProcStat;
    use crate::process::{ExitReason, Isolation, ProcessSupervisor, ServiceSpec, ServiceState};

    /// A process that is not a service: a record may name it.
    fn decoy() -> std::process::Child {
        std::process::Command::new("sleep")
            .arg("600")
            .spawn()
            .unwrap()
    }

    /// Writes one record for `svc` in a fresh ledger in `dir`.
    fn write(dir: &Path, boot_id: &str, record: ServiceRecord) {
        let (ledger, _, _) = Ledger::open(dir, boot_id.to_owned()).unwrap();
        ledger.write("svc", record);
    }

    /// Starts a supervisor of `svc` (a sleep) with the ledger in `dir`, as
    /// boot `boot_id`; its status once it runs.
    async fn resume(dir: &Path, boot_id: &str) -> crate::process::ServiceStatus {
        let handle = ProcessSupervisor::builder("ledger-test")
            .isolation(Isolation::ProcessGroup)
            .ledger(dir)
            .boot_id(boot_id)
            .without_logging()
            .service(
                ServiceSpec::builder("svc", ["sleep", "600"])
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
            .start()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = handle.status("svc").unwrap();
            if status.state == ServiceState::Running {
                handle.kill_all();
                handle.shutdown().await;
                return status;
            }
            assert!(Instant::now() < deadline, "never ran: {status:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn only_the_same_process_of_the_same_boot_is_adopted() {
        let mut decoy = decoy();
        let pid = decoy.id() as i32;
        let start_time = ProcStat::read(pid).unwrap().start_time;
        let record = |start_time| ServiceRecord {
            pid: Some(pid),
            start_time,
            starts: 3,
            restarts: 2,
            ..ServiceRecord::default()
        };

        // The same pid, another start time: a reused pid, never adopted.
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "boot-a", record(start_time + 1));
        let status = resume(dir.path(), "boot-a").await;
        assert_ne!(status.pid, Some(pid));
        assert_eq!(status.last_exit, Some(ExitReason::Unsupervised));
        assert_eq!((status.starts, status.restarts), (4, 3), "counters go on");
        assert!(
            decoy.try_wait().unwrap().is_none(),
            "what is not a service is left alone"
        );

        // Another boot: nothing is adopted, and counters start over.
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "boot-a", record(start_time));
        let status = resume(dir.path(), "boot-b").await;
        assert_ne!(status.pid, Some(pid));
        assert_eq!(
            (status.starts, status.restarts, status.last_exit),
            (1, 0, None)
        );

        // The same process of the same boot: adopted, not started.
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "boot-a", record(start_time));
        use crate::clock::Clock;
        std::thread::sleep(Duration::from_millis(300));
        let before = crate::clock::SystemClock.wall().as_unix_nanos();
        let status = resume(dir.path(), "boot-a").await;
        assert_eq!(status.pid, Some(pid));
        assert_eq!((status.starts, status.restarts), (3, 2));
        let since = status.since.unwrap().as_unix_nanos();
        assert!(
            since + 200_000_000 < before,
            "its uptime counts from its own start, not the adoption"
        );
        // Its shutdown stopped it, and emptied the ledger: the next start
        // is a fresh one.
        use std::os::unix::process::ExitStatusExt;
        assert!(decoy.wait().unwrap().signal().is_some());
        let (_, records, _) = Ledger::open(dir.path(), "boot-a".to_owned()).unwrap();
        assert!(records.is_empty(), "{records:?}");
    }
}

#[cfg(test)]
mod accounting {
    #![allow(
        clippy::disallowed_methods,
        reason = "tests start real processes and wait for them"
    )]

    use std::time::{Duration, Instant};

    use super::*;
    use crate::clock::{Clock, SystemClock};
    use crate::process::{Isolation, ProcessHandle, ProcessSupervisor, ServiceSpec, ServiceState};
    use crate::retry::{Backoff, Jitter};
    use crate::supervise::RestartPlan;

    /// A supervisor of `svc` running `argv`, three restarts a minute
    /// allowed, each after `backoff` (the first at once).
    fn supervise(dir: &Path, argv: &[&str], backoff: Duration) -> ProcessHandle {
        let plan = RestartPlan::builder()
            .intensity(3, Duration::from_secs(60))
            .backoff(
                Backoff::constant(backoff),
                Jitter::None,
                Duration::from_secs(600),
            );
        ProcessSupervisor::builder("accounting-test")
            .isolation(Isolation::ProcessGroup)
            .ledger(dir)
            .boot_id("boot-a")
            .without_logging()
            .service(
                ServiceSpec::builder("svc", argv.iter().copied())
                    .restarts(plan)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
            .start()
            .unwrap()
    }

    async fn until(handle: &ProcessHandle, done: impl Fn(ServiceState) -> bool) -> ServiceState {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let state = handle.status("svc").unwrap().state;
            if done(state) {
                return state;
            }
            assert!(Instant::now() < deadline, "still {state:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn restart_accounting_is_written_and_taken_up_again() {
        // Written: two crashes (the first restart is at once, the second
        // waits an hour): the record holds both in its window.
        let dir = tempfile::tempdir().unwrap();
        let handle = supervise(dir.path(), &["false"], Duration::from_secs(3600));
        until(&handle, |s| matches!(s, ServiceState::Restarting { .. })).await;
        let (book, _) = Store::<Book>::load_read_only(dir.path()).unwrap();
        let memory = &book.services["svc"].memory;
        assert_eq!(
            (memory.attempts, memory.restarts_nanos.len()),
            (2, 2),
            "{memory:?}"
        );
        handle.kill_all();
        handle.shutdown().await;

        // Taken up: a record whose window already holds three restarts
        // this minute, and whose process is gone: that end is the fourth,
        // more than the intensity allows.
        let dir = tempfile::tempdir().unwrap();
        let now = SystemClock.coarse().as_nanos();
        let record = ServiceRecord {
            pid: Some(i32::MAX),
            start_time: 1,
            memory: RestartMemory {
                attempts: 3,
                restarts_nanos: vec![
                    now - 3_000_000_000,
                    now - 2_000_000_000,
                    now - 1_000_000_000,
                ],
                ..RestartMemory::default()
            },
            ..ServiceRecord::default()
        };
        {
            let (ledger, _, _) = Ledger::open(dir.path(), "boot-a".to_owned()).unwrap();
            ledger.write("svc", record);
        }
        let handle = supervise(dir.path(), &["sleep", "600"], Duration::ZERO);
        let state = until(&handle, |s| {
            matches!(s, ServiceState::GaveUp | ServiceState::Running)
        })
        .await;
        assert_eq!(state, ServiceState::GaveUp);
        handle.kill_all();
        handle.shutdown().await;
    }
}
