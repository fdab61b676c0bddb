//! The snapshot file format: one header, one payload, one checksum.
//!
//! A snapshot file `snapshot-<seq>.snap` holds the whole application state
//! after journal record `seq` (20 decimal digits, so names sort by number).
//! It is written as `snapshot-<seq>.tmp`, fsync'd, renamed over, and the
//! directory fsync'd, so a snapshot file is either absent or complete; a
//! damaged one is found by its checksum.
//!
//! Layout (all integers little-endian), 36-byte header then the payload:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `MENDSNAP` |
//! | 8 | 4 | CRC-32C of bytes 0..8, 12..36 and the payload |
//! | 12 | 2 | format version: 1 or 2 |
//! | 14 | 2 | reserved, 0 |
//! | 16 | 4 | application schema version |
//! | 20 | 8 | sequence number of the last journal record included |
//! | 28 | 8 | payload length |
//! | 36 | n | payload (JSON) |
//!
//! The checksum sits at a fixed place before the version, so a damaged
//! version field reads as damage, and only an intact newer file reads as
//! "newer format".
//!
//! **Format 2** (this build writes it; it still reads format 1) has the
//! same layout and adds a promise: the snapshot at `seq` continues into
//! the journal segment `journal-<seq + 1>.log`, which was made durable
//! before the snapshot was renamed into place. So recovery knows that
//! segment must exist, and a missing or emptied one is found.

use super::error::FormatError;

/// The first 8 bytes of every snapshot file.
pub(crate) const MAGIC: [u8; 8] = *b"MENDSNAP";
/// The snapshot format version this build writes; it reads this and 1.
pub(crate) const FORMAT: u16 = 2;
/// Length of the header before the payload.
pub const HEADER_LEN: usize = 36;

/// A decoded snapshot, borrowing its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot<'a> {
    /// Its format version (2: the segment after it must exist).
    pub format: u16,
    /// The application's schema version when it was written.
    pub schema: u32,
    /// The last journal record the state includes (0: none).
    pub seq: u64,
    /// The encoded state.
    pub payload: &'a [u8],
}

/// Encodes a snapshot file in the current format.
pub fn encode(schema: u32, seq: u64, payload: &[u8]) -> Vec<u8> {
    encode_format(FORMAT, schema, seq, payload)
}

/// Encodes a snapshot file in any format.
pub fn encode_format(format: u16, schema: u32, seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&format.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&schema.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    let crc = checksum(&out);
    out[8..12].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a whole snapshot file.
///
/// # Errors
///
/// A [`FormatError`] naming the first thing found wrong.
pub fn decode(bytes: &[u8]) -> Result<Snapshot<'_>, FormatError> {
    if bytes.len() < HEADER_LEN {
        return Err(FormatError::Truncated {
            needed: HEADER_LEN as u64,
            available: bytes.len() as u64,
        });
    }
    if bytes[..8] != MAGIC {
        return Err(FormatError::BadMagic);
    }
    let len = u64::from_le_bytes(field(bytes, 28));
    let available = (bytes.len() - HEADER_LEN) as u64;
    if len > available {
        return Err(FormatError::Truncated {
            needed: len.saturating_add(HEADER_LEN as u64),
            available: bytes.len() as u64,
        });
    }
    if len < available {
        return Err(FormatError::TrailingBytes {
            extra: available - len,
        });
    }
    let stored = u32::from_le_bytes(field(bytes, 8));
    let computed = checksum(bytes);
    if stored != computed {
        return Err(FormatError::Checksum { stored, computed });
    }
    let format = u16::from_le_bytes(field(bytes, 12));
    if format > FORMAT {
        return Err(FormatError::NewerFormat { found: format });
    }
    let reserved = u16::from_le_bytes(field(bytes, 14));
    if format == 0 || reserved != 0 {
        return Err(FormatError::Reserved {
            found: u64::from(if format == 0 { 0 } else { reserved }),
        });
    }
    Ok(Snapshot {
        format,
        schema: u32::from_le_bytes(field(bytes, 16)),
        seq: u64::from_le_bytes(field(bytes, 20)),
        payload: &bytes[HEADER_LEN..],
    })
}

/// CRC-32C of everything but the checksum field itself.
fn checksum(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&bytes[..8]);
    crc32c::crc32c_append(crc, &bytes[12..])
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

/// The file name of the snapshot after record `seq`.
pub(crate) fn file_name(seq: u64) -> String {
    format!("snapshot-{seq:020}.snap")
}

/// The temporary name a snapshot is written under before the rename.
pub(crate) fn temp_name(seq: u64) -> String {
    format!("snapshot-{seq:020}.tmp")
}

/// The sequence number in a snapshot file name.
pub(crate) fn parse_name(name: &str) -> Option<u64> {
    parse_seq(name.strip_prefix("snapshot-")?.strip_suffix(".snap")?)
}

/// True for a temporary snapshot file left by a crash.
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.strip_prefix("snapshot-")
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .and_then(parse_seq)
        .is_some()
}

pub(crate) fn parse_seq(digits: &str) -> Option<u64> {
    if digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let bytes = encode(3, 42, b"{\"a\":1}");
        assert_eq!(bytes.len(), HEADER_LEN + 7);
        let snap = decode(&bytes).unwrap();
        assert_eq!(
            snap,
            Snapshot {
                format: FORMAT,
                schema: 3,
                seq: 42,
                payload: b"{\"a\":1}"
            }
        );
        assert_eq!(encode(snap.schema, snap.seq, snap.payload), bytes);
        let v1 = encode_format(1, 3, 42, b"{}");
        assert_eq!(decode(&v1).unwrap().format, 1);
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let bytes = encode(1, 7, b"[1,2,3]");
        for i in 0..bytes.len() * 8 {
            let mut bad = bytes.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(decode(&bad).is_err(), "bit {i} flipped went unnoticed");
        }
    }

    #[test]
    fn truncation_and_trailing_bytes_are_detected() {
        let bytes = encode(1, 7, b"[1,2,3]");
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err());
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(decode(&long), Err(FormatError::TrailingBytes { extra: 1 }));
    }

    #[test]
    fn an_intact_newer_format_says_so() {
        let mut bytes = encode(1, 7, b"{}");
        bytes[12..14].copy_from_slice(&3u16.to_le_bytes());
        let crc = checksum(&bytes);
        bytes[8..12].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(decode(&bytes), Err(FormatError::NewerFormat { found: 3 }));
        bytes[12..14].copy_from_slice(&0u16.to_le_bytes());
        let crc = checksum(&bytes);
        bytes[8..12].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(decode(&bytes), Err(FormatError::Reserved { found: 0 }));
    }

    #[test]
    fn names_sort_by_number_and_parse_back() {
        assert_eq!(file_name(12), "snapshot-00000000000000000012.snap");
        assert_eq!(parse_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert!(is_temp_name(&temp_name(5)));
        assert_eq!(parse_name("snapshot-12.snap"), None);
        assert!(!is_temp_name(&file_name(5)));
    }
}
