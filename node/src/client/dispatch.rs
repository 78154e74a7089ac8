//! The peer-event dispatcher: one task that takes every [`PeerEvent`] in order and routes it.
//!
//! - `Connected`: every channel with that peer re-synchronises, and where the peer says it
//!   listens is learned (so a peer that only dialed us can be dialed back).
//! - `Disconnected`: a reconnect loop starts if channels with the peer remain.
//! - Proposals and their answers go to [`Proposals`] here and now, in arrival order. This
//!   matters: the accepter sends its accept and then at once its opening signature, so the
//!   proposer's channel must be running before the next event is looked at.
//! - Every other message goes to its channel's task, if it came from that channel's peer.

use super::dialer::{Dialer, Redials};
use super::intermediary::{HeldLock, Intermediary};
use super::peers::{PeerEvent, Ticket};
use super::proposals::Proposals;
use super::registry::Registry;
use crate::protocol::ChannelMessage;
use crate::wire::NodeId;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// What the dispatcher works with; owned by its task.
pub struct Dispatcher {
    /// Running channels, which messages are routed to.
    pub registry: Arc<Registry>,
    /// Proposals in flight, which proposals and their answers go to.
    pub proposals: Arc<Proposals>,
    /// Reconnects to peers that left.
    pub dialer: Arc<Dialer>,
    /// Carries virtual channels between two of our peers.
    pub intermediary: Arc<Intermediary>,
    /// Where our channels hold the ends' locks of those virtual channels (taken when the
    /// dispatcher starts, which starts the intermediary's matching of them).
    pub held_locks: Option<UnboundedReceiver<HeldLock>>,
}

/// Runs the dispatcher until the peer events end; first it starts reconnecting to `redial`
/// (the peers of the restored channels).
pub fn spawn_dispatcher(
    mut dispatcher: Dispatcher,
    mut events: UnboundedReceiver<PeerEvent>,
    redial: HashSet<NodeId>,
) -> JoinHandle<()> {
    if let Some(held) = dispatcher.held_locks.take() {
        dispatcher.intermediary.spawn_holds(held);
    }
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
                tracing::debug!(
                    peer = %self.dialer.name_of(&peer),
                    peer_id = %peer,
                    channels = channels.len(),
                    "peer connected: telling its channels"
                );
                self.dialer.learn_address(peer);
                self.proposals.on_connected(peer, channels);
            }
            PeerEvent::Disconnected(peer, reason) => {
                let name = self.dialer.name_of(&peer);
                if reason.is_fault() {
                    tracing::warn!(peer = %name, peer_id = %peer, "peer disconnected: {reason}");
                } else {
                    tracing::info!(peer = %name, peer_id = %peer, "peer disconnected: {reason}");
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
                ChannelMessage::Proposal(proposal) => self.proposals.on_proposal(from, proposal),
                ChannelMessage::ProposalAccept(accept) => self.proposals.on_accept(from, accept),
                ChannelMessage::ProposalReject(reject) => {
                    if !self.intermediary.relay_reject(from, &reject) {
                        self.proposals.on_reject(from, reject)
                    }
                }
                ChannelMessage::VirtualProposal(message) => {
                    if self.proposals.is_for_us(&message) {
                        self.proposals.on_virtual_proposal(from, *message)
                    } else {
                        self.intermediary.on_proposal(from, *message)
                    }
                }
                ChannelMessage::VirtualChild(message) => self.intermediary.on_child(from, message),
                message => self.to_channel(from, message, ticket),
            },
        }
    }

    fn to_channel(&self, from: NodeId, message: ChannelMessage, ticket: Ticket) {
        let Some(id) = message.channel_id() else {
            return;
        };
        // The sender is the participant whose key the sending node holds in this channel; the
        // protocol then checks that this participant may send this message.
        match self.registry.handle_and_index(&id, &from) {
            Some((handle, Some(index))) => {
                let _ = handle.deliver_held(index, message, ticket);
            }
            Some((_, None)) => {
                tracing::warn!(channel = %id, %from, "dropped a {} from a node that is not a member of the channel", message.kind());
            }
            None => {
                tracing::debug!(channel = %id, %from, "dropped a {} for an unknown channel", message.kind());
            }
        }
    }
}
