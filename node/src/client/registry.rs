//! The node's running channels: each one's task handle, its members (the node of each
//! participant), and its status, which API calls wait on. [`Registry`] is the one service
//! that owns them.
//!
//! A channel's status has two writers, each for its own fields: the channel task writes the
//! phase the moment the channel enters it (through its [`StatusCell`]), and the channel's
//! chain-side owner (`client::onchain`) writes what it does on chain.

use super::channel_task::{ChannelHandle, Ending};
use crate::protocol::Phase;
use crate::store::ChannelMembers;
use crate::wire::NodeId;
use parley_plugin_api::model::{Amount, Asset, ChainTime, ChannelId, Dispute, State};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// Where a channel is, as API calls wait on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelStatus {
    /// The channel's phase, written by its task as it enters it.
    pub phase: Phase,
    /// The last failure of the chain side (funding timed out, conclude refused, ...), cleared
    /// when the channel moves on.
    pub problem: Option<String>,
    /// Why the channel left its normal course (a funding that timed out, a peer that did not
    /// answer the final update, a registration seen on chain); kept across phases.
    pub reason: Option<String>,
    /// What the node is doing on chain for the channel, or did last (kept across phases).
    pub note: Option<String>,
    /// The channel's on-chain record as last read, and the chain time of that reading.
    pub dispute: Option<(Dispute, ChainTime)>,
    /// The state on record of an app channel in dispute, as the chain returned it (for moves
    /// on chain it may be signed by its actor only: never a signed state of the channel).
    pub on_record: Option<State>,
    /// Why the channel's state cannot be written (a store outage), until the store works
    /// again. Ends every wait on the channel: nothing moves off chain meanwhile.
    pub store: Option<String>,
}

impl ChannelStatus {
    /// One line for people: a store outage or the problem if there is one, else why the
    /// channel left its normal course and what the node is doing about it.
    pub fn describe(&self) -> Option<String> {
        if let Some(store) = &self.store {
            return Some(store.clone());
        }
        if let Some(problem) = &self.problem {
            return Some(problem.clone());
        }
        let parts: Vec<&str> = [&self.reason, &self.note]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// A status in `phase` with nothing else known.
    pub fn new(phase: Phase) -> ChannelStatus {
        ChannelStatus {
            phase,
            problem: None,
            reason: None,
            note: None,
            dispute: None,
            on_record: None,
            store: None,
        }
    }
}

/// A channel's status as its task and the registry share it: the task writes the phase into
/// it the moment the phase changes, so nobody reads a phase that lags behind the channel.
pub type StatusCell = Arc<watch::Sender<ChannelStatus>>;

/// A fresh status for a channel in `phase`, to hand to its task and to [`Registry::insert`].
pub fn status_cell(phase: Phase) -> StatusCell {
    Arc::new(watch::Sender::new(ChannelStatus::new(phase)))
}

/// Records that the channel entered `phase`; clears an old problem (it belonged to the
/// phase before).
pub fn enter_phase(status: &StatusCell, phase: Phase) {
    status.send_if_modified(|status| {
        let changed = status.phase != phase;
        if changed {
            status.phase = phase;
            status.problem = None;
        }
        changed
    });
}

/// One running channel.
#[derive(Debug)]
struct ChannelEntry {
    /// Its task.
    handle: ChannelHandle,
    /// The node of each other participant; none known if the record was lost (the channel is
    /// watched and can be settled on chain, but not used).
    members: ChannelMembers,
    /// The channel's assets, in allocation order (fixed for the channel's life): what a
    /// payment's asset name resolves against without asking the task.
    assets: Vec<Asset>,
    /// Its status, shared with its task; API calls subscribe to it.
    status: StatusCell,
    /// Whether the watcher refutes an older registration. Cleared only on test nodes that
    /// registered an old state themselves to cheat.
    refute: bool,
}

/// A running channel as one lookup saw it: copies, so that no lock outlives the lookup.
#[derive(Clone, Debug)]
pub struct RunningChannel {
    /// Its task.
    pub handle: ChannelHandle,
    /// The two-party view of its members: the one other node; `None` if its members record was
    /// lost (or, in a channel of more than two, always: read `members` there).
    pub peer: Option<NodeId>,
    /// The node of each participant.
    pub members: ChannelMembers,
    /// Its phase.
    pub phase: Phase,
    /// Whether the watcher refutes an older registration.
    pub refute: bool,
    /// Its assets, in allocation order.
    pub assets: Vec<Asset>,
}

/// A stored channel whose record cannot be restored: no task runs for it, but it is watched
/// on chain and listed with its problem.
#[derive(Clone, Debug)]
pub struct DamagedChannel {
    /// The peer, if its link survived.
    pub peer: Option<NodeId>,
    /// What is wrong, for people.
    pub problem: String,
    /// The channel's on-chain record as last seen, and the chain time of that reading.
    pub dispute: Option<(Dispute, ChainTime)>,
}

#[derive(Debug, Default)]
struct Entries {
    channels: HashMap<ChannelId, ChannelEntry>,
    damaged: HashMap<ChannelId, DamagedChannel>,
    /// The intermediaries' fee each virtual channel we proposed pays with its lock in our
    /// ledger channel (not persisted: a proposer restarted before the lock proposes it
    /// without the fee, which the intermediary refuses, and the opening lapses).
    lock_fees: HashMap<ChannelId, Amount>,
}

/// The channel registry: every running channel by id, and the damaged ones that cannot run.
///
/// It owns its map behind a lock that only its own methods take, each for one lookup or
/// change, so no caller can hold it across an `await`; what a lookup returns is a copy.
#[derive(Debug, Default)]
pub struct Registry {
    entries: Mutex<Entries>,
}

impl Registry {
    /// Every critical section is a single map operation, so a panic while holding the lock
    /// cannot leave the map half-changed and a poisoned lock is still usable.
    fn entries(&self) -> MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `change` on the status of channel `id`, if it runs.
    fn with_status(&self, id: &ChannelId, change: impl FnOnce(&StatusCell)) {
        if let Some(entry) = self.entries().channels.get(id) {
            change(&entry.status);
        }
    }

