//! The messages that travel between nodes, and the kind byte that names each.
//!
//! A frame holds one envelope: `protocol_version: u16 ‖ kind: u8 ‖ body`, where the body is
//! the canonical encoding of the kind's type (see [`frame`](super::frame) for the byte rules).
//! The channel protocol's messages travel as the body of [`WireMessage::Channel`]; `wire` is
//! generic over their type so that it does not depend on the protocol module.

use super::identity::{NodeId, NodeSig};
use parley_plugin_api::codec::{Decode, DecodeError, Encode, Reader};
use std::fmt;

/// The wire protocol version this node speaks. A peer that speaks another one is refused (no
/// negotiation yet: there is only one version). Version 2: a channel proposal carries the
/// locked funds and the ledger/virtual flags of the channel it proposes, so that a node can
/// refuse what it cannot enforce. Version 3: a [`Hello`] announces where its sender listens,
/// and the handshake signs both hellos whole. A version-2 node could not have taken the new
/// field in any form (its decoder refuses trailing bytes and unknown kinds, and the envelope
/// version must match), so the bump is the honest way to say it: a node of version 3 refuses
/// one of version 2 with `unsupported protocol version`, and both must be upgraded together.
/// Version 4: every payment's update proposal carries the payer's payment id (a channel
/// message of kind 10, which a node of version 3 may not know), so that both nodes record the
/// payment under one id; refusing version 3 at the handshake says so at once, instead of
/// payments that fail later. Version 5: virtual channels, a channel message of kind 11 (the
/// proposal that an intermediary forwards, with the path of intermediaries still ahead) and one
/// of kind 12 (a virtual channel's signed state handed to an intermediary). Version 6: one
/// version, one state (`protocol/channel/update.rs`): updates skip spent versions, a
/// proposal at a spent version is rejected `Concurrent`, and a race's winner proposes again
/// above the race instead of rejecting the loser's, and a `SyncRequest` names the highest
/// version its sender knows spent; a node of version 5 would sign the winner's state at the
/// version of its own proposal. Version 7: payments queued on one channel go as one update
/// that names each of them (a channel message of kind 13), which a node of version 6 could
/// not decode.
pub const PROTOCOL_VERSION: u16 = 7;

/// The longest [`Hello::listen_address`] a node accepts from a peer, in bytes. A transport
/// address is a host and a port; anything longer is not one.
pub const MAX_LISTEN_ADDRESS: usize = 256;

/// The longest [`Goodbye::detail`] that [`Goodbye::new`] keeps, in bytes: a reason is for a log
/// line, and a peer that is being dropped should not be sent much.
pub const MAX_GOODBYE_DETAIL: usize = 256;

/// The kind byte of an envelope. The numbers are part of the wire format and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageKind {
    /// Handshake, first message of each side: [`Hello`].
    Hello = 1,
    /// Handshake, second message of each side: [`Auth`].
    Auth = 2,
    /// A channel protocol message (only after the handshake).
    Channel = 3,
    /// Liveness probe: [`Ping`].
    Ping = 4,
    /// Answer to a probe: [`Pong`].
    Pong = 5,
    /// The sender is closing the connection: [`Goodbye`].
    Goodbye = 6,
}

impl MessageKind {
    /// Every kind, in tag order.
    pub const ALL: [MessageKind; 6] = [
        MessageKind::Hello,
        MessageKind::Auth,
        MessageKind::Channel,
        MessageKind::Ping,
        MessageKind::Pong,
        MessageKind::Goodbye,
    ];

    /// The kind with this tag byte, if any.
    pub fn from_tag(tag: u8) -> Option<MessageKind> {
        MessageKind::ALL.into_iter().find(|kind| kind.tag() == tag)
    }

    /// The tag byte.
    pub fn tag(self) -> u8 {
        self as u8
    }

    /// Whether this kind belongs to the authentication handshake.
    pub fn is_handshake(self) -> bool {
        matches!(self, MessageKind::Hello | MessageKind::Auth)
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            MessageKind::Hello => "hello",
            MessageKind::Auth => "auth",
            MessageKind::Channel => "channel",
            MessageKind::Ping => "ping",
            MessageKind::Pong => "pong",
            MessageKind::Goodbye => "goodbye",
        };
        f.write_str(name)
    }
}

/// Handshake: who the sender is and its fresh challenge for this connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The sender's claimed identity; it is proven by the [`Auth`] that follows.
    pub node_id: NodeId,
    /// 32 fresh random bytes, never reused: the peer must sign over them.
    pub nonce: [u8; 32],
    /// The protocol version the sender speaks.
    pub protocol_version: u16,
    /// Where the sender accepts connections, in the transport's format (`host:port` for QUIC),
    /// or empty when it does not listen. A connection's remote address is the dialer's
    /// ephemeral source port, never its listener, so this is how a node that was dialed learns
    /// where to dial back. The handshake signs it, but it is only the peer's word: a node
    /// checks its form before keeping it, and the peer's identity is proven again by whoever
    /// dials it there.
    pub listen_address: String,
}

parley_plugin_api::canonical_struct!(Hello {
    node_id,
    nonce,
    protocol_version,
    listen_address
});

/// Handshake: the sender's node-key signature over both nonces and both identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// See [`handshake`](super::handshake) for exactly what is signed.
    pub sig: NodeSig,
}

parley_plugin_api::canonical_struct!(Auth { sig });

/// A liveness probe; the peer answers with a [`Pong`] carrying the same nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ping {
    /// Chosen by the prober to match the answer.
    pub nonce: u64,
}

parley_plugin_api::canonical_struct!(Ping { nonce });

/// The answer to a [`Ping`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pong {
    /// The nonce of the ping being answered.
    pub nonce: u64,
}

