//! The node's records beside its channels: the peers the user added, and version 2's peer
//! links. Pure functions from records to writes and from scanned pairs back; no I/O. Which node
//! holds each participant of a channel is [`super::members`].
//!
//! | key                          | value                                      |
//! |------------------------------|--------------------------------------------|
//! | `peer/` ‖ alias (UTF-8)      | the canonical encoding of a [`StoredPeer`] |
//! | `link/` ‖ channel id (32)    | version 2 only: the peer's [`NodeId`]      |
//! | `addr/` ‖ node id (33)       | where that peer last said it listens (UTF-8), schema 4 |
//!
//! An announced address is kept beside the user's `peer/` record, never written over it: the
//! user's address stays what `peer add` said, and the node dials whichever of the two is newer
//! (`peer add` removes the announced one; a later announcement is kept again). A peer that was
//! never added has only its announced address, which is how a node that was only dialed can
//! dial back after a restart.
//!
//! Schema version 2 kept one peer per channel under `link/`; version 3 replaced it with the
//! channel's members, and the links are read only to migrate them
//! ([`super::members::migrate_from_v2`]).

use super::schema::{describe_key, Pairs};
use crate::wire::NodeId;
use parley_plugin_api::canonical_struct;
use parley_plugin_api::codec::{Decode, Encode};
use parley_plugin_api::model::{ChannelId, WriteOp};
use std::collections::BTreeMap;

/// The prefix of every channel-to-peer link (schema version 2).
pub const LINK_PREFIX: &[u8] = b"link/";

/// The prefix of every known peer.
pub const PEER_PREFIX: &[u8] = b"peer/";

/// The prefix of every address a peer announced (schema version 4).
pub const ANNOUNCED_PREFIX: &[u8] = b"addr/";

/// The key of the address `node` announced.
pub fn announced_key(node: &NodeId) -> Vec<u8> {
    [ANNOUNCED_PREFIX, node.as_bytes()].concat()
}

/// The write that keeps `address` as where `node` listens.
pub fn announced_op(node: &NodeId, address: &str) -> WriteOp {
    WriteOp::put(announced_key(node), address.as_bytes().to_vec())
}

/// The write that forgets the address `node` announced.
pub fn announced_delete_op(node: &NodeId) -> WriteOp {
    WriteOp::delete(announced_key(node))
}

/// The announced addresses in a scan of [`ANNOUNCED_PREFIX`], and a readable reason for each
/// pair that is not one.
pub fn decode_announced(pairs: &Pairs) -> (BTreeMap<NodeId, String>, Vec<String>) {
    let mut addresses = BTreeMap::new();
    let mut broken = Vec::new();
    for (key, value) in pairs {
        let node = key
            .strip_prefix(ANNOUNCED_PREFIX)
            .and_then(|rest| NodeId::decode(rest).ok());
        let address = String::from_utf8(value.clone()).ok();
        match (node, address) {
            (Some(node), Some(address)) => {
                addresses.insert(node, address);
            }
            (None, _) => broken.push(format!(
                "`{}` is not an announced address key",
                describe_key(key)
            )),
            (Some(node), None) => broken.push(format!("the address {node} announced is not UTF-8")),
        }
    }
    (addresses, broken)
}

/// The writes that bring a store of schema version 3 to 4: version 4 only adds
/// [`ANNOUNCED_PREFIX`], so there is nothing to rewrite, and the step is the version alone
/// (one write, so a crash leaves version 3 or 4, never between). The bump keeps a version-3
/// node from opening a store whose announced addresses it would silently drop.
pub fn migrate_from_v3() -> Vec<WriteOp> {
    vec![super::schema::schema_op_of(4)]
}

/// A peer the user added (`peer add`), kept across restarts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPeer {
    /// The local alias (also the key).
    pub alias: String,
    /// The peer's identity.
    pub node_id: NodeId,
    /// Where to reach it, in the transport plugin's format.
    pub transport_address: String,
}

canonical_struct!(StoredPeer {
    alias,
    node_id,
    transport_address
});

/// The key of a channel's link (schema version 2).
pub fn link_key(channel_id: &ChannelId) -> Vec<u8> {
    [LINK_PREFIX, &channel_id.0[..]].concat()
}

/// The write that records `peer` as the other party of `channel_id`, as a version-2 node
/// did: only tests of the migration write links now.
#[cfg(test)]
pub fn link_op(channel_id: &ChannelId, peer: &NodeId) -> WriteOp {
    WriteOp::put(link_key(channel_id), peer.encode())
}

/// The write that removes a channel's link (a version-1 store's archived channel).
pub fn link_delete_op(channel_id: &ChannelId) -> WriteOp {
    WriteOp::delete(link_key(channel_id))
}

