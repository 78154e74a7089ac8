//! This node as the intermediary of virtual channels (issue #14): two of its peers, each with
//! a ledger channel with this node, open a channel between them through those two channels,
//! without a transaction and without this node signing anything in the virtual channel.
//!
//! 1. The proposer's node sends a [`VirtualProposal`] naming its ledger channel with us and
//!    the accepter's node. We pick our ledger channel with the accepter, check that both can
//!    lock the virtual channel and that we come out even whatever the ends do in it
//!    ([`check_virtual_route`]), keep a [`Route`], and forward the proposal (naming our
//!    channel with the accepter). The accepter answers the proposer directly; its reject
//!    comes back through us.
//! 2. Each end hands us the virtual channel's fully signed opening state ([`VirtualChild`])
//!    before it proposes the lock in its ledger channel with us; we check every signature and
//!    the channel id, match it to the route and hand it to both of our channels, which then
//!    accept only the exact lock of it.
//! 3. Each end's lock update waits in our channel with it ([`HeldLock`]) until the other
//!    end's lock of the same virtual channel waits in our other channel; then both are
//!    accepted. So we never sign one lock without holding the other end's signed lock of the
//!    same funds: what we pay out of one channel, the other pays back.
//! 4. On close, each end hands us the virtual channel's fully signed final state before it
//!    proposes the merge in its channel with us; that channel merges exactly that outcome.
//!
//! The virtual channel's newest signed state is kept durably (`store/carried.rs`): our ledger
//! channels go on chain with it in a dispute (`onchain/tree.rs`).
//!
//! Left for later (see ARCHITECTURE.md): the two accepts are made durable one after the other,
//! so a crash between them leaves one lock signed until the end proposes the other again;
//! paths of several intermediaries; fees.

pub mod routes;

use super::chain::ChainAccess;
use super::dialer::Dialer;
use super::peers::Peers;
use super::registry::Registry;
use crate::config::HubSection;
use crate::protocol::signer::StateVerifier;
use crate::protocol::tree::{check_virtual_route, Hop};
use crate::protocol::{
    ChannelMessage, Funding, Phase, ProposalReject, VirtualChild, VirtualProposal,
};
use crate::store::carried::carried_op;
use crate::store::ChannelStore;
use crate::wire::NodeId;
use parley_plugin_api::model::{Amount, ChannelId, Participant, SignedState};
use routes::{Held, Route, Routes};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

/// Where our channels hold the ends' locks of the virtual channels we carry, and for how long
/// each waits for its twin.
#[derive(Clone, Debug)]
pub struct VirtualHolds {
    /// Where a held lock is reported.
    pub sender: tokio::sync::mpsc::UnboundedSender<HeldLock>,
    /// How long it waits (`[hub] hold_seconds`).
    pub hold: Duration,
}

/// An end's lock update of a virtual channel that one of our channels holds unanswered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldLock {
    /// Our ledger channel with that end.
    pub parent: ChannelId,
    /// The version of the lock update.
    pub version: u64,
    /// The virtual channel it locks.
    pub child: ChannelId,
}

/// The intermediary service.
pub struct Intermediary {
    own: NodeId,
    registry: Arc<Registry>,
    peers: Peers,
    dialer: Arc<Dialer>,
    chain: Arc<ChainAccess>,
    store: Arc<ChannelStore>,
    /// `[hub]`: whether and how far we carry virtual channels.
    hub: HubSection,
    /// How long a route waits for its locks: the ends' proposal timeout and then some.
    route_lifetime: Duration,
    routes: Mutex<Routes>,
}

