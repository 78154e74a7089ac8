//! The log's frames: one committed batch each, numbered, checksummed.
//!
//! ```text
//! [0..4)   payload length, u32 little-endian (at least 1)
//! [4..12)  sequence number, u64 little-endian
//! [12..16) CRC-32C of bytes [0..12) and the payload
//! [16..)   payload: the batch in the plugin API's canonical encoding
//! ```
//!
//! A segment holds frames back to back from offset 0, each numbered one above the one before.
//! Reading stops at the first frame that is not whole and valid: zeros (never written), a
//! checksum that fails (torn by a crash), or a number that does not follow (left over from the
//! segment's previous lap).

use super::crc::crc32c;

/// The bytes before a frame's payload.
pub const HEADER: usize = 16;

/// Appends the frame of batch number `seq` with `payload` to `out`.
pub fn encode(seq: u64, payload: &[u8], out: &mut Vec<u8>) {
    let length = u32::try_from(payload.len()).expect("a batch is under 4 GiB");
    let mut head = [0u8; 12];
    head[..4].copy_from_slice(&length.to_le_bytes());
    head[4..].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32c(&[&head, payload]);
    out.extend_from_slice(&head);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
}

/// One frame read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The batch's number.
    pub seq: u64,
    /// The encoded batch.
    pub payload: &'a [u8],
}

/// The run of valid frames at the start of `segment`, and the offset where it ends (where the
/// next frame goes).
pub fn read_run(segment: &[u8]) -> (Vec<Frame<'_>>, usize) {
    let mut frames: Vec<Frame<'_>> = Vec::new();
    let mut at = 0;
    while let Some(frame) = read_one(&segment[at..]) {
        if frames.last().is_some_and(|last| frame.seq != last.seq + 1) {
            break;
        }
        at += HEADER + frame.payload.len();
        frames.push(frame);
    }
    (frames, at)
}

/// The frame at the start of `bytes`, if one is there whole and valid.
fn read_one(bytes: &[u8]) -> Option<Frame<'_>> {
    let head = bytes.get(..HEADER)?;
    let length = u32::from_le_bytes(head[..4].try_into().ok()?) as usize;
    let seq = u64::from_le_bytes(head[4..12].try_into().ok()?);
    let crc = u32::from_le_bytes(head[12..16].try_into().ok()?);
    if length == 0 {
        return None;
    }
    let payload = bytes.get(HEADER..HEADER.checked_add(length)?)?;
    (crc32c(&[&head[..12], payload]) == crc).then_some(Frame { seq, payload })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(list: &[(u64, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (seq, payload) in list {
            encode(*seq, payload, &mut out);
        }
        out
    }

    #[test]
    fn a_run_reads_back_whole_and_ends_at_zeros() {
        let mut segment = frames(&[(7, b"one"), (8, b"two"), (9, b"three")]);
        let end = segment.len();
        segment.resize(end + 64, 0);
        let (run, at) = read_run(&segment);
        assert_eq!(at, end);
        let read: Vec<(u64, &[u8])> = run.iter().map(|f| (f.seq, f.payload)).collect();
        assert_eq!(
            read,
            vec![(7, &b"one"[..]), (8, &b"two"[..]), (9, &b"three"[..])]
        );
    }

    #[test]
    fn a_torn_frame_ends_the_run_before_it() {
        let whole = frames(&[(1, b"kept"), (2, b"torn in the middle")]);
        let first_end = HEADER + 4;
        for cut in first_end..whole.len() {
            let mut segment = whole[..cut].to_vec();
            segment.resize(whole.len() + 16, 0);
            let (run, at) = read_run(&segment);
            assert_eq!((run.len(), at), (1, first_end), "cut at {cut}");
        }
        let mut flipped = whole.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(read_run(&flipped).0.len(), 1);
    }

    #[test]
    fn a_stale_frame_of_an_earlier_lap_ends_the_run() {
        // The segment was reused from offset 0: frames 20 and 21 overwrote the start of a lap
        // that held 5, 6, 7; 7 is left behind them, valid but not next.
        let old = frames(&[(5, b"aaaa"), (6, b"bbbb"), (7, b"cccc")]);
        let new = frames(&[(20, b"xxxx"), (21, b"yyyy")]);
        let mut segment = old.clone();
        segment[..new.len()].copy_from_slice(&new);
        let (run, at) = read_run(&segment);
        assert_eq!(run.iter().map(|f| f.seq).collect::<Vec<_>>(), vec![20, 21]);
        assert_eq!(at, new.len());
    }

    #[test]
    fn an_empty_or_zeroed_segment_has_no_frames() {
        assert_eq!(read_run(&[]), (vec![], 0));
        assert_eq!(read_run(&[0u8; 100]), (vec![], 0));
        // A length that runs past the end of the file is a torn frame, not a panic.
        let mut huge = frames(&[(1, b"x")]);
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(read_run(&huge), (vec![], 0));
    }
}
