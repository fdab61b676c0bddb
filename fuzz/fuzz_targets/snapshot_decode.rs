//! Any bytes into the snapshot decoder: no panic, and whatever decodes
//! re-encodes to exactly the same bytes, in its own format version
//! (nothing is accepted that the encoder would not have written).

#![no_main]

use libfuzzer_sys::fuzz_target;
use mend::checkpoint::fuzzing::{decode_snapshot, encode_snapshot_format};

fuzz_target!(|data: &[u8]| {
    if let Ok(snap) = decode_snapshot(data) {
        assert!(snap.format == 1 || snap.format == 2);
        assert_eq!(
            encode_snapshot_format(snap.format, snap.schema, snap.seq, snap.payload),
            data
        );
    }
});
