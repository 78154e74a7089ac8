//! The node's running channels: each one's task handle, its peer, and its status as the node
//! drives it on chain (funding, settling), which API calls wait on.

use super::channel_task::{ChannelHandle, Ending};
use crate::protocol::Phase;
use crate::wire::NodeId;
use parley_plugin_api::model::{Asset, ChainTime, ChannelId, Dispute};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{watch, Notify};

/// Where a channel is, as API calls wait on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelStatus {
    /// The phase the channel task last reported.
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
            store: None,
        }
    }
}

/// One running channel.
#[derive(Debug)]
pub struct ChannelEntry {
    /// Its task.
    pub handle: ChannelHandle,
    /// The node on the other side; `None` if its link was lost (the channel is watched and
    /// can be settled on chain, but not used).
    pub peer: Option<NodeId>,
    /// The channel's assets, in allocation order (fixed for the channel's life): what a
    /// payment's asset name resolves against without asking the task.
    pub assets: Vec<Asset>,
    /// Its status; API calls subscribe to it.
    pub status: watch::Sender<ChannelStatus>,
    /// Wakes the channel's dispute driver early (a chain event arrived).
    pub nudge: Arc<Notify>,
    /// Whether a dispute driver runs for the channel (at most one does).
    pub disputing: bool,
    /// Whether the watcher refutes an older registration. Cleared only on test nodes that
    /// registered an old state themselves to cheat.
    pub refute: bool,
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

/// Every running channel, by id, and the damaged ones that cannot run.
#[derive(Debug, Default)]
pub struct Registry {
    channels: HashMap<ChannelId, ChannelEntry>,
    damaged: HashMap<ChannelId, DamagedChannel>,
}

impl Registry {
    /// Adds a channel in `phase`; replaces nothing (`false` if the id is taken).
    pub fn insert(
        &mut self,
        handle: ChannelHandle,
        peer: Option<NodeId>,
        assets: Vec<Asset>,
        phase: Phase,
    ) -> bool {
        let id = handle.id();
        if self.channels.contains_key(&id) {
            return false;
        }
        let status = watch::Sender::new(ChannelStatus::new(phase));
        self.channels.insert(
            id,
            ChannelEntry {
                handle,
                peer,
                assets,
                status,
                nudge: Arc::new(Notify::new()),
                disputing: false,
                refute: true,
            },
        );
        true
    }

    /// The channel `id`.
    pub fn get(&self, id: &ChannelId) -> Option<&ChannelEntry> {
        self.channels.get(id)
    }

    /// The channel `id`, to change its flags.
    pub fn get_mut(&mut self, id: &ChannelId) -> Option<&mut ChannelEntry> {
        self.channels.get_mut(id)
    }

    /// The handles of every channel with `peer`.
    pub fn with_peer(&self, peer: &NodeId) -> Vec<ChannelHandle> {
        self.channels
            .values()
            .filter(|entry| entry.peer == Some(*peer))
            .map(|entry| entry.handle.clone())
            .collect()
    }

    /// Every channel's handle and peer, in no particular order.
    pub fn all(&self) -> Vec<(ChannelHandle, Option<NodeId>)> {
        self.channels
            .values()
            .map(|entry| (entry.handle.clone(), entry.peer))
            .collect()
    }

    /// Records the phase the channel task reported; clears an old problem.
    pub fn set_phase(&self, id: &ChannelId, phase: Phase) {
        if let Some(entry) = self.channels.get(id) {
            entry.status.send_modify(|status| {
                if status.phase != phase {
                    status.phase = phase;
                    status.problem = None;
                }
            });
        }
    }

    /// Records a failure of the chain side of channel `id`.
    pub fn set_problem(&self, id: &ChannelId, problem: String) {
        if let Some(entry) = self.channels.get(id) {
            entry
                .status
                .send_modify(|status| status.problem = Some(problem));
        }
    }

    /// Records what the node is doing on chain for channel `id`; clears an old problem.
    pub fn set_note(&self, id: &ChannelId, note: String) {
        if let Some(entry) = self.channels.get(id) {
            entry.status.send_modify(|status| {
                status.note = Some(note);
                status.problem = None;
            });
        }
    }

    /// Records why channel `id` left its normal course (the first reason stays).
    pub fn set_reason(&self, id: &ChannelId, reason: String) {
        if let Some(entry) = self.channels.get(id) {
            entry.status.send_modify(|status| {
                status.reason.get_or_insert(reason);
            });
        }
    }

    /// How channel `id` ended, as its status tells it now (for its archive record).
    pub fn ending(&self, id: &ChannelId) -> Ending {
        self.channels
            .get(id)
            .map(|entry| {
                let status = entry.status.borrow();
                Ending {
                    note: status.describe(),
                    dispute: status.dispute.clone(),
                }
            })
            .unwrap_or_default()
    }

    /// Records the channel's on-chain record as read at chain time `now`.
    pub fn set_dispute(&self, id: &ChannelId, dispute: Option<Dispute>, now: ChainTime) {
        if let Some(entry) = self.channels.get(id) {
            entry.status.send_if_modified(|status| {
                let new = dispute.map(|d| (d, now));
                let changed = status.dispute != new;
                status.dispute = new;
                changed
            });
        }
    }

    /// Records a store outage of channel `id` (`None`: the store works again).
    pub fn set_store(&self, id: &ChannelId, outage: Option<String>) {
        if let Some(entry) = self.channels.get(id) {
            entry.status.send_modify(|status| status.store = outage);
        }
    }

    /// Drops channel `id` (archived: its task has ended); waiters see the channel closed.
    pub fn remove(&mut self, id: &ChannelId) {
        self.channels.remove(id);
    }

    /// Adds a channel whose record cannot be restored.
    pub fn insert_damaged(&mut self, id: ChannelId, peer: Option<NodeId>, problem: String) {
        self.damaged.insert(
            id,
            DamagedChannel {
                peer,
                problem,
                dispute: None,
            },
        );
    }

    /// The damaged channel `id`, if it is one.
    pub fn damaged(&self, id: &ChannelId) -> Option<&DamagedChannel> {
        self.damaged.get(id)
    }

    /// Every damaged channel.
    pub fn all_damaged(&self) -> Vec<(ChannelId, DamagedChannel)> {
        self.damaged
            .iter()
            .map(|(id, damaged)| (*id, damaged.clone()))
            .collect()
    }

    /// Records what the chain shows for damaged channel `id`.
    pub fn set_damaged_dispute(&mut self, id: &ChannelId, dispute: Dispute, now: ChainTime) {
        if let Some(damaged) = self.damaged.get_mut(id) {
            damaged.dispute = Some((dispute, now));
        }
    }

    /// Drops every entry (their tasks stop once the last handle is gone).
    pub fn clear(&mut self) {
        self.channels.clear();
        self.damaged.clear();
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
