//! One envelope per transport frame: the byte layout and its strict decoder.
//!
//! Layout: `protocol_version: u16 (big-endian) ‖ kind: u8 ‖ body`, where `body` is the canonical
//! encoding ([`parley_plugin_api::codec`]) of the kind's type and spans the rest of the frame
//! exactly. There is no length prefix inside the frame: the transport keeps frames whole and
//! carries their length itself (DESIGN §5's "length-prefixed").
//!
//! The decoder refuses, each with its own [`WireError`]: a frame over the size limit (checked
//! before anything else is read), a frame shorter than the header, another protocol version, an
//! unknown kind, a body that is not the canonical encoding of its kind, and bytes after the body.
//! A refused frame closes the connection (DESIGN §5); [`WireError::goodbye_reason`] says what to
//! tell the peer.

use super::envelope::{
    Auth, Goodbye, GoodbyeReason, Hello, MessageKind, Ping, Pong, WireMessage, PROTOCOL_VERSION,
};
use parley_plugin_api::codec::{Decode, DecodeError, Encode, Reader};
use thiserror::Error;

/// The default largest frame a node accepts, in bytes (1 MiB). Callers pass their own limit
/// (from `[wire]` or the transport's `max_frame_size`) to [`decode_frame`].
pub const DEFAULT_MAX_FRAME_SIZE: usize = 1 << 20;

/// Bytes before the body: the protocol version (2) and the kind (1).
pub const HEADER_LEN: usize = 3;

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// The frame is larger than the limit.
    #[error("frame of {size} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The frame's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The frame ends before the envelope header does.
    #[error("frame of {len} bytes is shorter than the {HEADER_LEN}-byte envelope header")]
    TruncatedHeader {
        /// The frame's size.
        len: usize,
    },
    /// The peer speaks another protocol version.
    #[error("peer speaks wire protocol version {theirs}, this node speaks version {ours}")]
    UnsupportedVersion {
        /// Our version ([`PROTOCOL_VERSION`]).
        ours: u16,
        /// The frame's version.
        theirs: u16,
    },
    /// The kind byte names no message.
    #[error("unknown message kind {0}")]
    UnknownKind(u8),
    /// The body is not the canonical encoding of its kind's type.
    #[error("malformed {kind} message: {source}")]
    MalformedBody {
        /// The frame's kind.
        kind: MessageKind,
        /// What the decoder found.
        source: DecodeError,
    },
    /// Bytes follow the body.
    #[error("{count} trailing bytes after a {kind} message")]
    TrailingBytes {
        /// The frame's kind.
        kind: MessageKind,
        /// How many.
        count: usize,
    },
}

impl WireError {
    /// What to tell the peer in the [`Goodbye`] sent before closing.
    pub fn goodbye_reason(&self) -> GoodbyeReason {
        match self {
            WireError::FrameTooLarge { .. } => GoodbyeReason::FrameTooLarge,
            WireError::UnsupportedVersion { .. } => GoodbyeReason::UnsupportedVersion,
            WireError::TruncatedHeader { .. }
            | WireError::UnknownKind(_)
            | WireError::MalformedBody { .. }
            | WireError::TrailingBytes { .. } => GoodbyeReason::ProtocolViolation,
        }
    }
}

/// The frame carrying `message` at [`PROTOCOL_VERSION`].
///
/// The size is not checked here: a caller sending a body of unbounded size (a channel message)
/// checks it against the peer's limit first, as [`Session::encode_channel`] does.
///
/// [`Session::encode_channel`]: super::session::Session::encode_channel
pub fn encode_frame<B: Encode>(message: &WireMessage<B>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    PROTOCOL_VERSION.encode_to(&mut out);
    out.push(message.kind().tag());
    match message {
        WireMessage::Hello(hello) => hello.encode_to(&mut out),
        WireMessage::Auth(auth) => auth.encode_to(&mut out),
        WireMessage::Channel(body) => body.encode_to(&mut out),
        WireMessage::Ping(ping) => ping.encode_to(&mut out),
        WireMessage::Pong(pong) => pong.encode_to(&mut out),
        WireMessage::Goodbye(goodbye) => goodbye.encode_to(&mut out),
    }
    out
}

