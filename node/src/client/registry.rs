//! The node's running channels: each one's task handle, its peer, and its status as the node
//! drives it on chain (funding, settling), which API calls wait on.

use super::channel_task::ChannelHandle;
use crate::protocol::Phase;
use crate::wire::NodeId;
use parley_plugin_api::model::{Asset, ChannelId};
use std::collections::HashMap;
use tokio::sync::watch;

/// Where a channel is, as API calls wait on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelStatus {
    /// The phase the channel task last reported.
    pub phase: Phase,
    /// The last failure of the chain side (funding timed out, conclude refused, ...), cleared
    /// when the channel moves on.
    pub problem: Option<String>,
}

/// One running channel.
#[derive(Debug)]
pub struct ChannelEntry {
    /// Its task.
    pub handle: ChannelHandle,
    /// The node on the other side.
    pub peer: NodeId,
    /// The channel's assets, in allocation order (fixed for the channel's life): what a
    /// payment's asset name resolves against without asking the task.
    pub assets: Vec<Asset>,
    /// Its status; API calls subscribe to it.
    pub status: watch::Sender<ChannelStatus>,
}

/// Every running channel, by id.
#[derive(Debug, Default)]
pub struct Registry {
    channels: HashMap<ChannelId, ChannelEntry>,
}

impl Registry {
    /// Adds a channel in `phase`; replaces nothing (`false` if the id is taken).
    pub fn insert(
        &mut self,
        handle: ChannelHandle,
        peer: NodeId,
        assets: Vec<Asset>,
        phase: Phase,
    ) -> bool {
        let id = handle.id();
        if self.channels.contains_key(&id) {
            return false;
        }
        let status = watch::Sender::new(ChannelStatus {
            phase,
            problem: None,
        });
        self.channels.insert(
            id,
            ChannelEntry {
                handle,
                peer,
                assets,
                status,
            },
        );
        true
    }

    /// The channel `id`.
    pub fn get(&self, id: &ChannelId) -> Option<&ChannelEntry> {
        self.channels.get(id)
    }

    /// The handles of every channel with `peer`.
    pub fn with_peer(&self, peer: &NodeId) -> Vec<ChannelHandle> {
        self.channels
            .values()
            .filter(|entry| entry.peer == *peer)
            .map(|entry| entry.handle.clone())
            .collect()
    }

    /// Every channel's handle and peer, in no particular order.
    pub fn all(&self) -> Vec<(ChannelHandle, NodeId)> {
        self.channels
            .values()
            .map(|entry| (entry.handle.clone(), entry.peer))
            .collect()
    }

    /// Records the phase the channel task reported; clears an old problem.
    pub fn set_phase(&self, id: &ChannelId, phase: Phase) {
        if let Some(entry) = self.channels.get(id) {
            entry.status.send_replace(ChannelStatus {
                phase,
                problem: None,
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

    /// Drops every entry (their tasks stop once the last handle is gone).
    pub fn clear(&mut self) {
        self.channels.clear();
    }
}

/// Waits until `status` satisfies `done`, or reports the channel's problem.
pub async fn wait_for_status(
    mut status: watch::Receiver<ChannelStatus>,
    done: impl Fn(&ChannelStatus) -> bool,
) -> Result<ChannelStatus, String> {
    loop {
        {
            let now = status.borrow_and_update();
            if done(&now) {
                return Ok(now.clone());
            }
            if let Some(problem) = &now.problem {
                return Err(problem.clone());
            }
        }
        if status.changed().await.is_err() {
            return Err("the node is shutting down".to_string());
        }
    }
}
