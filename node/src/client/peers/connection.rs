//! One transport connection as the driver tracks it, from `Connected` to its end.

use super::budget::FrameRate;
use super::intake::Ticket;
use super::liveness::Liveness;
use super::routes::SharedSession;
use crate::wire::{Incarnation, NodeId, Role};
use std::time::Instant;

/// How many frames an outbound connection may receive before its dial returned. The listener
/// sends one `Hello` and then waits for ours, so a handful is generous.
pub(super) const MAX_EARLY_FRAMES: usize = 4;

/// Where a connection's handshake stands.
pub(super) enum Stage {
    /// An outbound connection the transport reported before its `dial` returned: we do not
    /// know yet which peer we dialed, so the session (which must check that peer) cannot start.
    /// Frames wait here (with their tickets), at most [`MAX_EARLY_FRAMES`].
    Unclaimed { early: Vec<(Vec<u8>, Ticket)> },
    /// The handshake runs. `expected` is the peer we dialed (outbound connections only).
    Handshaking {
        session: SharedSession,
        expected: Option<NodeId>,
    },
    /// The peer is authenticated, in `incarnation` (which run of its process); this
    /// connection is its route.
    Open {
        session: SharedSession,
        peer: NodeId,
        incarnation: Incarnation,
        liveness: Liveness,
        /// The peer's allowance of frames per second.
        rate: FrameRate,
    },
}

/// A connection the driver knows.
pub(super) struct Connection {
    /// This node's end: inbound connections are `Listener`.
    pub role: Role,
    /// The remote transport address, for logs.
    pub remote: String,
    /// When the connection came up: the handshake deadline counts from here.
    pub opened: Instant,
    pub stage: Stage,
}

impl Connection {
    /// The session, once there is one.
    pub fn session(&self) -> Option<&SharedSession> {
        match &self.stage {
            Stage::Unclaimed { .. } => None,
            Stage::Handshaking { session, .. } | Stage::Open { session, .. } => Some(session),
        }
    }

    /// The peer for logs: the authenticated one, else the one we dialed.
    pub fn peer_hint(&self) -> Option<NodeId> {
        match &self.stage {
            Stage::Unclaimed { .. } => None,
            Stage::Handshaking { expected, .. } => *expected,
            Stage::Open { peer, .. } => Some(*peer),
        }
    }

    /// Whether the peer is authenticated.
    pub fn is_open(&self) -> bool {
        matches!(self.stage, Stage::Open { .. })
    }
}
