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

/// A held directory lock.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: Box<dyn IoFile>,
    dir: PathBuf,
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
        std::thread::yield_now();
    }
    write_all(file.as_mut(), line.as_bytes()).map_err(CheckpointError::io("write", &path))?;
    held().push(dir.to_path_buf());
    Ok(DirLock {
        _file: file,
        dir: dir.to_path_buf(),
    })
}

/// The pid on the first line (format 1 wrote `<pid>\n`, format 2 pads it).
fn parse_pid(bytes: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.lines().next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{parse_pid, pid_line};

    #[test]
    fn reads_the_pid_a_holder_wrote() {
        assert_eq!(parse_pid(b"4242\n"), Some(4242));
        assert_eq!(parse_pid(pid_line(4242).as_bytes()), Some(4242));
        assert_eq!(pid_line(7).len(), pid_line(u32::MAX).len());
        assert_eq!(parse_pid(b"        12\nmore\n"), Some(12));
        assert_eq!(parse_pid(b""), None);
        assert_eq!(parse_pid(b"42x"), None);
    }
}