impl Intermediary {
    /// The intermediary of node `own`, over the channels of `registry`, reaching peers through
    /// `peers` and `dialer`, checking signatures with `chain`, keeping the virtual channels'
    /// states in `store`, as far as `hub` allows; a route lapses after
    /// `route_lifetime`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        own: NodeId,
        registry: Arc<Registry>,
        peers: Peers,
        dialer: Arc<Dialer>,
        chain: Arc<ChainAccess>,
        store: Arc<ChannelStore>,
        hub: HubSection,
        route_lifetime: Duration,
    ) -> Intermediary {
        Intermediary {
            own,
            registry,
            peers,
            dialer,
            chain,
            store,
            hub,
            route_lifetime,
            routes: Mutex::new(Routes::default()),
        }
    }

    fn routes(&self) -> MutexGuard<'_, Routes> {
        self.routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A proposer's node asks us to carry a virtual channel (step 1 of the module
    /// documentation). Checked and forwarded on a task; a refusal goes back to `from`.
    pub fn on_proposal(self: &Arc<Self>, from: NodeId, message: VirtualProposal) {
        let this = self.clone();
        tokio::spawn(async move {
            let id = message.proposal.proposal_id;
            if let Err(reason) = this.forward(from, message).await {
                tracing::info!(proposal = %id, peer_id = %from, "not carrying a virtual channel: {reason}");
                let reject = ChannelMessage::ProposalReject(ProposalReject {
                    proposal_id: id,
                    reason: format!("the intermediary refused: {reason}"),
                });
                if let Err(error) = this.peers.send(from, &reject).await {
                    tracing::debug!(peer_id = %from, "could not send the reject: {error}");
                }
            }
        });
    }

    async fn forward(&self, from: NodeId, message: VirtualProposal) -> Result<(), String> {
        if !self.hub.serve {
            return Err("this node carries no virtual channels ([hub] serve is off)".to_string());
        }
        if let Some(max) = self.hub.max_lock {
            for row in &message.proposal.balances {
                let total = row
                    .iter()
                    .try_fold(Amount::ZERO, |sum, amount| sum.checked_add(*amount))
                    .ok_or("the virtual channel's total overflows")?;
                if total > max {
                    return Err(format!(
                        "the virtual channel holds {total} of an asset; this node locks at most \
                         {max} per virtual channel ([hub] max_lock)"
                    ));
                }
            }
        }
        let proposer = node_id(&message.proposer_node, "proposer")?;
        let accepter = node_id(&message.accepter_node, "accepter")?;
        if proposer != from {
            return Err("only the proposer's own node may ask for a virtual channel".to_string());
        }
        if accepter == from || accepter == self.own {
            return Err("the accepter must be a third node".to_string());
        }
        let me = self
            .chain
            .account
            .clone()
            .ok_or("this node has no chain account")?;
        let left = self
            .ledger_channel(message.parent, from)
            .await?
            .ok_or_else(|| {
                format!(
                    "this node has no active ledger channel {} with the proposer",
                    message.parent
                )
            })?;
        let proposer_address = other_participant(&left.channel.params.participants, &me)?;
        if message.proposal.proposer != proposer_address {
            return Err(
                "the proposal's proposer is not the proposer's participant in our \
                        ledger channel"
                    .to_string(),
            );
        }
        let left_hop = Hop {
            parent: &left,
            left: &proposer_address,
            right: &me,
        };
        let mut problems = Vec::new();
        let mut chosen = None;
        for (handle, peer) in self.registry.all() {
            if peer != Some(accepter) {
                continue;
            }
            let Some(right) = self.ledger_channel(handle.id(), accepter).await? else {
                continue;
            };
            let accepter_address = other_participant(&right.channel.params.participants, &me)?;
            let right_hop = Hop {
                parent: &right,
                left: &me,
                right: &accepter_address,
            };
            match check_virtual_route(
                &me,
                &left_hop,
                &right_hop,
                &message.proposal,
                &accepter_address,
            ) {
                Ok(()) => {
                    chosen = Some((right.channel.channel_id, accepter_address));
                    break;
                }
                Err(problem) => problems.push(problem),
            }
        }
        let Some((right, accepter_address)) = chosen else {
            return Err(match problems.first() {
                Some(problem) => problem.clone(),
                None => "this node has no active ledger channel with the accepter".to_string(),
            });
        };
        let route = Route {
            proposal: message.proposal.clone(),
            left: message.parent,
            right,
            proposer,
            accepter,
            participants: [proposer_address, accepter_address],
            deadline: Instant::now() + self.route_lifetime,
            opening: None,
            held: [None, None],
        };
        let route_left = route.left;
        self.routes()
            .add(route, Instant::now(), self.hub.pending_per_peer)?;
        let forwarded = ChannelMessage::VirtualProposal(VirtualProposal {
            parent: right,
            ..message
        });
        self.dialer
            .ensure_connected(accepter)
            .await
            .map_err(|e| e.message().to_string())?;
        self.peers
            .send(accepter, &forwarded)
            .await
            .map_err(|e| format!("cannot reach the accepter: {e}"))?;
        tracing::info!(left = %route_left, %right, "forwarded a virtual channel proposal");
        Ok(())
    }

    /// Our channel `id` with `peer`, if it is an active ledger channel.
    async fn ledger_channel(
        &self,
        id: ChannelId,
        peer: NodeId,
    ) -> Result<Option<crate::protocol::ChannelSnapshot>, String> {
        let Some(running) = self.registry.get(&id).filter(|r| r.peer == Some(peer)) else {
            return Ok(None);
        };
        let view = running
            .handle
            .snapshot()
            .await
            .map_err(|e| format!("channel {id} cannot be read: {e}"))?;
        let snapshot = view.snapshot;
        Ok(
            (snapshot.funding == Funding::Ledger && snapshot.phase == Phase::Active)
                .then_some(snapshot),
        )
    }

    /// The accepter rejected a proposal we forwarded: the reject goes back to its proposer.
    /// Returns whether it was one of ours to relay.
    pub fn relay_reject(self: &Arc<Self>, from: NodeId, reject: &ProposalReject) -> bool {
        let Some(route) = self.routes().take_rejected(&reject.proposal_id, &from) else {
            return false;
        };
        let message = ChannelMessage::ProposalReject(reject.clone());
        let peers = self.peers.clone();
        tokio::spawn(async move {
            if let Err(error) = peers.send(route.proposer, &message).await {
                tracing::debug!(peer_id = %route.proposer, "could not relay the reject: {error}");
            }
        });
        true
    }

    /// An end hands us the virtual channel's fully signed opening or final state (steps 2
    /// and 4). Checked here and now (so that our channel knows it before the end's lock or
    /// merge update, which follows on the same connection, reaches it); dropped with a log
    /// line if it does not check out.
    pub fn on_child(&self, from: NodeId, message: VirtualChild) {
        let VirtualChild { parent, child } = message;
        let id = child.state.channel_id;
        if let Err(problem) = self.check_signed(&child) {
            tracing::warn!(peer_id = %from, channel = %id, "dropped a virtual channel's state: {problem}");
            return;
        }
        let Some(running) = self.registry.get(&parent).filter(|r| r.peer == Some(from)) else {
            tracing::debug!(peer_id = %from, %parent, "dropped a virtual channel's state for no channel of ours with that peer");
            return;
        };
        if child.state.is_final {
            // Kept if we carry it (its newest state goes on chain with our channels); our
            // channel merges it only while it locks it (it drops it otherwise).
            if matches!(self.store.carried(&id), Ok(Some(_))) {
                self.keep(&child);
            }
            let _ = running.handle.know_child(child);
            return;
        }
        let parents = {
            let mut routes = self.routes();
            routes
                .match_opening(parent, &child, Instant::now())
                .map(|route| [route.left, route.right])
        };
        let Some(parents) = parents else {
            tracing::debug!(peer_id = %from, channel = %id, "dropped a virtual channel's opening state that no route of ours carries");
            return;
        };
        for channel in parents {
            if let Some(running) = self.registry.get(&channel) {
                let _ = running.handle.know_child(child.clone());
            }
        }
    }

    /// Keeps `child` as the newest state of a virtual channel we carry (in the background: the
    /// write is queued now, in order).
    fn keep(&self, child: &SignedState) {
        let id = child.state.channel_id;
        let stored = self.store.commit(vec![carried_op(child)]);
        tokio::spawn(async move {
            if let Err(error) = stored.await {
                tracing::warn!(channel = %id, "cannot keep the state of a virtual channel this node carries: {error}");
            }
        });
    }

    /// Every participant's signature on the child's state, and its id from its parameters.
    fn check_signed(&self, child: &SignedState) -> Result<(), String> {
        let signer = &self.chain.signer;
        let id = signer
            .channel_id(&child.params)
            .map_err(|e| format!("its channel id cannot be computed: {}", e.message()))?;
        if id != child.state.channel_id {
            return Err("its state is not of the channel its parameters name".to_string());
        }
        if child.sigs.len() != child.params.participants.len() {
            return Err("it lacks a signature".to_string());
        }
        for (sig, participant) in child.sigs.iter().zip(&child.params.participants) {
            let valid = signer
                .verify(&child.state, sig, participant)
                .map_err(|e| format!("a signature cannot be checked: {}", e.0))?;
            if !valid {
                return Err(format!("{participant}'s signature does not verify"));
            }
        }
        Ok(())
    }

    /// Accepts both ends' locks of a virtual channel once both are held (step 3), for as long
    /// as `holds` brings them.
    pub fn spawn_holds(self: &Arc<Self>, mut holds: UnboundedReceiver<HeldLock>) {
        let this = self.clone();
        tokio::spawn(async move {
            while let Some(held) = holds.recv().await {
                let decided = this.routes().hold(held.parent, held.version, held.child);
                let (pair, opening) = match decided {
                    Held::Wait => continue,
                    Held::Ready(ready) => *ready,
                    Held::Decline => {
                        this.decline(held).await;
                        continue;
                    }
                };
                // The virtual channel's state is durable before we sign a lock of it: after a
                // restart, our channels can still go on chain with it.
                if let Err(error) = this.store.commit(vec![carried_op(&opening)]).await {
                    tracing::warn!(child = %held.child, "not locking a virtual channel whose state cannot be kept: {error}");
                    continue;
                }
                for (channel, version) in pair {
                    let Some(running) = this.registry.get(&channel) else {
                        tracing::warn!(%channel, "a held lock's channel stopped");
                        continue;
                    };
                    match running.handle.accept(Some(version)).await {
                        Ok(()) => {
                            tracing::info!(%channel, child = %held.child, version, "locked a virtual channel's funds")
                        }
                        Err(error) => {
                            tracing::warn!(%channel, child = %held.child, version, "could not accept the held lock: {error}")
                        }
                    }
                }
            }
        });
    }
}

