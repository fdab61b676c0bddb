//! Reading a segment one frame at a time, in bounded memory.
//!
//! [`Scanner`] reads a segment through a 64 KiB window and yields its
//! valid frames in order, then either the clean end or the first bad frame
//! ([`Bad`]), with the offset of a valid frame further on, if any (finding
//! one means the bad frame is damage, not a torn tail). A frame's CRC is
//! checked a window at a time; its payload is held in memory only once the
//! frame is known to be valid. So memory stays within the window plus the
//! largest valid record, however long the segment and whatever its bytes
//! claim.

use std::io;

use super::error::FormatError;
use super::io::IoReader;
use super::journal::{self, Frame, HEADER_LEN, Head};

/// The window's size: how much is read from the file at once.
pub(crate) const CHUNK: usize = 64 << 10;

/// The first frame of a segment that did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    /// Its byte offset.
    pub offset: u64,
    /// Why it did not decode.
    pub error: FormatError,
    /// The offset of a valid frame further on, if there is one. `None`
    /// means the bad bytes run to the end: a torn tail, if this is the
    /// segment being appended to.
    pub next_valid: Option<u64>,
}

/// What [`Scanner::next`] found.
#[derive(Debug)]
pub(crate) enum Step<'s> {
    /// A valid frame at this offset.
    Frame(u64, Frame<'s>),
    /// The segment ends cleanly here.
    End,
    /// A bad frame; the valid prefix ends at its offset.
    Bad(Bad),
}

/// Reads the frames of one segment in order.
#[derive(Debug)]
pub(crate) struct Scanner<'r> {
    src: &'r mut dyn IoReader,
    size: u64,
    /// The offset of the next frame.
    at: u64,
    done: bool,
    window: Window,
    /// The payload of a frame longer than the window.
    payload: Vec<u8>,
}

impl<'r> Scanner<'r> {
    pub(crate) fn new(src: &'r mut dyn IoReader) -> io::Result<Self> {
        let size = src.size()?;
        Ok(Scanner {
            src,
            size,
            at: 0,
            done: false,
            window: Window::default(),
            payload: Vec::new(),
        })
    }

    /// The segment's length.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Where the valid frames read so far end.
    pub(crate) fn offset(&self) -> u64 {
        self.at
    }

    /// The next frame, the clean end, or the first bad frame (after which
    /// it says `End`).
    pub(crate) fn next(&mut self) -> io::Result<Step<'_>> {
        if self.done || self.at == self.size {
            self.done = true;
            return Ok(Step::End);
        }
        let at = self.at;
        let head = match self.check_at(at)? {
            Ok(head) => head,
            Err(error) => {
                self.done = true;
                let next_valid = self.next_valid(at + 1)?;
                return Ok(Step::Bad(Bad {
                    offset: at,
                    error,
                    next_valid,
                }));
            }
        };
        self.at = at + head.total();
        let len = (head.total() - HEADER_LEN as u64) as usize;
        let payload = if len <= CHUNK {
            self.window
                .get(self.src, self.size, at + HEADER_LEN as u64, len)?
        } else {
            self.payload.resize(len, 0);
            self.src
                .read_exact_at(at + HEADER_LEN as u64, &mut self.payload)?;
            &self.payload[..]
        };
        Ok(Step::Frame(at, head.frame(payload)))
    }

    /// Checks the frame at `at`: header, bounds, CRC (streamed through
    /// the window), format.
    fn check_at(&mut self, at: u64) -> io::Result<Result<Head, FormatError>> {
        let available = self.size - at;
        let header_len = (available.min(HEADER_LEN as u64)) as usize;
        let bytes = self.window.get(self.src, self.size, at, header_len)?;
        let head = match Head::parse(bytes) {
            Ok(head) => head,
            Err(error) => return Ok(Err(error)),
        };
        let mut crc = journal::crc_of_head(bytes);
        if available < head.total() {
            return Ok(Err(FormatError::Truncated {
                needed: head.total(),
                available,
            }));
        }
        let (mut from, end) = (at + HEADER_LEN as u64, at + head.total());
        while from < end {
            let n = (end - from).min(CHUNK as u64) as usize;
            let piece = self.window.get(self.src, self.size, from, n)?;
            crc = crc32c::crc32c_append(crc, piece);
            from += n as u64;
        }
        Ok(head.check(crc).map(|()| head))
    }

    /// The offset of the first valid frame at or after `from`.
    fn next_valid(&mut self, mut from: u64) -> io::Result<Option<u64>> {
        let magic = journal::MAGIC;
        while self.size - from.min(self.size) >= magic.len() as u64 {
            let n = (self.size - from).min(CHUNK as u64) as usize;
            let chunk = self.window.get(self.src, self.size, from, n)?;
            let candidates: Vec<u64> = chunk
                .windows(magic.len())
                .enumerate()
                .filter(|(_, w)| *w == magic)
                .map(|(i, _)| from + i as u64)
                .collect();
            for candidate in candidates {
                if self.check_at(candidate)?.is_ok() {
                    return Ok(Some(candidate));
                }
            }
            // The next chunk overlaps this one by a magic's length less
            // one, so a magic across the boundary is seen once.
            from += (n - (magic.len() - 1)) as u64;
        }
        Ok(None)
    }
}

