//! The chain as the driver sees it ([`ChainAccess`]): the backend plugin's two halves, its
//! description, and the account this node pays from and signs states with; and how its waiting
//! calls are run.

use super::error::Error;
use parley_plugin_api::model::{Amount, Asset, AssetInfo, ChainInfo, Participant};
use parley_plugin_api::{ChainLedger, ChainSigner, ErrorKind, PluginError};
use std::sync::Arc;

/// The chain backend with what the node learnt of it at start. Never changes.
pub struct ChainAccess {
    /// The fast half: channel ids, signatures. Channel tasks hold only this.
    pub signer: Arc<dyn ChainSigner>,
    /// The waiting half: funding, disputes, payouts, reads of the chain. Called only through
    /// [`blocking`] or [`chain_call`], never on a channel task.
    pub ledger: Arc<dyn ChainLedger>,
    /// The backend's description: chain id and assets.
    pub info: ChainInfo,
    /// The account this node pays from and signs states with; `None` if the backend has none
    /// (the node then runs, but every chain-side operation fails).
    pub account: Option<Participant>,
}

impl ChainAccess {
    /// The account, or the error every chain-side operation gives without one.
    pub fn account(&self) -> Result<&Participant, Error> {
        self.account.as_ref().ok_or_else(|| {
            Error::unavailable(
                "the chain backend has no account for this node; configure one in [chain]",
            )
        })
    }

    /// The name the chain gives `asset`.
    pub fn asset_name(&self, asset: &Asset) -> String {
        asset_name(&self.info, asset)
    }

    /// `0.01 ETH`: `amount` of `asset` in its whole units, for messages and logs people read.
    pub fn show(&self, asset: &Asset, amount: &Amount) -> String {
        show(&self.info.assets, asset, amount)
    }

    /// The asset the chain calls `name`, or the chain's first asset without a name.
    pub fn asset_by_name(&self, name: Option<&str>) -> Result<&AssetInfo, Error> {
        let assets = &self.info.assets;
        match name {
            None => assets
                .first()
                .ok_or_else(|| Error::unavailable("the chain backend offers no assets")),
            Some(name) => assets.iter().find(|a| a.name == name).ok_or_else(|| {
                let known: Vec<&str> = assets.iter().map(|a| a.name.as_str()).collect();
                Error::invalid(
                    "asset",
                    format!(
                        "unknown asset `{name}`; this chain has {}",
                        known.join(", ")
                    ),
                )
            }),
        }
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

/// Runs one of the chain backend's waiting calls on a blocking thread, keeping the async
/// runtime free. The plugin's error keeps its kind; a panic on the thread is `Panicked`.
pub async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, PluginError> + Send + 'static,
) -> Result<T, PluginError> {
    match tokio::task::spawn_blocking(call).await {
        Ok(result) => result,
        Err(error) => Err(PluginError::new(
            ErrorKind::Panicked,
            format!("the chain call panicked: {error}"),
        )),
    }
}

/// [`blocking`] for an operation: a failure is `unavailable`, saying what could not be done.
pub async fn chain_call<T: Send + 'static>(
    what: &'static str,
    call: impl FnOnce() -> Result<T, PluginError> + Send + 'static,
) -> Result<T, Error> {
    blocking(call)
        .await
        .map_err(|error| Error::unavailable(format!("cannot {what} on the chain: {error}")))
}

/// `0.01 ETH`: `amount` of `asset` in its whole units as `assets` (the chain's) describe it;
/// base units for an asset they do not list.
pub fn show(assets: &[AssetInfo], asset: &Asset, amount: &Amount) -> String {
    match assets.iter().find(|info| info.asset == *asset) {
        Some(info) => crate::units::show(amount, info),
        None => format!("{amount} base units of {asset}"),
    }
}

/// Why a payment of `requested` of `asset` is refused when only `available` is, in the asset's
/// units (the protocol's overdraft error knows amounts, not assets): what the caller is told
/// and what the payment's record keeps.
pub fn overdraft_reason(
    assets: &[AssetInfo],
    asset: &Asset,
    requested: &Amount,
    available: &Amount,
) -> String {
    format!(
        "the payment of {} exceeds the available balance of {}",
        show(assets, asset, requested),
        show(assets, asset, available)
    )
}
