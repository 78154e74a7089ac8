//! [`Driver`]: what a front end (the API) asks of the node, in the driver's own terms. Each
//! operation checks what depends on the node's state, then drives the peers, the channel tasks
//! and the chain; it returns domain values and fails with an [`Error`] whose kind says whose
//! fault it is. An operation that fails leaves nothing half-done.
//!
//! The operations are grouped by concern: peers and balances here, opening channels in
//! [`super::opening`], paying in [`super::payment`], settling in [`super::settling`], reading
//! channels in [`super::overview`].

use super::apps::Apps;
use super::book::{NamedPeer, PeerBook};
use super::chain::{chain_call, ChainAccess};
use super::dialer::Dialer;
use super::error::Error;
use super::onchain::force::ForceMoves;
use super::peers::Peers;
use super::proposals::Proposals;
use super::registry::Registry;
use crate::config::{PolicySection, TestingSection};
use crate::protocol::ChannelProposal;
use crate::store::node_records::peer_op;
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
}

impl Driver {
    /// The chain backend's description.
    pub fn chain_info(&self) -> &ChainInfo {
        &self.chain.info
    }

    /// Remembers `peer` (durably, then in the book); returns whether it is connected now.
    pub async fn add_peer(&self, peer: NamedPeer) -> Result<(NamedPeer, bool), Error> {
        self.book.check_add(&peer)?;
        let stored = StoredPeer {
            alias: peer.alias.clone(),
            node_id: peer.node_id,
            transport_address: peer.transport_address.clone(),
        };
        self.store
            .commit(vec![peer_op(&stored)])
            .await
            .map_err(|e| Error::internal(format!("cannot store the peer: {e}")))?;
        self.book.add(&peer)?;
        let connected = self.peers.is_connected(&peer.node_id);
        Ok((peer, connected))
    }

    /// Every known peer, by alias, with whether it is connected now.
    pub fn known_peers(&self) -> Vec<(NamedPeer, bool)> {
        self.book
            .all()
            .into_iter()
            .map(|peer| {
                let connected = self.peers.is_connected(&peer.node_id);
                (peer, connected)
            })
            .collect()
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
