//! Where a service's stdout and stderr go: per-service files the child
//! holds open itself (append mode, 0640), never a pipe to the supervisor,
//! so a supervisor that dies never SIGPIPEs its children; and their
//! rotation by size.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::sys;
use crate::config::{Checks, ConfigError};

/// Where a service's stdout and stderr go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// `/dev/null`.
    #[default]
    Null,
    /// The supervisor's own stdout and stderr (a test, a foreground run).
    Inherit,
    /// Files of their own, rotated by size.
    Files(LogFiles),
}

/// A service's output files: `DIR/NAME.out` and `DIR/NAME.err`, each kept
/// under `max_bytes` by rotation with `keep` older copies
/// (`NAME.out.1` newest).
///
/// # Rotation, and what it can lose
///
/// The child keeps its file open in append mode, so renaming the file
/// bounds nothing (it would write on into the renamed file). A rotation
/// copies the file aside instead (`NAME.out` to `NAME.out.1`, older copies
/// shifting up to `keep`, the oldest deleted) and then truncates it in
/// place; append mode makes the child's next write land at the new end.
/// What the child writes between the copy and the truncate is lost, and so
/// is the head of a file that grew past twice `max_bytes` between two
/// checks (a copy keeps its last `2 * max_bytes`); the rotation counts
/// those bytes (at least: the last instant before the truncate cannot be
/// seen) in [`RotationStats`].
///
/// The files are checked every [`check_every`](LogFiles::check_every)
/// (200 ms by default), so the disk a service can use is bounded by
/// about `(2 * keep + 1) * max_bytes` plus what it writes in one check
/// interval and one copy: a service writing 1 GB/s holds a few hundred MB
/// more than that at the peak, then gives it back.
///
/// # Examples
///
/// ```
/// use mend::process::{LogFiles, Output};
///
/// let output = Output::Files(LogFiles::new("/var/log/mend").max_bytes(10 << 20).keep(3));
/// # let _ = output;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFiles {
    pub(crate) dir: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) keep: u32,
    pub(crate) check_every: Duration,
}

impl LogFiles {
    /// The most rotated copies kept.
    pub const MAX_KEEP: u32 = 1000;

    /// Files in `dir` (created if missing), rotated past 10 MiB, 3 copies
    /// kept, checked every 200 ms.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LogFiles {
            dir: dir.into(),
            max_bytes: 10 << 20,
            keep: 3,
            check_every: Duration::from_millis(200),
        }
    }

    /// Rotates a file once it is past this size.
    #[must_use]
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Keeps this many rotated copies (0: a rotation only truncates).
    #[must_use]
    pub fn keep(mut self, keep: u32) -> Self {
        self.keep = keep;
        self
    }

    /// Checks the sizes this often.
    #[must_use]
    pub fn check_every(mut self, every: Duration) -> Self {
        self.check_every = every;
        self
    }

    /// The stdout and stderr files of `service`.
    pub fn paths(&self, service: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{service}.out")),
            self.dir.join(format!("{service}.err")),
        )
    }
}

impl Output {
    pub(crate) fn validate(&self, check: &Checks) -> Result<(), ConfigError> {
        if let Output::Files(files) = self {
            check.count("output.max_bytes", files.max_bytes, 1, u64::MAX, "bytes")?;
            check.count("output.keep", files.keep, 0, LogFiles::MAX_KEEP, "files")?;
            check.duration(
                "output.check_every",
                files.check_every,
                Duration::from_millis(1),
                Duration::from_secs(3600),
            )?;
        }
        Ok(())
    }

    /// The child's stdout and stderr.
    pub(crate) fn open(&self, service: &str) -> io::Result<(Stdio, Stdio)> {
        match self {
            Output::Null => Ok((Stdio::null(), Stdio::null())),
            Output::Inherit => Ok((Stdio::inherit(), Stdio::inherit())),
            Output::Files(files) => {
                sys::create_dir_all(&files.dir)?;
                let (out, err) = files.paths(service);
                Ok((sys::open_append(out)?.into(), sys::open_append(err)?.into()))
            }
        }
    }
}

/// What rotation has done to one service's files.
#[derive(Debug, Default)]
pub struct RotationStats {
    rotations: AtomicU64,
    rotated_bytes: AtomicU64,
    lost_bytes: AtomicU64,
}

impl RotationStats {
    /// Rotations so far.
    pub fn rotations(&self) -> u64 {
        self.rotations.load(Relaxed)
    }

    /// Bytes rotations truncated (kept in copies or not).
    pub fn rotated_bytes(&self) -> u64 {
        self.rotated_bytes.load(Relaxed)
    }

    /// Bytes a rotation truncated that no copy holds: what was written
    /// between the copy and the truncate (with `keep` 0, everything
    /// truncated).
    pub fn lost_bytes(&self) -> u64 {
        self.lost_bytes.load(Relaxed)
    }
}