/// Decodes one frame received from a peer, refusing anything but a canonical envelope of at most
/// `max_frame_size` bytes at [`PROTOCOL_VERSION`]. Never panics, whatever the bytes.
pub fn decode_frame<B: Decode>(
    frame: &[u8],
    max_frame_size: usize,
) -> Result<WireMessage<B>, WireError> {
    if frame.len() > max_frame_size {
        return Err(WireError::FrameTooLarge {
            size: frame.len(),
            max: max_frame_size,
        });
    }
    let Some((header, body)) = frame.split_first_chunk::<HEADER_LEN>() else {
        return Err(WireError::TruncatedHeader { len: frame.len() });
    };
    let version = u16::from_be_bytes([header[0], header[1]]);
    if version != PROTOCOL_VERSION {
        return Err(WireError::UnsupportedVersion {
            ours: PROTOCOL_VERSION,
            theirs: version,
        });
    }
    let kind = MessageKind::from_tag(header[2]).ok_or(WireError::UnknownKind(header[2]))?;
    let mut reader = Reader::new(body);
    let message = decode_body(kind, &mut reader)
        .map_err(|source| WireError::MalformedBody { kind, source })?;
    match reader.remaining() {
        0 => Ok(message),
        count => Err(WireError::TrailingBytes { kind, count }),
    }
}

