//! The journal record format, and scanning a segment for its valid prefix.
//!
//! The journal is a series of segment files `journal-<seq>.log`, each
//! named (20 decimal digits) for the sequence number of its first record
//! and holding records back to back with no file header. A new segment
//! starts after every snapshot, so segments older than the oldest retained
//! snapshot can be dropped whole.
//!
//! Record layout (all integers little-endian), 28-byte header then payload:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `MJRN` |
//! | 4 | 4 | payload length |
//! | 8 | 4 | CRC-32C of bytes 0..8, 12..28 and the payload |
//! | 12 | 2 | format version, 1 |
//! | 14 | 2 | reserved, 0 |
//! | 16 | 4 | application schema version |
//! | 20 | 8 | sequence number (the first record ever is 1) |
//! | 28 | n | payload (JSON) |
//!
//! [`scan`] reads records until the first one that does not decode, then
//! looks for any valid record after it: finding one means the bad record
//! is corruption, not a torn tail.

use super::error::FormatError;

/// The first 4 bytes of every record.
pub(crate) const MAGIC: [u8; 4] = *b"MJRN";
/// The record format version this build writes and reads.
pub(crate) const FORMAT: u16 = 1;
/// Length of a record's header.
pub const HEADER_LEN: usize = 28;
/// The largest payload a record holds.
pub(crate) const MAX_PAYLOAD: usize = u32::MAX as usize;

/// A decoded record, borrowing its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// Its sequence number.
    pub seq: u64,
    /// The application's schema version when it was written.
    pub schema: u32,
    /// The encoded change.
    pub payload: &'a [u8],
}

/// Encodes one record.
///
/// # Panics
///
/// If the payload is longer than `u32::MAX` bytes (the store checks first).
pub fn encode(seq: u64, schema: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("payload over the record limit");
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&schema.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
    let crc = checksum(&out);
    out[8..12].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes the record at the start of `buf`, returning it and its length.
///
/// # Errors
///
/// A [`FormatError`] naming the first thing found wrong;
/// [`FormatError::Truncated`] when `buf` ends inside the record.
pub fn decode(buf: &[u8]) -> Result<(Record<'_>, usize), FormatError> {
    if buf.len() < HEADER_LEN {
        return Err(FormatError::Truncated {
            needed: HEADER_LEN as u64,
            available: buf.len() as u64,
        });
    }
    if buf[..4] != MAGIC {
        return Err(FormatError::BadMagic);
    }
    let len = u32::from_le_bytes(field(buf, 4)) as usize;
    let total = HEADER_LEN + len;
    if buf.len() < total {
        return Err(FormatError::Truncated {
            needed: total as u64,
            available: buf.len() as u64,
        });
    }
    let record = &buf[..total];
    let stored = u32::from_le_bytes(field(record, 8));
    let computed = checksum(record);
    if stored != computed {
        return Err(FormatError::Checksum { stored, computed });
    }
    let format = u16::from_le_bytes(field(record, 12));
    if format > FORMAT {
        return Err(FormatError::NewerFormat { found: format });
    }
    let reserved = u16::from_le_bytes(field(record, 14));
    if format != FORMAT || reserved != 0 {
        return Err(FormatError::Reserved {
            found: u64::from(if format != FORMAT { format } else { reserved }),
        });
    }
    let record = Record {
        schema: u32::from_le_bytes(field(record, 16)),
        seq: u64::from_le_bytes(field(record, 20)),
        payload: &record[HEADER_LEN..],
    };
    Ok((record, total))
}

/// What [`scan`] found in a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan<'a> {
    /// The valid records from the start, each with its byte offset.
    pub records: Vec<(u64, Record<'a>)>,
    /// Where the valid prefix ends.
    pub valid_len: u64,
    /// What follows the valid prefix, if anything.
    pub bad: Option<Bad>,
}

/// The first record of a segment that did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    /// Its byte offset.
    pub offset: u64,
    /// Why it did not decode.
    pub error: FormatError,
    /// The offset of a valid record further on, if there is one. `None`
    /// means the bad bytes run to the end: a torn tail, if this is the
    /// segment being appended to.
    pub next_valid: Option<u64>,
}

/// Decodes records from the start of a segment until the first bad one.
pub fn scan(buf: &[u8]) -> Scan<'_> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        match decode(&buf[at..]) {
            Ok((record, len)) => {
                records.push((at as u64, record));
                at += len;
            }
            Err(error) => {
                let next_valid = (at + 1..buf.len())
                    .find(|&i| buf[i..].starts_with(&MAGIC) && decode(&buf[i..]).is_ok())
                    .map(|i| i as u64);
                return Scan {
                    records,
                    valid_len: at as u64,
                    bad: Some(Bad {
                        offset: at as u64,
                        error,
                        next_valid,
                    }),
                };
            }
        }
    }
    Scan {
        records,
        valid_len: at as u64,
        bad: None,
    }
}

