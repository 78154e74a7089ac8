//! The table of authenticated peers, shared by the driver (which writes it) and every handle
//! (which reads it to send without a hop through the driver task).
//!
//! Invariant: a peer has a route exactly while it has an authenticated connection, and that
//! connection is the only authenticated one to the peer (duplicates are closed as soon as they
//! authenticate).

use crate::protocol::ChannelMessage;
use crate::wire::{NodeId, Session};
use parley_plugin_api::model::ConnectionId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// A connection's session, shared so that handles can encode on it while the driver feeds it.
pub(super) type SharedSession = Arc<Mutex<Session<ChannelMessage>>>;

/// Locks a session, ignoring poisoning: a session is left consistent by every call.
pub(super) fn lock(session: &SharedSession) -> MutexGuard<'_, Session<ChannelMessage>> {
    session
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where a peer's messages go.
#[derive(Clone)]
pub(super) struct Route {
    /// The authenticated connection.
    pub connection: ConnectionId,
    /// Its session.
    pub session: SharedSession,
    /// Whether the peer dialed us.
    pub inbound: bool,
    /// The connection's remote transport address (for an inbound one, the peer's source
    /// port, not where it listens).
    pub remote: String,
    /// Where the peer says it listens (its signed hello; empty if it announced none).
    pub listen_address: String,
}

/// Authenticated peers by node id.
#[derive(Default)]
pub(super) struct Routes(RwLock<HashMap<NodeId, Route>>);

impl Routes {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<NodeId, Route>> {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<NodeId, Route>> {
        self.0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The peer's route, if it is connected.
    pub fn get(&self, peer: &NodeId) -> Option<Route> {
        self.read().get(peer).cloned()
    }

    /// Points the peer at `route`, replacing any previous one.
    pub fn insert(&self, peer: NodeId, route: Route) {
        self.write().insert(peer, route);
    }

    /// Removes the peer's route if it is `connection`; returns whether it was.
    pub fn remove_if(&self, peer: &NodeId, connection: ConnectionId) -> bool {
        let mut routes = self.write();
        if routes
            .get(peer)
            .is_some_and(|route| route.connection == connection)
        {
            routes.remove(peer);
            return true;
        }
        false
    }

    /// Every connected peer with its route, in id order.
    pub fn all(&self) -> Vec<(NodeId, Route)> {
        let mut all: Vec<(NodeId, Route)> = self
            .read()
            .iter()
            .map(|(peer, route)| (*peer, route.clone()))
            .collect();
        all.sort_by_key(|(peer, _)| *peer);
        all
    }

    /// Every connected peer, in id order.
    pub fn peers(&self) -> Vec<NodeId> {
        let mut peers: Vec<NodeId> = self.read().keys().copied().collect();
        peers.sort();
        peers
    }
}

/// Where this node's hellos say it listens: set once the transport has bound (empty before,
/// and in a node that never listens), read by the driver for every new session.
#[derive(Clone, Default)]
pub(super) struct Announced(Arc<RwLock<String>>);

impl Announced {
    /// The address to announce now.
    pub fn current(&self) -> String {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Announces `address` from the next connection on.
    pub fn set(&self, address: String) {
        *self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = address;
    }
}