/// Up to [`CHUNK`] bytes of the file, from `start`.
#[derive(Debug, Default)]
struct Window {
    start: u64,
    data: Vec<u8>,
}

impl Window {
    /// `n` (at most [`CHUNK`]) bytes at `at`, reading a new window there
    /// when they are not all in this one.
    fn get(&mut self, src: &mut dyn IoReader, size: u64, at: u64, n: usize) -> io::Result<&[u8]> {
        let end = self.start + self.data.len() as u64;
        if at < self.start || at + n as u64 > end {
            let len = (size - at).min(CHUNK as u64) as usize;
            self.data.resize(len, 0);
            src.read_exact_at(at, &mut self.data)?;
            self.start = at;
        }
        let from = (at - self.start) as usize;
        Ok(&self.data[from..from + n])
    }
}

/// A segment held in memory, read as a file (for the fuzz targets and the
/// unit tests).
#[derive(Debug, Clone, Copy)]
pub struct Bytes<'a>(pub &'a [u8]);

impl IoReader for Bytes<'_> {
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.0.len() as u64)
    }

    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let from = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let bytes = self
            .0
            .get(from..from + buf.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

/// An owned frame, as [`scan`] collects them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFrame {
    /// Its format version.
    pub format: u16,
    /// Its schema version.
    pub schema: u32,
    /// Its sequence number.
    pub seq: u64,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// What [`scan`] found in a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The valid frames from the start, each with its byte offset.
    pub frames: Vec<(u64, OwnedFrame)>,
    /// Where the valid prefix ends.
    pub valid_len: u64,
    /// What follows the valid prefix, if anything.
    pub bad: Option<Bad>,
}

/// Scans a whole segment held in memory, as recovery scans a file.
pub fn scan(bytes: &[u8]) -> Scan {
    let mut src = Bytes(bytes);
    let mut scanner = Scanner::new(&mut src).expect("a slice has a size");
    let mut frames = Vec::new();
    loop {
        match scanner.next().expect("reads inside a slice succeed") {
            Step::Frame(offset, frame) => frames.push((
                offset,
                OwnedFrame {
                    format: frame.format,
                    schema: frame.schema,
                    seq: frame.seq,
                    payload: frame.payload.to_vec(),
                },
            )),
            Step::End => {
                return Scan {
                    frames,
                    valid_len: scanner.offset(),
                    bad: None,
                };
            }
            Step::Bad(bad) => {
                return Scan {
                    frames,
                    valid_len: bad.offset,
                    bad: Some(bad),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests;
