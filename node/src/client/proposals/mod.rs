//! Channel proposals, both ways: the one service that owns them ([`Proposals`]). It sends
//! ours and hands the peer's answer to whoever waits for it; it checks the peers' proposals,
//! accepts them by `[policy]` or keeps them for the user until they expire, and answers them
//! when the user does. Their state is [`in_flight::InFlight`].
//!
//! The peer's side ([`Proposals::on_proposal`], [`Proposals::on_accept`],
//! [`Proposals::on_reject`]) is called by the peer-event dispatcher in arrival order; the
//! user's side by the driver's operations.

pub mod in_flight;

pub use in_flight::{InFlight, Incoming, NotKept, Outgoing, ProposalOutcome};

use super::book::PeerBook;
use super::chain::ChainAccess;
use super::channel_task::ChannelHandle;
use super::dialer::Dialer;
use super::error::Error;
use super::events::{Event, SharedSink};
use super::peers::{Overdraft, Peers};
use super::start::ChannelStarter;
use crate::config::PolicySection;
use crate::protocol::tree::{check_sub_channel_proposal, check_virtual_hop, Hop};
use crate::protocol::{
    validate_proposal_with_apps, ChannelMessage, ChannelProposal, ProposalAccept, ProposalId,
    ProposalReject, VirtualProposal,
};
use crate::wire::NodeId;
use parley_plugin_api::model::{Amount, ChannelId};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// A peer's proposal waiting for our answer, as the user sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingProposal {
    /// The proposal (we would be participant 1).
    pub proposal: ChannelProposal,
    /// Who sent it (the authenticated peer).
    pub proposer: NodeId,
    /// The proposer's alias, if it is a known peer.
    pub proposer_alias: Option<String>,
    /// When it lapses unanswered, in Unix seconds.
    pub expires_at: u64,
}

/// How many of our accepts to one peer are kept to be sent again at once.
const MAX_ACCEPTS_KEPT_PER_PEER: usize = 64;

/// An accept of ours, kept until its proposal would have lapsed.
struct SentAccept {
    peer: NodeId,
    accept: ProposalAccept,
    until: Instant,
}

/// The channel proposals service.
pub struct Proposals {
    in_flight: InFlight,
    sent_accepts: std::sync::Mutex<Vec<SentAccept>>,
    peers: Peers,
    dialer: Arc<Dialer>,
    book: Arc<PeerBook>,
    starter: Arc<ChannelStarter>,
    chain: Arc<ChainAccess>,
    policy: PolicySection,
    open_proposals: usize,
    events: SharedSink,
}

