//! The peers the user named with `peer add`, by alias, and the addresses peers announced in
//! their handshakes; both kept in the store across restarts.
//!
//! Where a peer is dialed is the newest word on it: the address it announced when it last
//! connected, unless the user gave one with `peer add` since (which forgets the announced
//! one). So a peer that moved is found where it says it is now, and a user who knows better
//! can always correct it.

use super::error::Error;
use super::peer_names::PeerNames;
use super::peers::ConnectedPeer;
use crate::store::StoredPeer;
use crate::wire::NodeId;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// A peer the user named, with its name: what `peer add` gives and `peer list` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedPeer {
    /// The user's name for it.
    pub alias: String,
    /// Its identity.
    pub node_id: NodeId,
    /// Where to reach it, in the transport plugin's format.
    pub transport_address: String,
}

/// A peer as the node sees it now: what `peer list` and `peer add` show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerView {
    /// The user's name for it, if the user named it.
    pub alias: Option<String>,
    /// Its identity.
    pub node_id: NodeId,
    /// Where it is dialed, if known (see the module doc).
    pub address: Option<String>,
    /// Its connection, while it is connected.
    pub connection: Option<ConnectedPeer>,
    /// Why connecting failed (`peer add` only).
    pub connect_error: Option<String>,
}

/// A peer the user named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownPeer {
    /// Its identity.
    pub node_id: NodeId,
    /// Where to reach it, in the transport plugin's format.
    pub transport_address: String,
}

/// The known peers by alias: the one service that owns them. Invariant: one alias per node
/// id, one node id per alias, and never this node's own id. Its lock is taken only inside its
/// methods, so no caller holds it across an `await`; lookups return copies.
#[derive(Debug)]
pub struct PeerBook {
    own: NodeId,
    by_alias: Mutex<BTreeMap<String, KnownPeer>>,
    /// Where each peer last said it listens (named or not).
    announced: Mutex<BTreeMap<NodeId, String>>,
    /// The aliases again, by node id, for log lines (shared with the connection layer).
    names: PeerNames,
}

/// What a peer's announcement changed in the book.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Learned {
    /// The book had this address for the peer already: nothing to store.
    Known,
    /// A new address for the peer, to store; `given` is the address the user gave with
    /// `peer add` when it differs (the announced one is dialed from now on).
    New {
        /// The user's address, if the user named this peer and gave another one.
        given: Option<String>,
    },
}

impl PeerBook {
    /// An empty book of the node `own`.
    pub fn new(own: NodeId) -> PeerBook {
        PeerBook {
            own,
            by_alias: Mutex::new(BTreeMap::new()),
            announced: Mutex::new(BTreeMap::new()),
            names: PeerNames::default(),
        }
    }

    /// The names log lines give the peers, kept current as peers are added.
    pub fn names(&self) -> PeerNames {
        self.names.clone()
    }

    /// The book of the stored peers; a stored peer that breaks the invariant is skipped with
    /// a warning (the store was written by this code, so that means it was edited by hand).
    pub fn from_stored(
        own: NodeId,
        stored: Vec<StoredPeer>,
        announced: BTreeMap<NodeId, String>,
    ) -> PeerBook {
        let book = PeerBook::new(own);
        *book.announced() = announced;
        for peer in stored {
            let peer = NamedPeer {
                alias: peer.alias,
                node_id: peer.node_id,
                transport_address: peer.transport_address,
            };
            if let Err(error) = book.add(&peer) {
                tracing::warn!(alias = %peer.alias, "skipping a stored peer: {error}");
            }
        }
        book
    }

    /// Every change is one map operation, so a panic while holding the lock cannot leave the
    /// map half-changed and a poisoned lock is still usable.
    fn by_alias(&self) -> MutexGuard<'_, BTreeMap<String, KnownPeer>> {
        self.by_alias
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn announced(&self) -> MutexGuard<'_, BTreeMap<NodeId, String>> {
        self.announced
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// This node's own id.
    pub fn own(&self) -> NodeId {
        self.own
    }

    /// Takes `address` as where `node` listens now (its handshake said so); says whether that
    /// is news to store, and the user's differing address if there is one.
    pub fn learn(&self, node: NodeId, address: &str) -> Learned {
        if node == self.own {
            return Learned::Known;
        }
        let mut announced = self.announced();
        if announced.get(&node).map(String::as_str) == Some(address) {
            return Learned::Known;
        }
        let given = self
            .by_alias()
            .values()
            .find(|peer| peer.node_id == node)
            .map(|peer| peer.transport_address.clone())
            .filter(|given| given != address);
        announced.insert(node, address.to_owned());
        Learned::New { given }
    }

