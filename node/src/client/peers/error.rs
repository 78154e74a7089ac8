//! Why a call on [`Peers`](super::Peers) failed.

use super::event::DisconnectReason;
use crate::wire::{HandshakeError, NodeId, SessionError};
use parley_plugin_api::PluginError;
use std::time::Duration;
use thiserror::Error;

/// A failed `connect`, `send`, `listen` or `disconnect`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PeerError {
    /// There is no authenticated connection to the peer.
    #[error("not connected to peer {0}")]
    NotConnected(NodeId),
    /// A node cannot connect to itself.
    #[error("{0} is this node's own id; a node does not connect to itself")]
    OwnNodeId(NodeId),
    /// The transport could not listen on the address.
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        /// The address asked for.
        addr: String,
        /// The transport's error.
        error: PluginError,
    },
    /// The transport could not reach the address.
    #[error("cannot dial peer {peer} at {addr}: {error}")]
    Dial {
        /// The peer we meant to reach.
        peer: NodeId,
        /// Its transport address.
        addr: String,
        /// The transport's error.
        error: PluginError,
    },
    /// Another node answered at the address: its handshake proved another identity.
    #[error("dialed peer {expected}, but the node that answered is {actual}")]
    UnexpectedPeer {
        /// Who we meant to reach.
        expected: NodeId,
        /// Who answered.
        actual: NodeId,
    },
    /// The handshake did not finish in time.
    #[error("peer {peer} did not complete the handshake within {} ms", after.as_millis())]
    HandshakeTimeout {
        /// The peer we meant to reach.
        peer: NodeId,
        /// The configured limit.
        after: Duration,
    },
    /// The connection ended before the peer was authenticated, for another reason.
    #[error("the handshake with peer {peer} failed: {reason}")]
    HandshakeFailed {
        /// The peer we meant to reach.
        peer: NodeId,
        /// Why the connection ended.
        reason: DisconnectReason,
    },
    /// The message does not fit in one frame.
    #[error("a message of {size} bytes exceeds the frame limit of {max} bytes")]
    MessageTooLarge {
        /// The frame's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The transport refused the frame.
    #[error("the transport refused a frame for peer {peer}: {error}")]
    Send {
        /// The peer.
        peer: NodeId,
        /// The transport's error.
        error: PluginError,
    },
    /// The peer manager has stopped.
    #[error("the peer manager has stopped")]
    Stopped,
}

impl PeerError {
    /// The error a pending `connect` to `peer` gets when its connection ended with `reason`
    /// before the peer was authenticated.
    pub(super) fn from_handshake_end(peer: NodeId, reason: DisconnectReason) -> PeerError {
        match reason {
            DisconnectReason::Protocol(SessionError::Handshake(
                HandshakeError::UnexpectedPeer { expected, actual },
            )) => PeerError::UnexpectedPeer { expected, actual },
            DisconnectReason::HandshakeTimeout(after) => {
                PeerError::HandshakeTimeout { peer, after }
            }
            DisconnectReason::Shutdown => PeerError::Stopped,
            reason => PeerError::HandshakeFailed { peer, reason },
        }
    }
}