    /// Adds a channel with `members` and its `status` (shared with its task); replaces
    /// nothing (`false` if the id is taken).
    pub fn insert(
        &self,
        handle: ChannelHandle,
        members: ChannelMembers,
        assets: Vec<Asset>,
        status: StatusCell,
    ) -> bool {
        let id = handle.id();
        let mut entries = self.entries();
        if entries.channels.contains_key(&id) {
            return false;
        }
        entries.channels.insert(
            id,
            ChannelEntry {
                handle,
                members,
                assets,
                status,
                refute: true,
            },
        );
        true
    }

    /// Whether channel `id` runs.
    pub fn contains(&self, id: &ChannelId) -> bool {
        self.entries().channels.contains_key(id)
    }

    /// The channel `id`, if it runs.
    pub fn get(&self, id: &ChannelId) -> Option<RunningChannel> {
        self.entries().channels.get(id).map(|entry| RunningChannel {
            handle: entry.handle.clone(),
            peer: entry.members.peer(),
            members: entry.members.clone(),
            phase: entry.status.borrow().phase,
            refute: entry.refute,
            assets: entry.assets.clone(),
        })
    }

    /// The phase of channel `id`, if it runs.
    pub fn phase(&self, id: &ChannelId) -> Option<Phase> {
        self.entries()
            .channels
            .get(id)
            .map(|entry| entry.status.borrow().phase)
    }

    /// The task handle and the peer (the two-party view of the members) of channel `id`, if
    /// it runs.
    pub fn handle_and_peer(&self, id: &ChannelId) -> Option<(ChannelHandle, Option<NodeId>)> {
        self.entries()
            .channels
            .get(id)
            .map(|entry| (entry.handle.clone(), entry.members.peer()))
    }

    /// The task handle of channel `id`, if it runs, and the participant index `node` holds in
    /// it (`None` if `node` is not a member).
    pub fn handle_and_index(
        &self,
        id: &ChannelId,
        node: &NodeId,
    ) -> Option<(ChannelHandle, Option<usize>)> {
        self.entries()
            .channels
            .get(id)
            .map(|entry| (entry.handle.clone(), entry.members.index_of(node)))
    }

    /// The status of channel `id` now, if it runs.
    pub fn status(&self, id: &ChannelId) -> Option<ChannelStatus> {
        self.entries()
            .channels
            .get(id)
            .map(|entry| entry.status.borrow().clone())
    }

    /// Follows the status of channel `id`, if it runs.
    pub fn subscribe(&self, id: &ChannelId) -> Option<watch::Receiver<ChannelStatus>> {
        self.entries()
            .channels
            .get(id)
            .map(|entry| entry.status.subscribe())
    }

