//! A simulated disk for the power-loss tests: the page cache (what reads
//! see) and the platter (what survives a power cut) kept apart, processes
//! that can be killed at any step, and I/O errors with Linux's fsync
//! semantics.
//!
//! - A write lands in the cache; a sync moves the writes pending on that
//!   file to the platter. A failed fsync drops them: the cache still holds
//!   the bytes, the platter never will (the pages are marked clean, as
//!   Linux does after writeback fails: "fsyncgate").
//! - Killing a process stops it at a step (a write it was in the middle of
//!   lands in part); the cache and the platter stay, and the next process
//!   sees the cache.
//! - A power cut at a chosen sync point builds an image from the platter
//!   plus any subset of the pending writes, torn at 512-byte sectors, and
//!   any subset (in order) of the directory changes since the last
//!   directory fsync.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use mend::checkpoint::{Io, IoFile, IoReader};

use crate::support::Rng;

const SECTOR: usize = 512;

pub(crate) type Image = BTreeMap<String, Vec<u8>>;

/// What happens at the faulty step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The process is killed: the step does not happen (a write lands in
    /// part) and every later call of that process fails.
    Kill,
    /// The step fails with EIO (a write lands in part; a failed fsync
    /// drops the file's pending writes from the way to the platter).
    Error,
}

#[derive(Debug, Default)]
struct Inode {
    /// What reads see: the page cache.
    live: Vec<u8>,
    /// What a power cut keeps for sure.
    durable: Vec<u8>,
    /// Writes since the last sync: (offset, bytes).
    pending: Vec<(usize, Vec<u8>)>,
}

#[derive(Debug, Clone)]
enum DirOp {
    Link(String, usize),
    Rename(String, String),
    Unlink(String),
}

#[derive(Debug)]
struct Disk {
    inodes: Vec<Inode>,
    live: BTreeMap<String, usize>,
    durable: BTreeMap<String, usize>,
    pending_dir: Vec<DirOp>,
    /// The process allowed to do I/O; earlier ones were killed.
    alive: u64,
    /// Every call, in order: "write journal-...", "fsync the directory", ...
    ops: Vec<String>,
    syncs: usize,
    faults: Vec<(usize, Fault)>,
    /// The sync count when the fault fired, and the call it hit.
    fired: Option<(usize, String)>,
    crash_at: Option<usize>,
    image: Option<Image>,
    rng: Rng,
}

/// The simulated disk of one directory, as one process sees it. Clones
/// share the disk and the process.
#[derive(Debug, Clone)]
pub(crate) struct SimIo {
    disk: Arc<Mutex<Disk>>,
    process: u64,
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_owned()
}

fn power_lost() -> io::Error {
    io::Error::other("power lost")
}

fn eio() -> io::Error {
    io::Error::from_raw_os_error(5)
}

/// What an operation is, for the fault that may hit it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Other,
    Write,
    Sync,
}

impl SimIo {
    /// A disk holding `image`, all durable, that loses power at sync point
    /// `crash_at` (counting from 1), tearing with `seed`.
    pub(crate) fn new(image: &Image, crash_at: Option<usize>, seed: u64) -> Self {
        let mut disk = Disk {
            inodes: Vec::new(),
            live: BTreeMap::new(),
            durable: BTreeMap::new(),
            pending_dir: Vec::new(),
            alive: 0,
            ops: Vec::new(),
            syncs: 0,
            faults: Vec::new(),
            fired: None,
            crash_at,
            image: None,
            rng: Rng::new(seed),
        };
        for (name, bytes) in image {
            disk.inodes.push(Inode {
                live: bytes.clone(),
                durable: bytes.clone(),
                pending: Vec::new(),
            });
            disk.live.insert(name.clone(), disk.inodes.len() - 1);
        }
        disk.durable = disk.live.clone();
        SimIo {
            disk: Arc::new(Mutex::new(disk)),
            process: 0,
        }
    }

    /// Makes step `step` (counting every call from 1) fail with `fault`.
    /// Several steps can fail; `fired` tells about the first.
    pub(crate) fn fault_at(self, step: usize, fault: Fault) -> Self {
        self.disk.lock().unwrap().faults.push((step, fault));
        self
    }

    /// The sync count when the fault fired, and the call it hit, if it did.
    pub(crate) fn fired(&self) -> Option<(usize, String)> {
        self.disk.lock().unwrap().fired.clone()
    }

    /// A new process on the same disk (after a kill): it sees the cache.
    pub(crate) fn restart(&self) -> Self {
        let mut disk = self.disk.lock().unwrap();
        disk.alive += 1;
        SimIo {
            disk: self.disk.clone(),
            process: disk.alive,
        }
    }

    /// Every call so far, in order (step `n` is `ops()[n - 1]`).
    pub(crate) fn ops(&self) -> Vec<String> {
        self.disk.lock().unwrap().ops.clone()
    }

