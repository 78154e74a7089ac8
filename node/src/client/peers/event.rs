//! What the peer manager reports to the node: peers coming and going, and their messages.

use super::budget::Overdraft;
use super::intake::Ticket;
use crate::protocol::ChannelMessage;
use crate::wire::{Goodbye, NodeId, SessionError};
use parley_plugin_api::PluginError;
use std::fmt;
use std::time::Duration;

/// One thing that happened to an authenticated peer. For each peer the events come in the
/// order they happened: `Connected`, then its messages in the order they arrived on the
/// connection, then `Disconnected`. `Connected` may also come again with no `Disconnected`
/// in between, when the peer's route moves to a fresh connection (see the variant).
// Nearly every event is a `Message`: boxing it to shrink the rare ones would add an
// allocation to the common case.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// The peer proved its identity over a new connection and can be sent messages.
    ///
    /// It repeats, without a `Disconnected` in between, when a newer connection from the
    /// peer replaces the one in use (see `dedupe`), typically because the peer restarted and
    /// reconnected before we noticed that the old connection died. Whatever was in flight on
    /// the old connection may be lost and the peer may have forgotten what it did not persist,
    /// so listeners must treat every `Connected` as "re-synchronise with this peer now", not
    /// as a state change they have already seen.
    Connected(NodeId),
    /// The peer's connection is gone; sends fail with `NotConnected` until it reconnects.
    Disconnected(NodeId, DisconnectReason),
    /// A channel message from the peer.
    Message {
        /// The connection's authenticated peer: never a field of the message.
        from: NodeId,
        /// The message.
        message: ChannelMessage,
        /// Its place in the connection's budget: keep it until the message is handled.
        ticket: Ticket,
    },
}

/// A peer with an authenticated connection now, as [`Peers::connections`] shows it.
///
/// [`Peers::connections`]: super::Peers::connections
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedPeer {
    /// The authenticated peer.
    pub node_id: NodeId,
    /// Whether the peer dialed us.
    pub inbound: bool,
    /// The connection's remote address: for an inbound connection the peer's source port,
    /// which is not where it listens.
    pub remote: String,
    /// Where the peer says it listens (its signed hello); `None` if it announced nothing.
    pub listen_address: Option<String>,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// This node asked for it (`Peers::disconnect`).
    Local,
    /// The peer manager stopped (shutdown, every handle dropped, or the transport went away).
    Shutdown,
    /// The peer said goodbye.
    PeerGoodbye(Goodbye),
    /// The transport reported the connection closed.
    TransportClosed(String),
    /// The peer broke the wire protocol or failed the handshake.
    Protocol(SessionError),
    /// The handshake did not finish within the configured time.
    HandshakeTimeout(Duration),
    /// The peer did not answer this many pings in a row.
    LivenessTimeout {
        /// Unanswered pings in a row.
        missed: u32,
    },
    /// The peer connected again over a new connection, which lost to this one (see
    /// `dedupe`); this one was probed at once and did not answer within the grace
    /// (`PeersConfig::suspect_grace`), so it most likely died with the peer's old process.
    SuspectTimeout(Duration),
    /// The transport refused a frame for the connection (for example its outbox was full: the
    /// peer reads slower than we send, and a message left out would break the order).
    SendFailed(PluginError),
    /// The peer went over its budget (frames in flight, frames per second, open proposals).
    OverBudget(Overdraft),
    /// Another connection to the same peer was kept (see `dedupe`); never reported as a
    /// [`PeerEvent::Disconnected`], since the peer stays connected.
    Duplicate,
    /// An outbound connection nobody waits for any more (its connect was cancelled, or the
    /// peer connected by another connection meanwhile).
    Unneeded,
    /// More frames arrived on an outbound connection before its dial returned than a
    /// handshake can produce.
    EarlyFrames(usize),
    /// The OS random source failed, so no handshake nonce could be drawn.
    Random(String),
}

impl DisconnectReason {
    /// Whether the end points at a fault (of the peer, the network or this host) rather than
    /// an orderly close; faults are logged as warnings.
    pub fn is_fault(&self) -> bool {
        !matches!(
            self,
            DisconnectReason::Local
                | DisconnectReason::Shutdown
                | DisconnectReason::PeerGoodbye(_)
                | DisconnectReason::Duplicate
                | DisconnectReason::Unneeded
        )
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::Local => f.write_str("closed by this node"),
            DisconnectReason::Shutdown => f.write_str("the peer manager stopped"),
            DisconnectReason::PeerGoodbye(goodbye) => {
                write!(
                    f,
                    "the peer said goodbye ({}): {}",
                    goodbye.reason, goodbye.detail
                )
            }
            DisconnectReason::TransportClosed(reason) => {
                write!(f, "the transport closed the connection: {reason}")
            }
            DisconnectReason::Protocol(error) => write!(f, "{error}"),
            DisconnectReason::HandshakeTimeout(after) => {
                write!(f, "no handshake within {} ms", after.as_millis())
            }
            DisconnectReason::LivenessTimeout { missed } => {
                write!(f, "the peer did not answer {missed} pings in a row")
            }
            DisconnectReason::SuspectTimeout(grace) => write!(
                f,
                "the peer connected again and this connection did not answer a ping within {} ms",
                grace.as_millis()
            ),
            DisconnectReason::SendFailed(error) => {
                write!(f, "the transport refused a frame: {error}")
            }
            DisconnectReason::OverBudget(overdraft) => {
                write!(f, "the peer went over its budget: {overdraft}")
            }
            DisconnectReason::Duplicate => {
                f.write_str("duplicate connection; the other one to this peer is kept")
            }
            DisconnectReason::Unneeded => {
                f.write_str("dialed connection no longer needed (cancelled or already connected)")
            }
            DisconnectReason::EarlyFrames(count) => write!(
                f,
                "{count} frames arrived before the dial returned, more than a handshake sends"
            ),
            DisconnectReason::Random(error) => {
                write!(
                    f,
                    "no handshake nonce: the OS random source failed: {error}"
                )
            }
        }
    }
}
