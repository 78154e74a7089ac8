//! The driver's channels, proposals and peers as the API shows them.

use crate::api::payments::{InvoiceInfo, PaymentInfo};
use crate::api::types::{
    AppMoveInfo, AppStateInfo, AssetBalances, BalanceChange, ChannelInfo, DisputeInfo,
    OnRecordInfo, ParticipantInfo, PeerInfo, PendingUpdateInfo, ProposalInfo,
};
use crate::client::answers::WaitingUpdate;
use crate::client::book::PeerView;
use crate::client::chain::asset_name;
use crate::client::channel_policy::{is_app_move, is_payment_to, is_settlement};
use crate::client::invoices::{InvoiceStatus, SignedInvoice};
use crate::client::overview::{AppView, ChannelOverview};
use crate::client::proposals::WaitingProposal;
use crate::protocol::Funding;
use crate::store::PaymentRecord;
use parley_plugin_api::model::{Amount, ChainInfo, ChainTime, Dispute, DisputePhase};

/// An invoice this node issued, as the API shows it.
pub fn invoice_info(
    chain: &ChainInfo,
    signed: &SignedInvoice,
    status: &InvoiceStatus,
) -> InvoiceInfo {
    let invoice = &signed.invoice;
    let (status, payment) = match status {
        InvoiceStatus::Open => ("open", None),
        InvoiceStatus::Expired => ("expired", None),
        InvoiceStatus::Paid(record) => ("paid", Some(payment_info(chain, record))),
    };
    InvoiceInfo {
        invoice: signed.to_text(),
        id: invoice.id,
        payee: invoice.payee,
        asset: asset_name(chain, &invoice.asset),
        amount: invoice.amount,
        expires_at: invoice.expires_at,
        memo: invoice.memo.clone(),
        status: status.to_string(),
        payment,
    }
}

/// A payment record as the API shows it.
pub fn payment_info(chain: &ChainInfo, record: &PaymentRecord) -> PaymentInfo {
    PaymentInfo {
        id: record.id,
        channel: record.channel,
        direction: record.direction.as_str().to_string(),
        asset: asset_name(chain, &record.asset),
        amount: record.amount,
        version: record.version,
        status: record.status.as_str().to_string(),
        reason: record.status.reason().map(str::to_string),
        mine: record.mine,
        theirs: record.theirs,
        time: record.created_ms / 1000,
        updated: record.updated_ms / 1000,
        memo: record.memo.clone(),
    }
}

/// A channel as the API shows it, from our side. A damaged record (no snapshot) shows no
/// phase, version 0 and no balances.
pub fn channel_info(chain: &ChainInfo, overview: ChannelOverview) -> ChannelInfo {
    let ChannelOverview {
        id,
        peer,
        peer_alias,
        snapshot,
        status,
        dispute,
        app,
    } = overview;
    let app = app.map(app_state_info);
    let dispute = dispute.map(dispute_info);
    let Some(snapshot) = snapshot else {
        return ChannelInfo {
            id,
            peer,
            peer_alias,
            phase: None,
            version: 0,
            challenge_seconds: 0,
            balances: Vec::new(),
            participants: Vec::new(),
            status,
            dispute,
            app,
            funding: None,
            sub_channels: Vec::new(),
        };
    };
    let state = &snapshot.latest.state;
    let me = usize::from(snapshot.channel.my_index);
    let them = 1 - me.min(1);
    ChannelInfo {
        id,
        peer,
        peer_alias,
        phase: Some(snapshot.phase),
        version: state.version,
        challenge_seconds: snapshot.channel.params.challenge_duration,
        balances: state
            .allocation
            .assets
            .iter()
            .zip(&state.allocation.balances)
            .map(|(asset, row)| AssetBalances {
                asset: asset_name(chain, asset),
                mine: row.get(me).copied().unwrap_or(Amount::ZERO),
                theirs: row.get(them).copied().unwrap_or(Amount::ZERO),
                by_participant: row.clone(),
            })
            .collect(),
        participants: snapshot
            .channel
            .params
            .participants
            .iter()
            .enumerate()
            .map(|(index, address)| ParticipantInfo {
                index: index as u16,
                address: address.clone(),
                me: index == me,
            })
            .collect(),
        status,
        dispute,
        app,
        funding: Some(match &snapshot.funding {
            Funding::Ledger => "ledger".to_string(),
            other => other.to_string(),
        }),
        sub_channels: state.allocation.locked.iter().map(|s| s.id).collect(),
    }
}

