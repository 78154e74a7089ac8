//! The peer authentication handshake, run on every new connection in both directions (sans-IO).
//!
//! ```text
//! dialer                                   listener
//!   Hello { node_id: D, nonce: nD, v, listen: aD } ──►
//!                                      ◄── Hello { node_id: L, nonce: nL, v, listen: aL }
//!   Auth { sig_D(t) }                  ──►          (each side sends Auth once it has
//!                                      ◄── Auth { sig_L(t) }  both hellos; order is free)
//!
//!   t = keccak256("parley-handshake-v2" ‖ hello_D ‖ hello_L)   (each hello canonically encoded)
//! ```
//!
//! Both sides sign the same transcript `t`, which binds both hellos whole (fresh nonces,
//! identities, versions and the addresses each announces) and which of them dialed: an address
//! changed on the way fails the handshake instead of being remembered. Each side verifies the peer's signature against the `node_id` the peer
//! claimed in its `Hello`, so an `Auth` proves that the claimed key signed *this* connection's
//! nonces: an `Auth` from another connection (other nonces), a reflected `Auth` (our own
//! signature, which does not verify for a peer that is not us) and a tampered one all fail.
//!
//! Rule for the driver: **a message's sender is the connection's authenticated peer, never a
//! field in the message.** Until [`HandshakeStep::Done`], every non-handshake message is refused
//! (this state machine returns [`HandshakeError::UnexpectedMessage`]); a driver that feeds frames
//! elsewhere must drop them. [`Session`](super::session::Session) enforces this for you.
//!
//! The handshake takes no time input: the driver bounds it with its own timeout and then closes
//! with [`GoodbyeReason::Timeout`].
//!
//! A node's nonce starts with its [`Incarnation`] (16 random bytes drawn once per run of the
//! node) followed by 16 fresh random bytes. The transcript covers it, so once the handshake is
//! done [`Handshake::peer_incarnation`] tells which run of the peer's process is on the other
//! end: a driver that still holds a connection of another incarnation of the same peer knows
//! that connection is dead (see `client::peers::dedupe`).

use super::envelope::{Auth, Goodbye, GoodbyeReason, Hello, MessageKind, WireMessage};
use super::envelope::{MAX_LISTEN_ADDRESS, PROTOCOL_VERSION};
use super::identity::{keccak256, Incarnation, NodeId, NodeKey};
use parley_plugin_api::codec::Encode;
use thiserror::Error;

/// The domain tag that starts every signed handshake transcript, so that a handshake signature
/// can never be mistaken for a node-key signature on anything else.
pub const HANDSHAKE_DOMAIN: &[u8] = b"parley-handshake-v2";

/// Which end of the connection this side is: the transport tells (`Connected { inbound }`:
/// inbound means listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// This side opened the connection.
    Dialer,
    /// This side accepted the connection.
    Listener,
}

/// The two handshake messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeMessage {
    /// Identity claim and challenge.
    Hello(Hello),
    /// Proof of identity.
    Auth(Auth),
}

impl<B> From<HandshakeMessage> for WireMessage<B> {
    fn from(message: HandshakeMessage) -> WireMessage<B> {
        match message {
            HandshakeMessage::Hello(hello) => WireMessage::Hello(hello),
            HandshakeMessage::Auth(auth) => WireMessage::Auth(auth),
        }
    }
}

/// What the driver does after feeding a message to the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeStep {
    /// Send these messages, in order, and keep waiting.
    Send(Vec<HandshakeMessage>),
    /// The peer is authenticated as `peer`: send `send` (in this version of the protocol it is
    /// always empty, since our `Auth` already went out; drivers send it anyway), then treat every
    /// later message on this connection as coming from `peer`.
    Done {
        /// The authenticated peer.
        peer: NodeId,
        /// Messages still to send.
        send: Vec<HandshakeMessage>,
    },
}