    pub(crate) fn syncs(&self) -> usize {
        self.disk.lock().unwrap().syncs
    }

    /// The crash image, once the power has gone.
    pub(crate) fn image(&self) -> Option<Image> {
        self.disk.lock().unwrap().image.clone()
    }

    /// Cuts the power now (if it has not gone yet) and returns the image.
    pub(crate) fn power_off(&self) -> Image {
        let mut disk = self.disk.lock().unwrap();
        if disk.image.is_none() {
            disk.image = Some(disk.crash_image());
        }
        disk.image.clone().unwrap()
    }

    fn with<T>(&self, op: &str, f: impl FnOnce(&mut Disk) -> io::Result<T>) -> io::Result<T> {
        self.step(Step::Other, op, |d, fault| match fault {
            Some(_) => Err(eio()),
            None => f(d),
        })
    }

    /// Runs one call of this process: counts it, and hands the fault (if
    /// this is the faulty step and it is an error, not a kill) to `f`.
    fn step<T>(
        &self,
        kind: Step,
        op: &str,
        f: impl FnOnce(&mut Disk, Option<Fault>) -> io::Result<T>,
    ) -> io::Result<T> {
        let mut disk = self.disk.lock().unwrap();
        if disk.image.is_some() {
            return Err(power_lost());
        }
        if disk.alive != self.process {
            return Err(io::Error::other("process killed"));
        }
        disk.ops.push(op.to_owned());
        let step = disk.ops.len();
        let fault = disk.faults.iter().find(|f| f.0 == step).map(|f| f.1);
        if fault.is_some() && disk.fired.is_none() {
            disk.fired = Some((disk.syncs, op.to_owned()));
        }
        if fault == Some(Fault::Kill) {
            disk.alive += 1;
            if kind != Step::Write {
                return Err(io::Error::other("process killed"));
            }
        }
        f(&mut disk, fault)
    }

    fn handle(&self, inode: usize, path: &Path) -> Box<dyn IoFile> {
        Box::new(SimFile {
            io: self.clone(),
            inode,
            name: name(path),
            at: None,
        })
    }
}

impl Disk {
    /// Counts a sync point; the power goes *before* the sync takes effect.
    fn sync_point(&mut self) -> io::Result<()> {
        self.syncs += 1;
        if Some(self.syncs) == self.crash_at {
            self.image = Some(self.crash_image());
            return Err(power_lost());
        }
        Ok(())
    }

    fn crash_image(&mut self) -> Image {
        let mut dir = self.durable.clone();
        for op in self.pending_dir.clone() {
            if !self.rng.coin() {
                continue;
            }
            match op {
                DirOp::Link(name, inode) => {
                    dir.insert(name, inode);
                }
                DirOp::Rename(from, to) => {
                    if let Some(inode) = dir.remove(&from) {
                        dir.insert(to, inode);
                    }
                }
                DirOp::Unlink(name) => {
                    dir.remove(&name);
                }
            }
        }
        let mut image = Image::new();
        for (name, &id) in &dir {
            let mut bytes = self.inodes[id].durable.clone();
            for (offset, data) in self.inodes[id].pending.clone() {
                match self.rng.below(3) {
                    0 => continue,
                    1 => put(&mut bytes, offset, &data),
                    _ => {
                        // Torn: each sector of the write lands or not.
                        let mut at = offset;
                        while at < offset + data.len() {
                            let end = ((at / SECTOR + 1) * SECTOR).min(offset + data.len());
                            if self.rng.coin() {
                                put(&mut bytes, at, &data[at - offset..end - offset]);
                            }
                            at = end;
                        }
                    }
                }
            }
            image.insert(name.clone(), bytes);
        }
        image
    }
}

impl Inode {
    /// Moves the pending writes to the platter.
    fn flush(&mut self) {
        for (offset, data) in std::mem::take(&mut self.pending) {
            put(&mut self.durable, offset, &data);
        }
    }
}

fn put(bytes: &mut Vec<u8>, offset: usize, data: &[u8]) {
    if bytes.len() < offset + data.len() {
        bytes.resize(offset + data.len(), 0);
    }
    bytes[offset..offset + data.len()].copy_from_slice(data);
}

