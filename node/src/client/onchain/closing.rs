//! The chain side of a cooperative close (`Closing`): conclude with the final state, unless the
//! peer does (only one side sends `concludeFinal`: [`super::conclude_final`]), then withdraw
//! our share and close the channel.
//!
//! Every look at the chain reads the channel's record first, and a concluded channel is only
//! withdrawn from. A failed read is an error (shown in the channel's status and tried again),
//! never taken for "not concluded": that mistake would send a `concludeFinal` that reverts and
//! costs its gas, or, with a record the backend misreads, one that reverts forever.
//!
//! Restarting is safe at any point: the record tells whether the channel concluded, and
//! withdrawing a zero holding pays nothing.

use super::conclude_final::{final_step, FinalStep};
use super::failure::ChainFailure;
use super::life::Outcome;
use super::{Acting, ChainSide};
use crate::protocol::ChannelSnapshot;
use parley_plugin_api::model::{
    Asset, ChannelId, ConcludeFinalRequest, DisputePhase, Participant, SignedState, TxReceipt,
    WithdrawRequest,
};
use parley_plugin_api::{ChainLedger, ErrorKind};
use std::time::Duration;

/// How often the record is read while the peer is expected to conclude (a chain event about the
/// channel wakes the close earlier).
const POLL: Duration = Duration::from_millis(500);

/// One look at the chain for channel `id`, which this run has been settling for `waited`: read
/// the record, then wait for the peer, or conclude and withdraw; once withdrawn, the channel
/// task is told the channel is closed.
pub async fn settle(
    side: &ChainSide,
    id: ChannelId,
    waited: Duration,
) -> Result<Outcome, ChainFailure> {
    let Some(acting) = side.acting(id, "settle").await? else {
        return Ok(Outcome::Done);
    };
    if let Some(parent) = acting.snapshot.funding.in_parent() {
        return super::tree::merge_into_parent(side, id, parent, acting).await;
    }
    let Acting {
        handle,
        snapshot,
        me,
    } = acting;
    // For the log line of the withdrawal, which names what it paid in each asset's units.
    let assets = snapshot.latest.state.allocation.assets.clone();
    let close = FinalClose::new(snapshot, me, !side.testing.withhold_conclude_final)?;
    let chain = side.chain.ledger.clone();
    let patience = side.policy.peer_conclude_timeout;
    let step = tokio::task::spawn_blocking(move || close.step(&*chain, waited, patience))
        .await
        .map_err(|e| {
            ChainFailure::new(
                ErrorKind::Panicked,
                format!("settling on chain panicked: {e}"),
            )
        })??;
    match step {
        CloseStep::AwaitPeer { within } => {
            side.registry.set_note(
                &id,
                format!(
                    "settling: the peer (the channel's proposer) concludes the channel on chain; \
                     waiting for its transaction, at most {} s more, before concluding ourselves \
                     ([policy] peer_conclude_timeout_seconds)",
                    within.as_secs_f64().ceil()
                ),
            );
            Ok(Outcome::Later(within.min(POLL)))
        }
        CloseStep::Withdrawn(receipt) => {
            let amounts: Vec<String> = assets
                .iter()
                .zip(&receipt.amounts)
                .map(|(asset, amount)| side.chain.show(asset, amount))
                .collect();
            tracing::info!(channel = %id, amounts = ?amounts, "the channel concluded on chain; withdrew our share");
            side.registry.set_note(
                &id,
                "settled: the channel concluded on chain and our share is withdrawn".to_string(),
            );
            let ending = side.registry.ending(&id);
            handle.concluded(ending).await.map_err(|e| {
                ChainFailure::channel("settled on chain, but the channel refused it", &e)
            })?;
            Ok(Outcome::Done)
        }
    }
}

/// What one look at the chain came to.
#[derive(Debug)]
pub enum CloseStep {
    /// The peer concludes; look again within this time.
    AwaitPeer {
        /// When our patience runs out.
        within: Duration,
    },
    /// The channel concluded (by us or the peer) and our share is withdrawn.
    Withdrawn(TxReceipt),
}

