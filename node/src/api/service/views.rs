//! The driver's channels and proposals as the API shows them.

use crate::api::types::{AssetBalances, ProposalInfo};
use crate::client::node_api::asset_name;
use crate::client::proposals::WaitingProposal;
use parley_plugin_api::model::{Amount, ChainInfo};

/// A peer's proposal as the API shows it, from our side (we would be participant 1).
pub fn proposal_info(chain: &ChainInfo, waiting: &WaitingProposal) -> ProposalInfo {
    let proposal = &waiting.proposal;
    ProposalInfo {
        id: proposal.proposal_id,
        proposer: waiting.proposer,
        proposer_alias: waiting.proposer_alias.clone(),
        balances: proposal
            .assets
            .iter()
            .zip(&proposal.balances)
            .map(|(asset, row)| AssetBalances {
                asset: asset_name(chain, asset),
                mine: row.get(1).copied().unwrap_or(Amount::ZERO),
                theirs: row.first().copied().unwrap_or(Amount::ZERO),
            })
            .collect(),
        challenge_seconds: proposal.challenge_duration,
        expires_at: waiting.expires_at,
        app: proposal.app.clone(),
        app_data: proposal.app_data.clone(),
        locked: proposal.locked.clone(),
        ledger_channel: proposal.ledger_channel,
        virtual_channel: proposal.virtual_channel,
    }
}
