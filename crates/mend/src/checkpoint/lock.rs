//! One process at a time: an advisory `flock` on `<dir>/LOCK`.
//!
//! The holder writes its pid into the lock file, so a second opener's error
//! names it. The lock is released when the [`DirLock`] is dropped, or by
//! the kernel when the holder dies, so a killed process never leaves a
//! stale lock behind (the pid left in the file is only ever read while the
//! lock is held by someone).

use std::path::Path;

use super::error::CheckpointError;
use super::io::{Io, IoFile, write_all};

/// The lock file's name inside the checkpoint directory.
pub(crate) const FILE_NAME: &str = "LOCK";

/// A held directory lock.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: Box<dyn IoFile>,
}

/// Takes the directory's lock, or says who holds it.
pub(crate) fn acquire(io: &dyn Io, dir: &Path) -> Result<DirLock, CheckpointError> {
    let path = dir.join(FILE_NAME);
    let mut file = io
        .open_lock(&path)
        .map_err(CheckpointError::io("open", &path))?;
    if !file
        .try_lock()
        .map_err(CheckpointError::io("lock", &path))?
    {
        let pid = io.read(&path).ok().and_then(|bytes| parse_pid(&bytes));
        return Err(CheckpointError::Locked {
            dir: dir.to_path_buf(),
            pid,
        });
    }
    io.truncate(&path, 0)
        .map_err(CheckpointError::io("truncate", &path))?;
    let pid = format!("{}\n", std::process::id());
    write_all(file.as_mut(), pid.as_bytes()).map_err(CheckpointError::io("write", &path))?;
    Ok(DirLock { _file: file })
}

fn parse_pid(bytes: &[u8]) -> Option<u32> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_pid;

    #[test]
    fn reads_the_pid_a_holder_wrote() {
        assert_eq!(parse_pid(b"4242\n"), Some(4242));
        assert_eq!(parse_pid(b""), None);
        assert_eq!(parse_pid(b"42x"), None);
    }
}
