//! [`Driver`]: what a front end (the API) asks of the node, in the driver's own terms. Each
//! operation checks what depends on the node's state, then drives the peers, the channel tasks
//! and the chain; it returns domain values and fails with an [`Error`] whose kind says whose
//! fault it is. An operation that fails leaves nothing half-done.
//!
//! The operations are grouped by concern: peers and balances here, opening channels in
//! [`super::opening`], paying in [`super::payment`], settling in [`super::settling`], reading
//! channels in [`super::overview`].

use super::apps::Apps;
use super::book::{NamedPeer, PeerBook, PeerView};
use super::chain::{chain_call, ChainAccess};
use super::dialer::Dialer;
use super::error::Error;
use super::onchain::force::ForceMoves;
use super::peers::Peers;
use super::proposals::Proposals;
use super::registry::Registry;
use crate::config::{PolicySection, TestingSection};
use crate::protocol::ChannelProposal;
use crate::store::node_records::{announced_delete_op, peer_op};
use crate::store::{ChannelStore, StoredPeer};
use crate::testing::tamper_proposal;
use crate::wire::NodeId;
use parley_plugin_api::model::{Amount, AssetInfo, ChainInfo};
use std::sync::Arc;

/// The driver as a front end sees it: the services its operations work with, each owning its
/// own state. Shared behind an `Arc`; nothing in it is locked by the driver itself.
pub struct Driver {
    /// This node's identity.
    pub node_id: NodeId,
    /// Where this node accepts peers.
    pub listen_address: String,
    /// The running channels.
    pub registry: Arc<Registry>,
    /// Channel proposals, both ways.
    pub proposals: Arc<Proposals>,
    /// The peers the user named.
    pub book: Arc<PeerBook>,
    /// The connections to peers.
    pub peers: Peers,
    /// Connects to known peers.
    pub dialer: Arc<Dialer>,
    /// The chain, and our account on it.
    pub chain: Arc<ChainAccess>,
    /// The apps this node can run channels of.
    pub apps: Arc<Apps>,
    /// Where the peers and the archive of closed channels are kept.
    pub store: Arc<ChannelStore>,
    /// `[policy]`: default challenge, timeouts.
    pub policy: PolicySection,
    /// `[testing]`: what a test node does wrong (all off on real nodes).
    pub testing: TestingSection,
    /// The way to the channels' chain side, for moves on chain in a dispute.
    pub force_moves: ForceMoves,
    /// The node key, to sign the invoices this node issues; `None` where nobody issues any.
    pub invoice_key: Option<crate::wire::NodeKey>,
    /// The counters an operator scrapes (shared with the chain side).
    pub metrics: Arc<super::metrics::Metrics>,
}

impl Driver {
    /// The node's metrics in Prometheus's text format: the counters, and the channels by
    /// phase, the connected peers and the store's commits as they are now.
    pub fn metrics_text(&self) -> String {
        let gauges = super::metrics::Gauges {
            channels: self.registry.phase_counts(),
            peers_connected: self.peers.connections().len() as u64,
            store: self.store.stats(),
        };
        self.metrics.render(&gauges)
    }

    /// The chain backend's description.
    pub fn chain_info(&self) -> &ChainInfo {
        &self.chain.info
    }

    /// Remembers `peer` (durably, then in the book), then connects to it at once unless it
    /// is connected; the peer stays remembered whether or not that works, and the view says
    /// which (with the precise failure). The user's address is the newest word on the peer, so
    /// the address the peer announced before is forgotten in the same commit.
    pub async fn add_peer(&self, peer: NamedPeer) -> Result<PeerView, Error> {
        self.book.check_add(&peer)?;
        let stored = StoredPeer {
            alias: peer.alias.clone(),
            node_id: peer.node_id,
            transport_address: peer.transport_address.clone(),
        };
        self.store
            .commit(vec![peer_op(&stored), announced_delete_op(&peer.node_id)])
            .await
            .map_err(|e| Error::internal(format!("cannot store the peer: {e}")))?;
        self.book.add(&peer)?;
        self.book.forget_announced(&peer.node_id);
        let connect_error = match self.dialer.ensure_connected(peer.node_id).await {
            Ok(()) => None,
            Err(error) => Some(error.message().to_owned()),
        };
        let mut view = self.peer_view(peer.node_id);
        view.connect_error = connect_error;
        Ok(view)
    }

    /// The peers the user named, those whose announced address the node keeps, and every
    /// peer connected now (named or not, whoever dialed), in node id order.
    pub fn peer_list(&self) -> Vec<PeerView> {
        let mut nodes: Vec<NodeId> = self.book.all().iter().map(|p| p.node_id).collect();
        nodes.extend(self.book.announcers());
        nodes.extend(self.peers.connected());
        nodes.sort();
        nodes.dedup();
        nodes.into_iter().map(|node| self.peer_view(node)).collect()
    }

    /// What the node knows of `node` now.
    fn peer_view(&self, node: NodeId) -> PeerView {
        let (alias, address) = self.book.contact(&node);
        PeerView {
            alias,
            node_id: node,
            address,
            connection: self.peers.connection(&node),
            connect_error: None,
        }
    }

    /// How many peers are connected now.
    pub fn connected_peers(&self) -> usize {
        self.peers.connected().len()
    }

    /// This node's on-chain balance of `asset` (by name), or of every asset of the chain.
    pub async fn balances(&self, asset: Option<&str>) -> Result<Vec<(String, Amount)>, Error> {
        let account = self.chain.account()?.clone();
        let assets: Vec<AssetInfo> = match asset {
            None => self.chain.info.assets.clone(),
            Some(name) => vec![self.chain.asset_by_name(Some(name))?.clone()],
        };
        let mut balances = Vec::with_capacity(assets.len());
        for asset in assets {
            let chain = self.chain.ledger.clone();
            let (owner, holding) = (account.clone(), asset.asset.clone());
            let amount =
                chain_call("read the balance", move || chain.balance(&owner, &holding)).await?;
            balances.push((asset.name, amount));
        }
        Ok(balances)
    }

    /// What `[testing]` makes this node do to a proposal of its own before it is sent.
    pub(super) fn tamper(&self, proposal: &mut ChannelProposal) {
        tamper_proposal(&self.testing, proposal);
    }
}
