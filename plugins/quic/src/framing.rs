//! Frames on a QUIC stream: a u32 big-endian length, then that many bytes.
//!
//! A stream is a byte pipe whose chunk boundaries mean nothing, so the reader reassembles
//! frames here. This module does no I/O: it is fed bytes and hands back whole frames, so the
//! edge cases (split headers, many frames in one chunk, a hostile length) are unit-tested
//! without a network.

/// The length header of a frame of `len` bytes. `len` is at most the configured
/// `max_frame_size`, which is at most 1 GiB, so it fits in a u32.
pub fn header(len: usize) -> [u8; 4] {
    debug_assert!(len <= u32::MAX as usize);
    (len as u32).to_be_bytes()
}

/// A length header announced a frame above the limit. The connection cannot be trusted to
/// resynchronise after this, so it is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTooLarge {
    /// The announced length.
    pub announced: usize,
    /// The limit.
    pub max: usize,
}

/// What the decoder has for the reader next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A whole frame.
    Frame(Vec<u8>),
    /// More bytes are needed.
    Bytes,
    /// The next frame is announced above the connection's current limit (but within
    /// `max_frame_size`): stop reading until the limit is raised.
    Held {
        /// The announced length.
        announced: usize,
    },
}

/// Reassembles frames from stream bytes.
///
/// Two limits apply: `max_frame_size`, above which a frame closes the connection, and the
/// connection's current `limit` (at most `max_frame_size`), above which the next frame is held:
/// the reader stops reading until the limit is raised. A header is checked as soon as its four
/// bytes are in, so memory held is bounded by the current limit plus one pushed chunk.
pub struct FrameDecoder {
    max_frame_size: usize,
    limit: usize,
    buffer: Vec<u8>,
    /// Bytes before `start` belong to frames already handed out.
    start: usize,
}

/// A buffer larger than this is released once empty, so that one large frame does not pin
/// its memory for the connection's lifetime.
const KEEP_CAPACITY: usize = 1 << 20;

impl FrameDecoder {
    /// A decoder refusing frames above `max_frame_size` bytes and holding those above `limit`
    /// (which is capped at `max_frame_size`).
    pub fn new(max_frame_size: usize, limit: usize) -> Self {
        FrameDecoder {
            max_frame_size,
            limit: limit.min(max_frame_size),
            buffer: Vec::new(),
            start: 0,
        }
    }

    /// Changes the limit (capped at `max_frame_size`); a held frame that fits it is handed
    /// out by the next `next_frame`.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(self.max_frame_size);
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            // What is left is at most one partial frame; moving it to the front is cheap
            // compared with reading it.
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole frame, a request for more bytes, a held frame, or an error for a length
    /// above `max_frame_size` (after which the decoder must not be used).
    pub fn next_frame(&mut self) -> Result<Next, FrameTooLarge> {
        let pending = &self.buffer[self.start..];
        let Some(length) = pending.get(..4) else {
            return Ok(Next::Bytes);
        };
        let announced = u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize;
        if announced > self.max_frame_size {
            return Err(FrameTooLarge {
                announced,
                max: self.max_frame_size,
            });
        }
        if announced > self.limit {
            return Ok(Next::Held { announced });
        }
        let Some(body) = pending.get(4..4 + announced) else {
            return Ok(Next::Bytes);
        };
        let frame = body.to_vec();
        self.start += 4 + announced;
        if self.start == self.buffer.len() {
            self.start = 0;
            if self.buffer.capacity() > KEEP_CAPACITY {
                self.buffer = Vec::new();
            } else {
                self.buffer.clear();
            }
        }
        Ok(Next::Frame(frame))
    }

    /// Bytes received that are not yet part of a whole frame.
    pub fn pending(&self) -> usize {
        self.buffer.len() - self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for frame in frames {
            bytes.extend_from_slice(&header(frame.len()));
            bytes.extend_from_slice(frame);
        }
        bytes
    }

    fn drain(decoder: &mut FrameDecoder, out: &mut Vec<Vec<u8>>) {
        while let Next::Frame(frame) = decoder.next_frame().unwrap() {
            out.push(frame);
        }
    }

    #[test]
    fn frames_split_at_every_byte_come_out_whole() {
        let frames = vec![b"open".to_vec(), Vec::new(), vec![7; 300]];
        let bytes = encode(&frames);
        let mut decoder = FrameDecoder::new(1024, 1024);
        let mut out = Vec::new();
        for byte in &bytes {
            decoder.push(std::slice::from_ref(byte));
            drain(&mut decoder, &mut out);
        }
        assert_eq!(out, frames);
        assert_eq!(decoder.pending(), 0);
    }

    #[test]
    fn a_length_above_the_limit_is_refused_before_the_body_arrives() {
        let mut decoder = FrameDecoder::new(100, 10);
        decoder.push(&header(101));
        assert_eq!(
            decoder.next_frame(),
            Err(FrameTooLarge {
                announced: 101,
                max: 100
            })
        );
        let mut decoder = FrameDecoder::new(100, 100);
        decoder.push(&u32::MAX.to_be_bytes());
        assert!(decoder.next_frame().is_err());
    }

    #[test]
    fn a_frame_of_exactly_the_limit_passes() {
        let frame = vec![1u8; 100];
        let mut decoder = FrameDecoder::new(100, 100);
        decoder.push(&encode(std::slice::from_ref(&frame)));
        assert_eq!(decoder.next_frame(), Ok(Next::Frame(frame)));
    }

    #[test]
    fn a_frame_above_the_limit_is_held_until_the_limit_is_raised() {
        let frames = vec![b"hello".to_vec(), vec![9u8; 300], b"after".to_vec()];
        let bytes = encode(&frames);
        let mut decoder = FrameDecoder::new(1024, 100);
        // Only what a reader reads before it stops: the first frame and the held header.
        decoder.push(&bytes[..4 + 5 + 4]);
        assert_eq!(decoder.next_frame(), Ok(Next::Frame(b"hello".to_vec())));
        assert_eq!(decoder.next_frame(), Ok(Next::Held { announced: 300 }));
        assert_eq!(decoder.next_frame(), Ok(Next::Held { announced: 300 }));
        assert_eq!(decoder.pending(), 4, "nothing of the held body is buffered");
        decoder.set_limit(300);
        assert_eq!(decoder.next_frame(), Ok(Next::Bytes));
        decoder.push(&bytes[4 + 5 + 4..]);
        let mut out = Vec::new();
        drain(&mut decoder, &mut out);
        assert_eq!(out, frames[1..].to_vec());
    }

    #[test]
    fn the_limit_never_exceeds_max_frame_size() {
        let mut decoder = FrameDecoder::new(100, 1_000);
        decoder.push(&header(101));
        assert!(decoder.next_frame().is_err());
        let mut decoder = FrameDecoder::new(100, 10);
        decoder.set_limit(usize::MAX);
        decoder.push(&header(101));
        assert!(decoder.next_frame().is_err());
    }

    proptest! {
        #[test]
        fn any_chunking_gives_back_the_frames(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20),
            cuts in proptest::collection::vec(1usize..64, 1..50),
        ) {
            let bytes = encode(&frames);
            let mut decoder = FrameDecoder::new(200, 200);
            let mut out = Vec::new();
            let mut rest = &bytes[..];
            let mut cut = cuts.iter().cycle();
            while !rest.is_empty() {
                let n = (*cut.next().unwrap()).min(rest.len());
                decoder.push(&rest[..n]);
                rest = &rest[n..];
                drain(&mut decoder, &mut out);
            }
            prop_assert_eq!(out, frames);
        }
    }
}