/// The peer's update awaiting our answer as the API shows it, from our side.
pub fn pending_update_info(chain: &ChainInfo, waiting: WaitingUpdate) -> PendingUpdateInfo {
    let WaitingUpdate {
        channel,
        peer,
        peer_alias,
        me,
        proposer,
        current,
        proposed,
        answer_by,
        app_current,
        app_proposed,
    } = waiting;
    let them = 1 - me.min(1);
    let part = |row: &Vec<Amount>, index: usize| row.get(index).copied().unwrap_or(Amount::ZERO);
    let kind = if is_settlement(&current, &proposed) {
        "settle"
    } else if is_payment_to(me, &current, &proposed) {
        "payment_to_us"
    } else if is_app_move(&current, &proposed) {
        "app_move"
    } else {
        "other"
    };
    let balances = current
        .allocation
        .assets
        .iter()
        .zip(&current.allocation.balances)
        .zip(&proposed.allocation.balances)
        .map(|((asset, before), after)| BalanceChange {
            asset: asset_name(chain, asset),
            mine_before: part(before, me),
            mine_after: part(after, me),
            theirs_before: part(before, them),
            theirs_after: part(after, them),
        })
        .collect();
    let app = app_current.map(|view| {
        let current = app_state_info(view);
        let proposed = app_proposed.map(app_state_info);
        AppMoveInfo {
            address: current.address,
            name: current.name,
            actor: proposer.map(|p| p as u16),
            problem: current
                .problem
                .or_else(|| proposed.as_ref().and_then(|p| p.problem.clone())),
            current: current.state,
            proposed: proposed.and_then(|p| p.state),
        }
    });
    PendingUpdateInfo {
        id: channel,
        peer,
        peer_alias,
        version: proposed.version,
        current_version: current.version,
        kind: kind.to_string(),
        balances,
        is_final: proposed.is_final,
        answer_by,
        app,
    }
}

/// An app's description of a state as JSON, or why there is none.
fn described(
    description: Option<Result<String, String>>,
) -> (Option<serde_json::Value>, Option<String>) {
    match description {
        None => (None, None),
        Some(Ok(text)) => match serde_json::from_str(&text) {
            Ok(value) => (Some(value), None),
            Err(error) => (
                None,
                Some(format!(
                    "the app described the state as invalid JSON: {error}"
                )),
            ),
        },
        Some(Err(reason)) => (
            None,
            Some(format!("the app cannot describe the state: {reason}")),
        ),
    }
}

/// An app channel's app and state as the API shows it: the app's description parsed as JSON.
fn app_state_info(view: AppView) -> AppStateInfo {
    let (state, problem) = described(view.state);
    let on_record = view.on_record.map(|(version, description)| {
        let (state, problem) = described(Some(description));
        let turn = state
            .as_ref()
            .and_then(|s| s.get("turn"))
            .and_then(|t| t.as_u64())
            .and_then(|t| u16::try_from(t).ok());
        OnRecordInfo {
            version,
            state,
            turn,
            problem,
        }
    });
    AppStateInfo {
        address: view.address,
        name: view.name,
        state,
        problem,
        on_record,
    }
}

/// An on-chain record as the API shows it.
pub fn dispute_info((record, now): (Dispute, ChainTime)) -> DisputeInfo {
    DisputeInfo {
        version: record.version,
        phase: match record.phase {
            DisputePhase::Dispute => "dispute",
            DisputePhase::ForceExec => "force_exec",
            DisputePhase::Concluded => "concluded",
        }
        .to_string(),
        timeout: record.timeout,
        chain_time: now,
    }
}

/// A peer as the API shows it.
pub fn peer_info(peer: PeerView) -> PeerInfo {
    let direction = peer.connection.as_ref().map(|connection| {
        if connection.inbound {
            "inbound"
        } else {
            "outbound"
        }
        .to_owned()
    });
    PeerInfo {
        alias: peer.alias,
        node_id: peer.node_id,
        transport_address: peer.address,
        connected: peer.connection.is_some(),
        direction,
        connect_error: peer.connect_error,
    }
}

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
                by_participant: row.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::snapshot;

    #[test]
    fn a_channel_shows_every_participant_and_each_ones_balance_beside_the_two_party_view() {
        let snapshot = snapshot(3, 4, false);
        let me = usize::from(snapshot.channel.my_index);
        let row = snapshot.latest.state.allocation.balances[0].clone();
        let participants = snapshot.channel.params.participants.clone();
        let info = channel_info(
            &ChainInfo {
                chain_id: 1,
                backend: "test".into(),
                assets: Vec::new(),
            },
            ChannelOverview {
                id: snapshot.channel.channel_id,
                peer: None,
                peer_alias: None,
                snapshot: Some(snapshot),
                status: None,
                dispute: None,
                app: None,
            },
        );
        assert_eq!(info.participants.len(), participants.len());
        for (index, participant) in info.participants.iter().enumerate() {
            assert_eq!(usize::from(participant.index), index);
            assert_eq!(participant.address, participants[index]);
            assert_eq!(participant.me, index == me);
        }
        assert_eq!(info.balances[0].by_participant, row);
        assert_eq!(info.balances[0].mine, row[me]);
        assert_eq!(info.balances[0].theirs, row[1 - me]);
    }
}
