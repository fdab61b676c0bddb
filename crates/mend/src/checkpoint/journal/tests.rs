//! The frame format: round trips, damage, versions, the segment header.

use super::*;

#[test]
fn round_trips() {
    let bytes = encode(9, 2, b"\"x\"");
    let (frame, len) = decode(&bytes).unwrap();
    assert_eq!(len, bytes.len());
    assert_eq!(
        (frame.format, frame.seq, frame.schema, frame.payload),
        (FORMAT, 9, 2, &b"\"x\""[..])
    );
    assert_eq!(encode(frame.seq, frame.schema, frame.payload), bytes);
    let v1 = encode_frame(1, 2, 9, b"\"x\"");
    assert_eq!(decode(&v1).unwrap().0.format, 1);
}

#[test]
fn every_flipped_bit_is_detected() {
    for bytes in [
        encode(3, 1, b"{\"k\":true}"),
        SegmentHeader { first: 5, prev: 2 }.encode(),
    ] {
        for i in 0..bytes.len() * 8 {
            let mut bad = bytes.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(decode(&bad).is_err(), "bit {i} flipped went unnoticed");
        }
    }
}

/// A frame with its format and reserved fields set, and a valid CRC.
fn patched(format: u16, reserved: u16) -> Vec<u8> {
    let mut bytes = encode(4, 1, b"[4]");
    bytes[12..14].copy_from_slice(&format.to_le_bytes());
    bytes[14..16].copy_from_slice(&reserved.to_le_bytes());
    let crc = crc32c::crc32c_append(crc_of_head(&bytes), &bytes[HEADER_LEN..]);
    bytes[8..12].copy_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn an_intact_newer_format_says_so() {
    assert_eq!(
        decode(&patched(3, 0)),
        Err(FormatError::NewerFormat { found: 3 })
    );
}

#[test]
fn fields_mend_never_writes_are_refused() {
    assert_eq!(
        decode(&patched(2, 9)),
        Err(FormatError::Reserved { found: 9 })
    );
    assert_eq!(
        decode(&patched(0, 5)),
        Err(FormatError::Reserved { found: 0 })
    );
    assert!(decode(&patched(1, 0)).is_ok());
    assert!(decode(&patched(2, 0)).is_ok());
}

#[test]
fn a_short_buffer_is_truncated() {
    let bytes = encode(1, 1, b"[1]");
    for cut in 0..bytes.len() {
        assert!(
            matches!(decode(&bytes[..cut]), Err(FormatError::Truncated { .. })),
            "cut at {cut}"
        );
    }
}

#[test]
fn an_empty_payload_is_a_whole_frame() {
    let bytes = encode(1, 1, b"");
    assert_eq!(bytes.len(), HEADER_LEN);
    let (frame, len) = decode(&bytes).unwrap();
    assert_eq!((frame.payload, len), (&b""[..], HEADER_LEN));
}

#[test]
fn the_segment_header_names_the_segment_and_its_predecessor() {
    let header = SegmentHeader { first: 17, prev: 9 };
    let bytes = header.encode();
    assert_eq!(bytes.len() as u64, SEGMENT_HEADER_LEN);
    let (frame, _) = decode(&bytes).unwrap();
    assert_eq!(SegmentHeader::from_frame(&frame), Some(header));
    // Records, format-1 frames and odd payloads are not headers.
    for not_a_header in [
        encode(17, 0, &bytes[HEADER_LEN..]),
        encode_frame(1, 0, 0, &bytes[HEADER_LEN..]),
        encode_frame(FORMAT, 1, 0, &bytes[HEADER_LEN..]),
        encode_frame(FORMAT, 0, 0, &bytes[HEADER_LEN + 1..]),
    ] {
        let (frame, _) = decode(&not_a_header).unwrap();
        assert_eq!(SegmentHeader::from_frame(&frame), None, "{frame:?}");
    }
}

#[test]
fn names_parse_back() {
    assert_eq!(file_name(1), "journal-00000000000000000001.log");
    assert_eq!(parse_name(&file_name(77)), Some(77));
    assert_eq!(parse_name("journal-1.log"), None);
    assert!(is_temp_name(&temp_name(5)));
    assert!(!is_temp_name(&file_name(5)));
    assert_eq!(parse_name(&temp_name(5)), None);
}
