//! Creating the checkpoint directory durably.
//!
//! A directory's own entry lives in its parent: until the parent is
//! fsync'd, a power cut can take a new directory away with everything
//! acknowledged in it. So `open` fsyncs the parent of every directory it
//! creates, from the deepest one that already existed down.

use std::io;
use std::path::{Path, PathBuf};

use super::error::CheckpointError;
use super::io::Io;

/// Creates `dir` and any missing parents, and makes each new entry durable.
pub(crate) fn create(io: &dyn Io, dir: &Path) -> Result<(), CheckpointError> {
    // The directories to create, deepest first.
    let mut missing = Vec::new();
    let mut at = dir.to_path_buf();
    loop {
        match io.list(&at) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let parent = parent(&at);
                missing.push(at);
                at = parent;
            }
            Err(e) => return Err(CheckpointError::io("list", at)(e)),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    io.create_dir_all(dir)
        .map_err(CheckpointError::io("create", dir))?;
    for created in missing.iter().rev() {
        let parent = parent(created);
        io.sync_dir(&parent)
            .map_err(CheckpointError::io("fsync", parent))?;
    }
    Ok(())
}

/// The parent of a path, `.` for a relative path of one component.
fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