/// Why a handshake failed. After any error the handshake is over and the connection must close.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HandshakeError {
    /// The peer's `Hello` names another protocol version.
    #[error("peer speaks wire protocol version {theirs}, this node speaks version {ours}")]
    VersionMismatch {
        /// Our version.
        ours: u16,
        /// The version in the peer's `Hello`.
        theirs: u16,
    },
    /// The peer claims our own node id: a reflected `Hello`, or a connection to ourselves.
    #[error("peer claims this node's own id (a reflected hello, or a connection to ourselves)")]
    ReflectedIdentity,
    /// The peer's `Hello` carries our nonce: a reflected `Hello`.
    #[error("peer's hello carries this node's own nonce (a reflected hello)")]
    ReflectedNonce,
    /// We dialed a known peer and another node answered.
    #[error("dialed peer {expected}, but the node that answered is {actual}")]
    UnexpectedPeer {
        /// Who we meant to reach.
        expected: NodeId,
        /// Who answered.
        actual: NodeId,
    },
    /// The peer's `Auth` does not verify for the id it claimed over this connection's transcript.
    #[error("peer {peer} sent a handshake signature that does not verify for this connection")]
    BadSignature {
        /// The id the peer claimed.
        peer: NodeId,
    },
    /// The peer's `Hello` announces a listen address longer than any transport address.
    #[error("peer announces a listen address of {len} bytes (at most {MAX_LISTEN_ADDRESS})")]
    ListenAddressTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// `Auth` arrived before the peer's `Hello`.
    #[error("peer sent auth before hello")]
    AuthBeforeHello,
    /// A second `Hello`.
    #[error("peer sent a second hello")]
    DuplicateHello,
    /// A non-handshake message before the handshake finished.
    #[error("peer sent a {kind} message before the handshake finished")]
    UnexpectedMessage {
        /// Its kind.
        kind: MessageKind,
    },
    /// The peer closed the connection during the handshake.
    #[error("peer closed the connection during the handshake ({reason}): {detail}")]
    PeerClosed {
        /// The peer's reason.
        reason: GoodbyeReason,
        /// The peer's explanation.
        detail: String,
    },
    /// A message arrived after the handshake succeeded (the driver should no longer feed it).
    #[error("handshake message after the peer was authenticated")]
    AlreadyAuthenticated,
    /// A message arrived after the handshake failed.
    #[error("message after the handshake failed")]
    AlreadyFailed,
}

impl HandshakeError {
    /// What to tell the peer before closing, or `None` when the peer already said goodbye.
    pub fn goodbye(&self) -> Option<Goodbye> {
        let reason = match self {
            HandshakeError::PeerClosed { .. } => return None,
            HandshakeError::VersionMismatch { .. } => GoodbyeReason::UnsupportedVersion,
            HandshakeError::ReflectedIdentity
            | HandshakeError::ReflectedNonce
            | HandshakeError::UnexpectedPeer { .. }
            | HandshakeError::BadSignature { .. } => GoodbyeReason::AuthenticationFailed,
            HandshakeError::AuthBeforeHello
            | HandshakeError::ListenAddressTooLong { .. }
            | HandshakeError::DuplicateHello
            | HandshakeError::UnexpectedMessage { .. }
            | HandshakeError::AlreadyAuthenticated
            | HandshakeError::AlreadyFailed => GoodbyeReason::ProtocolViolation,
        };
        Some(Goodbye::new(reason, self.to_string()))
    }
}

/// The transcript every handshake signature covers: keccak256(`HANDSHAKE_DOMAIN` ‖ the dialer's
/// hello ‖ the listener's hello), each hello in its canonical encoding (which is
/// self-delimiting, so no two pairs of hellos give the same bytes).
pub fn auth_digest(dialer: &Hello, listener: &Hello) -> [u8; 32] {
    keccak256(&[HANDSHAKE_DOMAIN, &dialer.encode(), &listener.encode()])
}

#[derive(Debug)]
enum State {
    /// Our `Hello` is out; the peer's has not arrived.
    AwaitingHello,
    /// Both hellos seen and our `Auth` is out; the peer's `Auth` must sign `digest` as `peer`,
    /// whose hello named `incarnation` and announced `listen_address`.
    AwaitingAuth {
        peer: NodeId,
        digest: [u8; 32],
        incarnation: Incarnation,
        listen_address: String,
    },
    /// The peer proved it is `peer`, in `incarnation`, listening at `listen_address`.
    Authenticated {
        peer: NodeId,
        incarnation: Incarnation,
        listen_address: String,
    },
    /// A rule was broken; nothing more is accepted.
    Failed,
}

/// One side of the handshake on one connection.
#[derive(Debug)]
pub struct Handshake {
    role: Role,
    key: NodeKey,
    /// Our hello, which the transcript covers.
    hello: Hello,
    expected_peer: Option<NodeId>,
    state: State,
}

impl Handshake {
    /// Starts the handshake and returns the messages to send at once (our `Hello`).
    ///
    /// `nonce` must be fresh random bytes for every connection ([`fresh_nonce`]); it is an input
    /// so that tests are deterministic. `expected_peer` is the node we meant to reach when
    /// dialing a known peer (`None` accepts any authenticated peer, as a listener usually does).
    /// Announces no listen address; [`Handshake::announcing`] does.
    ///
    /// [`fresh_nonce`]: super::identity::fresh_nonce
    pub fn new(
        role: Role,
        key: &NodeKey,
        nonce: [u8; 32],
        expected_peer: Option<NodeId>,
    ) -> (Handshake, Vec<HandshakeMessage>) {
        Handshake::announcing(role, key, nonce, expected_peer, String::new())
    }

