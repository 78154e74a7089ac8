//! One connection's wire state (sans-IO): frames in, events out.
//!
//! A [`Session`] joins the strict frame decoder and the handshake, and enforces the rule of
//! DESIGN §5 by construction: a channel message is only ever handed out together with the
//! connection's authenticated peer as its sender, and nothing but the handshake gets through
//! before that peer is known.
//!
//! The connection driver owns the I/O around it:
//!
//! ```text
//! transport Connected { inbound }  → Session::new(role, key, incarnation.nonce()?, expected, max)
//!                                    and send the frames it returns
//! transport Frame(bytes)           → Session::on_frame(bytes)
//!     Ok(Send(frames))             → send them
//!     Ok(Authenticated { peer, send }) → send them, register the connection under `peer`
//!     Ok(Channel { from, message }) → route to the channel task (sender = `from`)
//!     Ok(Pong { nonce })           → liveness bookkeeping
//!     Ok(PeerClosed(goodbye))      → log the reason, close the connection
//!     Err(e)                       → log e, send e.goodbye() if any, close the connection
//! transport Closed                 → drop the session
//! ```
//!
//! Timeouts (handshake deadline, ping interval) are the driver's: the session has no clock.

use super::envelope::{Goodbye, GoodbyeReason, Ping, Pong, WireMessage};
use super::frame::{decode_frame, encode_frame, WireError};
use super::handshake::{Handshake, HandshakeError, HandshakeMessage, HandshakeStep, Role};
use super::identity::{Incarnation, NodeId, NodeKey};
use parley_plugin_api::codec::{Decode, Encode};
use std::marker::PhantomData;
use thiserror::Error;

/// What the driver does after a frame was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent<B> {
    /// Send these frames, in order (handshake progress, or a pong answering a ping).
    Send(Vec<Vec<u8>>),
    /// The handshake is done: send these frames, then the connection belongs to `peer`.
    Authenticated {
        /// The authenticated peer.
        peer: NodeId,
        /// Frames still to send.
        send: Vec<Vec<u8>>,
    },
    /// A channel message, sent by the authenticated peer.
    Channel {
        /// The connection's authenticated peer: the only sender a message can have.
        from: NodeId,
        /// The message.
        message: B,
    },
    /// The peer answered one of our pings.
    Pong {
        /// The nonce of our ping.
        nonce: u64,
    },
    /// The peer closed the connection; close it too (no reply).
    PeerClosed(Goodbye),
}

/// Why a frame or a send was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SessionError {
    /// The frame was refused by the decoder; the connection must close.
    #[error(transparent)]
    Frame(#[from] WireError),
    /// The handshake failed; the connection must close.
    #[error("handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// A frame arrived after the session ended (an earlier error or goodbye).
    #[error("frame on a connection that is already closing")]
    Closed,
    /// We tried to send a channel message or ping before the peer was authenticated.
    #[error("cannot send a {what} before the peer is authenticated")]
    NotAuthenticated {
        /// What we tried to send.
        what: &'static str,
    },
    /// A channel message we tried to send would make a frame larger than the limit.
    #[error("outgoing frame of {size} bytes exceeds the limit of {max} bytes")]
    OutgoingTooLarge {
        /// The frame's size.
        size: usize,
        /// The limit.
        max: usize,
    },
}

impl SessionError {
    /// What to tell the peer before closing, or `None` if nothing should be sent: the peer
    /// already said goodbye, the session was already closed, or the error is a local refusal
    /// to send that leaves the connection usable.
    pub fn goodbye(&self) -> Option<Goodbye> {
        match self {
            SessionError::Frame(error) => {
                Some(Goodbye::new(error.goodbye_reason(), error.to_string()))
            }
            SessionError::Handshake(error) => error.goodbye(),
            SessionError::Closed
            | SessionError::NotAuthenticated { .. }
            | SessionError::OutgoingTooLarge { .. } => None,
        }
    }

    /// Whether the connection must be closed after this error.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            SessionError::NotAuthenticated { .. } | SessionError::OutgoingTooLarge { .. }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshaking,
    Open { peer: NodeId },
    Closed,
}

/// The wire state of one connection. `B` is the channel protocol's message type.
#[derive(Debug)]
pub struct Session<B> {
    handshake: Handshake,
    max_frame_size: usize,
    phase: Phase,
    _message: PhantomData<fn() -> B>,
}

impl<B: Encode + Decode> Session<B> {
    /// Starts a session and returns the frames to send at once.
    ///
    /// `nonce` must be fresh random bytes: [`Incarnation::nonce`] of this node's incarnation
    /// (or [`fresh_nonce`](super::identity::fresh_nonce) where restarts do not matter).
    /// `expected_peer` is the node we dialed, if we dialed a known one. `max_frame_size` limits
    /// both directions: pass the smaller of the configured limit and the transport's.
    pub fn new(
        role: Role,
        key: &NodeKey,
        nonce: [u8; 32],
        expected_peer: Option<NodeId>,
        max_frame_size: usize,
    ) -> (Session<B>, Vec<Vec<u8>>) {
        Session::announcing(
            role,
            key,
            nonce,
            expected_peer,
            String::new(),
            max_frame_size,
        )
    }

