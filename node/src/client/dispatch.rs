//! The peer-event dispatcher: one task that takes every [`PeerEvent`] in order and routes it.
//!
//! - `Connected`: every channel with that peer re-synchronises.
//! - `Disconnected`: a reconnect loop starts if channels with the peer remain.
//! - Proposals and their answers are handled here, in arrival order. This matters: the
//!   accepter sends its accept and then at once its opening signature, so the proposer's
//!   channel must be running before the next event is looked at.
//! - Every other message goes to its channel's task, if it came from that channel's peer.

use super::book::PeerBook;
use super::chain::ChainAccess;
use super::dialer::{Dialer, Redials};
use super::events::{Event, SharedSink};
use super::peers::{Overdraft, PeerEvent, Peers, Ticket};
use super::proposals::{NotKept, Outgoing, ProposalOutcome, Proposals, WaitingProposal};
use super::registry::Registry;
use super::start::ChannelStarter;
use crate::config::PolicySection;
use crate::protocol::{
    validate_proposal, ChannelMessage, ChannelProposal, ProposalAccept, ProposalReject,
};
use crate::wire::NodeId;
use parley_plugin_api::model::Amount;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// What the dispatcher works with; owned by its task.
pub struct Dispatcher {
    /// Running channels, which messages are routed to.
    pub registry: Arc<Registry>,
    /// Proposals in flight.
    pub proposals: Arc<Proposals>,
    /// Known peers (aliases, for the policy and the user).
    pub book: Arc<PeerBook>,
    /// The connections to peers.
    pub peers: Peers,
    /// Reconnects to peers that left.
    pub dialer: Arc<Dialer>,
    /// Starts the channels of accepted proposals.
    pub starter: Arc<ChannelStarter>,
    /// Which assets a proposal may hold, and our account.
    pub chain: Arc<ChainAccess>,
    /// `[policy]`: which proposals are accepted without asking, how long others wait.
    pub policy: PolicySection,
    /// `[limits] open_proposals`: how many proposals of one peer may wait at once.
    pub open_proposals: usize,
    /// Where a proposal that waits for the user is announced.
    pub events: SharedSink,
}

/// Runs the dispatcher until the peer events end; first it starts reconnecting to `redial`
/// (the peers of the restored channels).
pub fn spawn_dispatcher(
    dispatcher: Dispatcher,
    mut events: UnboundedReceiver<PeerEvent>,
    redial: HashSet<NodeId>,
) -> JoinHandle<()> {
    let mut redials = Redials::default();
    for peer in redial {
        redials.redial(&dispatcher.dialer, peer);
    }
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            dispatcher.dispatch(&mut redials, event);
        }
    })
}

impl Dispatcher {
    fn dispatch(&self, redials: &mut Redials, event: PeerEvent) {
        match event {
            PeerEvent::Connected(peer) => {
                let channels = self.registry.with_peer(&peer);
                tracing::info!(%peer, channels = channels.len(), "peer connected");
                for handle in channels {
                    let _ = handle.peer_connected();
                }
            }
            PeerEvent::Disconnected(peer, reason) => {
                if reason.is_fault() {
                    tracing::warn!(%peer, "peer disconnected: {reason}");
                } else {
                    tracing::info!(%peer, "peer disconnected: {reason}");
                }
                redials.redial(&self.dialer, peer);
            }
            // Proposals and their answers are handled here and now, so their tickets go at the
            // end of this call; a channel message's ticket goes with it to the channel task.
            PeerEvent::Message {
                from,
                message,
                ticket,
            } => match message {
                ChannelMessage::Proposal(proposal) => self.on_proposal(from, proposal),
                ChannelMessage::ProposalAccept(accept) => self.on_accept(from, accept),
                ChannelMessage::ProposalReject(reject) => self.on_reject(from, reject),
                message => self.to_channel(from, message, ticket),
            },
        }
    }