/// The links in a scan of [`LINK_PREFIX`], and a readable reason for each pair that is not one.
pub fn decode_links(pairs: &Pairs) -> (BTreeMap<ChannelId, NodeId>, Vec<String>) {
    let mut links = BTreeMap::new();
    let mut broken = Vec::new();
    for (key, value) in pairs {
        let id: Option<[u8; 32]> = key
            .strip_prefix(LINK_PREFIX)
            .and_then(|rest| rest.try_into().ok());
        let Some(id) = id else {
            broken.push(format!("`{}` is not a link key", describe_key(key)));
            continue;
        };
        match NodeId::decode(value) {
            Ok(node) => {
                links.insert(ChannelId(id), node);
            }
            Err(error) => broken.push(format!(
                "the link of channel {} is not a node id: {error}",
                ChannelId(id)
            )),
        }
    }
    (links, broken)
}

/// The key of a known peer.
pub fn peer_key(alias: &str) -> Vec<u8> {
    [PEER_PREFIX, alias.as_bytes()].concat()
}

/// The write that stores (or replaces) a known peer.
pub fn peer_op(peer: &StoredPeer) -> WriteOp {
    WriteOp::put(peer_key(&peer.alias), peer.encode())
}

/// The known peers in a scan of [`PEER_PREFIX`], and a readable reason for each pair that is
/// not one.
pub fn decode_peers(pairs: &Pairs) -> (Vec<StoredPeer>, Vec<String>) {
    let mut peers = Vec::new();
    let mut broken = Vec::new();
    for (key, value) in pairs {
        match StoredPeer::decode(value) {
            Ok(peer) if peer_key(&peer.alias) == *key => peers.push(peer),
            Ok(peer) => broken.push(format!(
                "`{}` holds the peer `{}`",
                describe_key(key),
                peer.alias
            )),
            Err(error) => broken.push(format!(
                "`{}` is not a peer record: {error}",
                describe_key(key)
            )),
        }
    }
    (peers, broken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::NodeKey;

    fn node(n: u8) -> NodeId {
        NodeKey::from_secret_bytes(&[n; 32]).unwrap().node_id()
    }

    fn pair(op: WriteOp) -> (Vec<u8>, Vec<u8>) {
        match op {
            WriteOp::Put { key, value } => (key.0, value.0),
            other => panic!("expected a put, got {other:?}"),
        }
    }

    #[test]
    fn version_2_links_round_trip_and_garbage_is_reported_not_fatal() {
        let (a, b) = (ChannelId([1; 32]), ChannelId([2; 32]));
        let mut pairs = vec![pair(link_op(&a, &node(1))), pair(link_op(&b, &node(2)))];
        pairs.push((b"link/short".to_vec(), node(3).encode()));
        pairs.push((link_key(&ChannelId([3; 32])), vec![1, 2, 3]));
        let (links, broken) = decode_links(&pairs);
        assert_eq!(links.len(), 2);
        assert_eq!(links[&a], node(1));
        assert_eq!(links[&b], node(2));
        assert_eq!(broken.len(), 2, "{broken:?}");
    }

    #[test]
    fn announced_addresses_round_trip_and_garbage_is_reported_not_fatal() {
        let mut pairs = vec![
            pair(announced_op(&node(1), "127.0.0.1:9740")),
            pair(announced_op(&node(2), "[::1]:9741")),
        ];
        pairs.push((b"addr/short".to_vec(), b"127.0.0.1:1".to_vec()));
        pairs.push((announced_key(&node(3)), vec![0xff, 0xfe]));
        let (addresses, broken) = decode_announced(&pairs);
        assert_eq!(addresses.len(), 2);
        assert_eq!(addresses[&node(1)], "127.0.0.1:9740");
        assert_eq!(addresses[&node(2)], "[::1]:9741");
        assert_eq!(broken.len(), 2, "{broken:?}");
        assert_eq!(
            announced_delete_op(&node(1)),
            WriteOp::delete(announced_key(&node(1)))
        );
    }

    #[test]
    fn peers_round_trip_and_a_record_under_another_alias_is_refused() {
        let bob = StoredPeer {
            alias: "bob".into(),
            node_id: node(1),
            transport_address: "127.0.0.1:4000".into(),
        };
        let (key, value) = pair(peer_op(&bob));
        let (peers, broken) = decode_peers(&vec![(key, value.clone())]);
        assert_eq!(peers, vec![bob]);
        assert!(broken.is_empty());
        let (peers, broken) = decode_peers(&vec![(peer_key("carol"), value)]);
        assert!(peers.is_empty());
        assert_eq!(broken.len(), 1);
    }
}
