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
///
/// Before any task starts, the version each channel's restore spent is recorded
/// ([`record_restart_spent`]).
pub(super) async fn resume_channels(
    starter: &ChannelStarter,
    side: &ChainSide,
    store: &ChannelStore,
    snapshots: BTreeMap<ChannelId, ChannelSnapshot>,
    mut damaged: Vec<(ChannelId, String)>,
    members: &BTreeMap<ChannelId, ChannelMembers>,
) -> HashSet<NodeId> {
    let mut peers = HashSet::new();
    let mut restored = Vec::with_capacity(snapshots.len());
    for (id, snapshot) in snapshots {
        match Channel::restore(snapshot) {
            Ok(channel) => restored.push((id, channel)),
            Err(error) => {
                damaged.push((id, format!("the stored record does not restore: {error}")));
            }
        }
    }
    record_restart_spent(store, &mut restored).await;
    for (id, channel) in restored {
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

/// Records the version each restored channel's restore spent, [`SPENT_PER_COMMIT`] channels
/// to a commit, one commit after the other, and tells each channel once its record is
/// durable: its first proposal may then leave while its own record is written, as every
/// later one does (`Channel::highest_signed_version`). Channels whose commit fails go on
/// without: their first proposal is durable before it leaves.
async fn record_restart_spent(store: &ChannelStore, restored: &mut [(ChannelId, Channel)]) {
    for chunk in restored.chunks_mut(SPENT_PER_COMMIT) {
        let spent: Vec<(ChannelId, u64)> = chunk
            .iter()
            .filter_map(|(id, channel)| Some((*id, channel.unrecorded_restart_spent()?)))
            .collect();
        if spent.is_empty() {
            continue;
        }
        if let Err(error) = store.record_restart_spent(&spent).await {
            tracing::warn!(
                "could not record the versions this restart spent for {} channels ({error}); \
                 the first payment on each waits for its own record before it leaves",
                spent.len()
            );
            continue;
        }
        for (_, channel) in chunk.iter_mut() {
            if let Some(version) = channel.unrecorded_restart_spent() {
                channel.restart_spent_recorded(version);
            }
        }
    }
}

/// How many channels' spent versions go in one commit as the node starts. Each record sits
/// beside its channel's others, so a commit dirties about one store page per channel, and
/// LMDB keeps the pages of its largest transaction for reuse: commits of a few hundred keep
/// that to a few MiB however many channels there are, at a millisecond or so each.
const SPENT_PER_COMMIT: usize = 256;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PersistRecord;
    use crate::store::test_support::{snapshot, MemStore};
    use parley_plugin_api::codec::Encode;
    use parley_plugin_api::model::WriteOp;
    use parley_plugin_api::Store;
    use std::sync::Arc;

    fn restored(store: &Arc<MemStore>) -> (ChannelStore, Vec<(ChannelId, Channel)>) {
        let channels = ChannelStore::open(Arc::clone(store) as Arc<dyn Store>).unwrap();
        let snapshots = [snapshot(1, 4, false), snapshot(2, 7, true)];
        for snapshot in &snapshots {
            let ops = schema::ops_for(&snapshot.channel.channel_id, &snapshot.to_records());
            for op in ops {
                if let WriteOp::Put { key, value } = op {
                    store.plant(&key.0, &value.0);
                }
            }
        }
        let restored = snapshots
            .into_iter()
            .map(|s| (s.channel.channel_id, Channel::restore(s).unwrap()))
            .collect();
        (channels, restored)
    }

    #[tokio::test]
    async fn every_restored_channel_s_spent_version_is_recorded() {
        let store = Arc::new(MemStore::default());
        let (channels, mut restored) = restored(&store);
        let before = store.commit_count();
        record_restart_spent(&channels, &mut restored).await;
        assert_eq!(
            store.commit_count(),
            before + 1,
            "one commit for a few channels"
        );
        // Channel 1 is at version 4; channel 2 has its proposal of 8 in the pending slot.
        for ((id, channel), spent) in restored.iter().zip([5u64, 9]) {
            let key = schema::channel_key(id, schema::Slot::Spent);
            assert_eq!(
                store.contents().get(&key),
                Some(&PersistRecord::Spent(spent).encode())
            );
            assert_eq!(channel.highest_signed_version(), spent);
            assert_eq!(channel.unrecorded_restart_spent(), None);
            let again = channels.restore_channel(id).unwrap().unwrap();
            assert_eq!(again.spent, spent);
            // The next restart spends the version above it.
            assert_eq!(
                Channel::restore(again).unwrap().unrecorded_restart_spent(),
                Some(spent + 1)
            );
        }
    }

    #[tokio::test]
    async fn a_failed_record_leaves_each_first_proposal_to_its_own_record() {
        let store = Arc::new(MemStore::default());
        let (channels, mut restored) = restored(&store);
        store.fail_commits(true);
        record_restart_spent(&channels, &mut restored).await;
        for (_, channel) in &restored {
            assert_eq!(
                channel.unrecorded_restart_spent(),
                Some(channel.highest_signed_version() + 1)
            );
        }
    }
}
