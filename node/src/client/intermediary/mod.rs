//! This node as an intermediary of virtual channels (issue #14): two nodes without a channel
//! between them open one through a path of ledger channels, ours among them, without a
//! transaction and without this node signing anything in the virtual channel.
//!
//! 1. A [`VirtualProposal`] comes from the node before us on the path (the proposer, or the
//!    intermediary before us), naming its ledger channel with us, the accepter, and the
//!    intermediaries still ahead (`path`). We pick our ledger channel with the next node (the
//!    first one ahead, or the accepter), check that both of our channels can lock the virtual
//!    channel with the participant on the proposer's side of each standing in for the
//!    proposer and the other for the accepter, and that we come out even whatever the ends do
//!    in it ([`check_virtual_route`]), keep a [`Route`], and forward the proposal (naming our
//!    channel with the next node, the path after it). The accepter answers the proposer
//!    directly; a reject comes back the way the proposal came.
//! 2. Each end hands its intermediary the virtual channel's fully signed opening state
//!    ([`VirtualChild`]) before it proposes the lock in its ledger channel with it; we check
//!    every signature and the channel id, match it to the route and hand it to both of our
//!    channels with the virtual channel's index map there, which then accept only the exact
//!    lock of it. In a channel with the next intermediary we also send it on, so that the
//!    next one holds it before our lock there.
//! 3. A lock proposed to us waits in our channel ([`HeldLock`]) until our other channel on
//!    the path locks the same virtual channel: held there too (an end's lock, or the previous
//!    intermediary's), or, in our channel with the next intermediary, our own lock signed by
//!    it (we propose that one once we hold the lock on our proposer's side: `lock_next`).
//!    Only then is the held lock accepted. So we never sign a lock without holding the other
//!    side's signature on the twin lock of the same funds: what we pay out of one channel on
//!    chain, the other pays back.
//! 4. On close, each end hands its intermediary the virtual channel's fully signed final state
//!    before it proposes the merge in its channel with it; that channel merges exactly that
//!    outcome. Between two intermediaries the final state is passed on, and the one on the
//!    proposer's side proposes the merge ([`Intermediary::on_child`]).
//!
//! The virtual channel's newest signed state is kept durably (`store/carried.rs`): our ledger
//! channels go on chain with it in a dispute (`onchain/tree.rs`), and once it concluded
//! through one of them, the others follow (`tree::release_carried`).
//!
//! Fees: `[hub] fee_base` and `fee_ppm` set what this node charges to carry a virtual channel;
//! the proposal offers each intermediary its fee (`VirtualProposal::fees`), we refuse less
//! ([`Intermediary::hop_fees`]), and each lock carries the fees of the intermediaries from the
//! right participant of its channel on, paid by the left one (`tree::with_lock_fee`): we are
//! paid ours and those after us with the lock on our proposer's side and pay those after us
//! with the one on the accepter's side, in the same updates that lock the funds.
//!
//! Left for later (see ARCHITECTURE.md): the two accepts are made durable one after the other,
//! so a crash between them leaves one lock signed until the end proposes the other again.

pub mod routes;

