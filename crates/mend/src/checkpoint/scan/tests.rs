//! The scanner: valid prefixes, torn tails, damage, long frames.

use super::*;
use crate::checkpoint::journal::{decode, encode};

fn segment(seqs: &[u64]) -> Vec<u8> {
    seqs.iter()
        .flat_map(|&s| encode(s, 1, format!("[{s}]").as_bytes()))
        .collect()
}

#[test]
fn a_clean_segment_scans_whole() {
    let bytes = segment(&[1, 2, 3]);
    let scan = scan(&bytes);
    assert_eq!(scan.frames.len(), 3);
    assert_eq!(scan.valid_len, bytes.len() as u64);
    assert_eq!(scan.bad, None);
    assert_eq!(scan.frames[2].1.seq, 3);
}

#[test]
fn a_cut_last_frame_is_a_torn_tail() {
    let bytes = segment(&[1, 2, 3]);
    let whole = segment(&[1, 2]).len();
    for cut in whole + 1..bytes.len() {
        let scan = scan(&bytes[..cut]);
        assert_eq!(scan.frames.len(), 2);
        let bad = scan.bad.unwrap();
        assert_eq!(bad.offset, whole as u64);
        assert_eq!(bad.next_valid, None, "cut at {cut}");
    }
}

#[test]
fn a_bad_frame_before_a_good_one_is_not_a_torn_tail() {
    let mut bytes = segment(&[1, 2, 3]);
    let second = segment(&[1]).len();
    let third = segment(&[1, 2]).len();
    bytes[second + HEADER_LEN] ^= 0x40;
    let scan = scan(&bytes);
    assert_eq!(scan.frames.len(), 1);
    let bad = scan.bad.unwrap();
    assert_eq!(bad.offset, second as u64);
    assert_eq!(bad.next_valid, Some(third as u64));
    assert!(matches!(bad.error, FormatError::Checksum { .. }));
}

#[test]
fn a_torn_tail_holding_a_partial_header_is_still_torn() {
    // A torn frame, then the start of another: nothing valid follows.
    let mut bytes = segment(&[1]);
    bytes.extend_from_slice(&encode(2, 1, b"[2]")[..20]);
    bytes.extend_from_slice(&encode(3, 1, b"[3]")[..20]);
    let scan = scan(&bytes);
    assert_eq!(scan.frames.len(), 1);
    assert_eq!(scan.bad.unwrap().next_valid, None);
}

/// Frames longer than the window, and windows that end inside a frame.
#[test]
fn frames_longer_than_the_window_scan_the_same() {
    let big = vec![b'7'; CHUNK * 2 + 5];
    let mut bytes = Vec::new();
    for seq in 1..=4 {
        let payload: &[u8] = if seq % 2 == 0 { &big } else { b"[1]" };
        bytes.extend(encode(seq, 1, payload));
    }
    let scan = scan(&bytes);
    assert_eq!(scan.bad, None);
    assert_eq!(scan.frames.len(), 4);
    assert_eq!(scan.frames[1].1.payload, big);
    // Damage inside a long frame, with a valid frame after it.
    let mut damaged = bytes.clone();
    let second = scan.frames[1].0 as usize;
    damaged[second + HEADER_LEN + CHUNK + 7] ^= 1;
    let scan = super::scan(&damaged);
    let bad = scan.bad.unwrap();
    assert_eq!(bad.offset, second as u64);
    assert_eq!(bad.next_valid, Some(scan_offset(&bytes, 2)));
}

fn scan_offset(bytes: &[u8], index: usize) -> u64 {
    scan(bytes).frames[index].0
}

/// A length field claiming far more than the file holds is refused
/// without reading (or allocating) it.
#[test]
fn a_length_past_the_end_is_truncated() {
    let mut bytes = segment(&[1, 2]);
    let second = segment(&[1]).len();
    bytes[second + 4..second + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let scan = scan(&bytes);
    let bad = scan.bad.unwrap();
    assert!(
        matches!(bad.error, FormatError::Truncated { .. }),
        "{bad:?}"
    );
    assert_eq!(bad.next_valid, None);
}

/// The scanner and the in-memory decoder agree frame by frame, for every
/// cut of a segment with a magic number straddling a window boundary.
#[test]
fn the_scanner_agrees_with_the_decoder() {
    let filler = vec![b'x'; CHUNK - HEADER_LEN - 2];
    let mut bytes = encode(1, 1, &filler);
    bytes.extend(encode(2, 1, b"[2]"));
    bytes.extend(encode(3, 1, b"[3]"));
    for cut in (0..bytes.len()).step_by(7).chain([bytes.len()]) {
        let data = &bytes[..cut];
        let scan = scan(data);
        let mut at = 0;
        for (offset, frame) in &scan.frames {
            assert_eq!(*offset as usize, at);
            let (decoded, len) = decode(&data[at..]).unwrap();
            assert_eq!(
                (decoded.seq, decoded.payload),
                (frame.seq, &frame.payload[..])
            );
            at += len;
        }
        assert_eq!(scan.valid_len as usize, at);
        if let Some(bad) = scan.bad {
            assert_eq!(decode(&data[at..]).unwrap_err(), bad.error);
        }
    }
}

/// The search for the next valid frame reads the file a window at a time;
/// a frame whose magic straddles two windows is still found (the windows
/// overlap by a magic's length less one).
#[test]
fn a_valid_frame_across_two_search_windows_is_found() {
    let mut bytes = segment(&[1]);
    bytes[HEADER_LEN] ^= 0x40; // the first frame is damaged
    // The search starts one byte after the bad frame's start, so its first
    // window ends at 1 + CHUNK: put the next frame's magic across that end.
    let at = 1 + CHUNK - 2;
    bytes.resize(at, 0);
    bytes.extend(encode(2, 1, b"[2]"));
    let scan = scan(&bytes);
    let bad = scan.bad.unwrap();
    assert_eq!(bad.offset, 0);
    assert_eq!(bad.next_valid, Some(at as u64));
}
