//! The files of the kernel's interfaces (`/proc`, cgroupfs) and the
//! services' output files: the one place in `process` that touches
//! `std::fs`. (The crate's lint keeps `std::fs` for checkpoint I/O, which
//! goes through `checkpoint::Io` so tests can crash it; these files are
//! not state mend writes for itself.)

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "kernel interfaces and output files, not checkpoint I/O"
)]

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// A small kernel file (`/proc/PID/stat`, `cgroup.events`) as text.
pub(crate) fn read(path: impl AsRef<Path>) -> io::Result<String> {
    fs::read_to_string(path)
}

/// A small kernel file as bytes (`/proc/PID/environ`).
pub(crate) fn read_bytes(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    fs::read(path)
}

/// Writes `text` to a kernel control file (`cgroup.kill`).
pub(crate) fn write(path: impl AsRef<Path>, text: &str) -> io::Result<()> {
    fs::write(path, text)
}

/// Creates a directory and its parents (a cgroup, an output directory).
pub(crate) fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    fs::create_dir_all(path)
}

/// Removes an empty directory (an empty cgroup).
pub(crate) fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    fs::remove_dir(path)
}

/// The names in a directory (`/proc`, `/proc/self/task`).
pub(crate) fn list(path: impl AsRef<Path>) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(path)? {
        if let Ok(name) = entry?.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}

/// Opens a cgroup's `cgroup.procs` for writing (the child writes `0` to
/// it before exec).
pub(crate) fn open_for_write(path: impl AsRef<Path>) -> io::Result<File> {
    OpenOptions::new().write(true).open(path)
}

/// Opens (creating, mode 0640) an output file in append mode: every write
/// lands at the current end, wherever a rotation left it.
pub(crate) fn open_append(path: impl AsRef<Path>) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

/// Opens an existing file to read (the copy a rotation keeps).
pub(crate) fn open_read(path: impl AsRef<Path>) -> io::Result<File> {
    File::open(path)
}

/// Creates (or empties) a file to write (a rotated copy), mode 0640.
pub(crate) fn create(path: impl AsRef<Path>) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o640)
        .open(path)
}

/// Renames a file (rotated copies shift up by one).
pub(crate) fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    fs::rename(from, to)
}

/// Removes a file; a file already gone is not an error.
pub(crate) fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Sets a file's or directory's permission bits.
pub(crate) fn set_mode(path: impl AsRef<Path>, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// The size of a file, 0 if it is gone.
pub(crate) fn size(path: impl AsRef<Path>) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}