/// Rotates `path` if it is past `files.max_bytes`, counting in `stats`.
pub(crate) fn rotate_if_needed(
    path: &Path,
    files: &LogFiles,
    stats: &RotationStats,
) -> io::Result<()> {
    let size = sys::size(path);
    if size <= files.max_bytes {
        return Ok(());
    }
    let copy = |n: u32| -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    };
    let mut copied = 0;
    if files.keep > 0 {
        sys::remove_file(copy(files.keep))?;
        for n in (1..files.keep).rev() {
            if let Err(e) = sys::rename(copy(n), copy(n + 1))
                && e.kind() != io::ErrorKind::NotFound
            {
                return Err(e);
            }
        }
        // Copy what was there when we looked, not what keeps coming (a
        // flood would keep the copy chasing the end); and of that, at most
        // the last 2 * max_bytes, so a copy stays bounded too.
        let skip = size.saturating_sub(files.max_bytes.saturating_mul(2));
        let mut from = sys::open_read(path)?;
        io::Seek::seek(&mut from, io::SeekFrom::Start(skip))?;
        let mut to = sys::create(copy(1))?;
        copied = io::copy(&mut io::Read::take(from, size - skip), &mut to)?;
    }
    let before_truncate = sys::size(path);
    sys::open_for_write(path)?.set_len(0)?;
    stats.rotations.fetch_add(1, Relaxed);
    stats.rotated_bytes.fetch_add(before_truncate, Relaxed);
    stats
        .lost_bytes
        .fetch_add(before_truncate.saturating_sub(copied), Relaxed);
    Ok(())
}

/// The files one supervisor rotates, by service.
#[derive(Debug, Default)]
pub(crate) struct Rotations {
    watched: parking_lot::Mutex<Vec<Watched>>,
}

#[derive(Debug)]
struct Watched {
    service: Arc<str>,
    files: LogFiles,
    stats: Arc<RotationStats>,
}

impl Rotations {
    /// Watches `service`'s files from now on (once).
    pub(crate) fn watch(&self, service: &Arc<str>, files: &LogFiles) -> Arc<RotationStats> {
        let mut watched = self.watched.lock();
        if let Some(w) = watched.iter().find(|w| w.service == *service) {
            return w.stats.clone();
        }
        let stats = Arc::new(RotationStats::default());
        watched.push(Watched {
            service: service.clone(),
            files: files.clone(),
            stats: stats.clone(),
        });
        stats
    }

    /// Stops watching `service`'s files.
    pub(crate) fn forget(&self, service: &str) {
        self.watched.lock().retain(|w| &*w.service != service);
    }

    /// The shortest check interval (how often [`check`](Self::check) is
    /// due), if any file is watched.
    pub(crate) fn every(&self) -> Option<Duration> {
        self.watched
            .lock()
            .iter()
            .map(|w| w.files.check_every)
            .min()
    }

    /// Rotates every file past its size. Errors are logged and skipped: a
    /// failed rotation is tried again at the next check.
    pub(crate) fn check(&self) {
        let watched: Vec<(Arc<str>, LogFiles, Arc<RotationStats>)> = self
            .watched
            .lock()
            .iter()
            .map(|w| (w.service.clone(), w.files.clone(), w.stats.clone()))
            .collect();
        for (service, files, stats) in watched {
            let (out, err) = files.paths(&service);
            for path in [out, err] {
                if let Err(_e) = rotate_if_needed(&path, &files, &stats) {
                    #[cfg(feature = "tracing")]
                    tracing::warn!(target: "mend::process", service = %service, "rotating {}: {_e}", path.display());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_rotation_keeps_copies_and_the_writer_goes_on_at_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let files = LogFiles::new(dir.path()).max_bytes(10).keep(2);
        let (out, _) = files.paths("svc");
        let mut writer = sys::open_append(&out).unwrap();
        let stats = RotationStats::default();
        for round in 0..4u8 {
            writer.write_all(&[b'a' + round; 16]).unwrap();
            rotate_if_needed(&out, &files, &stats).unwrap();
            assert_eq!(sys::size(&out), 0, "truncated in place");
        }
        writer.write_all(b"tail").unwrap();
        assert_eq!(
            sys::read(&out).unwrap(),
            "tail",
            "append mode writes at the new end"
        );
        assert_eq!(
            sys::read(format!("{}.1", out.display())).unwrap(),
            "d".repeat(16)
        );
        assert_eq!(
            sys::read(format!("{}.2", out.display())).unwrap(),
            "c".repeat(16)
        );
        assert!(
            sys::read(format!("{}.3", out.display())).is_err(),
            "only 2 kept"
        );
        assert_eq!(stats.rotations(), 4);
        assert_eq!(stats.lost_bytes(), 0);
        // Under the limit: nothing happens.
        rotate_if_needed(&out, &files, &stats).unwrap();
        assert_eq!(stats.rotations(), 4);
    }

    #[test]
    fn keeping_none_only_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let files = LogFiles::new(dir.path()).max_bytes(4).keep(0);
        let (_, err) = files.paths("svc");
        sys::open_append(&err)
            .unwrap()
            .write_all(b"0123456789")
            .unwrap();
        let stats = RotationStats::default();
        rotate_if_needed(&err, &files, &stats).unwrap();
        assert_eq!(sys::size(&err), 0);
        assert_eq!(sys::list(dir.path()).unwrap(), ["svc.err"]);
        assert_eq!(stats.lost_bytes(), 10, "nothing was copied");
    }
}
