//! The funding duty of a channel in `Funding`: ask the [`Funder`] how the channel is funded
//! (ledger funding: deposit our share and wait for the peer's); then tell the channel task it
//! is funded. Funding the node cannot do yet (by a parent's lock) is refused without touching
//! the chain, and not retried as is. If the peer's deposit never comes, our deposit is
//! recovered through a dispute (the channel moves to `Disputed`).
//!
//! Safe to repeat: depositing skips what is already held, so a retry never pays twice.

use super::failure::{chain_step, ChainFailure};
use super::funder::{FundError, Funder};
use super::life::Outcome;
use super::{Acting, ChainSide};
use crate::protocol::funding::FundingError;
use crate::protocol::Phase;
use parley_plugin_api::model::{ChannelId, FundingOutcome};
use parley_plugin_api::ErrorKind;

/// Funds channel `id` (see the module documentation).
pub async fn fund(side: &ChainSide, id: ChannelId) -> Result<Outcome, ChainFailure> {
    let Some(acting) = side.acting(id, "fund").await? else {
        return Ok(Outcome::Done);
    };
    if let Some(parent) = acting.snapshot.funding.in_parent() {
        return super::tree::fund_by_parent(side, id, parent, acting).await;
    }
    let Acting {
        handle,
        snapshot,
        me: account,
    } = acting;
    let timeout = side.policy.funding_timeout.as_secs();
    let funder = Funder::new(account, side.policy.funding_timeout);
    tracing::info!(channel = %id, "funding: depositing our share and waiting for the peer's");
    let chain = side.chain.ledger.clone();
    let outcome = match chain_step("funding", move || Ok(funder.fund(&*chain, &snapshot))).await? {
        Ok(outcome) => outcome,
        // The channel left `Funding` meanwhile: nothing to do.
        Err(FundError::Refused(FundingError::NotFunding { .. })) => return Ok(Outcome::Done),
        Err(FundError::Refused(refused)) => {
            return Err(ChainFailure::new(
                ErrorKind::Unsupported,
                format!("cannot fund: {refused}"),
            ))
        }
        Err(FundError::Chain(error)) => return Err(ChainFailure::plugin("funding", &error)),
    };
    match outcome {
        FundingOutcome::Funded => match handle.funded().await {
            Ok(()) => {
                tracing::info!(channel = %id, "funded");
                Ok(Outcome::Done)
            }
            // A dispute started meanwhile (the peer gave up on the funding first): the
            // dispute settles the channel.
            Err(_) if !still_funding(side, id) => Ok(Outcome::Done),
            Err(e) => Err(ChainFailure::channel(
                "funded on chain, but the channel refused it",
                &e,
            )),
        },
        FundingOutcome::TimedOut { missing } => {
            let missing: Vec<String> = missing
                .iter()
                .map(|(participant, asset)| format!("participant {participant} asset {asset}"))
                .collect();
            let note = format!(
                "funding timed out after {timeout} s ([policy] funding_timeout_seconds); missing \
                 deposits: {}; recovering our deposit through a dispute (register version 0, \
                 wait the challenge duration, conclude, withdraw)",
                missing.join(", ")
            );
            tracing::warn!(channel = %id, "{note}");
            side.registry.set_reason(&id, note);
            side.stop_for_dispute(
                id,
                "funding timed out, and the channel refused the dispute that recovers our deposit",
            )
            .await
        }
    }
}

/// Whether channel `id` still runs and is in `Funding`.
fn still_funding(side: &ChainSide, id: ChannelId) -> bool {
    side.registry.phase(&id) == Some(Phase::Funding)
}
