//! [`Driver`]: what a front end (the API) asks of the node, in the driver's own terms. Each
//! operation checks what depends on the node's state, then drives the peers, the channel tasks
//! and the chain; it returns domain values and fails with an [`Error`] whose kind says whose
//! fault it is. An operation that fails leaves nothing half-done.
//!
//! The operations are grouped by concern: peers and balances here, opening channels in
//! [`super::opening`], paying in [`super::payment`], settling in [`super::settling`], reading
//! channels in [`super::overview`].

use super::book::NamedPeer;
use super::core::{blocking, NodeCore};
use super::error::Error;
use super::misbehaviour::tamper_proposal;
use crate::protocol::ChannelProposal;
use crate::store::node_records::peer_op;
use crate::store::StoredPeer;
use crate::wire::NodeId;
use parley_plugin_api::model::{Amount, Asset, AssetInfo, ChainInfo};
use std::sync::Arc;

/// The driver as a front end sees it; cheap to clone.
#[derive(Clone)]
pub struct Driver {
    pub(super) core: Arc<NodeCore>,
}

impl Driver {
    /// The driver over `core`.
    pub fn new(core: Arc<NodeCore>) -> Driver {
        Driver { core }
    }

    /// This node's identity.
    pub fn node_id(&self) -> NodeId {
        self.core.node_id
    }

    /// The chain backend's description.
    pub fn chain_info(&self) -> &ChainInfo {
        &self.core.chain_info
    }

    /// Where this node accepts peers.
    pub fn listen_address(&self) -> &str {
        &self.core.listen_address
    }

    /// Remembers `peer` (durably, then in the book); returns whether it is connected now.
    pub async fn add_peer(&self, peer: NamedPeer) -> Result<(NamedPeer, bool), Error> {
        let core = &self.core;
        core.book.check_add(&peer)?;
        let stored = StoredPeer {
            alias: peer.alias.clone(),
            node_id: peer.node_id,
            transport_address: peer.transport_address.clone(),
        };
        core.store
            .commit(vec![peer_op(&stored)])
            .await
            .map_err(|e| Error::internal(format!("cannot store the peer: {e}")))?;
        core.book.add(&peer)?;
        let connected = core.peers.is_connected(&peer.node_id);
        Ok((peer, connected))
    }

    /// Every known peer, by alias, with whether it is connected now.
    pub fn peers(&self) -> Vec<(NamedPeer, bool)> {
        self.core
            .book
            .all()
            .into_iter()
            .map(|peer| {
                let connected = self.core.peers.is_connected(&peer.node_id);
                (peer, connected)
            })
            .collect()
    }

    /// This node's on-chain balance of `asset` (by name), or of every asset of the chain.
    pub async fn balances(&self, asset: Option<&str>) -> Result<Vec<(String, Amount)>, Error> {
        let core = &self.core;
        let account = core.account()?.clone();
        let assets: Vec<AssetInfo> = match asset {
            None => core.chain_info.assets.clone(),
            Some(name) => vec![asset_by_name(&core.chain_info, Some(name))?.clone()],
        };
        let mut balances = Vec::with_capacity(assets.len());
        for asset in assets {
            let chain = core.chain.clone();
            let (owner, holding) = (account.clone(), asset.asset.clone());
            let amount =
                chain_call("read the balance", move || chain.balance(&owner, &holding)).await?;
            balances.push((asset.name, amount));
        }
        Ok(balances)
    }

    /// What `[testing]` makes this node do to a proposal of its own before it is sent.
    pub(super) fn tamper(&self, proposal: &mut ChannelProposal) {
        tamper_proposal(&self.core.testing, proposal);
    }
}

/// The name a chain gives `asset`, or its `chain/holder` form if the chain does not know it.
pub fn asset_name(chain: &ChainInfo, asset: &Asset) -> String {
    chain
        .assets
        .iter()
        .find(|info| info.asset == *asset)
        .map_or_else(|| asset.to_string(), |info| info.name.clone())
}

/// The asset the chain calls `name`, or the chain's first asset without a name.
pub(super) fn asset_by_name<'a>(
    chain: &'a ChainInfo,
    name: Option<&str>,
) -> Result<&'a AssetInfo, Error> {
    let known = || {
        chain
            .assets
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        None => chain
            .assets
            .first()
            .ok_or_else(|| Error::unavailable("the chain backend offers no assets")),
        Some(name) => chain.assets.iter().find(|a| a.name == name).ok_or_else(|| {
            Error::invalid(
                "asset",
                format!("unknown asset `{name}`; this chain has {}", known()),
            )
        }),
    }
}

/// Runs a waiting chain call on a blocking thread; its failure is `unavailable`.
pub(super) async fn chain_call<T: Send + 'static>(
    what: &'static str,
    call: impl FnOnce() -> Result<T, parley_plugin_api::PluginError> + Send + 'static,
) -> Result<T, Error> {
    blocking(call)
        .await
        .map_err(|error| Error::unavailable(format!("cannot {what} on the chain: {error}")))
}
