//! A channel's members: which node holds each participant's key. The protocol addresses every
//! message to a participant index (`Effect::Send { to, .. }`) and takes each with its sender's
//! index; this record is how the driver turns one into the other, both ways. Pure: the record,
//! its keys and writes, and the migration that made it out of version 2's peer links.
//!
//! | key                          | value                                          |
//! |------------------------------|------------------------------------------------|
//! | `memb/` ‖ channel id (32)    | the canonical encoding of a [`ChannelMembers`] |
//!
//! A channel's members are written before (or in the same batch as) its first records, so a
//! restored channel always knows whom to re-synchronise with. Members without a channel (a
//! crash between the two writes, or a channel removed after settlement) are ignored.
//!
//! Version 2 kept one peer per channel under `link/` ‖ channel id; [`migrate_from_v2`] turns
//! each into the members of a two-party channel.

use super::node_records::{decode_links, LINK_PREFIX};
use super::schema::{channel_key, describe_key, schema_op_of, Pairs, Slot};
use crate::protocol::PersistRecord;
use crate::wire::NodeId;
use parley_plugin_api::canonical_struct;
use parley_plugin_api::codec::{Decode, Encode};
use parley_plugin_api::model::{ChannelId, WriteOp};
use std::collections::BTreeMap;

/// The prefix of every channel's members record.
pub const MEMBERS_PREFIX: &[u8] = b"memb/";

/// Which node holds each participant's key, by participant index: `None` for our own index,
/// and for a participant whose node this node does not know.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ChannelMembers {
    /// One entry per participant, in participant order.
    pub nodes: Vec<Option<NodeId>>,
}

canonical_struct!(ChannelMembers { nodes });

impl ChannelMembers {
    /// The members of a two-party channel in which we are participant `my_index` and `peer`
    /// is the other one.
    pub fn two_party(my_index: usize, peer: NodeId) -> ChannelMembers {
        let mut nodes = vec![None, None];
        nodes[1 - my_index.min(1)] = Some(peer);
        ChannelMembers { nodes }
    }

    /// The node of participant `index`, if known.
    pub fn node_of(&self, index: usize) -> Option<NodeId> {
        self.nodes.get(index).copied().flatten()
    }

    /// The participant index `node` holds, if it is a member.
    pub fn index_of(&self, node: &NodeId) -> Option<usize> {
        self.nodes.iter().position(|n| n.as_ref() == Some(node))
    }

    /// Whether `node` holds any participant's key.
    pub fn contains(&self, node: &NodeId) -> bool {
        self.index_of(node).is_some()
    }

    /// Every known node, in participant order.
    pub fn known(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes.iter().flatten().copied()
    }

    /// Whether the node of every other participant is known (exactly one slot, our own, is
    /// empty): only then can the channel be used. A lost record knows nobody.
    pub fn complete(&self) -> bool {
        self.nodes.len() >= 2 && self.nodes.iter().filter(|n| n.is_none()).count() == 1
    }

    /// The two-party view: the one other node, if exactly one is known. `None` when no
    /// member is known (a lost record) or several are (a channel of more than two).
    pub fn peer(&self) -> Option<NodeId> {
        let mut known = self.known();
        match (known.next(), known.next()) {
            (Some(peer), None) => Some(peer),
            _ => None,
        }
    }
}

/// The key of a channel's members.
pub fn members_key(channel_id: &ChannelId) -> Vec<u8> {
    [MEMBERS_PREFIX, &channel_id.0[..]].concat()
}

/// The write that records the members of `channel_id`.
pub fn members_op(channel_id: &ChannelId, members: &ChannelMembers) -> WriteOp {
    WriteOp::put(members_key(channel_id), members.encode())
}

/// The write that removes a channel's members.
pub fn members_delete_op(channel_id: &ChannelId) -> WriteOp {
    WriteOp::delete(members_key(channel_id))
}

/// The members in a scan of [`MEMBERS_PREFIX`], and a readable reason for each pair that is
/// not one.
pub fn decode_members(pairs: &Pairs) -> (BTreeMap<ChannelId, ChannelMembers>, Vec<String>) {
    let mut members = BTreeMap::new();
    let mut broken = Vec::new();
    for (key, value) in pairs {
        let id: Option<[u8; 32]> = key
            .strip_prefix(MEMBERS_PREFIX)
            .and_then(|rest| rest.try_into().ok());
        let Some(id) = id else {
            broken.push(format!("`{}` is not a members key", describe_key(key)));
            continue;
        };
        match ChannelMembers::decode(value) {
            Ok(record) => {
                members.insert(ChannelId(id), record);
            }
            Err(error) => broken.push(format!(
                "the members of channel {} do not decode: {error}",
                ChannelId(id)
            )),
        }
    }
    (members, broken)
}

/// The writes that bring a version-2 store to version 3: each peer link in `links` (a scan of
/// `link/`) becomes the members of a two-party channel, our index read from the channel's
/// record in `channels` (a scan of `ch/`), the peer at the other index; every link is deleted
/// and the schema version becomes 3. A link whose channel record is missing or does not
/// decode, or whose channel is not two-party, is dropped like a link without a channel always
/// was (the node reports such a channel as having no known peer). The caller commits the
/// writes as one batch.
pub fn migrate_from_v2(channels: &Pairs, links: &Pairs) -> Vec<WriteOp> {
    let records: BTreeMap<&[u8], &[u8]> = channels
        .iter()
        .map(|(key, value)| (key.as_slice(), value.as_slice()))
        .collect();
    let (peers, _) = decode_links(links);
    let mut ops = Vec::new();
    for (id, peer) in peers {
        let opened = records
            .get(channel_key(&id, Slot::Channel).as_slice())
            .and_then(|value| PersistRecord::decode(value).ok());
        if let Some(PersistRecord::Opened(record)) = opened {
            let my_index = usize::from(record.my_index);
            if record.channel_id == id && record.params.participants.len() == 2 && my_index < 2 {
                ops.push(members_op(&id, &ChannelMembers::two_party(my_index, peer)));
            }
        }
    }
    for (key, _) in links {
        if key.starts_with(LINK_PREFIX) {
            ops.push(WriteOp::delete(key.clone()));
        }
    }
    ops.push(schema_op_of(3));
    ops
}

#[cfg(test)]
#[path = "members_tests.rs"]
mod tests;
