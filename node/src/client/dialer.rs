//! Reaching known peers: [`Dialer`] connects to a peer at the address the book has for it, and
//! [`Redials`] keeps redialing a peer that left while it has channels here.

use super::book::PeerBook;
use super::error::Error;
use super::peers::Peers;
use super::registry::Registry;
use crate::wire::NodeId;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Connects to known peers.
pub struct Dialer {
    peers: Peers,
    book: Arc<PeerBook>,
    registry: Arc<Registry>,
}

impl Dialer {
    /// Dials through `peers` at the addresses in `book`; redials only peers that have channels
    /// in `registry`.
    pub fn new(peers: Peers, book: Arc<PeerBook>, registry: Arc<Registry>) -> Dialer {
        Dialer {
            peers,
            book,
            registry,
        }
    }

    /// Connects to `peer` unless it is connected, at the address the peer book has for it.
    pub async fn ensure_connected(&self, peer: NodeId) -> Result<(), Error> {
        if self.peers.is_connected(&peer) {
            return Ok(());
        }
        let (alias, address) = self.book.contact(&peer);
        let name = alias.unwrap_or_else(|| peer.to_string());
        let Some(address) = address else {
            return Err(Error::unavailable(format!(
                "peer {name} is not connected and its address is unknown; add it with `parley peer add <alias> {peer} <address>`"
            )));
        };
        self.peers
            .connect(peer, &address)
            .await
            .map_err(|e| Error::unavailable(format!("cannot reach peer {name} at {address}: {e}")))
    }

    /// Whether a reconnect loop should (still) dial `peer`: it has channels here, an address,
    /// and no connection.
    fn wants(&self, peer: &NodeId) -> bool {
        self.registry.has_peer(peer)
            && self.book.address_of(peer).is_some()
            && !self.peers.is_connected(peer)
    }
}

/// The reconnect loops, at most one per peer. Owned by the peer-event dispatcher; dropping it
/// stops every loop.
#[derive(Default)]
pub struct Redials {
    loops: HashMap<NodeId, JoinHandle<()>>,
}

impl Redials {
    /// Keeps dialing `peer` with growing pauses until it is connected, while it has channels
    /// and an address; nothing if a loop for it runs already. A loop holds the dialer only for
    /// one attempt, so it ends once the node is gone.
    pub fn redial(&mut self, dialer: &Arc<Dialer>, peer: NodeId) {
        self.loops.retain(|_, running| !running.is_finished());
        if self.loops.contains_key(&peer) {
            return;
        }
        let task = tokio::spawn(redial(Arc::downgrade(dialer), peer));
        self.loops.insert(peer, task);
    }
}

impl Drop for Redials {
    fn drop(&mut self) {
        for running in self.loops.values() {
            running.abort();
        }
    }
}

async fn redial(dialer: Weak<Dialer>, peer: NodeId) {
    let mut pause = Duration::from_millis(200);
    loop {
        let Some(dialer) = dialer.upgrade() else {
            return;
        };
        if !dialer.wants(&peer) {
            return;
        }
        match dialer.ensure_connected(peer).await {
            Ok(()) => return,
            // Only a failure that may pass is worth another dial.
            Err(error) if !error.is_transient() => {
                tracing::warn!(%peer, "not reconnecting: {error}");
                return;
            }
            Err(error) => tracing::debug!(%peer, "reconnect failed: {}", error.message()),
        }
        drop(dialer);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}
