//! Whether a proposed sub-channel fits its parent: what both sides check before a sub-channel
//! is opened, so that the parent's lock of it can only fail if the parent's balances changed
//! in between.

use super::lock::lock_child;
use crate::protocol::messages::ChannelProposal;
use crate::protocol::phase::Phase;
use crate::protocol::proposal::opening_state;
use crate::protocol::record::ChannelSnapshot;
use parley_plugin_api::model::{ChannelId, Params, Participant};

/// Checks that `parent` (called `role` in the reason) can fund `what` at all: it is active and
/// runs no app. What a child's lock then needs of it is the lock's own check.
pub(super) fn check_funding_parent(
    parent: &ChannelSnapshot,
    role: &str,
    what: &str,
) -> Result<(), String> {
    let id = parent.channel.channel_id;
    if parent.phase != Phase::Active {
        return Err(format!(
            "{role} {id} is {}; only an active channel funds {what}",
            parent.phase
        ));
    }
    if parent.channel.params.app.is_some() {
        return Err(format!(
            "{role} {id} runs an app; only a payment channel funds {what}"
        ));
    }
    Ok(())
}

/// Checks that `parent` (this node's channel, as its task holds it) can fund the sub-channel
/// `proposal` opens between its proposer and `accepter`: the parent is active, runs no app,
/// has exactly these two participants, the child holds the parent's assets in the parent's
/// order, and the parent's newest balances cover what each side puts in. The reason is for
/// the person (or the proposer, in the reject).
pub fn check_sub_channel_proposal(
    parent: &ChannelSnapshot,
    proposal: &ChannelProposal,
    accepter: &Participant,
) -> Result<(), String> {
    let id = parent.channel.channel_id;
    check_funding_parent(parent, "parent channel", "sub-channels")?;
    let params = &parent.channel.params;
    let ours = [&proposal.proposer, accepter];
    if params.participants.len() != 2 || !ours.iter().all(|p| params.participants.contains(p)) {
        return Err(format!(
            "parent channel {id} is not a channel between the proposer and the accepter"
        ));
    }
    let latest = &parent.latest.state;
    if proposal.assets != latest.allocation.assets {
        return Err(format!(
            "a sub-channel holds its parent's assets in the parent's order ({} asset(s) in \
             parent {id})",
            latest.allocation.assets.len()
        ));
    }
    let child_params = Params {
        participants: vec![proposal.proposer.clone(), accepter.clone()],
        challenge_duration: proposal.challenge_duration,
        nonce: proposal.nonce_share,
        app: proposal.app.clone(),
        ledger_channel: false,
        virtual_channel: false,
    };
    // Any id but the parent's: the channel id is only known once both nonce shares are.
    let placeholder = ChannelId(crate::hash::keccak256(&[&id.0, b"parley-proposed-child"]));
    let child = opening_state(proposal, placeholder);
    lock_child(params, latest, &child_params, &child)
        .map(|_| ())
        .map_err(|e| format!("parent channel {id} cannot fund it: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::tree::tests::{ledger_snapshot, party as who, sub_channel_proposal};
    use parley_plugin_api::model::Address;

    fn parent(phase: Phase, balances: [u64; 2]) -> ChannelSnapshot {
        ledger_snapshot(3, [1, 2], balances, phase)
    }

    fn proposal(mine: u64, theirs: u64) -> ChannelProposal {
        sub_channel_proposal(mine, theirs)
    }

    #[test]
    fn a_parent_that_covers_it_funds_a_sub_channel() {
        assert_eq!(
            check_sub_channel_proposal(&parent(Phase::Active, [10, 10]), &proposal(10, 3), &who(2)),
            Ok(())
        );
    }

    #[test]
    fn every_reason_a_parent_cannot_fund_it_is_named() {
        let refused = |snapshot: ChannelSnapshot, proposal: ChannelProposal, accepter: u8| {
            check_sub_channel_proposal(&snapshot, &proposal, &who(accepter)).unwrap_err()
        };
        assert!(refused(parent(Phase::Funding, [10, 10]), proposal(1, 1), 2).contains("funding"));
        assert!(refused(parent(Phase::Active, [10, 10]), proposal(1, 1), 9)
            .contains("not a channel between"));
        assert!(refused(parent(Phase::Active, [10, 2]), proposal(1, 3), 2).contains("cannot fund"));
        let mut other_assets = proposal(1, 1);
        other_assets.assets[0].chain_id = 2;
        assert!(refused(parent(Phase::Active, [10, 10]), other_assets, 2).contains("assets"));
        let mut game = parent(Phase::Active, [10, 10]);
        game.channel.params.app = Some(Address(vec![9; 20]));
        assert!(refused(game, proposal(1, 1), 2).contains("runs an app"));
    }
}