    /// Forgets the address `node` announced (the user just gave one); returns whether there
    /// was one.
    pub fn forget_announced(&self, node: &NodeId) -> bool {
        self.announced().remove(node).is_some()
    }

    /// Every node that announced where it listens (named or not).
    pub fn announcers(&self) -> Vec<NodeId> {
        self.announced().keys().copied().collect()
    }

    /// The address `node` announced when it last connected, if any.
    pub fn announced_address(&self, node: &NodeId) -> Option<String> {
        self.announced().get(node).cloned()
    }

    /// Adds or updates `alias`. Refuses our own id, an alias held by another node, and a node
    /// already known under another alias; nothing changes when it refuses.
    pub fn add(&self, request: &NamedPeer) -> Result<(), Error> {
        let mut by_alias = self.by_alias();
        check_add(self.own, &by_alias, request)?;
        self.names.set(request.node_id, &request.alias);
        by_alias.insert(
            request.alias.clone(),
            KnownPeer {
                node_id: request.node_id,
                transport_address: request.transport_address.clone(),
            },
        );
        Ok(())
    }

    /// Whether [`PeerBook::add`] would accept `request`, without changing anything.
    pub fn check_add(&self, request: &NamedPeer) -> Result<(), Error> {
        check_add(self.own, &self.by_alias(), request)
    }

    /// The peer known as `alias`.
    pub fn get(&self, alias: &str) -> Option<KnownPeer> {
        self.by_alias().get(alias).cloned()
    }

    /// The alias of `node_id`, if it is known.
    pub fn alias_of(&self, node_id: &NodeId) -> Option<String> {
        alias_in(&self.by_alias(), node_id)
    }

    /// Where `node_id` is dialed, if that is known: the newest word on it (see the module
    /// doc).
    pub fn address_of(&self, node_id: &NodeId) -> Option<String> {
        self.contact(node_id).1
    }

    /// The peer's alias (if known) and where it is dialed (if known): how to name and reach
    /// it.
    pub fn contact(&self, node_id: &NodeId) -> (Option<String>, Option<String>) {
        let announced = self.announced_address(node_id);
        let by_alias = self.by_alias();
        let known = by_alias.iter().find(|(_, peer)| peer.node_id == *node_id);
        (
            known.map(|(alias, _)| alias.clone()),
            announced.or_else(|| known.map(|(_, peer)| peer.transport_address.clone())),
        )
    }

    /// The peer `text` names: an alias, or a node id (known or not: then without address).
    pub fn resolve(&self, text: &str) -> Option<(Option<String>, NodeId)> {
        let by_alias = self.by_alias();
        if let Some(peer) = by_alias.get(text) {
            return Some((Some(text.to_string()), peer.node_id));
        }
        let node_id: NodeId = text.parse().ok()?;
        Some((alias_in(&by_alias, &node_id), node_id))
    }

    /// Every known peer, by alias.
    pub fn all(&self) -> Vec<NamedPeer> {
        self.by_alias()
            .iter()
            .map(|(alias, peer)| NamedPeer {
                alias: alias.clone(),
                node_id: peer.node_id,
                transport_address: peer.transport_address.clone(),
            })
            .collect()
    }
}

fn alias_in(by_alias: &BTreeMap<String, KnownPeer>, node_id: &NodeId) -> Option<String> {
    by_alias
        .iter()
        .find(|(_, peer)| peer.node_id == *node_id)
        .map(|(alias, _)| alias.clone())
}

