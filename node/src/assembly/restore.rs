//! What the node finds in its store when it starts: the peer book, which node holds each
//! participant of each channel, and the channels themselves; and how each stored channel is
//! resumed: every channel with funds on chain stays watched, whatever is wrong with its record.

use crate::client::book::PeerBook;
use crate::client::chain::blocking;
use crate::client::onchain::ChainSide;
use crate::client::start::ChannelStarter;
use crate::protocol::{Channel, ChannelSnapshot};
use crate::store::members::{decode_members, MEMBERS_PREFIX};
use crate::store::node_records::{decode_announced, decode_peers, ANNOUNCED_PREFIX, PEER_PREFIX};
use crate::store::{schema, ChannelMembers, ChannelStore, StoreError};
use crate::wire::NodeId;
use parley_plugin_api::model::ChannelId;
use std::collections::{BTreeMap, HashSet};

/// Which node holds each participant of each stored channel.
pub(super) fn read_members(
    store: &ChannelStore,
) -> Result<BTreeMap<ChannelId, ChannelMembers>, StoreError> {
    let (members, broken) = decode_members(&store.scan_prefix(MEMBERS_PREFIX)?);
    for problem in broken {
        tracing::warn!("ignoring a stored record: {problem}");
    }
    Ok(members)
}

/// The peers the user added before, and the addresses peers announced.
pub(super) fn read_book(store: &ChannelStore, own: NodeId) -> Result<PeerBook, StoreError> {
    let (peers, broken) = decode_peers(&store.scan_prefix(PEER_PREFIX)?);
    let (announced, broken_too) = decode_announced(&store.scan_prefix(ANNOUNCED_PREFIX)?);
    for problem in broken.into_iter().chain(broken_too) {
        tracing::warn!("ignoring a stored record: {problem}");
    }
    Ok(PeerBook::from_stored(own, peers, announced))
}

/// Starts the task of every restored channel with `starter`; each re-synchronises when its
/// peer connects, and its chain-side owner resumes what it does on chain. Returns the peers with channels,
/// which are to be dialed.
///
/// Every channel with funds on chain stays watched, whatever is wrong with its record:
/// - a channel whose members record is lost runs without a peer: watched, its stale registrations
///   refuted, settled on chain (its deposits recovered at once while funding, `settle --force`
///   once active), never used for payments;
/// - a channel whose record does not restore runs like one without a peer if a fully signed
///   state of it is still readable (salvaged), and otherwise runs no task: it is watched on
///   chain by its id and listed with the problem, and every registration seen for it is
///   logged loudly.
pub(super) fn resume_channels(
    starter: &ChannelStarter,
    side: &ChainSide,
    store: &ChannelStore,
    snapshots: BTreeMap<ChannelId, ChannelSnapshot>,
    mut damaged: Vec<(ChannelId, String)>,
    members: &BTreeMap<ChannelId, ChannelMembers>,
) -> HashSet<NodeId> {
    let mut peers = HashSet::new();
    for (id, snapshot) in snapshots {
        let channel = match Channel::restore(snapshot) {
            Ok(channel) => channel,
            Err(error) => {
                damaged.push((id, format!("the stored record does not restore: {error}")));
                continue;
            }
        };
        let members = members.get(&id).cloned().unwrap_or_default();
        tracing::info!(channel = %id, phase = %channel.phase(), version = channel.latest().version, "channel resumed");
        let known: Vec<NodeId> = members.known().collect();
        starter.start_channel(channel, Vec::new(), members, false);
        if known.is_empty() {
            let problem = format!(
                "this node has no record of the channel's peer, so it cannot use the \
                 channel: it watches it on chain and refutes stale states; settle it with \
                 `parley channel settle {id} --force`"
            );
            tracing::error!(channel = %id, "{problem}");
            side.registry.set_reason(&id, problem);
        } else {
            peers.extend(known);
        }
    }
    for (id, problem) in damaged {
        if let Some(channel) = salvage(store, &id) {
            // A fully signed state survived: the channel is defended like one without a peer.
            let problem = format!(
                "DAMAGED RECORD: {problem}; this node salvaged version {} from it and runs the \
                 channel without its peer: it watches it on chain and refutes stale states, \
                 but cannot use it; settle it with `parley channel settle {id} --force`",
                channel.latest().version
            );
            tracing::error!(channel = %id, "{problem}");
            starter.start_channel(channel, Vec::new(), ChannelMembers::default(), false);
            side.registry.set_reason(&id, problem);
            continue;
        }
        let problem = format!(
            "DAMAGED RECORD: {problem}; this node cannot use, refute or settle the channel; it \
             watches it on chain and shows what is registered; restore the store from a backup"
        );
        tracing::error!(channel = %id, "{problem}");
        side.registry
            .insert_damaged(id, members.get(&id).and_then(ChannelMembers::peer), problem);
        let chain = side.chain.ledger.clone();
        tokio::spawn(async move {
            if let Err(error) = blocking(move || chain.watch(&id)).await {
                tracing::error!(channel = %id, "cannot watch the damaged channel on chain: {error}");
            }
        });
    }
    peers
}

/// What can still be defended of a damaged channel (see [`schema::salvage_channel`]).
fn salvage(store: &ChannelStore, id: &ChannelId) -> Option<Channel> {
    let pairs = store.scan_prefix(&schema::channel_prefix(id)).ok()?;
    Channel::restore(schema::salvage_channel(id, &pairs)?).ok()
}

/// A stored channel that cannot be restored, and why.
pub(super) type Damaged = (ChannelId, String);

/// Restores every stored channel; those whose records do not decode are returned with why.
pub(super) fn restore_channels(
    store: &ChannelStore,
) -> Result<(BTreeMap<ChannelId, ChannelSnapshot>, Vec<Damaged>), StoreError> {
    let restored = store.restore_all()?;
    let damaged = restored
        .broken
        .iter()
        .map(|broken| (broken.channel_id, broken.error.to_string()))
        .collect();
    for key in &restored.stray_keys {
        tracing::warn!(key, "a stored key names no channel; ignoring it");
    }
    tracing::info!(
        channels = restored.channels.len(),
        broken = restored.broken.len(),
        "channels restored"
    );
    let channels = restored
        .channels
        .into_iter()
        .map(|snapshot| (snapshot.channel.channel_id, snapshot))
        .collect();
    Ok((channels, damaged))
}
