//! Reaching known peers: [`Dialer`] connects to a peer at the address the book has for it and
//! learns where a connected peer listens, and [`Redials`] keeps redialing a peer that left
//! while it has channels here.

use super::book::{Learned, PeerBook};
use super::error::Error;
use super::peer_names::PeerName;
use super::peers::Peers;
use super::registry::Registry;
use crate::store::node_records::announced_op;
use crate::store::ChannelStore;
use crate::wire::NodeId;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Connects to known peers.
pub struct Dialer {
    peers: Peers,
    book: Arc<PeerBook>,
    registry: Arc<Registry>,
    store: Arc<ChannelStore>,
}

impl Dialer {
    /// Dials through `peers` at the addresses in `book`; redials only peers that have channels
    /// in `registry`; keeps what peers announce in `store`.
    pub fn new(
        peers: Peers,
        book: Arc<PeerBook>,
        registry: Arc<Registry>,
        store: Arc<ChannelStore>,
    ) -> Dialer {
        Dialer {
            peers,
            book,
            registry,
            store,
        }
    }

    /// What log lines call `peer` (its alias, if the user named it).
    pub fn name_of(&self, peer: &NodeId) -> PeerName {
        self.book.names().of(peer)
    }

    /// Learns where the connected `peer` listens from its handshake, and keeps it (in the book
    /// at once, in the store in the background) if that is news. Where the user gave another
    /// address for the peer, the announced one is dialed from now on, and the log says so.
    pub fn learn_address(&self, peer: NodeId) {
        let Some(connection) = self.peers.connection(&peer) else {
            return;
        };
        let Some(announced) = connection.listen_address.as_deref() else {
            return;
        };
        let Some(address) = dial_back_address(announced, &connection.remote) else {
            tracing::debug!(peer = %self.name_of(&peer), peer_id = %peer, announced, "ignoring a listen address that cannot be dialed");
            return;
        };
        match self.book.learn(peer, &address) {
            Learned::Known => return,
            Learned::New { given: Some(given) } => tracing::info!(
                peer = %self.name_of(&peer),
                peer_id = %peer,
                address,
                given,
                "the peer announces another address than the one given with `peer add`; \
                 dialing the announced one (the newest word) until `peer add` gives another"
            ),
            Learned::New { given: None } => {
                tracing::info!(peer = %self.name_of(&peer), peer_id = %peer, address, "learned where the peer listens")
            }
        }
        // Queued now, so two announcements are stored in the order they came.
        let stored = self.store.commit(vec![announced_op(&peer, &address)]);
        let name = self.name_of(&peer);
        tokio::spawn(async move {
            if let Err(error) = stored.await {
                tracing::warn!(peer = %name, peer_id = %peer, "cannot store the address the peer announced: {error}");
            }
        });
    }

    /// Takes `address` as where `peer` listens (a virtual channel's proposer names it, so
    /// that the accepter answers it directly), in the book at once and in the store in the
    /// background, as if the peer had announced it.
    pub fn remember_address(&self, peer: NodeId, address: &str) {
        if let Learned::Known = self.book.learn(peer, address) {
            return;
        }
        let stored = self.store.commit(vec![announced_op(&peer, address)]);
        let name = self.name_of(&peer);
        tokio::spawn(async move {
            if let Err(error) = stored.await {
                tracing::warn!(peer = %name, peer_id = %peer, "cannot store the peer's address: {error}");
            }
        });
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

/// Where to dial a peer back, from the listen address it `announced` and the `remote` address
/// of its connection: `None` for an empty announcement, port 0, or a form that is not
/// `host:port`. A listener on every interface (`0.0.0.0`, `[::]`) is reached at the IP the
/// connection came from.
pub fn dial_back_address(announced: &str, remote: &str) -> Option<String> {
    if let Ok(mut addr) = announced.parse::<SocketAddr>() {
        if addr.port() == 0 {
            return None;
        }
        if addr.ip().is_unspecified() {
            addr.set_ip(remote.parse::<SocketAddr>().ok()?.ip());
        }
        return Some(addr.to_string());
    }
    // A host name: letters, digits, dots and hyphens, then a port.
    let (host, port) = announced.rsplit_once(':')?;
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    (host_ok && port.parse::<u16>().ok()? != 0).then(|| announced.to_owned())
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
                tracing::warn!(peer = %dialer.name_of(&peer), peer_id = %peer, "not reconnecting: {error}");
                return;
            }
            Err(error) => tracing::debug!(
                peer = %dialer.name_of(&peer),
                peer_id = %peer,
                "reconnect failed: {}",
                error.message()
            ),
        }
        drop(dialer);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::dial_back_address;

    #[test]
    fn a_peer_is_dialed_back_where_it_listens_not_where_it_came_from() {
        let remote = "10.0.0.7:53111";
        assert_eq!(
            dial_back_address("127.0.0.1:9740", remote).as_deref(),
            Some("127.0.0.1:9740")
        );
        assert_eq!(
            dial_back_address("0.0.0.0:9740", remote).as_deref(),
            Some("10.0.0.7:9740"),
            "every interface: the IP the connection came from"
        );
        assert_eq!(
            dial_back_address("[::]:9740", "[fe80::1]:4000").as_deref(),
            Some("[fe80::1]:9740")
        );
        assert_eq!(
            dial_back_address("node.example:9740", remote).as_deref(),
            Some("node.example:9740")
        );
        for unusable in [
            "",
            "127.0.0.1:0",
            "127.0.0.1",
            "no port:1",
            "host:99999",
            ":9740",
        ] {
            assert_eq!(dial_back_address(unusable, remote), None, "{unusable:?}");
        }
    }
}