impl Proposals {
    /// Proposals sent and answered through `peers`, named by `book`, whose channels `starter`
    /// starts, checked against `chain`; `policy` accepts some on its own and bounds how long
    /// they wait, `open_proposals` how many of one peer may wait at once; a proposal that
    /// waits for the user is announced on `events`; the proposer of a virtual channel is
    /// reached through `dialer`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        peers: Peers,
        dialer: Arc<Dialer>,
        book: Arc<PeerBook>,
        starter: Arc<ChannelStarter>,
        chain: Arc<ChainAccess>,
        policy: PolicySection,
        open_proposals: usize,
        events: SharedSink,
    ) -> Proposals {
        Proposals {
            in_flight: InFlight::default(),
            sent_accepts: std::sync::Mutex::new(Vec::new()),
            peers,
            dialer,
            book,
            starter,
            chain,
            policy,
            open_proposals,
            events,
        }
    }

    /// Sends `proposal` to `peer` (called `name` for the user) and waits for its answer; the
    /// channel is running on `Ok`.
    pub async fn propose(
        &self,
        proposal: ChannelProposal,
        peer: NodeId,
        name: &str,
    ) -> Result<ChannelId, Error> {
        let message = ChannelMessage::Proposal(proposal.clone());
        self.send_and_wait(proposal, peer, None, Amount::ZERO, message, name)
            .await
    }

    /// Sends the virtual channel `message` proposes (whose `proposal` names our ledger channel
    /// with the intermediary `via` as its parent) to `via`, to be forwarded to `peer` (called
    /// `name`), and waits for `peer`'s answer (or `via`'s reject); the channel is running on
    /// `Ok`, and our ledger channel with `via` will pay `lock_fee` with its lock.
    pub async fn propose_virtual(
        &self,
        proposal: ChannelProposal,
        peer: NodeId,
        via: NodeId,
        lock_fee: Amount,
        message: VirtualProposal,
        name: &str,
    ) -> Result<ChannelId, Error> {
        let message = ChannelMessage::VirtualProposal(Box::new(message));
        self.send_and_wait(proposal, peer, Some(via), lock_fee, message, name)
            .await
    }

    /// Sends `message` (carrying `proposal`) to `via` if given, else to `peer`, and waits for
    /// the answer.
    async fn send_and_wait(
        &self,
        proposal: ChannelProposal,
        peer: NodeId,
        via: Option<NodeId>,
        lock_fee: Amount,
        message: ChannelMessage,
        name: &str,
    ) -> Result<ChannelId, Error> {
        let id = proposal.proposal_id;
        let (answer, outcome) = oneshot::channel();
        self.in_flight.add_outgoing(Outgoing {
            proposal,
            peer,
            via,
            lock_fee,
            answer,
        });
        if let Err(error) = self.peers.send(via.unwrap_or(peer), &message).await {
            self.in_flight.drop_outgoing(&id);
            return Err(Error::unavailable(format!(
                "cannot send the proposal to {name}: {error}"
            )));
        }
        let limit = self.policy.proposal_timeout;
        let outcome = match tokio::time::timeout(limit, outcome).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => return Err(Error::internal("the proposal's answer was lost")),
            Err(_) => {
                self.in_flight.drop_outgoing(&id);
                return Err(Error::unavailable(format!(
                    "{name} did not answer the proposal within {} s ([policy] proposal_timeout_seconds)",
                    limit.as_secs()
                )));
            }
        };
        match outcome {
            ProposalOutcome::Opened(channel) => Ok(channel),
            ProposalOutcome::Rejected(reason) => Err(Error::refused_by_peer(format!(
                "{name} rejected the proposal: {reason}"
            ))),
            ProposalOutcome::Failed(reason) => Err(Error::conflict(format!(
                "{name} accepted, but the channel could not be opened: {reason}"
            ))),
        }
    }

    /// The peers' proposals waiting for an answer, in id order.
    pub fn waiting(&self) -> Vec<WaitingProposal> {
        self.in_flight
            .incoming(Instant::now())
            .into_iter()
            .map(|incoming| WaitingProposal {
                proposer_alias: self.book.alias_of(&incoming.peer),
                proposal: incoming.proposal,
                proposer: incoming.peer,
                expires_at: incoming.expires_at,
            })
            .collect()
    }

    /// The peer's proposal `id`, if it still waits for an answer (it keeps waiting).
    pub fn waiting_for(&self, id: &ProposalId) -> Option<Incoming> {
        self.in_flight
            .incoming(Instant::now())
            .into_iter()
            .find(|incoming| incoming.proposal.proposal_id == *id)
    }

    /// Accepts the peer's proposal `id` if it still waits: its channel starts, and the accept
    /// goes to the peer ahead of our opening signature. `None` if it no longer waits.
    pub fn accept(&self, id: &ProposalId) -> Option<Result<ChannelId, Error>> {
        let incoming = self.in_flight.take_incoming(id, Instant::now())?;
        Some(self.start_accepted(&incoming.proposal, incoming.peer))
    }

    /// Opens the channel of the peer's `proposal` from `peer` and keeps our accept until the
    /// proposal would have lapsed: if the connection it left on is replaced meanwhile (both
    /// nodes dialed each other at once, and the duplicate that carried it was closed), it goes
    /// to the peer again on the new one ([`Proposals::on_connected`]).
    fn start_accepted(&self, proposal: &ChannelProposal, peer: NodeId) -> Result<ChannelId, Error> {
        let (id, accept) = self.starter.accept_proposal(proposal, peer)?;
        let mut sent = self
            .sent_accepts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        sent.retain(|s| s.until > now);
        if sent.iter().filter(|s| s.peer == peer).count() < MAX_ACCEPTS_KEPT_PER_PEER {
            sent.push(SentAccept {
                peer,
                accept,
                until: now + self.policy.proposal_timeout,
            });
        }
        Ok(id)
    }

    /// `peer` (re)connected: our accepts of its proposals still in their time go to it again
    /// (an accept it already took is ignored by it), and then `channels` with it are told, so
    /// that their re-synchronisation reaches a channel the accept opens there.
    pub fn on_connected(&self, peer: NodeId, channels: Vec<ChannelHandle>) {
        let now = Instant::now();
        let again: Vec<ChannelMessage> = {
            let mut sent = self
                .sent_accepts
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            sent.retain(|s| s.until > now);
            sent.iter()
                .filter(|s| s.peer == peer)
                .map(|s| ChannelMessage::ProposalAccept(s.accept.clone()))
                .collect()
        };
        if again.is_empty() && channels.len() <= RESYNC_WAVE {
            for handle in channels {
                let _ = handle.peer_connected();
            }
            return;
        }
        let peers = self.peers.clone();
        tokio::spawn(async move {
            for message in again {
                if let Err(error) = peers.send(peer, &message).await {
                    tracing::debug!(peer_id = %peer, "could not send an accept again: {error}");
                }
            }
            resync_in_waves(channels).await;
        });
    }

    /// Rejects the peer's proposal `id`, telling the proposer `reason` (or that the user
    /// rejected it).
    pub async fn reject(&self, id: ProposalId, reason: Option<String>) -> Result<(), Error> {
        let incoming = self
            .in_flight
            .take_incoming(&id, Instant::now())
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no proposal {id} awaits an answer (it may have expired)"
                ))
            })?;
        let reason = reason.unwrap_or_else(|| "rejected by the peer's user".to_string());
        let message = ChannelMessage::ProposalReject(ProposalReject {
            proposal_id: id,
            reason,
        });
        if let Err(error) = self.peers.send(incoming.peer, &message).await {
            // The proposal is answered here either way; the proposer times out.
            tracing::info!(proposal = %id, "the reject could not be sent: {error}");
        }
        Ok(())
    }

    /// Rejects the peer's `proposal` before anyone was asked.
    fn refuse(&self, to: NodeId, proposal: &ChannelProposal, reason: String) {
        self.refuse_then(to, proposal, reason, |_| {})
    }

    /// Rejects `proposal`, then (once the reject is queued) runs `after` on the peers.
    fn refuse_then(
        &self,
        to: NodeId,
        proposal: &ChannelProposal,
        reason: String,
        after: impl FnOnce(&Peers) + Send + 'static,
    ) {
        let name = self.book.names().of(&to);
        tracing::info!(proposal = %proposal.proposal_id, peer = %name, peer_id = %to, "rejecting a channel proposal: {reason}");
        let message = ChannelMessage::ProposalReject(ProposalReject {
            proposal_id: proposal.proposal_id,
            reason,
        });
        let peers = self.peers.clone();
        tokio::spawn(async move {
            if let Err(error) = peers.send(to, &message).await {
                tracing::debug!(peer = %name, peer_id = %to, "could not send a proposal reject: {error}");
            }
            after(&peers);
        });
    }

    /// A peer proposes a channel: check it, then accept by policy or keep it for the user. A
    /// sub-channel's parent is checked first (reading it takes an await, so on a task).
    pub fn on_proposal(self: &Arc<Self>, from: NodeId, proposal: ChannelProposal) {
        if let Some(parent) = proposal.parent {
            let this = self.clone();
            tokio::spawn(async move {
                match this.check_parent(from, parent, &proposal).await {
                    Ok(()) => this.on_checked_proposal(from, proposal),
                    Err(problem) => this.refuse(from, &proposal, problem),
                }
            });
            return;
        }
        self.on_checked_proposal(from, proposal)
    }

    /// Whether the virtual channel `message` proposes ends at this node (else we are asked to
    /// carry it: see `client/intermediary`).
    pub fn is_for_us(&self, message: &VirtualProposal) -> bool {
        message.accepter_node.0.as_slice() == self.book.own().as_bytes().as_slice()
    }

    /// An intermediary forwards a virtual channel proposed to us: check that its ledger
    /// channel with us can lock it, connect to the proposer (who is answered directly), then
    /// answer as any proposal of the proposer's. A refusal before that goes back through the
    /// intermediary.
    pub fn on_virtual_proposal(self: &Arc<Self>, from: NodeId, message: VirtualProposal) {
        let this = self.clone();
        tokio::spawn(async move {
            match this.check_virtual(from, &message).await {
                Ok((proposer, proposal)) => this.on_checked_proposal(proposer, proposal),
                Err(problem) => this.refuse(from, &message.proposal, problem),
            }
        });
    }

    /// [`Proposals::on_virtual_proposal`]'s checks: the proposer's node, and the hop from the
    /// intermediary `from` to us; returns the proposer and the proposal with our ledger channel
    /// as its parent.
    async fn check_virtual(
        &self,
        from: NodeId,
        message: &VirtualProposal,
    ) -> Result<(NodeId, ChannelProposal), String> {
        let proposer = super::intermediary::node_id(&message.proposer_node, "proposer")?;
        if proposer == from || proposer == self.book.own() {
            return Err("the proposer must be a third node".to_string());
        }
        if !message.path.is_empty() || !message.fees.is_empty() {
            return Err(
                "the proposal still names intermediaries (or their fees) after the last one; \
                 the accepter's channel with the last intermediary locks it without a fee"
                    .to_string(),
            );
        }
        let parent = message.parent;
        let snapshot = self.channel_with(parent, from, "the intermediary").await?;
        if snapshot.funding != crate::protocol::Funding::Ledger {
            return Err(format!("channel {parent} is not a ledger channel"));
        }
        let me = self.chain.account().map_err(|e| e.message().to_string())?;
        let stand_in =
            super::intermediary::other_participant(&snapshot.channel.params.participants, me)?;
        let hop = Hop {
            parent: &snapshot,
            left: &stand_in,
            right: me,
            fee: parley_plugin_api::model::Amount::ZERO,
        };
        check_virtual_hop(&hop, &message.proposal, me)?;
        self.dialer
            .remember_address(proposer, &message.proposer_address);
        self.dialer
            .ensure_connected(proposer)
            .await
            .map_err(|e| format!("cannot reach the proposer: {}", e.message()))?;
        let mut proposal = message.proposal.clone();
        proposal.parent = Some(parent);
        Ok((proposer, proposal))
    }

    /// Whether `parent` is our channel with `from` and can fund the sub-channel `proposal`.
    async fn check_parent(
        &self,
        from: NodeId,
        parent: ChannelId,
        proposal: &ChannelProposal,
    ) -> Result<(), String> {
        let snapshot = self.channel_with(parent, from, "the proposer").await?;
        let me = self.chain.account().map_err(|e| e.message().to_string())?;
        check_sub_channel_proposal(&snapshot, proposal, me)
    }

    /// Our running channel `id` with `from` (called `who` in the refusal), as it is now.
    async fn channel_with(
        &self,
        id: ChannelId,
        from: NodeId,
        who: &str,
    ) -> Result<crate::protocol::ChannelSnapshot, String> {
        let running = self
            .starter
            .registry()
            .get(&id)
            .filter(|running| running.peer == Some(from))
            .ok_or_else(|| format!("this node has no running channel {id} with {who}"))?;
        let view = running
            .handle
            .snapshot()
            .await
            .map_err(|e| format!("channel {id} cannot be read: {e}"))?;
        Ok(view.snapshot)
    }

    /// [`Proposals::on_proposal`] once a sub-channel's parent passed its checks.
    fn on_checked_proposal(&self, from: NodeId, proposal: ChannelProposal) {
        if let Err(problem) = self.check_proposal(&proposal) {
            return self.refuse(from, &proposal, problem);
        }
        let alias = self.book.alias_of(&from);
        let ours = our_deposits(&proposal);
        let auto = (self
            .policy
            .auto_accepts(alias.as_deref(), &from.to_string())
            && ours
                .iter()
                .all(|amount| *amount <= self.policy.max_auto_deposit))
            || only_receives(&proposal);
        if auto {
            tracing::info!(proposal = %proposal.proposal_id, %from, "accepting a channel proposal by [policy]");
            match self.start_accepted(&proposal, from) {
                Ok(id) => tracing::info!(channel = %id, "channel opened with {from}"),
                Err(error) => self.refuse(from, &proposal, error.message().to_string()),
            }
            return;
        }
        let timeout = self.policy.proposal_timeout;
        let max = self.open_proposals;
        let added =
            self.in_flight
                .add_incoming(proposal.clone(), from, Instant::now(), timeout, max);
        let expires_at = match added {
            Ok(expires_at) => expires_at,
            Err(NotKept::Repeated) => {
                tracing::debug!(proposal = %proposal.proposal_id, "ignored a repeated proposal");
                return;
            }
            Err(NotKept::TooMany { max }) => {
                // The peer is told why (the reject, then the goodbye) and disconnected.
                let overdraft = Overdraft::Proposals { max };
                let reason = format!("refused: {overdraft}");
                return self.refuse_then(from, &proposal, reason, move |peers| {
                    peers.over_budget(from, overdraft)
                });
            }
        };
        tracing::info!(proposal = %proposal.proposal_id, %from, "channel proposal awaits `parley proposal accept|reject`");
        self.events
            .publish(Event::ProposalReceived(Box::new(WaitingProposal {
                proposal,
                proposer: from,
                proposer_alias: alias,
                expires_at,
            })));
    }

    /// The rules a proposal must meet before anyone is asked: the protocol's (which refuse what
    /// this node cannot enforce: an app it does not have, app data without an app, locked
    /// funds, anything but a ledger channel),
    /// assets this chain holds, and a chain account of ours that is not the proposer's. The
    /// reason goes back to the proposer in the reject.
    fn check_proposal(&self, proposal: &ChannelProposal) -> Result<(), String> {
        validate_proposal_with_apps(proposal, self.starter.apps())
            .map_err(|e| format!("invalid proposal: {e}"))?;
        for asset in &proposal.assets {
            if !self.chain.info.assets.iter().any(|a| a.asset == *asset) {
                return Err(format!(
                    "asset {}/{} is not held on this node's chain ({})",
                    asset.chain_id, asset.holder, self.chain.info.backend
                ));
            }
        }
        match &self.chain.account {
            None => Err("this node has no chain account".to_string()),
            Some(me) if *me == proposal.proposer => {
                Err("the proposer's chain address is this node's own".to_string())
            }
            Some(_) => Ok(()),
        }
    }

    /// The peer accepted our proposal: open the channel now, before the next event (its opening
    /// signature) is dispatched.
    pub fn on_accept(&self, from: NodeId, accept: ProposalAccept) {
        let Some(Outgoing {
            proposal,
            answer,
            lock_fee,
            ..
        }) = self.in_flight.take_outgoing(&accept.proposal_id, &from)
        else {
            tracing::debug!(proposal = %accept.proposal_id, %from, "ignored an accept of no proposal of ours to that peer");
            return;
        };
        let outcome = match self.chain.account() {
            Err(error) => ProposalOutcome::Failed(error.message().to_string()),
            Ok(me) => match self
                .starter
                .open_channel(&proposal, &accept, me, from, None, lock_fee)
            {
                Ok(id) => ProposalOutcome::Opened(id),
                Err(error) => ProposalOutcome::Failed(error.to_string()),
            },
        };
        if let ProposalOutcome::Failed(reason) = &outcome {
            tracing::warn!(proposal = %accept.proposal_id, "the peer's accept did not open a channel: {reason}");
        }
        let _ = answer.send(outcome);
    }

    /// The peer rejected our proposal: its caller hears why.
    pub fn on_reject(&self, from: NodeId, reject: ProposalReject) {
        let Some(outgoing) = self.in_flight.take_rejected(&reject.proposal_id, &from) else {
            tracing::debug!(proposal = %reject.proposal_id, %from, "ignored a reject of no proposal of ours to that peer");
            return;
        };
        let _ = outgoing
            .answer
            .send(ProposalOutcome::Rejected(reject.reason));
    }
}