    fn to_channel(&self, from: NodeId, message: ChannelMessage, ticket: Ticket) {
        let Some(id) = message.channel_id() else {
            return;
        };
        match self.registry.handle_and_peer(&id) {
            Some((handle, peer)) if peer == Some(from) => {
                let _ = handle.deliver_held(message, ticket);
            }
            Some(_) => {
                tracing::warn!(channel = %id, %from, "dropped a {} from a node that is not the channel's peer", message.kind());
            }
            None => {
                tracing::debug!(channel = %id, %from, "dropped a {} for an unknown channel", message.kind());
            }
        }
    }

    fn reject(&self, to: NodeId, proposal: &ChannelProposal, reason: String) {
        self.reject_then(to, proposal, reason, |_| {})
    }

    /// Rejects `proposal`, then (once the reject is queued) runs `after` on the peers.
    fn reject_then(
        &self,
        to: NodeId,
        proposal: &ChannelProposal,
        reason: String,
        after: impl FnOnce(&Peers) + Send + 'static,
    ) {
        tracing::info!(proposal = %proposal.proposal_id, %to, "rejecting a channel proposal: {reason}");
        let message = ChannelMessage::ProposalReject(ProposalReject {
            proposal_id: proposal.proposal_id,
            reason,
        });
        let peers = self.peers.clone();
        tokio::spawn(async move {
            if let Err(error) = peers.send(to, &message).await {
                tracing::debug!(%to, "could not send a proposal reject: {error}");
            }
            after(&peers);
        });
    }

    /// A peer proposes a channel: check it, then accept by policy or keep it for the user.
    fn on_proposal(&self, from: NodeId, proposal: ChannelProposal) {
        if let Err(problem) = self.check_proposal(&proposal) {
            return self.reject(from, &proposal, problem);
        }
        let alias = self.book.alias_of(&from);
        let ours = our_deposits(&proposal);
        let auto = self
            .policy
            .auto_accepts(alias.as_deref(), &from.to_string())
            && ours
                .iter()
                .all(|amount| *amount <= self.policy.max_auto_deposit);
        if auto {
            tracing::info!(proposal = %proposal.proposal_id, %from, "accepting a channel proposal by [policy]");
            match self.starter.accept_proposal(&proposal, from) {
                Ok(id) => tracing::info!(channel = %id, "channel opened with {from}"),
                Err(error) => self.reject(from, &proposal, error.message().to_string()),
            }
            return;
        }
        let timeout = self.policy.proposal_timeout;
        let max = self.open_proposals;
        let added =
            self.proposals
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
                return self.reject_then(from, &proposal, reason, move |peers| {
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
    /// this node cannot enforce: an app, app data, locked funds, anything but a ledger channel),
    /// assets this chain holds, and a chain account of ours that is not the proposer's. The
    /// reason goes back to the proposer in the reject.
    fn check_proposal(&self, proposal: &ChannelProposal) -> Result<(), String> {
        validate_proposal(proposal).map_err(|e| format!("invalid proposal: {e}"))?;
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
    fn on_accept(&self, from: NodeId, accept: ProposalAccept) {
        let Some(Outgoing {
            proposal, answer, ..
        }) = self.proposals.take_outgoing(&accept.proposal_id, &from)
        else {
            tracing::debug!(proposal = %accept.proposal_id, %from, "ignored an accept of no proposal of ours to that peer");
            return;
        };
        let outcome = match self.chain.account() {
            Err(error) => ProposalOutcome::Failed(error.message().to_string()),
            Ok(me) => match self
                .starter
                .open_channel(&proposal, &accept, me, from, None)
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

    fn on_reject(&self, from: NodeId, reject: ProposalReject) {
        let Some(outgoing) = self.proposals.take_outgoing(&reject.proposal_id, &from) else {
            tracing::debug!(proposal = %reject.proposal_id, %from, "ignored a reject of no proposal of ours to that peer");
            return;
        };
        let _ = outgoing
            .answer
            .send(ProposalOutcome::Rejected(reject.reason));
    }
}

/// What each side deposits, from the accepter's (our) side: column 1 of each asset's row.
fn our_deposits(proposal: &ChannelProposal) -> Vec<Amount> {
    proposal
        .balances
        .iter()
        .map(|row| row.get(1).copied().unwrap_or(Amount::ZERO))
        .collect()
}
