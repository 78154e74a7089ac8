//! [`NodeCore`]: the node's shared state and the steps every path goes through: opening a
//! channel (ours or the peer's proposal), spawning and registering its task, reaching peers.
//!
//! The peer-event dispatcher, the chain-side lifecycle and the API methods all work through
//! this one value (behind an `Arc`). Its locks are plain mutexes held only for map lookups and
//! inserts, never across an `await`.

use super::book::PeerBook;
use super::channel_policy::SharedPolicy;
use super::channel_task::{channel_task, ChannelDeps, ChannelHandle, ChannelReport};
use super::error::Error;
use super::events::SharedSink;
use super::misbehaviour::ChannelMisbehaviour;
use super::peers::Peers;
use super::proposals::Proposals;
use super::registry::Registry;
use crate::config::{LimitsSection, PolicySection, TestingSection};
use crate::protocol::{
    Channel, ChannelMessage, ChannelProposal, Effect, OpenError, ProposalAccept,
};
use crate::store::node_records::link_op;
use crate::store::ChannelStore;
use crate::wire::NodeId;
use parley_plugin_api::model::{ChainInfo, ChannelId, Participant};
use parley_plugin_api::ChainBackend;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// Why an accepted proposal did not become a running channel.
#[derive(Debug, thiserror::Error)]
pub enum OpenChannelError {
    /// The protocol refused the proposal or the accept, or could not sign.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A channel with the same id already runs (a replayed proposal and accept).
    #[error("channel {0} is already open")]
    AlreadyOpen(ChannelId),
}

/// Everything the node's tasks and API methods share.
pub struct NodeCore {
    /// This node's identity.
    pub node_id: NodeId,
    /// The chain backend's description.
    pub chain_info: ChainInfo,
    /// Signs, verifies, funds and settles.
    pub chain: Arc<dyn ChainBackend>,
    /// The chain account this node pays from and signs states with.
    pub account: Option<Participant>,
    /// Where this node accepts peers.
    pub listen_address: String,
    /// The connections to peers.
    pub peers: Peers,
    /// Where channels and the node's records are persisted.
    pub store: Arc<ChannelStore>,
    /// Where followers of the node (the API's subscribers) hear about changes.
    pub events: SharedSink,
    /// `[policy]`.
    pub policy: PolicySection,
    /// `[limits]` (those on peers' frames are applied by `peers`).
    pub limits: LimitsSection,
    /// `[testing]`: misbehaviour switches for test nodes (all off on real nodes).
    pub testing: TestingSection,
    /// How channel tasks answer the peer's updates.
    pub incoming_policy: SharedPolicy,
    /// Where channel tasks report phases, store outages and peer faults (to the lifecycle).
    pub reports: UnboundedSender<(ChannelId, ChannelReport)>,
    /// Known peers.
    pub book: PeerBook,
    /// Running channels.
    pub registry: Registry,
    /// Proposals in flight.
    pub proposals: Proposals,
    /// Peers a reconnect loop is running for.
    pub redialing: Mutex<HashSet<NodeId>>,
}

/// Locks `mutex`; every critical section here is a single map operation, so a panic while
/// holding the lock cannot leave the map half-changed and a poisoned lock is still usable.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs one of the chain backend's waiting calls on a blocking thread, keeping the async
/// runtime free; the plugin's error (or a panic) becomes its message.
pub async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, parley_plugin_api::PluginError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(call).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(error) => Err(format!("the chain call panicked: {error}")),
    }
}

/// 32 random bytes (proposal ids, nonce shares).
pub fn random_32() -> Result<[u8; 32], Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::internal(format!("the OS random source failed: {e}")))?;
    Ok(bytes)
}

impl NodeCore {
    /// The account, or the error every chain-side method gives without one.
    pub fn account(&self) -> Result<&Participant, Error> {
        self.account.as_ref().ok_or_else(|| {
            Error::unavailable(
                "the chain backend has no account for this node; configure one in [chain]",
            )
        })
    }