    /// Sets whether the watcher refutes an older registration of channel `id`.
    pub fn set_refute(&self, id: &ChannelId, refute: bool) {
        if let Some(entry) = self.entries().channels.get_mut(id) {
            entry.refute = refute;
        }
    }

    /// The handles of every channel `peer` is a member of.
    pub fn with_peer(&self, peer: &NodeId) -> Vec<ChannelHandle> {
        self.entries()
            .channels
            .values()
            .filter(|entry| entry.members.contains(peer))
            .map(|entry| entry.handle.clone())
            .collect()
    }

    /// Whether any channel runs that `peer` is a member of.
    pub fn has_peer(&self, peer: &NodeId) -> bool {
        self.entries()
            .channels
            .values()
            .any(|entry| entry.members.contains(peer))
    }

    /// How many running channels are in each phase (phases without one left out), in phase
    /// order.
    pub fn phase_counts(&self) -> Vec<(Phase, u64)> {
        let mut counts: Vec<(Phase, u64)> = Vec::new();
        for entry in self.entries().channels.values() {
            let phase = entry.status.borrow().phase;
            match counts.iter_mut().find(|(p, _)| *p == phase) {
                Some((_, count)) => *count += 1,
                None => counts.push((phase, 1)),
            }
        }
        counts.sort_by_key(|(phase, _)| *phase);
        counts
    }

    /// Every channel's handle and peer (the two-party view of its members), in no particular
    /// order.
    pub fn all(&self) -> Vec<(ChannelHandle, Option<NodeId>)> {
        self.entries()
            .channels
            .values()
            .map(|entry| (entry.handle.clone(), entry.members.peer()))
            .collect()
    }

    /// Records a failure of the chain side of channel `id`.
    pub fn set_problem(&self, id: &ChannelId, problem: String) {
        self.with_status(id, |status| {
            status.send_modify(|status| status.problem = Some(problem))
        });
    }

    /// Records what the node is doing on chain for channel `id`; clears an old problem.
    pub fn set_note(&self, id: &ChannelId, note: String) {
        self.with_status(id, |status| {
            status.send_modify(|status| {
                status.note = Some(note);
                status.problem = None;
            })
        });
    }

    /// Records why channel `id` left its normal course (the first reason stays).
    pub fn set_reason(&self, id: &ChannelId, reason: String) {
        self.with_status(id, |status| {
            status.send_modify(|status| {
                status.reason.get_or_insert(reason);
            })
        });
    }

    /// How channel `id` ended, as its status tells it now (for its archive record).
    pub fn ending(&self, id: &ChannelId) -> Ending {
        self.status(id)
            .map(|status| Ending {
                note: status.describe(),
                dispute: status.dispute,
            })
            .unwrap_or_default()
    }

    /// Records the channel's on-chain record as read at chain time `now`.
    pub fn set_dispute(&self, id: &ChannelId, dispute: Option<Dispute>, now: ChainTime) {
        self.with_status(id, |status| {
            status.send_if_modified(|status| {
                let new = dispute.map(|d| (d, now));
                let changed = status.dispute != new;
                status.dispute = new;
                changed
            });
        });
    }

    /// Records the state on record of channel `id` as read from the chain.
    pub fn set_on_record(&self, id: &ChannelId, state: Option<State>) {
        self.with_status(id, |status| {
            status.send_if_modified(|status| {
                let changed = status.on_record != state;
                status.on_record = state;
                changed
            });
        });
    }

    /// Records a store outage of channel `id` (`None`: the store works again).
    pub fn set_store(&self, id: &ChannelId, outage: Option<String>) {
        self.with_status(id, |status| {
            status.send_modify(|status| status.store = outage)
        });
    }

    /// Drops channel `id` (archived: its task has ended); waiters see the channel closed.
    pub fn remove(&self, id: &ChannelId) {
        let mut entries = self.entries();
        entries.channels.remove(id);
        entries.lock_fees.remove(id);
    }

    /// Records the intermediaries' fee virtual channel `id` pays with its lock.
    pub fn set_lock_fee(&self, id: ChannelId, fee: Amount) {
        self.entries().lock_fees.insert(id, fee);
    }

    /// The intermediaries' fee virtual channel `id` pays with its lock (zero if none).
    pub fn lock_fee(&self, id: &ChannelId) -> Amount {
        self.entries()
            .lock_fees
            .get(id)
            .copied()
            .unwrap_or(Amount::ZERO)
    }