    /// [`Session::new`], with our `Hello` announcing `listen_address`, where this node accepts
    /// connections (see [`Handshake::announcing`]).
    pub fn announcing(
        role: Role,
        key: &NodeKey,
        nonce: [u8; 32],
        expected_peer: Option<NodeId>,
        listen_address: String,
        max_frame_size: usize,
    ) -> (Session<B>, Vec<Vec<u8>>) {
        let (handshake, messages) =
            Handshake::announcing(role, key, nonce, expected_peer, listen_address);
        let session = Session {
            handshake,
            max_frame_size,
            phase: Phase::Handshaking,
            _message: PhantomData,
        };
        (session, frames::<B>(messages))
    }

    /// The authenticated peer, once there is one (and until the session closes).
    pub fn peer(&self) -> Option<NodeId> {
        match self.phase {
            Phase::Open { peer } => Some(peer),
            _ => None,
        }
    }

    /// The authenticated peer's incarnation (which run of its process is on the other end; see
    /// [`Handshake::peer_incarnation`]), once the handshake is done.
    pub fn peer_incarnation(&self) -> Option<Incarnation> {
        self.handshake.peer_incarnation()
    }

    /// Where the authenticated peer says it accepts connections (empty if it announced none),
    /// once the handshake is done.
    pub fn peer_listen_address(&self) -> Option<&str> {
        self.handshake.peer_listen_address()
    }

    /// Whether the session has ended (after a fatal error, a peer's goodbye, or our own).
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Handles one frame received on the connection. After an error for which
    /// [`SessionError::is_fatal`] holds, or a [`SessionEvent::PeerClosed`], the session is
    /// closed and refuses every later frame.
    pub fn on_frame(&mut self, frame: &[u8]) -> Result<SessionEvent<B>, SessionError> {
        let result = self.accept(frame);
        let closes = match &result {
            Ok(SessionEvent::PeerClosed(_)) => true,
            Ok(_) => false,
            Err(error) => error.is_fatal(),
        };
        if closes {
            self.phase = Phase::Closed;
        }
        result
    }

    fn accept(&mut self, frame: &[u8]) -> Result<SessionEvent<B>, SessionError> {
        let phase = self.phase;
        if phase == Phase::Closed {
            return Err(SessionError::Closed);
        }
        let message = decode_frame::<B>(frame, self.max_frame_size)?;
        match (phase, message) {
            (_, WireMessage::Goodbye(goodbye)) => Ok(SessionEvent::PeerClosed(goodbye)),
            (Phase::Open { peer }, WireMessage::Channel(message)) => Ok(SessionEvent::Channel {
                from: peer,
                message,
            }),
            (Phase::Open { .. }, WireMessage::Ping(Ping { nonce })) => {
                let pong = WireMessage::<B>::Pong(Pong { nonce });
                Ok(SessionEvent::Send(vec![encode_frame(&pong)]))
            }
            (Phase::Open { .. }, WireMessage::Pong(Pong { nonce })) => {
                Ok(SessionEvent::Pong { nonce })
            }
            (Phase::Open { .. }, WireMessage::Hello(_) | WireMessage::Auth(_)) => {
                Err(HandshakeError::AlreadyAuthenticated.into())
            }
            // Still handshaking: everything else goes to the handshake, which refuses any
            // non-handshake message, so nothing from an unauthenticated peer gets through.
            (_, message) => match self.handshake.on_message(message)? {
                HandshakeStep::Send(messages) => Ok(SessionEvent::Send(frames::<B>(messages))),
                HandshakeStep::Done { peer, send } => {
                    self.phase = Phase::Open { peer };
                    Ok(SessionEvent::Authenticated {
                        peer,
                        send: frames::<B>(send),
                    })
                }
            },
        }
    }

    /// The frame carrying a channel message to the authenticated peer.
    pub fn encode_channel(&self, message: &B) -> Result<Vec<u8>, SessionError> {
        self.require_open("channel message")?;
        let frame = encode_frame(&WireMessage::Channel(Borrowed(message)));
        if frame.len() > self.max_frame_size {
            return Err(SessionError::OutgoingTooLarge {
                size: frame.len(),
                max: self.max_frame_size,
            });
        }
        Ok(frame)
    }

    /// The frame carrying a liveness probe; the peer's answer arrives as
    /// [`SessionEvent::Pong`] with the same nonce.
    pub fn encode_ping(&self, nonce: u64) -> Result<Vec<u8>, SessionError> {
        self.require_open("ping")?;
        Ok(encode_frame::<B>(&WireMessage::Ping(Ping { nonce })))
    }

    /// Ends the session and returns the goodbye frame to send before closing the connection.
    pub fn close(&mut self, reason: GoodbyeReason, detail: impl Into<String>) -> Vec<u8> {
        self.phase = Phase::Closed;
        encode_frame::<B>(&WireMessage::Goodbye(Goodbye::new(reason, detail)))
    }

    fn require_open(&self, what: &'static str) -> Result<(), SessionError> {
        match self.phase {
            Phase::Open { .. } => Ok(()),
            _ => Err(SessionError::NotAuthenticated { what }),
        }
    }
}

/// Encodes a borrowed channel message without cloning it.
struct Borrowed<'a, B>(&'a B);

impl<B: Encode> Encode for Borrowed<'_, B> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

fn frames<B: Encode>(messages: Vec<HandshakeMessage>) -> Vec<Vec<u8>> {
    messages
        .into_iter()
        .map(|message| encode_frame(&WireMessage::<B>::from(message)))
        .collect()
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