impl Io for SimIo {
    fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
        self.with("mkdir", |_| Ok(()))
    }

    fn list(&self, _dir: &Path) -> io::Result<Vec<String>> {
        self.with("list", |d| Ok(d.live.keys().cloned().collect()))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.with(&format!("read {}", name(path)), |d| {
            let id = *d
                .live
                .get(&name(path))
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
            Ok(d.inodes[id].live.clone())
        })
    }

    fn reader(&self, path: &Path) -> io::Result<Box<dyn IoReader>> {
        let id = self.with(&format!("open {}", name(path)), |d| {
            d.live
                .get(&name(path))
                .copied()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        })?;
        Ok(Box::new(SimReader {
            io: self.clone(),
            inode: id,
            name: name(path),
        }))
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let id = self.with(&format!("create {}", name(path)), |d| {
            d.inodes.push(Inode::default());
            let id = d.inodes.len() - 1;
            d.live.insert(name(path), id);
            d.pending_dir.push(DirOp::Link(name(path), id));
            Ok(id)
        })?;
        Ok(self.handle(id, path))
    }

    fn append(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        match self.with(&format!("open {}", name(path)), |d| {
            Ok(d.live.get(&name(path)).copied())
        })? {
            Some(id) => Ok(self.handle(id, path)),
            None => self.create(path),
        }
    }

    fn open_lock(&self, path: &Path, initial: &[u8]) -> io::Result<Box<dyn IoFile>> {
        let id = self.with(&format!("open {}", name(path)), |d| {
            if let Some(&id) = d.live.get(&name(path)) {
                return Ok(id);
            }
            d.inodes.push(Inode {
                live: initial.to_vec(),
                pending: vec![(0, initial.to_vec())],
                ..Inode::default()
            });
            let id = d.inodes.len() - 1;
            d.live.insert(name(path), id);
            d.pending_dir.push(DirOp::Link(name(path), id));
            Ok(id)
        })?;
        Ok(Box::new(SimFile {
            io: self.clone(),
            inode: id,
            name: name(path),
            at: Some(0),
        }))
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.step(
            Step::Sync,
            &format!("truncate {}", name(path)),
            |d, fault| {
                if fault.is_some() {
                    return Err(eio());
                }
                d.sync_point()?;
                let id = d.live[&name(path)];
                let inode = &mut d.inodes[id];
                inode.flush();
                inode.live.resize(len as usize, 0);
                inode.durable.resize(len as usize, 0);
                Ok(())
            },
        )
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.with(&format!("rename {}", name(from)), |d| {
            let id = d
                .live
                .remove(&name(from))
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
            d.live.insert(name(to), id);
            d.pending_dir.push(DirOp::Rename(name(from), name(to)));
            Ok(())
        })
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.with(&format!("remove {}", name(path)), |d| {
            d.live
                .remove(&name(path))
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
            d.pending_dir.push(DirOp::Unlink(name(path)));
            Ok(())
        })
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        self.step(Step::Sync, "fsync the directory", |d, fault| {
            if fault.is_some() {
                return Err(eio());
            }
            d.sync_point()?;
            d.durable = d.live.clone();
            d.pending_dir.clear();
            Ok(())
        })
    }
}

#[derive(Debug)]
struct SimFile {
    io: SimIo,
    inode: usize,
    name: String,
    /// Where the next write goes; `None`: at the end (appends).
    at: Option<usize>,
}

impl IoFile for SimFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let op = format!("write {}", self.name);
        self.io.step(Step::Write, &op, |d, fault| {
            // A write cut by a kill or an error lands in part.
            let len = match fault {
                None => buf.len(),
                Some(_) => d.rng.below(buf.len() as u64 + 1) as usize,
            };
            let inode = &mut d.inodes[self.inode];
            let offset = self.at.unwrap_or(inode.live.len());
            put(&mut inode.live, offset, &buf[..len]);
            if let Some(at) = &mut self.at {
                *at += len;
            }
            if len > 0 {
                inode.pending.push((offset, buf[..len].to_vec()));
            }
            match fault {
                None => Ok(len),
                Some(Fault::Error) => Err(eio()),
                Some(Fault::Kill) => Err(io::Error::other("process killed")),
            }
        })
    }

    fn sync(&mut self) -> io::Result<()> {
        let op = format!("fsync {}", self.name);
        self.io.step(Step::Sync, &op, |d, fault| {
            let inode = &mut d.inodes[self.inode];
            if fault.is_some() {
                // Writeback failed: the pages are clean again, their bytes
                // stay in the cache and never reach the platter.
                inode.pending.clear();
                return Err(eio());
            }
            d.sync_point()?;
            d.inodes[self.inode].flush();
            Ok(())
        })
    }

    fn try_lock(&mut self) -> io::Result<bool> {
        self.io.with("lock", |_| Ok(true))
    }
}

/// Reads what the cache holds now; every read is a step.
#[derive(Debug)]
struct SimReader {
    io: SimIo,
    inode: usize,
    name: String,
}

impl IoReader for SimReader {
    fn size(&mut self) -> io::Result<u64> {
        let op = format!("size {}", self.name);
        self.io
            .with(&op, |d| Ok(d.inodes[self.inode].live.len() as u64))
    }

    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let op = format!("read {}", self.name);
        self.io.with(&op, |d| {
            let live = &d.inodes[self.inode].live;
            let bytes = live
                .get(offset as usize..offset as usize + buf.len())
                .ok_or(io::ErrorKind::UnexpectedEof)?;
            buf.copy_from_slice(bytes);
            Ok(())
        })
    }
}