/// Channels with one peer that re-synchronise at once after it connected: each sends a request
/// and answers the peer's, and a peer handles at most `[limits] frames_in_flight` (4096 by
/// default) of our frames at a time before it disconnects us as a flood. So a node with many
/// channels to one peer re-synchronises them in waves this size.
const RESYNC_WAVE: usize = 512;

/// The longest one wave may take before the next starts anyway (a channel whose peer does not
/// answer stays re-synchronising until it does).
const RESYNC_WAVE_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The shortest time one wave takes: a peer also takes at most `[limits] frames_per_second`
/// (10,000 by default, one second's worth at once, then that rate) before it disconnects us as
/// a flood. A wave costs us about two frames per channel (our request, and our reply to the
/// peer's), so waves of [`RESYNC_WAVE`] at least this far apart stay under 7,000 frames a
/// second, with room for the payments that go on meanwhile. Found by `parley bench channels
/// --scenario restore --channels 10000` on an idle machine: waves that came back faster went
/// over the rate, and every reconnect started the flood again.
const RESYNC_WAVE_PACE: std::time::Duration = std::time::Duration::from_millis(150);

/// Tells `channels` their peer connected, [`RESYNC_WAVE`] at a time, each wave once its
/// channels are re-synchronised (or after [`RESYNC_WAVE_LIMIT`]), and no sooner than
/// [`RESYNC_WAVE_PACE`] after the one before.
async fn resync_in_waves(channels: Vec<ChannelHandle>) {
    for wave in channels.chunks(RESYNC_WAVE) {
        let paced = tokio::time::sleep(RESYNC_WAVE_PACE);
        for handle in wave {
            let _ = handle.peer_connected();
        }
        let synced = async {
            for handle in wave {
                loop {
                    match handle.snapshot().await {
                        Ok(view) if view.syncing => {
                            tokio::time::sleep(std::time::Duration::from_millis(2)).await
                        }
                        _ => break,
                    }
                }
            }
        };
        let _ = tokio::time::timeout(RESYNC_WAVE_LIMIT, synced).await;
        paced.await;
    }
}

