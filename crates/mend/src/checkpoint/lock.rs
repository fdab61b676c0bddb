//! One process at a time: an advisory `flock` on `<dir>/LOCK`.
//!
//! The holder writes its pid into the lock file, so a second opener's error
//! names it. The lock is released when the [`DirLock`] is dropped, or by
//! the kernel when the holder dies, so a killed process never leaves a
//! stale lock behind (the pid left in the file is only ever read while the
//! lock is held by someone).
//!
//! A reader never sees the file empty: it is created already holding a pid
//! ([`Io::open_lock`]), and a holder overwrites the pid in place, padded to
//! a fixed width (`{pid:>10}\n`, 11 bytes), never truncating. Between a new
//! holder's lock and its write a racing opener may read the previous
//! holder's pid.
//!
//! Once a store has been set up in the directory (its first `load` has made
//! a snapshot and a segment durable), the lock file gets a second line,
//! `initialized`, kept by every later holder. So a directory whose
//! snapshots and segments were removed is told from a first run.
//!
//! A lock whose file holds this process's own pid, while no store of this
//! process holds that directory, is held by a copy of a descriptor this
//! process dropped: a child forked meanwhile keeps it until it calls
//! `exec` (or exits). [`acquire`] waits for that (up to
//! [`FORK_WAIT`]) instead of refusing.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::error::CheckpointError;
use super::io::{Io, IoFile, write_all};
use crate::clock::{Clock, SystemClock};

/// The lock file's name inside the checkpoint directory.
pub(crate) const FILE_NAME: &str = "LOCK";

/// The longest wait for a forked child to let go of a copy of our lock.
pub(crate) const FORK_WAIT: Duration = Duration::from_secs(10);

/// The directories held by a live [`DirLock`] of this process, as named.
static HELD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The lock file's second line once a store has been set up.
const MARK: &str = "initialized\n";

/// A held directory lock.
#[derive(Debug)]
pub(crate) struct DirLock {
    /// Written up to the end of the pid line.
    file: Box<dyn IoFile>,
    dir: PathBuf,
    marked: bool,
}

impl DirLock {
    /// Writes (and fsyncs) the line that says a store was set up here.
    pub(crate) fn mark(&mut self) -> Result<(), CheckpointError> {
        if self.marked {
            return Ok(());
        }
        let path = self.dir.join(FILE_NAME);
        write_all(self.file.as_mut(), MARK.as_bytes())
            .map_err(CheckpointError::io("write", &path))?;
        self.file
            .sync()
            .map_err(CheckpointError::io("fsync", &path))?;
        self.marked = true;
        Ok(())
    }
}

/// True when a lock file's content says a store was set up.
pub(crate) fn is_marked(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|text| text.lines().nth(1) == Some(MARK.trim_end()))
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let mut held = held();
        if let Some(i) = held.iter().position(|d| d == &self.dir) {
            held.swap_remove(i);
        }
    }
}

/// The first line of the lock file: the pid, padded to a fixed width.
pub(crate) fn pid_line(pid: u32) -> String {
    format!("{pid:>10}\n")
}

/// Takes the directory's lock, or says who holds it.
pub(crate) fn acquire(io: &dyn Io, dir: &Path) -> Result<DirLock, CheckpointError> {
    let path = dir.join(FILE_NAME);
    let me = std::process::id();
    let line = pid_line(me);
    let mut file = io
        .open_lock(&path, line.as_bytes())
        .map_err(CheckpointError::io("open", &path))?;
    let clock = SystemClock;
    let deadline = clock.precise().saturating_add(FORK_WAIT);
    let mut tries = 0u32;
    while !file
        .try_lock()
        .map_err(CheckpointError::io("lock", &path))?
    {
        let pid = io.read(&path).ok().and_then(|bytes| parse_pid(&bytes));
        let ours = pid == Some(me) && !held().iter().any(|d| d == dir);
        if !ours || clock.precise() >= deadline {
            return Err(CheckpointError::Locked {
                dir: dir.to_path_buf(),
                pid,
            });
        }
        // A child execs within microseconds; past that, poll gently.
        tries += 1;
        if tries < 100 {
            std::thread::yield_now();
        } else {
            std::thread::park_timeout(Duration::from_millis(1));
        }
    }
    write_all(file.as_mut(), line.as_bytes()).map_err(CheckpointError::io("write", &path))?;
    held().push(dir.to_path_buf());
    Ok(DirLock {
        file,
        dir: dir.to_path_buf(),
        marked: false,
    })
}

/// The pid on the first line (format 1 wrote `<pid>\n`, format 2 pads it).
fn parse_pid(bytes: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.lines().next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{MARK, is_marked, parse_pid, pid_line};

    #[test]
    fn reads_the_pid_a_holder_wrote() {
        assert_eq!(parse_pid(b"4242\n"), Some(4242));
        assert_eq!(parse_pid(pid_line(4242).as_bytes()), Some(4242));
        assert_eq!(pid_line(7).len(), pid_line(u32::MAX).len());
        assert_eq!(parse_pid(b"        12\nmore\n"), Some(12));
        assert_eq!(parse_pid(b""), None);
        assert_eq!(parse_pid(b"42x"), None);
    }

    #[test]
    fn the_mark_is_the_second_line() {
        let marked = format!("{}{MARK}", pid_line(3));
        assert!(is_marked(marked.as_bytes()));
        assert_eq!(parse_pid(marked.as_bytes()), Some(3));
        assert!(!is_marked(pid_line(3).as_bytes()));
        assert!(!is_marked(MARK.as_bytes()));
        assert!(!is_marked(b""));
    }
}
