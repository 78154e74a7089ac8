//! The peer-event dispatcher: one task that takes every [`PeerEvent`] in order and routes it.
//!
//! - `Connected`: every channel with that peer re-synchronises.
//! - `Disconnected`: a reconnect loop starts if channels with the peer remain.
//! - Proposals and their answers are handled here, in arrival order. This matters: the
//!   accepter sends its accept and then at once its opening signature, so the proposer's
//!   channel must be running before the next event is looked at.
//! - Every other message goes to its channel's task, if it came from that channel's peer.

use super::core::NodeCore;
use super::events::Event;
use super::peers::{Overdraft, PeerEvent, Peers, Ticket};
use super::proposals::{NotKept, Outgoing, ProposalOutcome, WaitingProposal};
use crate::protocol::{
    validate_proposal, ChannelMessage, ChannelProposal, ProposalAccept, ProposalReject,
};
use crate::wire::NodeId;
use parley_plugin_api::model::Amount;
use std::sync::{Arc, Weak};
use std::time::Instant;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// Runs the dispatcher until the peer events end or the node is gone.
pub fn spawn_dispatcher(
    core: Weak<NodeCore>,
    mut events: UnboundedReceiver<PeerEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let Some(core) = core.upgrade() else { return };
            dispatch(&core, event);
        }
    })
}

fn dispatch(core: &Arc<NodeCore>, event: PeerEvent) {
    match event {
        PeerEvent::Connected(peer) => {
            let channels = core.registry.with_peer(&peer);
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
            core.redial(peer);
        }
        // Proposals and their answers are handled here and now, so their tickets go at the
        // end of this call; a channel message's ticket goes with it to the channel task.
        PeerEvent::Message {
            from,
            message,
            ticket,
        } => match message {
            ChannelMessage::Proposal(proposal) => on_proposal(core, from, proposal),
            ChannelMessage::ProposalAccept(accept) => on_accept(core, from, accept),
            ChannelMessage::ProposalReject(reject) => on_reject(core, from, reject),
            message => to_channel(core, from, message, ticket),
        },
    }
}

fn to_channel(core: &NodeCore, from: NodeId, message: ChannelMessage, ticket: Ticket) {
    let Some(id) = message.channel_id() else {
        return;
    };
    match core.registry.handle_and_peer(&id) {
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

fn reject(core: &NodeCore, to: NodeId, proposal: &ChannelProposal, reason: String) {
    reject_then(core, to, proposal, reason, |_| {})
}

/// Rejects `proposal`, then (once the reject is queued) runs `after` on the peers.
fn reject_then(
    core: &NodeCore,
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
    let peers = core.peers.clone();
    tokio::spawn(async move {
        if let Err(error) = peers.send(to, &message).await {
            tracing::debug!(%to, "could not send a proposal reject: {error}");
        }
        after(&peers);
    });
}

/// A peer proposes a channel: check it, then accept by policy or keep it for the user.
fn on_proposal(core: &Arc<NodeCore>, from: NodeId, proposal: ChannelProposal) {
    if let Err(problem) = check_proposal(core, &proposal) {
        return reject(core, from, &proposal, problem);
    }
    let alias = core.book.alias_of(&from);
    let ours = our_deposits(&proposal);
    let auto = core
        .policy
        .auto_accepts(alias.as_deref(), &from.to_string())
        && ours
            .iter()
            .all(|amount| *amount <= core.policy.max_auto_deposit);
    if auto {
        tracing::info!(proposal = %proposal.proposal_id, %from, "accepting a channel proposal by [policy]");
        match core.accept_proposal(&proposal, from) {
            Ok(id) => tracing::info!(channel = %id, "channel opened with {from}"),
            Err(error) => reject(core, from, &proposal, error.message().to_string()),
        }
        return;
    }
    let timeout = core.policy.proposal_timeout;
    let max = core.limits.open_proposals;
    let added = core
        .proposals
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
            return reject_then(core, from, &proposal, reason, move |peers| {
                peers.over_budget(from, overdraft)
            });
        }
    };
    tracing::info!(proposal = %proposal.proposal_id, %from, "channel proposal awaits `parley proposal accept|reject`");
    core.events
        .publish(Event::ProposalReceived(Box::new(WaitingProposal {
            proposal,
            proposer: from,
            proposer_alias: alias,
            expires_at,
        })));
}

/// What each side deposits, from the accepter's (our) side: column 1 of each asset's row.
fn our_deposits(proposal: &ChannelProposal) -> Vec<Amount> {
    proposal
        .balances
        .iter()
        .map(|row| row.get(1).copied().unwrap_or(Amount::ZERO))
        .collect()
}

/// The rules a proposal must meet before anyone is asked: the protocol's (which refuse what
/// this node cannot enforce: an app, app data, locked funds, anything but a ledger channel),
/// assets this chain holds, and a chain account of ours that is not the proposer's. The
/// reason goes back to the proposer in the reject.
fn check_proposal(core: &NodeCore, proposal: &ChannelProposal) -> Result<(), String> {
    validate_proposal(proposal).map_err(|e| format!("invalid proposal: {e}"))?;
    for asset in &proposal.assets {
        if !core.chain_info.assets.iter().any(|a| a.asset == *asset) {
            return Err(format!(
                "asset {}/{} is not held on this node's chain ({})",
                asset.chain_id, asset.holder, core.chain_info.backend
            ));
        }
    }
    match &core.account {
        None => Err("this node has no chain account".to_string()),
        Some(me) if *me == proposal.proposer => {
            Err("the proposer's chain address is this node's own".to_string())
        }
        Some(_) => Ok(()),
    }
}

/// The peer accepted our proposal: open the channel now, before the next event (its opening
/// signature) is dispatched.
fn on_accept(core: &NodeCore, from: NodeId, accept: ProposalAccept) {
    let Some(Outgoing {
        proposal, answer, ..
    }) = core.proposals.take_outgoing(&accept.proposal_id, &from)
    else {
        tracing::debug!(proposal = %accept.proposal_id, %from, "ignored an accept of no proposal of ours to that peer");
        return;
    };
    let outcome = match core.account() {
        Err(error) => ProposalOutcome::Failed(error.message().to_string()),
        Ok(me) => match core.open_channel(&proposal, &accept, me, from, None) {
            Ok(id) => ProposalOutcome::Opened(id),
            Err(error) => ProposalOutcome::Failed(error.to_string()),
        },
    };
    if let ProposalOutcome::Failed(reason) = &outcome {
        tracing::warn!(proposal = %accept.proposal_id, "the peer's accept did not open a channel: {reason}");
    }
    let _ = answer.send(outcome);
}

fn on_reject(core: &NodeCore, from: NodeId, reject: ProposalReject) {
    let Some(outgoing) = core.proposals.take_outgoing(&reject.proposal_id, &from) else {
        tracing::debug!(proposal = %reject.proposal_id, %from, "ignored a reject of no proposal of ours to that peer");
        return;
    };
    let _ = outgoing
        .answer
        .send(ProposalOutcome::Rejected(reject.reason));
}
