//! The driver's [`Event`]s, published to the API's subscribers as [`NodeEvent`]s.

use super::views::{channel_info, payment_info, proposal_info};
use crate::api::{EventBus, NodeEvent};
use crate::client::events::{Event, EventSink};
use crate::client::peer_names::PeerNames;
use crate::store::Direction;
use parley_plugin_api::model::ChainInfo;

/// The [`EventSink`] the node is handed when it serves the API: each event goes to every
/// current subscriber of the [`EventBus`], in the API's form.
pub struct ApiEvents {
    bus: EventBus,
    /// What names the assets of a proposal.
    chain: ChainInfo,
    /// The peers' aliases, for a channel's view (its task knows the peer by id only).
    names: PeerNames,
}

impl ApiEvents {
    /// Publishes on `bus`, naming assets as `chain` does and peers by their aliases in `names`.
    pub fn new(bus: EventBus, chain: ChainInfo, names: PeerNames) -> ApiEvents {
        ApiEvents { bus, chain, names }
    }
}

impl EventSink for ApiEvents {
    fn publish(&self, event: Event) {
        // Nobody listens: skip turning it into the API's form (a channel's view per update).
        if !self.is_followed() {
            return;
        }
        self.bus
            .publish(node_event(&self.chain, with_alias(&self.names, event)));
    }

    fn is_followed(&self) -> bool {
        self.bus.subscriber_count() > 0
    }
}

/// `event` with its channel's peer named by its alias, where the event shows a channel.
fn with_alias(names: &PeerNames, mut event: Event) -> Event {
    if let Event::ChannelChanged(overview) = &mut event {
        if overview.peer_alias.is_none() {
            overview.peer_alias = overview.peer.as_ref().and_then(|peer| names.alias(peer));
        }
    }
    event
}

/// `event` as the API's subscribers read it.
pub fn node_event(chain: &ChainInfo, event: Event) -> NodeEvent {
    match event {
        Event::ProposalReceived(waiting) => NodeEvent::ProposalReceived {
            proposal: proposal_info(chain, &waiting),
        },
        Event::UpdateReceived { channel, version } => {
            NodeEvent::UpdateReceived { channel, version }
        }
        Event::UpdateAwaitsAnswer {
            channel,
            version,
            expires_at,
        } => NodeEvent::UpdateAwaitsAnswer {
            channel,
            version,
            expires_at,
        },
        Event::UpdateAccepted { channel, version } => {
            NodeEvent::UpdateAccepted { channel, version }
        }
        Event::PhaseChanged { channel, from, to } => NodeEvent::PhaseChanged { channel, from, to },
        Event::PeerFault { channel, reason } => NodeEvent::PeerFault { channel, reason },
        Event::Payment(record) => {
            let payment = payment_info(chain, &record);
            match record.direction {
                Direction::Sent => NodeEvent::PaymentSent { payment },
                Direction::Received => NodeEvent::PaymentReceived { payment },
            }
        }
        Event::ChannelSettling { channel, version } => {
            NodeEvent::ChannelSettling { channel, version }
        }
        Event::ChannelChanged(overview) => NodeEvent::ChannelChanged {
            channel: Box::new(channel_info(chain, *overview)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::proposals::WaitingProposal;
    use crate::protocol::{ChannelProposal, Phase, ProposalId};
    use crate::wire::NodeKey;
    use parley_plugin_api::codec::Bytes;
    use parley_plugin_api::model::{Address, Amount, Asset, AssetInfo, ChannelId, Participant};

    fn chain() -> ChainInfo {
        ChainInfo {
            chain_id: 1337,
            backend: "sim-chain".into(),
            assets: vec![AssetInfo {
                name: "ETH".into(),
                decimals: 18,
                asset: Asset {
                    chain_id: 1337,
                    holder: Address(vec![1; 20]),
                },
            }],
        }
    }

    #[test]
    fn a_waiting_proposal_is_shown_from_our_side_with_asset_names() {
        let chain = chain();
        let proposer = NodeKey::from_secret_bytes(&[3; 32]).unwrap().node_id();
        let waiting = WaitingProposal {
            proposal: ChannelProposal {
                proposal_id: ProposalId([5; 32]),
                proposer: Participant(vec![2; 20]),
                assets: vec![chain.assets[0].asset.clone()],
                balances: vec![vec![Amount::from(70u64), Amount::from(30u64)]],
                locked: Vec::new(),
                challenge_duration: 60,
                nonce_share: [6; 32],
                app: None,
                app_data: Bytes::default(),
                ledger_channel: true,
                virtual_channel: false,
                parent: None,
            },
            proposer,
            proposer_alias: Some("alice".into()),
            expires_at: 99,
        };
        let event = node_event(&chain, Event::ProposalReceived(Box::new(waiting)));
        let NodeEvent::ProposalReceived { proposal } = event else {
            panic!("{event:?}");
        };
        assert_eq!(proposal.id, ProposalId([5; 32]));
        assert_eq!(proposal.proposer, proposer);
        assert_eq!(proposal.proposer_alias.as_deref(), Some("alice"));
        assert_eq!(proposal.balances[0].asset, "ETH");
        assert_eq!(proposal.balances[0].mine, Amount::from(30u64));
        assert_eq!(proposal.balances[0].theirs, Amount::from(70u64));
        assert_eq!((proposal.challenge_seconds, proposal.expires_at), (60, 99));
    }

    #[test]
    fn a_changed_channel_names_its_peer_by_alias() {
        let peer = NodeKey::from_secret_bytes(&[3; 32]).unwrap().node_id();
        let names = PeerNames::default();
        let changed = || {
            Event::ChannelChanged(Box::new(crate::client::overview::ChannelOverview {
                id: ChannelId([7; 32]),
                peer: Some(peer),
                peer_alias: None,
                snapshot: None,
                status: None,
                dispute: None,
                app: None,
            }))
        };
        let alias = |event: Event| match event {
            Event::ChannelChanged(overview) => overview.peer_alias,
            other => panic!("{other:?}"),
        };
        assert_eq!(alias(with_alias(&names, changed())), None);
        names.set(peer, "bob");
        assert_eq!(alias(with_alias(&names, changed())).as_deref(), Some("bob"));
    }

    #[test]
    fn channel_events_keep_their_fields() {
        let channel = ChannelId([7; 32]);
        let event = Event::PhaseChanged {
            channel,
            from: Phase::Funding,
            to: Phase::Active,
        };
        assert_eq!(
            node_event(&chain(), event),
            NodeEvent::PhaseChanged {
                channel,
                from: Phase::Funding,
                to: Phase::Active
            }
        );
        let event = Event::PeerFault {
            channel,
            reason: "forked".into(),
        };
        assert_eq!(
            node_event(&chain(), event),
            NodeEvent::PeerFault {
                channel,
                reason: "forked".into()
            }
        );
    }
}