/// CRC-32C of everything but the checksum field itself.
fn checksum(record: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&record[..8]);
    crc32c::crc32c_append(crc, &record[12..])
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

/// The first sequence number in a segment file name.
pub(crate) fn parse_name(name: &str) -> Option<u64> {
    super::snapshot::parse_seq(name.strip_prefix("journal-")?.strip_suffix(".log")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(seqs: &[u64]) -> Vec<u8> {
        seqs.iter()
            .flat_map(|&s| encode(s, 1, format!("[{s}]").as_bytes()))
            .collect()
    }

    #[test]
    fn round_trips() {
        let bytes = encode(9, 2, b"\"x\"");
        let (record, len) = decode(&bytes).unwrap();
        assert_eq!(len, bytes.len());
        assert_eq!(
            (record.seq, record.schema, record.payload),
            (9, 2, &b"\"x\""[..])
        );
        assert_eq!(encode(record.seq, record.schema, record.payload), bytes);
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let bytes = encode(3, 1, b"{\"k\":true}");
        for i in 0..bytes.len() * 8 {
            let mut bad = bytes.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(decode(&bad).is_err(), "bit {i} flipped went unnoticed");
        }
    }

    #[test]
    fn a_clean_segment_scans_whole() {
        let bytes = segment(&[1, 2, 3]);
        let scan = scan(&bytes);
        assert_eq!(scan.records.len(), 3);
        assert_eq!(scan.valid_len, bytes.len() as u64);
        assert_eq!(scan.bad, None);
    }

    #[test]
    fn a_cut_last_record_is_a_torn_tail() {
        let bytes = segment(&[1, 2, 3]);
        let whole = segment(&[1, 2]).len();
        for cut in whole + 1..bytes.len() {
            let scan = scan(&bytes[..cut]);
            assert_eq!(scan.records.len(), 2);
            let bad = scan.bad.unwrap();
            assert_eq!(bad.offset, whole as u64);
            assert_eq!(bad.next_valid, None, "cut at {cut}");
        }
    }

    #[test]
    fn a_bad_record_before_a_good_one_is_not_a_torn_tail() {
        let mut bytes = segment(&[1, 2, 3]);
        let second = segment(&[1]).len();
        let third = segment(&[1, 2]).len();
        bytes[second + HEADER_LEN] ^= 0x40;
        let scan = scan(&bytes);
        assert_eq!(scan.records.len(), 1);
        let bad = scan.bad.unwrap();
        assert_eq!(bad.offset, second as u64);
        assert_eq!(bad.next_valid, Some(third as u64));
        assert!(matches!(bad.error, FormatError::Checksum { .. }));
    }

    /// A record with its format and reserved fields set, and a valid CRC.
    fn patched(format: u16, reserved: u16) -> Vec<u8> {
        let mut bytes = encode(4, 1, b"[4]");
        bytes[12..14].copy_from_slice(&format.to_le_bytes());
        bytes[14..16].copy_from_slice(&reserved.to_le_bytes());
        let crc = checksum(&bytes);
        bytes[8..12].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    #[test]
    fn an_intact_newer_format_says_so() {
        assert_eq!(
            decode(&patched(2, 0)),
            Err(FormatError::NewerFormat { found: 2 })
        );
    }

    #[test]
    fn fields_mend_never_writes_are_refused() {
        assert_eq!(
            decode(&patched(1, 9)),
            Err(FormatError::Reserved { found: 9 })
        );
        assert_eq!(
            decode(&patched(0, 5)),
            Err(FormatError::Reserved { found: 0 })
        );
        assert!(decode(&patched(1, 0)).is_ok());
    }

    #[test]
    fn an_empty_payload_is_a_whole_record() {
        let bytes = encode(1, 1, b"");
        assert_eq!(bytes.len(), HEADER_LEN);
        let (record, len) = decode(&bytes).unwrap();
        assert_eq!((record.payload, len), (&b""[..], HEADER_LEN));
    }

    #[test]
    fn a_torn_tail_holding_a_partial_header_is_still_torn() {
        // A torn record, then the start of another: nothing valid follows.
        let mut bytes = segment(&[1]);
        bytes.extend_from_slice(&encode(2, 1, b"[2]")[..20]);
        bytes.extend_from_slice(&encode(3, 1, b"[3]")[..20]);
        let scan = scan(&bytes);
        assert_eq!(scan.records.len(), 1);
        assert_eq!(scan.bad.unwrap().next_valid, None);
    }

    #[test]
    fn names_parse_back() {
        assert_eq!(file_name(1), "journal-00000000000000000001.log");
        assert_eq!(parse_name(&file_name(77)), Some(77));
        assert_eq!(parse_name("journal-1.log"), None);
    }
}
