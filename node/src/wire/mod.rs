//! The wire (DESIGN §5): node identity, the versioned envelope in one frame, and the peer
//! authentication handshake. Sans-IO except for reading and writing the node key file.
//!
//! - [`identity`]: the node key, [`NodeId`] (33-byte compressed secp256k1 key, hex), signatures.
//! - [`envelope`]: [`WireMessage`] and its kinds; [`PROTOCOL_VERSION`].
//! - [`frame`]: [`encode_frame`] / [`decode_frame`], the strict byte layout of one frame.
//! - [`handshake`]: the challenge-response [`Handshake`] state machine.
//! - [`session`]: a connection's [`Session`], frames in and events out, which hands out channel
//!   messages only with the authenticated peer as their sender.
//!
//! The channel protocol's message type is a parameter (`B`) everywhere, so this module does not
//! depend on the protocol module: the client uses `Session<ChannelMessage>`.

pub mod envelope;
pub mod frame;
pub mod handshake;
pub mod identity;
pub mod session;

#[cfg(test)]
mod test_support;

pub use envelope::{
    Auth, Goodbye, GoodbyeReason, Hello, MessageKind, Ping, Pong, WireMessage, MAX_GOODBYE_DETAIL,
    MAX_LISTEN_ADDRESS, PROTOCOL_VERSION,
};
pub use frame::{decode_frame, encode_frame, WireError, DEFAULT_MAX_FRAME_SIZE, HEADER_LEN};
pub use handshake::{
    auth_digest, Handshake, HandshakeError, HandshakeMessage, HandshakeStep, Role, HANDSHAKE_DOMAIN,
};
pub use identity::{
    fresh_nonce, keccak256, Incarnation, KeyError, NodeId, NodeIdError, NodeKey, NodeSig,
};
pub use session::{Session, SessionError, SessionEvent};