    /// Starts the task of a channel and registers it: one just opened with `peer` (`initial`
    /// are the effects of its opening; its first batch also records its peer link), or one
    /// restored (`initial` empty; `peer` is `None` if its link was lost).
    pub fn start_channel(
        &self,
        channel: Channel,
        initial: Vec<Effect>,
        peer: Option<NodeId>,
        opened: bool,
    ) -> ChannelHandle {
        let id = channel.id();
        let phase = channel.phase();
        let assets = channel.latest().allocation.assets.clone();
        let first_writes = match peer {
            Some(peer) if opened => vec![link_op(&id, &peer)],
            _ => Vec::new(),
        };
        let deps = ChannelDeps {
            peer,
            link: self.peers.clone(),
            chain: self.chain.clone(),
            store: self.store.clone(),
            events: self.events.clone(),
            policy: self.incoming_policy.clone(),
            reports: Some(self.reports.clone()),
            keep_history: self.testing.allow_misbehaviour,
            first_writes,
            misbehaviour: ChannelMisbehaviour::from_testing(&self.testing),
        };
        let (handle, task) = channel_task(channel, initial, deps);
        let inserted = self.registry.insert(handle.clone(), peer, assets, phase);
        if !inserted {
            tracing::error!(channel = %id, "a channel with this id is already running");
        }
        // The lifecycle starts the chain side of the phase: a restored channel resumes funding
        // or settling, and an opening is given until its funding timeout. Registered and
        // reported before the task runs, so that its own reports (a failed first write) follow.
        let _ = self.reports.send((id, ChannelReport::Phase(phase)));
        let task = tokio::spawn(task);
        tokio::spawn(async move {
            match task.await {
                Ok(()) => tracing::debug!(channel = %id, "channel task ended"),
                Err(error) => tracing::error!(channel = %id, %error, "channel task panicked"),
            }
        });
        handle
    }

    /// Opens the channel of `proposal` accepted by `accept`, as participant `me`, with
    /// `peer`: the protocol signs version 0, and the task persists it and sends our
    /// signature (preceded by `first`, if given: the accepter's `ProposalAccept`).
    pub fn open_channel(
        &self,
        proposal: &ChannelProposal,
        accept: &ProposalAccept,
        me: &Participant,
        peer: NodeId,
        first: Option<ChannelMessage>,
    ) -> Result<ChannelId, OpenChannelError> {
        let chain = &*self.chain;
        let (channel, mut effects) = Channel::open(proposal, accept, me, chain, chain)?;
        let id = channel.id();
        if self.registry.contains(&id) {
            return Err(OpenChannelError::AlreadyOpen(id));
        }
        if let Some(first) = first {
            let at = effects
                .iter()
                .position(|e| matches!(e, Effect::Send(_)))
                .unwrap_or(effects.len());
            effects.insert(at, Effect::Send(first));
        }
        self.start_channel(channel, effects, Some(peer), true);
        Ok(id)
    }

    /// Accepts the peer's `proposal`: opens the channel with our own address and a fresh nonce
    /// share, and sends the accept ahead of our opening signature.
    pub fn accept_proposal(
        &self,
        proposal: &ChannelProposal,
        peer: NodeId,
    ) -> Result<ChannelId, Error> {
        let me = self.account()?.clone();
        let accept = ProposalAccept {
            proposal_id: proposal.proposal_id,
            nonce_share: random_32()?,
            participant: me.clone(),
        };
        let first = ChannelMessage::ProposalAccept(accept.clone());
        self.open_channel(proposal, &accept, &me, peer, Some(first))
            .map_err(|e| Error::invalid_request(format!("cannot open the proposed channel: {e}")))
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

    /// Keeps dialing `peer` with growing pauses until it is connected, while it has channels
    /// and an address; at most one loop per peer.
    pub fn redial(self: &Arc<Self>, peer: NodeId) {
        if !lock(&self.redialing).insert(peer) {
            return;
        }
        let core = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(200);
            loop {
                let Some(node) = core.upgrade() else { return };
                let wanted = !node.registry.with_peer(&peer).is_empty()
                    && node.book.address_of(&peer).is_some();
                if !wanted || node.peers.is_connected(&peer) {
                    lock(&node.redialing).remove(&peer);
                    return;
                }
                match node.ensure_connected(peer).await {
                    Ok(()) => {
                        lock(&node.redialing).remove(&peer);
                        return;
                    }
                    Err(error) => tracing::debug!(%peer, "reconnect failed: {}", error.message()),
                }
                drop(node);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        });
    }
}