fn decode_body<B: Decode>(
    kind: MessageKind,
    reader: &mut Reader<'_>,
) -> Result<WireMessage<B>, DecodeError> {
    Ok(match kind {
        MessageKind::Hello => WireMessage::Hello(Hello::decode_from(reader)?),
        MessageKind::Auth => WireMessage::Auth(Auth::decode_from(reader)?),
        MessageKind::Channel => WireMessage::Channel(B::decode_from(reader)?),
        MessageKind::Ping => WireMessage::Ping(Ping::decode_from(reader)?),
        MessageKind::Pong => WireMessage::Pong(Pong::decode_from(reader)?),
        MessageKind::Goodbye => WireMessage::Goodbye(Goodbye::decode_from(reader)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::identity::{NodeKey, NodeSig};
    use crate::wire::test_support::{arb_message, TestBody};
    use proptest::prelude::*;

    type Message = WireMessage<TestBody>;

    fn hello() -> Message {
        WireMessage::Hello(Hello {
            node_id: NodeKey::from_secret_bytes(&[1; 32]).unwrap().node_id(),
            nonce: [9; 32],
            protocol_version: PROTOCOL_VERSION,
            listen_address: String::new(),
        })
    }

    #[test]
    fn layout_is_version_kind_body() {
        let frame = encode_frame::<TestBody>(&WireMessage::Ping(Ping { nonce: 5 }));
        assert_eq!(frame, vec![0, 7, 4, 0, 0, 0, 0, 0, 0, 0, 5]);
        let frame = encode_frame(&hello());
        assert_eq!(frame.len(), HEADER_LEN + 33 + 32 + 2 + 4);
    }

    #[test]
    fn oversized_frame_is_refused_before_decoding() {
        let frame = encode_frame(&hello());
        assert_eq!(decode_frame::<TestBody>(&frame, frame.len()), Ok(hello()));
        assert_eq!(
            decode_frame::<TestBody>(&frame, frame.len() - 1),
            Err(WireError::FrameTooLarge {
                size: frame.len(),
                max: frame.len() - 1
            })
        );
        // Even garbage is refused for its size, not for its content.
        let garbage = vec![0xff; DEFAULT_MAX_FRAME_SIZE + 1];
        assert!(matches!(
            decode_frame::<TestBody>(&garbage, DEFAULT_MAX_FRAME_SIZE),
            Err(WireError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn each_malformation_has_its_own_error() {
        assert_eq!(
            decode_frame::<TestBody>(&[0, 1], 100),
            Err(WireError::TruncatedHeader { len: 2 })
        );
        // A version-6 frame (before batched payments).
        let err = decode_frame::<TestBody>(&[0, 6, 4, 0, 0, 0, 0, 0, 0, 0, 5], 100).unwrap_err();
        assert_eq!(err, WireError::UnsupportedVersion { ours: 7, theirs: 6 });
        let text = err.to_string();
        assert!(
            text.contains("version 7") && text.contains("version 6"),
            "{text}"
        );
        assert_eq!(
            decode_frame::<TestBody>(&[0, 7, 99], 100),
            Err(WireError::UnknownKind(99))
        );
        assert_eq!(
            decode_frame::<TestBody>(&[0, 7, 0], 100),
            Err(WireError::UnknownKind(0))
        );
        assert!(matches!(
            decode_frame::<TestBody>(&[0, 7, 4, 0, 0], 100),
            Err(WireError::MalformedBody {
                kind: MessageKind::Ping,
                source: DecodeError::UnexpectedEnd { .. }
            })
        ));
        let mut frame = encode_frame::<TestBody>(&WireMessage::Pong(Pong { nonce: 1 }));
        frame.extend_from_slice(&[7, 7]);
        assert_eq!(
            decode_frame::<TestBody>(&frame, 100),
            Err(WireError::TrailingBytes {
                kind: MessageKind::Pong,
                count: 2
            })
        );
    }

    #[test]
    fn non_canonical_bodies_are_malformed() {
        // A goodbye with an undefined reason tag.
        let mut frame = encode_frame::<TestBody>(&WireMessage::Goodbye(Goodbye::new(
            GoodbyeReason::Shutdown,
            "",
        )));
        frame[HEADER_LEN] = 42;
        assert!(matches!(
            decode_frame::<TestBody>(&frame, 100),
            Err(WireError::MalformedBody {
                kind: MessageKind::Goodbye,
                source: DecodeError::InvalidTag { tag: 42, .. }
            })
        ));
        // A hello whose node id is not a public key.
        let mut frame = encode_frame(&hello());
        frame[HEADER_LEN] = 4;
        assert!(matches!(
            decode_frame::<TestBody>(&frame, 100),
            Err(WireError::MalformedBody {
                kind: MessageKind::Hello,
                source: DecodeError::Invalid {
                    what: "node id",
                    ..
                }
            })
        ));
        // A channel body that is not a TestBody.
        let frame = [0, 7, MessageKind::Channel.tag(), 1];
        assert!(matches!(
            decode_frame::<TestBody>(&frame, 100),
            Err(WireError::MalformedBody {
                kind: MessageKind::Channel,
                ..
            })
        ));
    }

    #[test]
    fn goodbye_reasons_follow_the_error() {
        assert_eq!(
            WireError::FrameTooLarge { size: 2, max: 1 }.goodbye_reason(),
            GoodbyeReason::FrameTooLarge
        );
        assert_eq!(
            WireError::UnsupportedVersion { ours: 1, theirs: 2 }.goodbye_reason(),
            GoodbyeReason::UnsupportedVersion
        );
        assert_eq!(
            WireError::UnknownKind(9).goodbye_reason(),
            GoodbyeReason::ProtocolViolation
        );
    }

    #[test]
    fn auth_frame_has_fixed_size() {
        let frame = encode_frame::<TestBody>(&WireMessage::Auth(Auth {
            sig: NodeSig([3; 64]),
        }));
        assert_eq!(frame.len(), HEADER_LEN + 64);
    }

    proptest! {
        #[test]
        fn frames_round_trip(message in arb_message()) {
            let frame = encode_frame(&message);
            prop_assert_eq!(decode_frame::<TestBody>(&frame, DEFAULT_MAX_FRAME_SIZE), Ok(message));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_frame::<TestBody>(&bytes, 200);
        }

        #[test]
        fn arbitrary_bytes_after_a_valid_header_never_panic(
            kind in 0u8..8,
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let [high, low] = PROTOCOL_VERSION.to_be_bytes();
            let mut frame = vec![high, low, kind];
            frame.extend_from_slice(&body);
            let _ = decode_frame::<TestBody>(&frame, DEFAULT_MAX_FRAME_SIZE);
        }

        #[test]
        fn every_truncation_is_refused(message in arb_message()) {
            let frame = encode_frame(&message);
            for len in 0..frame.len() {
                prop_assert!(
                    decode_frame::<TestBody>(&frame[..len], DEFAULT_MAX_FRAME_SIZE).is_err(),
                    "prefix of {} of {} bytes decoded", len, frame.len()
                );
            }
        }

        #[test]
        fn every_extension_is_refused(message in arb_message(), extra in proptest::collection::vec(any::<u8>(), 1..8)) {
            let mut frame = encode_frame(&message);
            frame.extend_from_slice(&extra);
            let refused = matches!(
                decode_frame::<TestBody>(&frame, DEFAULT_MAX_FRAME_SIZE),
                Err(WireError::TrailingBytes { count, .. }) if count == extra.len()
            );
            prop_assert!(refused);
        }
    }
}