parley_plugin_api::canonical_struct!(Pong { nonce });

/// Why a side closes a connection. The numbers are part of the wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum GoodbyeReason {
    /// An orderly close (the node is shutting down or no longer needs the connection).
    Shutdown = 0,
    /// The peer broke a rule of the wire protocol (malformed frame, wrong message order, ...).
    ProtocolViolation = 1,
    /// The peer speaks another protocol version.
    UnsupportedVersion = 2,
    /// The peer's handshake did not authenticate it (bad signature, unexpected identity, ...).
    AuthenticationFailed = 3,
    /// The peer sent a frame larger than this node accepts.
    FrameTooLarge = 4,
    /// The peer did not answer in time (handshake or liveness).
    Timeout = 5,
}

impl GoodbyeReason {
    const ALL: [GoodbyeReason; 6] = [
        GoodbyeReason::Shutdown,
        GoodbyeReason::ProtocolViolation,
        GoodbyeReason::UnsupportedVersion,
        GoodbyeReason::AuthenticationFailed,
        GoodbyeReason::FrameTooLarge,
        GoodbyeReason::Timeout,
    ];
}

impl fmt::Display for GoodbyeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            GoodbyeReason::Shutdown => "shutdown",
            GoodbyeReason::ProtocolViolation => "protocol violation",
            GoodbyeReason::UnsupportedVersion => "unsupported protocol version",
            GoodbyeReason::AuthenticationFailed => "authentication failed",
            GoodbyeReason::FrameTooLarge => "frame too large",
            GoodbyeReason::Timeout => "timeout",
        };
        f.write_str(text)
    }
}

impl Encode for GoodbyeReason {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }
}

impl Decode for GoodbyeReason {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = u8::decode_from(reader)?;
        GoodbyeReason::ALL
            .into_iter()
            .find(|reason| *reason as u8 == tag)
            .ok_or(DecodeError::InvalidTag {
                what: "goodbye reason",
                tag,
            })
    }
}

/// The last message on a connection: why the sender closes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goodbye {
    /// The reason, for the peer's logs and its reconnect decision.
    pub reason: GoodbyeReason,
    /// A human-readable explanation (at most [`MAX_GOODBYE_DETAIL`] bytes when built with
    /// [`Goodbye::new`]; a received one is only bounded by the frame size).
    pub detail: String,
}

parley_plugin_api::canonical_struct!(Goodbye { reason, detail });

impl Goodbye {
    /// A goodbye whose detail is cut to [`MAX_GOODBYE_DETAIL`] bytes on a character boundary.
    pub fn new(reason: GoodbyeReason, detail: impl Into<String>) -> Goodbye {
        let mut detail = detail.into();
        if detail.len() > MAX_GOODBYE_DETAIL {
            let mut end = MAX_GOODBYE_DETAIL;
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            detail.truncate(end);
        }
        Goodbye { reason, detail }
    }
}

/// One decoded envelope. `B` is the channel protocol's message type.
///
/// No variant names its sender: the sender of every message is the peer that the connection's
/// handshake authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireMessage<B> {
    /// Handshake: identity claim and challenge.
    Hello(Hello),
    /// Handshake: proof of identity.
    Auth(Auth),
    /// A channel protocol message.
    Channel(B),
    /// Liveness probe.
    Ping(Ping),
    /// Liveness answer.
    Pong(Pong),
    /// The sender closes the connection.
    Goodbye(Goodbye),
}

impl<B> WireMessage<B> {
    /// The kind byte this message is sent with.
    pub fn kind(&self) -> MessageKind {
        match self {
            WireMessage::Hello(_) => MessageKind::Hello,
            WireMessage::Auth(_) => MessageKind::Auth,
            WireMessage::Channel(_) => MessageKind::Channel,
            WireMessage::Ping(_) => MessageKind::Ping,
            WireMessage::Pong(_) => MessageKind::Pong,
            WireMessage::Goodbye(_) => MessageKind::Goodbye,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_tags_are_stable_and_distinct() {
        let tags: Vec<u8> = MessageKind::ALL.iter().map(|k| k.tag()).collect();
        assert_eq!(tags, vec![1, 2, 3, 4, 5, 6]);
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::from_tag(kind.tag()), Some(kind));
        }
        assert_eq!(MessageKind::from_tag(0), None);
        assert_eq!(MessageKind::from_tag(7), None);
        assert!(MessageKind::Hello.is_handshake() && MessageKind::Auth.is_handshake());
        assert!(!MessageKind::Channel.is_handshake());
    }

    #[test]
    fn goodbye_reasons_round_trip_and_unknown_tags_are_refused() {
        for reason in GoodbyeReason::ALL {
            assert_eq!(GoodbyeReason::decode(&reason.encode()).unwrap(), reason);
        }
        assert_eq!(
            GoodbyeReason::decode(&[6]),
            Err(DecodeError::InvalidTag {
                what: "goodbye reason",
                tag: 6
            })
        );
    }

    #[test]
    fn goodbye_detail_is_cut_on_a_char_boundary() {
        let long = "é".repeat(MAX_GOODBYE_DETAIL); // two bytes each
        let goodbye = Goodbye::new(GoodbyeReason::Shutdown, long);
        assert_eq!(goodbye.detail.len(), MAX_GOODBYE_DETAIL);
        let odd = format!("x{}", "é".repeat(MAX_GOODBYE_DETAIL));
        let goodbye = Goodbye::new(GoodbyeReason::Shutdown, odd);
        assert_eq!(goodbye.detail.len(), MAX_GOODBYE_DETAIL - 1);
        assert_eq!(
            Goodbye::new(GoodbyeReason::Timeout, "short").detail,
            "short"
        );
    }
}
