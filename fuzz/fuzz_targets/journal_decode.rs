//! Any bytes as a journal segment: no panic; the streaming scanner and the
//! in-memory decoder agree frame by frame; the valid prefix re-encodes to
//! exactly its bytes; a frame found after a bad one really decodes; a
//! segment header decodes back to the same fields.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mend::checkpoint::fuzzing::{SegmentHeader, decode_record, encode_frame, scan_segment};

fuzz_target!(|data: &[u8]| {
    let scan = scan_segment(data);
    let mut again = Vec::new();
    for (offset, frame) in &scan.frames {
        assert_eq!(*offset as usize, again.len());
        let (decoded, len) = decode_record(&data[again.len()..]).expect("the scanner's frame decodes");
        assert_eq!(
            (decoded.format, decoded.schema, decoded.seq, decoded.payload),
            (frame.format, frame.schema, frame.seq, &frame.payload[..])
        );
        if let Some(header) = SegmentHeader::from_frame(&decoded) {
            assert_eq!(header.encode(), &data[again.len()..again.len() + len]);
        }
        again.extend(encode_frame(frame.format, frame.schema, frame.seq, &frame.payload));
    }
    assert_eq!(again, &data[..scan.valid_len as usize]);
    match &scan.bad {
        None => assert_eq!(scan.valid_len as usize, data.len()),
        Some(bad) => {
            assert_eq!(bad.offset, scan.valid_len);
            assert_eq!(
                decode_record(&data[bad.offset as usize..]).unwrap_err(),
                bad.error
            );
            match bad.next_valid {
                Some(next) => {
                    assert!(next > bad.offset);
                    assert!(decode_record(&data[next as usize..]).is_ok());
                    for between in bad.offset as usize + 1..next as usize {
                        assert!(decode_record(&data[between..]).is_err());
                    }
                }
                None => {
                    for after in bad.offset as usize + 1..data.len() {
                        assert!(decode_record(&data[after..]).is_err());
                    }
                }
            }
        }
    }
});