/// A channel in `Closing`, as the chain needs it.
pub struct FinalClose {
    /// The fully signed final state with the parameters.
    pub signed: SignedState,
    /// Our index among the participants.
    pub my_index: u16,
    /// Our account: sends the transactions and is paid.
    pub me: Participant,
    /// The channel's assets, in allocation order.
    pub assets: Vec<Asset>,
    /// Whether this node may send `concludeFinal` (off only on test nodes playing a peer that
    /// vanished after signing the final state).
    pub may_conclude: bool,
}

impl FinalClose {
    /// The close of a channel from its snapshot; refused if the final state lacks a signature.
    pub fn new(
        snapshot: ChannelSnapshot,
        me: Participant,
        may_conclude: bool,
    ) -> Result<FinalClose, ChainFailure> {
        let signed = snapshot.signed_latest().ok_or_else(|| {
            ChainFailure::internal("cannot settle: the final state lacks a signature")
        })?;
        Ok(FinalClose {
            assets: snapshot.latest.state.allocation.assets.clone(),
            signed,
            my_index: snapshot.channel.my_index,
            me,
            may_conclude,
        })
    }

    fn id(&self) -> ChannelId {
        self.signed.state.channel_id
    }

    /// The blocking part of one look: read the record, then conclude (if it is our turn) and
    /// withdraw, or report that the peer's `concludeFinal` is awaited. `waited` is how long
    /// this node has been settling the channel.
    pub fn step(
        &self,
        chain: &dyn ChainLedger,
        waited: Duration,
        patience: Duration,
    ) -> Result<CloseStep, ChainFailure> {
        let id = self.id();
        let record = chain.dispute(&id).map_err(|e| {
            ChainFailure::new(
                e.kind,
                format!(
                    "cannot read the channel's record on chain, so cannot tell whether it \
                     concluded already: {}",
                    e.message()
                ),
            )
        })?;
        match final_step(record.as_ref(), self.my_index, waited, patience) {
            FinalStep::AwaitPeer { within } => return Ok(CloseStep::AwaitPeer { within }),
            FinalStep::ConcludeFinal if !self.may_conclude => {
                crate::testing::withheld_conclude_final(id);
                return Ok(CloseStep::AwaitPeer { within: POLL });
            }
            FinalStep::ConcludeFinal => self.conclude(chain)?,
            FinalStep::Withdraw => {}
        }
        let receipt = chain
            .withdraw(&WithdrawRequest {
                from: self.me.clone(),
                channel_id: id,
                participant: self.me.clone(),
                receiver: self.me.clone(),
                assets: self.assets.clone(),
            })
            .map_err(|e| ChainFailure::plugin("withdrawing our share", &e))?;
        Ok(CloseStep::Withdrawn(receipt))
    }

    /// Sends `concludeFinal`. A refusal is fine if the channel concluded anyway (the peer's
    /// transaction landed first); the record, read again, decides.
    fn conclude(&self, chain: &dyn ChainLedger) -> Result<(), ChainFailure> {
        let request = ConcludeFinalRequest {
            from: self.me.clone(),
            channel: self.signed.clone(),
        };
        let Err(error) = chain.conclude_final(&request) else {
            tracing::info!(channel = %self.id(), version = self.signed.state.version, "concluded the channel on chain with its final state");
            return Ok(());
        };
        match chain.dispute(&self.id()) {
            Ok(Some(record)) if record.phase == DisputePhase::Concluded => Ok(()),
            Ok(_) => Err(ChainFailure::plugin(
                "concluding with the final state",
                &error,
            )),
            Err(read) => Err(ChainFailure::plugin(
                format!(
                    "concluding with the final state failed ({error}), and reading the \
                     channel's record to see whether it concluded anyway"
                ),
                &read,
            )),
        }
    }
}

#[cfg(test)]
#[path = "closing_tests.rs"]
mod tests;
