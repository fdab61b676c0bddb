//! A simulated disk for the power-loss test: written and durable bytes
//! kept apart, and a crash image built at a chosen sync point from what was
//! durable plus any subset of the rest, with writes torn at 512-byte
//! sectors and directory changes since the last directory fsync kept or
//! lost.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use mend::checkpoint::{Io, IoFile};

use crate::support::Rng;

const SECTOR: usize = 512;

pub(crate) type Image = BTreeMap<String, Vec<u8>>;

#[derive(Debug, Default)]
struct Inode {
    live: Vec<u8>,
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
    syncs: usize,
    crash_at: Option<usize>,
    image: Option<Image>,
    rng: Rng,
}

/// The simulated disk of one directory. Clones share it.
#[derive(Debug, Clone)]
pub(crate) struct SimIo(Arc<Mutex<Disk>>);

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_owned()
}

fn power_lost() -> io::Error {
    io::Error::other("power lost")
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
            syncs: 0,
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
        SimIo(Arc::new(Mutex::new(disk)))
    }

    pub(crate) fn syncs(&self) -> usize {
        self.0.lock().unwrap().syncs
    }

    /// The crash image, once the power has gone.
    pub(crate) fn image(&self) -> Option<Image> {
        self.0.lock().unwrap().image.clone()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Disk) -> io::Result<T>) -> io::Result<T> {
        let mut disk = self.0.lock().unwrap();
        if disk.image.is_some() {
            return Err(power_lost());
        }
        f(&mut disk)
    }

    fn handle(&self, inode: usize) -> Box<dyn IoFile> {
        Box::new(SimFile {
            io: self.clone(),
            inode,
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

fn put(bytes: &mut Vec<u8>, offset: usize, data: &[u8]) {
    if bytes.len() < offset + data.len() {
        bytes.resize(offset + data.len(), 0);
    }
    bytes[offset..offset + data.len()].copy_from_slice(data);
}

impl Io for SimIo {
    fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
        self.with(|_| Ok(()))
    }

    fn list(&self, _dir: &Path) -> io::Result<Vec<String>> {
        self.with(|d| Ok(d.live.keys().cloned().collect()))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.with(|d| {
            let id = *d
                .live
                .get(&name(path))
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
            Ok(d.inodes[id].live.clone())
        })
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let id = self.with(|d| {
            d.inodes.push(Inode::default());
            let id = d.inodes.len() - 1;
            d.live.insert(name(path), id);
            d.pending_dir.push(DirOp::Link(name(path), id));
            Ok(id)
        })?;
        Ok(self.handle(id))
    }

    fn append(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        match self.with(|d| Ok(d.live.get(&name(path)).copied()))? {
            Some(id) => Ok(self.handle(id)),
            None => self.create(path),
        }
    }

    fn open_lock(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        self.append(path)
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.with(|d| {
            d.sync_point()?;
            let id = d.live[&name(path)];
            let inode = &mut d.inodes[id];
            inode.live.truncate(len as usize);
            inode.durable = inode.live.clone();
            inode.pending.clear();
            Ok(())
        })
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.with(|d| {
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
        self.with(|d| {
            d.live
                .remove(&name(path))
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
            d.pending_dir.push(DirOp::Unlink(name(path)));
            Ok(())
        })
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        self.with(|d| {
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
}

impl IoFile for SimFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io.with(|d| {
            let inode = &mut d.inodes[self.inode];
            let offset = inode.live.len();
            inode.live.extend_from_slice(buf);
            inode.pending.push((offset, buf.to_vec()));
            Ok(buf.len())
        })
    }

    fn sync(&mut self) -> io::Result<()> {
        self.io.with(|d| {
            d.sync_point()?;
            let inode = &mut d.inodes[self.inode];
            inode.durable = inode.live.clone();
            inode.pending.clear();
            Ok(())
        })
    }

    fn try_lock(&mut self) -> io::Result<bool> {
        Ok(true)
    }
}