/// Whether `request` keeps the book's invariant.
fn check_add(
    own: NodeId,
    by_alias: &BTreeMap<String, KnownPeer>,
    request: &NamedPeer,
) -> Result<(), Error> {
    if request.node_id == own {
        return Err(Error::invalid(
            "node_id",
            "that is this node's own id; a node cannot be its own peer",
        ));
    }
    if let Some(existing) = by_alias.get(&request.alias) {
        if existing.node_id != request.node_id {
            return Err(Error::conflict(format!(
                "the alias `{}` already names node {}; pick another alias",
                request.alias, existing.node_id
            )));
        }
    } else if let Some(alias) = alias_in(by_alias, &request.node_id) {
        return Err(Error::conflict(format!(
            "node {} is already known as `{alias}`",
            request.node_id
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::error::ErrorKind;
    use crate::wire::NodeKey;

    fn id() -> NodeId {
        NodeKey::generate().unwrap().node_id()
    }

    fn request(alias: &str, node_id: NodeId, addr: &str) -> NamedPeer {
        NamedPeer {
            alias: alias.into(),
            node_id,
            transport_address: addr.into(),
        }
    }

    #[test]
    fn adding_a_peer_makes_it_known_and_re_adding_updates_the_address() {
        let (own, bob) = (id(), id());
        let book = PeerBook::new(own);
        book.add(&request("bob", bob, "127.0.0.1:1")).unwrap();
        book.add(&request("bob", bob, "127.0.0.1:2")).unwrap();
        assert_eq!(book.all().len(), 1);
        assert_eq!(book.get("bob").unwrap().node_id, bob);
        assert_eq!(book.address_of(&bob).as_deref(), Some("127.0.0.1:2"));
        assert_eq!(book.resolve("bob"), Some((Some("bob".into()), bob)));
        assert_eq!(
            book.resolve(&bob.to_string()),
            Some((Some("bob".into()), bob))
        );
        assert_eq!(book.resolve("carol"), None);
    }

    #[test]
    fn an_alias_of_another_node_is_a_conflict_and_changes_nothing() {
        let (own, bob, carol) = (id(), id(), id());
        let book = PeerBook::new(own);
        book.add(&request("bob", bob, "127.0.0.1:1")).unwrap();
        let error = book.add(&request("bob", carol, "127.0.0.1:3")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Conflict);
        assert_eq!(book.get("bob").unwrap().node_id, bob);
        assert_eq!(book.address_of(&bob).as_deref(), Some("127.0.0.1:1"));
    }

    #[test]
    fn a_node_under_a_second_alias_is_a_conflict() {
        let (own, bob) = (id(), id());
        let book = PeerBook::new(own);
        book.add(&request("bob", bob, "127.0.0.1:1")).unwrap();
        let error = book
            .add(&request("robert", bob, "127.0.0.1:1"))
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Conflict);
        assert!(book.get("robert").is_none());
    }

    #[test]
    fn our_own_id_is_not_a_peer_and_stored_conflicts_are_skipped() {
        let (own, bob) = (id(), id());
        let book = PeerBook::new(own);
        let error = book.add(&request("me", own, "127.0.0.1:1")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Invalid);
        assert_eq!(book.all().len(), 0);
        let stored = |alias: &str, node_id| StoredPeer {
            alias: alias.into(),
            node_id,
            transport_address: "127.0.0.1:1".into(),
        };
        let book = PeerBook::from_stored(
            own,
            vec![stored("bob", bob), stored("robert", bob)],
            BTreeMap::new(),
        );
        assert_eq!(book.all().len(), 1);
        assert_eq!(book.alias_of(&bob).as_deref(), Some("bob"));
    }

    #[test]
    fn an_announced_address_is_dialed_until_the_user_gives_another() {
        let (own, bob, carol) = (id(), id(), id());
        let book = PeerBook::new(own);
        book.add(&request("bob", bob, "127.0.0.1:4000")).unwrap();
        assert_eq!(
            book.learn(bob, "127.0.0.1:4000"),
            Learned::New { given: None }
        );
        assert_eq!(book.learn(bob, "127.0.0.1:4000"), Learned::Known);
        assert_eq!(
            book.learn(bob, "127.0.0.1:9740"),
            Learned::New {
                given: Some("127.0.0.1:4000".into())
            }
        );
        assert_eq!(book.address_of(&bob).as_deref(), Some("127.0.0.1:9740"));
        assert!(book.forget_announced(&bob));
        assert_eq!(book.address_of(&bob).as_deref(), Some("127.0.0.1:4000"));
        // A peer nobody named is reached where it said, without an alias.
        assert_eq!(
            book.learn(carol, "127.0.0.1:9741"),
            Learned::New { given: None }
        );
        assert_eq!(
            book.contact(&carol),
            (None, Some("127.0.0.1:9741".to_string()))
        );
        assert_eq!(
            book.learn(own, "127.0.0.1:1"),
            Learned::Known,
            "never ourselves"
        );
    }
}