impl Intermediary {
    /// Declines the held lock `held` (no route carries it, or it would wait in a circle); its
    /// end proposes it again shortly.
    async fn decline(&self, held: HeldLock) {
        let Some(running) = self.registry.get(&held.parent) else {
            return;
        };
        let reason = "the intermediary cannot lock this virtual channel now (its other ledger \
                      channel is busy with another lock); propose it again";
        if let Err(error) = running.handle.reject(Some(held.version), reason).await {
            tracing::debug!(channel = %held.parent, child = %held.child, "could not decline a held lock: {error}");
        }
    }
}

/// The node id in `bytes` (of the `role` named in the refusal), or why not.
pub(super) fn node_id(
    bytes: &parley_plugin_api::codec::Bytes,
    role: &str,
) -> Result<NodeId, String> {
    let array: [u8; 33] = bytes
        .0
        .as_slice()
        .try_into()
        .map_err(|_| format!("the {role}'s node id is not 33 bytes"))?;
    NodeId::from_bytes(array).map_err(|e| format!("the {role}'s node id: {e}"))
}

/// The one participant of a two-party channel who is not `me`.
pub(super) fn other_participant(
    participants: &[Participant],
    me: &Participant,
) -> Result<Participant, String> {
    match participants {
        [a, b] if a == me => Ok(b.clone()),
        [a, b] if b == me => Ok(a.clone()),
        _ => Err("the ledger channel is not a two-party channel of this node".to_string()),
    }
}