/// Whether `proposal` is a virtual channel in which we put in nothing and the proposer does
/// put something in: we can only receive in it, and locking it costs the proposer and the
/// intermediary, not us. The node accepts such a channel by itself (`parley pay <node>` opens
/// one to pay a node it has no channel with).
fn only_receives(proposal: &ChannelProposal) -> bool {
    proposal.virtual_channel
        && proposal.app.is_none()
        && our_deposits(proposal).iter().all(Amount::is_zero)
        && proposal
            .balances
            .iter()
            .any(|row| row.first().is_some_and(|a| !a.is_zero()))
}

/// What each side deposits, from the accepter's (our) side: column 1 of each asset's row.
fn our_deposits(proposal: &ChannelProposal) -> Vec<Amount> {
    proposal
        .balances
        .iter()
        .map(|row| row.get(1).copied().unwrap_or(Amount::ZERO))
        .collect()
}

#[cfg(test)]
mod resync_tests {
    use super::*;
    use crate::client::channel_task::{ChannelCommand, ChannelInput};
    use tokio::time::Instant;

    /// Three waves' worth of channels, each behind a stand-in for its task that notes when it
    /// was told the peer connected and answers no snapshot (so a wave never waits for it).
    #[tokio::test]
    async fn waves_go_no_faster_than_the_pace() {
        let begun = Instant::now();
        let (told_tx, mut told) = tokio::sync::mpsc::unbounded_channel();
        let handles: Vec<ChannelHandle> = (0..RESYNC_WAVE * 2 + 1)
            .map(|n| {
                let mut id = [0u8; 32];
                id[..8].copy_from_slice(&(n as u64).to_be_bytes());
                let (handle, mut inbox) = ChannelHandle::detached(ChannelId(id));
                let told = told_tx.clone();
                tokio::spawn(async move {
                    while let Some(input) = inbox.recv().await {
                        match input {
                            ChannelInput::PeerConnected => {
                                let _ = told.send((n, begun.elapsed()));
                            }
                            // Dropping the reply ends the wait on this channel.
                            ChannelInput::Command(command) => {
                                drop::<ChannelCommand>(*command);
                            }
                            ChannelInput::Message(..) => {}
                        }
                    }
                });
                handle
            })
            .collect();
        drop(told_tx);
        resync_in_waves(handles).await;
        let mut first_of_wave = Vec::new();
        while let Some((n, at)) = told.recv().await {
            if n % RESYNC_WAVE == 0 {
                first_of_wave.push(at);
            }
        }
        first_of_wave.sort();
        assert_eq!(first_of_wave.len(), 3);
        assert!(first_of_wave[0] < RESYNC_WAVE_PACE);
        assert!(first_of_wave[1] >= RESYNC_WAVE_PACE, "{first_of_wave:?}");
        assert!(
            first_of_wave[2] >= RESYNC_WAVE_PACE * 2,
            "{first_of_wave:?}"
        );
    }
}