use super::chain::ChainAccess;
use super::dialer::Dialer;
use super::onchain::tree::channels_locking;
use super::peers::Peers;
use super::registry::Registry;
use crate::config::HubSection;
use crate::protocol::signer::StateVerifier;
use crate::protocol::tree::{check_virtual_route, participant_index, Hop};
use crate::protocol::{
    ChannelMessage, Funding, Phase, ProposalReject, VirtualChild, VirtualProposal, VirtualTerms,
    MAX_VIRTUAL_PATH,
};
use crate::store::carried::carried_op;
use crate::store::ChannelStore;
use crate::wire::NodeId;
use parley_plugin_api::model::{Amount, ChannelId, Participant, SignedState};
use routes::{Held, LockPair, OurLock, OurLockOutcome, Route, Routes};
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
        let path = path_after_us(&message, self.own, proposer, accepter)?;
        let [fee_in, fee_out] = self.hop_fees(&message)?;
        if accepter == from {
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
                    "this node has no active ledger channel {} with the node before it on the \
                     path",
                    message.parent
                )
            })?;
        // The participant before us stands in for the proposer (is the proposer, at the
        // first intermediary).
        let before = other_participant(&left.channel.params.participants, &me)?;
        if (from == proposer) != (message.proposal.proposer == before) {
            return Err(
                "the proposal's proposer is not the proposer's participant in our ledger \
                 channel"
                    .to_string(),
            );
        }
        let left_hop = Hop {
            parent: &left,
            left: &before,
            right: &me,
            fee: fee_in,
        };
        let next = path.first().copied().unwrap_or(accepter);
        let last = path.is_empty();
        // Before the last hop the accepter's chain address is not known here; an address
        // outside our channels stands for it (its node checks its own hop, and the opening
        // state names it: `Routes::match_opening`).
        let somebody_else = Participant(vec![0; me.0.len()]);
        let mut problems = Vec::new();
        let mut chosen = None;
        for (handle, peer) in self.registry.all() {
            if peer != Some(next) {
                continue;
            }
            let Some(right) = self.ledger_channel(handle.id(), next).await? else {
                continue;
            };
            let after = other_participant(&right.channel.params.participants, &me)?;
            let right_hop = Hop {
                parent: &right,
                left: &me,
                right: &after,
                fee: fee_out,
            };
            let accepter_address = if last { &after } else { &somebody_else };
            match check_virtual_route(
                &me,
                &left_hop,
                &right_hop,
                &message.proposal,
                accepter_address,
            ) {
                Ok(()) => {
                    chosen = Some((right.channel.channel_id, hop_map(&right_hop)?, after));
                    break;
                }
                Err(problem) => problems.push(problem),
            }
        }
        let Some((right, right_map, after)) = chosen else {
            return Err(match problems.first() {
                Some(problem) => problem.clone(),
                None if last => "this node has no active ledger channel with the accepter".into(),
                None => format!(
                    "this node has no active ledger channel with {next}, the next intermediary \
                     on the path"
                ),
            });
        };
        let route = Route {
            proposal: message.proposal.clone(),
            left: message.parent,
            right,
            previous: from,
            next,
            intermediary: me.clone(),
            accepter: last.then_some(after),
            maps: [hop_map(&left_hop)?, right_map],
            fees: [fee_in, fee_out],
            right_is_ours: !last,
            our_lock: OurLock::None,
            deadline: Instant::now() + self.route_lifetime,
            opening: None,
            held: [None, None],
        };
        let route_left = route.left;
        self.routes()
            .add(route, Instant::now(), self.hub.pending_per_peer)?;
        let forwarded = ChannelMessage::VirtualProposal(Box::new(VirtualProposal {
            parent: right,
            path: message.path.iter().skip(1).cloned().collect(),
            fees: message.fees.iter().skip(1).copied().collect(),
            ..message
        }));
        self.dialer
            .ensure_connected(next)
            .await
            .map_err(|e| e.message().to_string())?;
        self.peers
            .send(next, &forwarded)
            .await
            .map_err(|e| format!("cannot reach {next}, the next node on the path: {e}"))?;
        tracing::info!(left = %route_left, %right, "forwarded a virtual channel proposal");
        Ok(())
    }

    /// The fees paid with the locks of `message`'s virtual channel in our two channels: to us
    /// (ours and those after us) and by us (those after us). Refused unless the proposal
    /// names a fee for us and each intermediary after us, or none at all, and ours is at
    /// least what `[hub]` charges for it.
    fn hop_fees(&self, message: &VirtualProposal) -> Result<[Amount; 2], String> {
        let fees = &message.fees;
        let total = message
            .proposal
            .balances
            .first()
            .and_then(Amount::checked_sum)
            .ok_or("the virtual channel's total of its first asset cannot be computed")?;
        let charged = self
            .hub
            .fee_for(total)
            .ok_or("the fee for this virtual channel overflows")?;
        let offered = fees.first().copied().unwrap_or(Amount::ZERO);
        if offered < charged {
            return Err(format!(
                "this node charges a fee of {charged} base units of the first asset to carry \
                 this virtual channel ([hub] fee_base and fee_ppm) and was offered {offered}; \
                 propose it again offering at least {charged} (`--fee`)"
            ));
        }
        if !fees.is_empty() && fees.len() != message.path.len() + 1 {
            return Err(format!(
                "the proposal names {} fees for {} intermediaries; it names one per \
                 intermediary, or none",
                fees.len(),
                message.path.len() + 1
            ));
        }
        let after = Amount::checked_sum(fees.iter().skip(1)).ok_or("the fees overflow")?;
        let all = after.checked_add(offered).ok_or("the fees overflow")?;
        Ok([all, after])
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
            if let Err(error) = peers.send(route.previous, &message).await {
                tracing::debug!(peer_id = %route.previous, "could not relay the reject: {error}");
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
            let _ = running.handle.know_child(child.clone());
            self.merge_between_intermediaries(parent, child);
            return;
        }
        let opened = {
            let mut routes = self.routes();
            routes
                .match_opening(parent, &child, Instant::now())
                .map(|route| (route.clone(), route.right_is_ours))
        };
        let Some((route, right_is_ours)) = opened else {
            tracing::debug!(peer_id = %from, channel = %id, "dropped a virtual channel's opening state that no route of ours carries");
            return;
        };
        for (side, channel) in [route.left, route.right].into_iter().enumerate() {
            let Some(running) = self.registry.get(&channel) else {
                continue;
            };
            let terms = VirtualTerms {
                map: Some(route.maps[side].clone()),
                fee: route.fees[side],
            };
            // The next intermediary must hold it before our lock in our channel with it.
            let share = side == 1 && right_is_ours;
            let _ = running
                .handle
                .know_virtual_child(child.clone(), terms, share);
        }
    }

    /// A virtual channel we carry closed with the final state `child`, which came through our
    /// channel `came_through`: our channels with other intermediaries that lock it learn it
    /// (and the intermediary there, unless it sent it), and in each of them where we stand in
    /// for the proposer we propose the merge (an end merges its own channel with us).
    fn merge_between_intermediaries(&self, came_through: ChannelId, child: SignedState) {
        let registry = self.registry.clone();
        tokio::spawn(async move {
            let id = child.state.channel_id;
            for (handle, snapshot) in channels_locking(&registry, id).await {
                let members = &snapshot.channel.params.participants;
                if members
                    .iter()
                    .any(|p| child.params.participants.contains(p))
                {
                    continue;
                }
                if handle.id() != came_through {
                    let _ = handle.share_child(child.clone());
                }
                let lock = snapshot
                    .latest
                    .state
                    .allocation
                    .locked
                    .iter()
                    .find(|s| s.id == id);
                let stands_in_for_proposer =
                    lock.and_then(|l| l.index_map.first()) == Some(&snapshot.channel.my_index);
                if stands_in_for_proposer {
                    tokio::spawn(async move {
                        match handle.merge_child(id).await {
                            Ok(version) => {
                                tracing::info!(channel = %handle.id(), child = %id, version, "merged a closed virtual channel with the next intermediary")
                            }
                            Err(error) => {
                                tracing::debug!(channel = %handle.id(), child = %id, "did not merge a closed virtual channel: {error}")
                            }
                        }
                    });
                }
            }
        });
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

    /// Accepts the held locks of a virtual channel once both of our channels on its path lock
    /// it (step 3), for as long as `holds` brings them; proposes our own lock in a channel with
    /// the next intermediary first.
    pub fn spawn_holds(self: &Arc<Self>, mut holds: UnboundedReceiver<HeldLock>) {
        let this = self.clone();
        tokio::spawn(async move {
            while let Some(held) = holds.recv().await {
                let decided = this.routes().hold(held.parent, held.version, held.child);
                match decided {
                    Held::Wait => {}
                    Held::Ready(ready) => {
                        this.accept_held(held.child, *ready).await;
                    }
                    Held::Decline => this.decline(held.parent, held.version, held.child).await,
                    Held::Propose(own) => {
                        let this = this.clone();
                        tokio::spawn(async move { this.lock_next(held, *own).await });
                    }
                }
            }
        });
    }

    /// Accepts the held locks of virtual channel `child`, once its opening state is durable
    /// (after a restart, our channels can still go on chain with it). Returns whether all were
    /// accepted.
    async fn accept_held(&self, child: ChannelId, (held, opening): LockPair) -> bool {
        if let Err(error) = self.store.commit(vec![carried_op(&opening)]).await {
            tracing::warn!(%child, "not locking a virtual channel whose state cannot be kept: {error}");
            return false;
        }
        let mut all = true;
        for (channel, version) in held {
            let Some(running) = self.registry.get(&channel) else {
                tracing::warn!(%channel, "a held lock's channel stopped");
                all = false;
                continue;
            };
            match running.handle.accept(Some(version)).await {
                Ok(()) => {
                    tracing::info!(%channel, %child, version, "locked a virtual channel's funds")
                }
                Err(error) => {
                    all = false;
                    tracing::warn!(%channel, %child, version, "could not accept the held lock: {error}")
                }
            }
        }
        all
    }

    /// We hold the lock of `held` and are the intermediary on the proposer's side of our
    /// channel with the next one: we propose our lock there (`own`), and only once the next
    /// intermediary signed it accept the held one. Each of us then holds the other's signature
    /// on the lock where it stands in for the accepter, so neither can be left paying out in
    /// one channel what it does not get back in the other. The held lock is kept from lapsing
    /// meanwhile; if ours is refused, the held one is declined and its end proposes it again.
    async fn lock_next(&self, held: HeldLock, own: routes::OwnLock) {
        let child = held.child;
        if let Err(error) = self.store.commit(vec![carried_op(&own.opening)]).await {
            tracing::warn!(%child, "not locking a virtual channel whose state cannot be kept: {error}");
            self.answered(&own.proposal, false).await;
            return;
        }
        if let Some(running) = self.registry.get(&held.parent) {
            // Longer than the next intermediary holds ours before it declines it.
            let _ = running.handle.hold_longer(held.version, self.hub.hold * 3);
        }
        let locked = match self.registry.get(&own.channel) {
            None => false,
            Some(running) => {
                let already = running.handle.snapshot().await.is_ok_and(|view| {
                    view.snapshot
                        .latest
                        .state
                        .allocation
                        .locked
                        .iter()
                        .any(|s| s.id == child)
                });
                already
                    || match running.handle.lock_child(child).await {
                        Ok(version) => {
                            tracing::info!(channel = %own.channel, %child, version, "locked a virtual channel's funds with the next intermediary");
                            true
                        }
                        Err(error) => {
                            tracing::info!(channel = %own.channel, %child, "the next intermediary did not lock the virtual channel: {error}");
                            false
                        }
                    }
            }
        };
        self.answered(&own.proposal, locked).await;
    }

    /// Our own lock of route `proposal` was answered: accept or decline the held one.
    async fn answered(&self, proposal: &crate::protocol::ProposalId, locked: bool) {
        let outcome = self.routes().our_lock_answered(proposal, locked);
        match outcome {
            OurLockOutcome::Nothing => {}
            OurLockOutcome::Accept(ready) => {
                let child = ready.1.state.channel_id;
                if self.accept_held(child, *ready).await {
                    self.routes().remove(proposal);
                }
            }
            OurLockOutcome::Decline((channel, version, child)) => {
                self.decline(channel, version, child).await;
            }
        }
    }
}

