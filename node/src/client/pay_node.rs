//! Paying a node, not a channel (`parley pay <node> <amount>`): through an active channel with
//! it that holds enough for us if there is one, else through a virtual channel opened for the
//! payment through one of our ledger channels with a hub (a node that carries virtual channels
//! and has a channel with the payee). The user never names the path: each of our active ledger
//! channels whose balance covers the payment is tried as the way through, and the hub refuses
//! quickly if it cannot carry it. The payee's node accepts such a virtual channel by itself:
//! it puts nothing in, so it can only receive (`client/proposals`).

use super::driver::Driver;
use super::error::Error;
use super::opening::OpenRequest;
use super::payment::PayOptions;
use crate::protocol::{Funding, Phase};
use crate::store::{PaymentId, PaymentRecord};
use crate::wire::NodeId;
use parley_plugin_api::model::{Amount, Asset, ChannelId};

/// A payment to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayNodeRequest {
    /// The payee, by alias or node id (it need not be a peer).
    pub to: String,
    /// How much.
    pub amount: Amount,
    /// The asset by name; the chain's first when `None`.
    pub asset: Option<String>,
    /// What a new virtual channel holds of ours (at least `amount`); `amount` when `None`.
    pub deposit: Option<Amount>,
    /// What a new virtual channel offers the hub for carrying it; nothing when `None`.
    pub fee: Option<Amount>,
    /// The payment's id; a fresh one when `None`.
    pub id: Option<PaymentId>,
}

impl Driver {
    /// Pays `request` (module documentation); returns the payment once the payee signed it.
    pub async fn pay_node(&self, request: PayNodeRequest) -> Result<PaymentRecord, Error> {
        let (_, payee) = self.book.resolve(&request.to).ok_or_else(|| {
            Error::invalid(
                "to",
                format!("`{}` is neither a known alias nor a node id", request.to),
            )
        })?;
        if payee == self.node_id {
            return Err(Error::invalid("to", "that is this node"));
        }
        let asset = self.chain.asset_by_name(request.asset.as_deref())?.clone();
        let deposit = request
            .deposit
            .unwrap_or(request.amount)
            .max(request.amount);
        let channel = match self
            .channel_with(payee, &asset.asset, request.amount)
            .await?
        {
            Some(channel) => channel,
            None => {
                let fees = request.fee.into_iter().collect();
                self.virtual_channel_to(payee, &request.to, &asset, request.amount, deposit, fees)
                    .await?
            }
        };
        let id = request.id.unwrap_or_else(PaymentId::random);
        let options = PayOptions {
            asset: Some(asset.name.clone()),
            id: Some(id),
            memo: String::new(),
        };
        self.pay_with(channel, request.amount, options).await?;
        self.payment_settled(id).await
    }

    /// Our active payment channel with `payee` (ledger, sub- or virtual channel) in which we
    /// hold at least `amount` of `asset`.
    async fn channel_with(
        &self,
        payee: NodeId,
        asset: &Asset,
        amount: Amount,
    ) -> Result<Option<ChannelId>, Error> {
        for overview in self.channels(false).await? {
            if overview.peer != Some(payee) {
                continue;
            }
            if let Some(snapshot) = &overview.snapshot {
                if snapshot.phase == Phase::Active
                    && snapshot.channel.params.app.is_none()
                    && our_balance(snapshot, asset).is_some_and(|b| b >= amount)
                {
                    return Ok(Some(overview.id));
                }
            }
        }
        Ok(None)
    }

    /// A virtual channel to `payee` (called `name`) holding `deposit` of ours, opened through
    /// the first of our active ledger channels with another node that can carry it.
    async fn virtual_channel_to(
        &self,
        payee: NodeId,
        name: &str,
        asset: &parley_plugin_api::model::AssetInfo,
        amount: Amount,
        deposit: Amount,
        fees: Vec<Amount>,
    ) -> Result<ChannelId, Error> {
        let mut refusals = Vec::new();
        for overview in self.channels(false).await? {
            let Some(snapshot) = &overview.snapshot else {
                continue;
            };
            let usable = overview.peer.is_some_and(|peer| peer != payee)
                && snapshot.funding == Funding::Ledger
                && snapshot.phase == Phase::Active
                && snapshot.channel.params.app.is_none()
                && our_balance(snapshot, &asset.asset).is_some_and(|b| b >= amount);
            if !usable {
                continue;
            }
            let request = OpenRequest {
                peer: name.to_string(),
                asset: Some(asset.name.clone()),
                mine: deposit,
                theirs: Amount::ZERO,
                more_assets: Vec::new(),
                challenge_seconds: None,
                app: None,
                parent: None,
                via: Some(overview.id),
                through: Vec::new(),
                fees: fees.clone(),
            };
            match self.open(request).await {
                Ok(opened) => return Ok(opened.id),
                Err(error) => {
                    refusals.push(format!("through {}: {}", overview.id, error.message()))
                }
            }
        }
        Err(if refusals.is_empty() {
            Error::conflict(format!(
                "this node has no channel with {name} holding {amount} for us, and no active \
                 ledger channel with another node (a hub) to open a virtual channel through"
            ))
        } else {
            Error::conflict(format!(
                "this node has no channel with {name} holding {amount} for us, and no hub \
                 carried a virtual channel to it ({})",
                refusals.join("; ")
            ))
        })
    }
}

/// What `snapshot`'s newest state gives us of `asset`.
fn our_balance(snapshot: &crate::protocol::ChannelSnapshot, asset: &Asset) -> Option<Amount> {
    let state = &snapshot.latest.state;
    let me = usize::from(snapshot.channel.my_index);
    state
        .allocation
        .assets
        .iter()
        .position(|a| a == asset)
        .and_then(|i| state.allocation.balances[i].get(me).copied())
}