    /// [`Handshake::new`], with our `Hello` announcing `listen_address` (where this node
    /// accepts connections, in the transport's format; empty for none).
    pub fn announcing(
        role: Role,
        key: &NodeKey,
        nonce: [u8; 32],
        expected_peer: Option<NodeId>,
        listen_address: String,
    ) -> (Handshake, Vec<HandshakeMessage>) {
        let hello = Hello {
            node_id: key.node_id(),
            nonce,
            protocol_version: PROTOCOL_VERSION,
            listen_address,
        };
        let handshake = Handshake {
            role,
            key: key.clone(),
            hello: hello.clone(),
            expected_peer,
            state: State::AwaitingHello,
        };
        (handshake, vec![HandshakeMessage::Hello(hello)])
    }

    /// This side's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The authenticated peer, once the handshake is done.
    pub fn peer(&self) -> Option<NodeId> {
        match self.state {
            State::Authenticated { peer, .. } => Some(peer),
            _ => None,
        }
    }

    /// The incarnation of the authenticated peer (the first half of the nonce it signed over),
    /// once the handshake is done.
    pub fn peer_incarnation(&self) -> Option<Incarnation> {
        match self.state {
            State::Authenticated { incarnation, .. } => Some(incarnation),
            _ => None,
        }
    }

    /// Where the authenticated peer says it accepts connections (its hello's signed
    /// announcement; empty if it announced none), once the handshake is done.
    pub fn peer_listen_address(&self) -> Option<&str> {
        match &self.state {
            State::Authenticated { listen_address, .. } => Some(listen_address),
            _ => None,
        }
    }

    /// Feeds one message received on the connection. Any error ends the handshake: the driver
    /// sends [`HandshakeError::goodbye`] (if any) and closes the connection.
    pub fn on_message<B>(
        &mut self,
        message: WireMessage<B>,
    ) -> Result<HandshakeStep, HandshakeError> {
        let result = self.step(message);
        if result.is_err() && !matches!(self.state, State::Authenticated { .. }) {
            self.state = State::Failed;
        }
        result
    }

    fn step<B>(&mut self, message: WireMessage<B>) -> Result<HandshakeStep, HandshakeError> {
        match (&self.state, message) {
            (State::Failed, _) => Err(HandshakeError::AlreadyFailed),
            (State::Authenticated { .. }, _) => Err(HandshakeError::AlreadyAuthenticated),
            (_, WireMessage::Goodbye(goodbye)) => Err(HandshakeError::PeerClosed {
                reason: goodbye.reason,
                detail: goodbye.detail,
            }),
            (State::AwaitingHello, WireMessage::Hello(hello)) => self.on_hello(hello),
            (State::AwaitingAuth { .. }, WireMessage::Hello(_)) => {
                Err(HandshakeError::DuplicateHello)
            }
            (State::AwaitingHello, WireMessage::Auth(_)) => Err(HandshakeError::AuthBeforeHello),
            (
                State::AwaitingAuth {
                    peer,
                    digest,
                    incarnation,
                    listen_address,
                },
                WireMessage::Auth(auth),
            ) => {
                let peer = *peer;
                if !peer.verify(digest, &auth.sig) {
                    return Err(HandshakeError::BadSignature { peer });
                }
                self.state = State::Authenticated {
                    peer,
                    incarnation: *incarnation,
                    listen_address: listen_address.clone(),
                };
                Ok(HandshakeStep::Done { peer, send: vec![] })
            }
            (_, other) => Err(HandshakeError::UnexpectedMessage { kind: other.kind() }),
        }
    }

    fn on_hello(&mut self, hello: Hello) -> Result<HandshakeStep, HandshakeError> {
        if hello.protocol_version != PROTOCOL_VERSION {
            return Err(HandshakeError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: hello.protocol_version,
            });
        }
        let me = self.key.node_id();
        let peer = hello.node_id;
        if peer == me {
            return Err(HandshakeError::ReflectedIdentity);
        }
        if hello.nonce == self.hello.nonce {
            return Err(HandshakeError::ReflectedNonce);
        }
        if hello.listen_address.len() > MAX_LISTEN_ADDRESS {
            return Err(HandshakeError::ListenAddressTooLong {
                len: hello.listen_address.len(),
            });
        }
        if let Some(expected) = self.expected_peer {
            if expected != peer {
                return Err(HandshakeError::UnexpectedPeer {
                    expected,
                    actual: peer,
                });
            }
        }
        let digest = match self.role {
            Role::Dialer => auth_digest(&self.hello, &hello),
            Role::Listener => auth_digest(&hello, &self.hello),
        };
        let auth = HandshakeMessage::Auth(Auth {
            sig: self.key.sign(&digest),
        });
        self.state = State::AwaitingAuth {
            peer,
            digest,
            incarnation: Incarnation::of_nonce(&hello.nonce),
            listen_address: hello.listen_address,
        };
        Ok(HandshakeStep::Send(vec![auth]))
    }
}

#[cfg(test)]
#[path = "handshake_tests.rs"]
mod tests;
