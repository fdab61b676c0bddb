//! Any bytes as a journal segment: no panic; the valid prefix re-encodes
//! to exactly its bytes; a record found after a bad one really decodes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mend::checkpoint::fuzzing::{decode_record, encode_record, scan_segment};

fuzz_target!(|data: &[u8]| {
    let scan = scan_segment(data);
    let mut again = Vec::new();
    for (offset, record) in &scan.records {
        assert_eq!(*offset as usize, again.len());
        again.extend(encode_record(record.seq, record.schema, record.payload));
    }
    assert_eq!(again, &data[..scan.valid_len as usize]);
    match &scan.bad {
        None => assert_eq!(scan.valid_len as usize, data.len()),
        Some(bad) => {
            assert_eq!(bad.offset, scan.valid_len);
            assert!(decode_record(&data[bad.offset as usize..]).is_err());
            if let Some(next) = bad.next_valid {
                assert!(next > bad.offset);
                assert!(decode_record(&data[next as usize..]).is_ok());
            }
        }
    }
});
