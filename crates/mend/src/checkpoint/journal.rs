//! The journal's on-disk format: frames, and the header of a segment.
//!
//! The journal is a series of segment files `journal-<seq>.log`, each
//! named (20 decimal digits) for the sequence number of its first record.
//! A new segment starts with every snapshot, so segments older than the
//! oldest retained snapshot can be dropped whole.
//!
//! Everything in a segment is a frame (all integers little-endian), a
//! 28-byte header then the payload:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `MJRN` |
//! | 4 | 4 | payload length |
//! | 8 | 4 | CRC-32C of bytes 0..8, 12..28 and the payload |
//! | 12 | 2 | format version: 1 or 2 |
//! | 14 | 2 | reserved, 0 |
//! | 16 | 4 | application schema version (0 in a segment header) |
//! | 20 | 8 | sequence number (records from 1; 0 for a segment header) |
//! | 28 | n | payload (JSON for a record) |
//!
//! **Format 1** segments hold format-1 records back to back.
//!
//! **Format 2** segments start with a header frame (format 2, schema 0,
//! sequence 0) whose 16-byte payload names the segment and its
//! predecessor: the first sequence number of this segment (as in its
//! name), then that of the segment before it (0: none). Format-2 records
//! follow. A segment is created under a temporary name, header written and
//! fsync'd, then renamed into place, so a segment file never exists
//! without its header. A build that reads only format 1 stops at the
//! header with "newer format" and changes nothing.

use super::error::FormatError;

/// The first 4 bytes of every frame.
pub(crate) const MAGIC: [u8; 4] = *b"MJRN";
/// The format this build writes; it reads this and format 1.
pub(crate) const FORMAT: u16 = 2;
/// Length of a frame's header.
pub const HEADER_LEN: usize = 28;
/// Length of a format-2 segment header frame.
pub(crate) const SEGMENT_HEADER_LEN: u64 = HEADER_LEN as u64 + 16;
/// The largest payload a frame holds.
pub(crate) const MAX_PAYLOAD: usize = u32::MAX as usize;

/// A decoded frame, borrowing its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Its format version (1 or 2).
    pub format: u16,
    /// The application's schema version when it was written.
    pub schema: u32,
    /// Its sequence number (0 for a segment header).
    pub seq: u64,
    /// The encoded change, or a segment header's fields.
    pub payload: &'a [u8],
}

/// Encodes a record in the current format.
///
/// # Panics
///
/// If the payload is longer than `u32::MAX` bytes (the store checks first).
pub fn encode(seq: u64, schema: u32, payload: &[u8]) -> Vec<u8> {
    encode_frame(FORMAT, schema, seq, payload)
}

/// Encodes any frame.
///
/// # Panics
///
/// As [`encode`].
pub fn encode_frame(format: u16, schema: u32, seq: u64, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("payload over the record limit");
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&format.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&schema.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32c::crc32c_append(crc_of_head(&out), &out[HEADER_LEN..]);
    out[8..12].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes the frame at the start of `buf`, returning it and its length.
///
/// # Errors
///
/// A [`FormatError`] naming the first thing found wrong;
/// [`FormatError::Truncated`] when `buf` ends inside the frame.
pub fn decode(buf: &[u8]) -> Result<(Frame<'_>, usize), FormatError> {
    let head = Head::parse(buf)?;
    let total = head.total();
    if (buf.len() as u64) < total {
        return Err(FormatError::Truncated {
            needed: total,
            available: buf.len() as u64,
        });
    }
    let payload = &buf[HEADER_LEN..total as usize];
    head.check(crc32c::crc32c_append(crc_of_head(buf), payload))?;
    Ok((head.frame(payload), total as usize))
}

/// A frame's header, before its payload is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head {
    len: u32,
    stored: u32,
    format: u16,
    reserved: u16,
    schema: u32,
    seq: u64,
}

impl Head {
    /// Reads the header at the start of `buf` (checks only the magic).
    pub(crate) fn parse(buf: &[u8]) -> Result<Head, FormatError> {
        if buf.len() < HEADER_LEN {
            return Err(FormatError::Truncated {
                needed: HEADER_LEN as u64,
                available: buf.len() as u64,
            });
        }
        if buf[..4] != MAGIC {
            return Err(FormatError::BadMagic);
        }
        Ok(Head {
            len: u32::from_le_bytes(field(buf, 4)),
            stored: u32::from_le_bytes(field(buf, 8)),
            format: u16::from_le_bytes(field(buf, 12)),
            reserved: u16::from_le_bytes(field(buf, 14)),
            schema: u32::from_le_bytes(field(buf, 16)),
            seq: u64::from_le_bytes(field(buf, 20)),
        })
    }

    /// Header and payload length.
    pub(crate) fn total(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.len)
    }

    /// Checks the CRC (`computed` over the header, see [`crc_of_head`],
    /// and the payload), then the format and reserved fields: only an
    /// intact frame can say "newer format".
    pub(crate) fn check(&self, computed: u32) -> Result<(), FormatError> {
        if self.stored != computed {
            return Err(FormatError::Checksum {
                stored: self.stored,
                computed,
            });
        }
        if self.format > FORMAT {
            return Err(FormatError::NewerFormat { found: self.format });
        }
        if self.format == 0 || self.reserved != 0 {
            let found = if self.format == 0 { 0 } else { self.reserved };
            return Err(FormatError::Reserved {
                found: u64::from(found),
            });
        }
        Ok(())
    }

    pub(crate) fn frame<'a>(&self, payload: &'a [u8]) -> Frame<'a> {
        Frame {
            format: self.format,
            schema: self.schema,
            seq: self.seq,
            payload,
        }
    }
}

/// The CRC-32C of a frame header's bytes 0..8 and 12..28, to be continued
/// over the payload.
pub(crate) fn crc_of_head(buf: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&buf[..8]), &buf[12..HEADER_LEN])
}

/// A format-2 segment's header: its first sequence number and its
/// predecessor's (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The sequence number of the segment's first record.
    pub first: u64,
    /// The first sequence number of the segment before it (0: none).
    pub prev: u64,
}

impl SegmentHeader {
    /// The header frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut payload = self.first.to_le_bytes().to_vec();
        payload.extend_from_slice(&self.prev.to_le_bytes());
        encode_frame(FORMAT, 0, 0, &payload)
    }

    /// The header a valid frame holds, if it is one.
    pub fn from_frame(frame: &Frame<'_>) -> Option<SegmentHeader> {
        (frame.format == FORMAT && frame.seq == 0 && frame.schema == 0)
            .then_some(())
            .filter(|()| frame.payload.len() == 16)
            .map(|()| SegmentHeader {
                first: u64::from_le_bytes(field(frame.payload, 0)),
                prev: u64::from_le_bytes(field(frame.payload, 8)),
            })
    }
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

/// The file name of the segment whose first record is `first_seq`.
pub(crate) fn file_name(first_seq: u64) -> String {
    format!("journal-{first_seq:020}.log")
}

/// The name a segment is written under before it is renamed into place.
pub(crate) fn temp_name(first_seq: u64) -> String {
    format!("journal-{first_seq:020}.tmp")
}

/// The first sequence number in a segment file name.
pub(crate) fn parse_name(name: &str) -> Option<u64> {
    super::snapshot::parse_seq(name.strip_prefix("journal-")?.strip_suffix(".log")?)
}

/// True for a segment being created when a crash came.
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.strip_prefix("journal-")
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .and_then(super::snapshot::parse_seq)
        .is_some()
}

#[cfg(test)]
mod tests;