impl Intermediary {
    /// Declines the held lock `version` of `child` in `parent` (no route carries it, it would
    /// wait in a circle, or our own lock with the next intermediary was refused); its proposer
    /// proposes it again shortly.
    async fn decline(&self, parent: ChannelId, version: u64, child: ChannelId) {
        let Some(running) = self.registry.get(&parent) else {
            return;
        };
        let held = HeldLock {
            parent,
            version,
            child,
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

/// The intermediaries still ahead after us on `message`'s path (checked: none twice, none an
/// end, not us, at most [`MAX_VIRTUAL_PATH`]).
fn path_after_us(
    message: &VirtualProposal,
    own: NodeId,
    proposer: NodeId,
    accepter: NodeId,
) -> Result<Vec<NodeId>, String> {
    if message.path.len() > MAX_VIRTUAL_PATH {
        return Err(format!(
            "the path names {} more intermediaries; at most {MAX_VIRTUAL_PATH} are carried",
            message.path.len()
        ));
    }
    let path = message
        .path
        .iter()
        .map(|bytes| node_id(bytes, "intermediary"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = vec![own, proposer, accepter];
    if proposer == own || accepter == own || proposer == accepter {
        return Err("the proposer, the accepter and this node must be three nodes".to_string());
    }
    for node in &path {
        if seen.contains(node) {
            return Err(format!(
                "the path names {node} twice, or an end or this node as an intermediary"
            ));
        }
        seen.push(*node);
    }
    Ok(path)
}

/// The index map of a virtual channel in `hop`: its left participant stands in for the
/// proposer, its right one for the accepter.
fn hop_map(hop: &Hop<'_>) -> Result<Vec<u16>, String> {
    let params = &hop.parent.channel.params;
    let index = |who: &Participant| {
        participant_index(params, who)
            .ok_or_else(|| "a hop's participant is not in its channel".to_string())
    };
    Ok(vec![index(hop.left)?, index(hop.right)?])
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