    /// Adds a channel whose record cannot be restored.
    pub fn insert_damaged(&self, id: ChannelId, peer: Option<NodeId>, problem: String) {
        self.entries().damaged.insert(
            id,
            DamagedChannel {
                peer,
                problem,
                dispute: None,
            },
        );
    }

    /// The damaged channel `id`, if it is one.
    pub fn damaged(&self, id: &ChannelId) -> Option<DamagedChannel> {
        self.entries().damaged.get(id).cloned()
    }

    /// Every damaged channel.
    pub fn all_damaged(&self) -> Vec<(ChannelId, DamagedChannel)> {
        self.entries()
            .damaged
            .iter()
            .map(|(id, damaged)| (*id, damaged.clone()))
            .collect()
    }

    /// Records what the chain shows for damaged channel `id`.
    pub fn set_damaged_dispute(&self, id: &ChannelId, dispute: Dispute, now: ChainTime) {
        if let Some(damaged) = self.entries().damaged.get_mut(id) {
            damaged.dispute = Some((dispute, now));
        }
    }

    /// Drops every entry (their tasks stop once the last handle is gone).
    pub fn clear(&self) {
        let mut entries = self.entries();
        entries.channels.clear();
        entries.damaged.clear();
    }
}

/// Waits until `status` satisfies `done`, or until the channel's store fails, or it has a
/// problem that `ends_wait` says ends the wait (some problems are retried by the node, and
/// waiting goes on through them).
pub async fn wait_for_status(
    mut status: watch::Receiver<ChannelStatus>,
    done: impl Fn(&ChannelStatus) -> bool,
    ends_wait: impl Fn(&ChannelStatus) -> bool,
) -> Result<ChannelStatus, String> {
    loop {
        {
            let now = status.borrow_and_update();
            if done(&now) {
                return Ok(now.clone());
            }
            if let Some(outage) = &now.store {
                return Err(outage.clone());
            }
            if let Some(problem) = now.problem.as_ref().filter(|_| ends_wait(&now)) {
                return Err(problem.clone());
            }
        }
        if status.changed().await.is_err() {
            return Err("the node is shutting down".to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::NodeKey;

    fn node(n: u8) -> NodeId {
        NodeKey::from_secret_bytes(&[n; 32]).unwrap().node_id()
    }

    fn register(registry: &Registry, n: u8, members: ChannelMembers) -> ChannelId {
        let id = ChannelId([n; 32]);
        let (handle, _inbox) = ChannelHandle::detached(id);
        assert!(registry.insert(handle, members, Vec::new(), status_cell(Phase::Active)));
        id
    }

    #[test]
    fn a_channel_is_with_every_node_that_holds_one_of_its_participants() {
        let registry = Registry::default();
        let three = register(
            &registry,
            1,
            ChannelMembers {
                nodes: vec![None, Some(node(2)), Some(node(3))],
            },
        );
        let two = register(&registry, 2, ChannelMembers::two_party(1, node(3)));
        let ids = |peer: u8| {
            let mut ids: Vec<ChannelId> = registry
                .with_peer(&node(peer))
                .iter()
                .map(|h| h.id())
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(2), vec![three]);
        assert_eq!(ids(3), vec![three, two]);
        assert!(registry.has_peer(&node(2)) && registry.has_peer(&node(3)));
        assert!(!registry.has_peer(&node(4)));
    }

    #[test]
    fn a_sender_resolves_to_its_participant_index_and_the_peer_view_is_two_party_only() {
        let registry = Registry::default();
        let members = ChannelMembers {
            nodes: vec![Some(node(1)), None, Some(node(3))],
        };
        let three = register(&registry, 1, members.clone());
        let two = register(&registry, 2, ChannelMembers::two_party(0, node(5)));
        let index = |id, n| registry.handle_and_index(&id, &node(n)).map(|(_, i)| i);
        assert_eq!(index(three, 1), Some(Some(0)));
        assert_eq!(index(three, 3), Some(Some(2)));
        assert_eq!(index(three, 5), Some(None), "not a member");
        assert_eq!(index(two, 5), Some(Some(1)));
        assert!(registry
            .handle_and_index(&ChannelId([9; 32]), &node(1))
            .is_none());

        let running = registry.get(&three).unwrap();
        assert_eq!(running.members, members);
        assert_eq!(running.peer, None, "three parties have no single peer");
        assert_eq!(registry.get(&two).unwrap().peer, Some(node(5)));
        assert_eq!(registry.handle_and_peer(&two).unwrap().1, Some(node(5)));
    }
}
