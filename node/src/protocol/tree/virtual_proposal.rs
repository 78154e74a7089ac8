//! Whether a proposed virtual channel fits the ledger channels on its path: what each node on
//! the path checks before anything is signed, so that a lock can only fail later if a parent's
//! balances changed in between.
//!
//! The path runs from the proposer (the left end) to the accepter (the right end). Each ledger
//! channel on it is a [`Hop`]: the channel, and which of its two participants stands on the
//! left (the proposer, or the intermediary towards it) and which on the right. In that channel
//! the left participant stands in for the proposer and the right one for the accepter
//! ([`super::lock::check_virtual_index_map`]). An end checks its one hop
//! ([`check_virtual_hop`]); an intermediary checks its two and that it comes out even
//! ([`check_virtual_route`], [`super::intermediary`]).

use super::intermediary::{check_intermediary, PathLock};
use super::lock::{lock_virtual, participant_index, with_lock_fee};
use super::proposal::check_funding_parent;
use crate::protocol::messages::ChannelProposal;
use crate::protocol::proposal::opening_state;
use crate::protocol::record::ChannelSnapshot;
use parley_plugin_api::model::{Amount, ChannelId, Params, Participant, State, SubAlloc};

/// One ledger channel on a virtual channel's path, as a node on the path holds it.
#[derive(Clone, Copy, Debug)]
pub struct Hop<'a> {
    /// The ledger channel.
    pub parent: &'a ChannelSnapshot,
    /// Its participant on the proposer's side (the proposer itself in the proposer's channel).
    pub left: &'a Participant,
    /// Its participant on the accepter's side (the accepter itself in the accepter's channel).
    pub right: &'a Participant,
    /// The fee the left participant pays the right one with the lock (of the first asset):
    /// what the intermediaries from the right one on charge ([`with_lock_fee`]).
    pub fee: Amount,
}

/// The parameters of the virtual channel `proposal` opens between its proposer and
/// `accepter`, with the proposal's app if it names one (its app data is in the opening state,
/// [`opening_state`]). Refused unless the proposal is flagged virtual and not ledger and locks
/// nothing (the Adjudicator refuses a virtual channel that locks funds).
///
/// An app is no risk to the intermediaries: on chain both parents pay out the one state on the
/// virtual channel's record, also one reached by force execution, and each intermediary stands
/// in for opposite ends in its two channels, so whatever the game's outcome it gets back in one
/// what it pays in the other ([`check_virtual_route`]).
pub fn virtual_params(
    proposal: &ChannelProposal,
    accepter: &Participant,
) -> Result<Params, String> {
    if !proposal.virtual_channel || proposal.ledger_channel {
        return Err("the proposal is not for a virtual channel".to_string());
    }
    if !proposal.locked.is_empty() {
        return Err("a virtual channel locks nothing at its opening".to_string());
    }
    if proposal
        .balances
        .iter()
        .flatten()
        .all(|amount| amount.is_zero())
    {
        // It would cost the intermediaries a lock in each of their channels on the path (and
        // gas in a dispute) for nothing: refused, so nobody can fill a hub's channels with
        // empty locks.
        return Err(
            "a virtual channel in which neither end puts in anything carries nothing; give \
             one end a deposit"
                .to_string(),
        );
    }
    Ok(Params {
        participants: vec![proposal.proposer.clone(), accepter.clone()],
        challenge_duration: proposal.challenge_duration,
        nonce: proposal.nonce_share,
        app: proposal.app.clone(),
        ledger_channel: false,
        virtual_channel: true,
    })
}

/// Checks that `hop` can lock the virtual channel `proposal` opens to `accepter`: the ledger
/// channel is active, runs no app, is between the hop's left and right participants, holds the
/// proposal's assets in its order, and its newest balances cover what each side puts in (the
/// left participant the proposer's share, the right one the accepter's). Returns the lock.
pub fn check_virtual_hop(
    hop: &Hop<'_>,
    proposal: &ChannelProposal,
    accepter: &Participant,
) -> Result<SubAlloc, String> {
    let (child_params, child) = opening(proposal, accepter)?;
    hop_lock(hop, proposal, &child_params, &child)
}

/// The lock of the virtual channel `child` (of `child_params`, opened by `proposal`) in `hop`:
/// [`check_virtual_hop`] once the virtual channel is built.
fn hop_lock(
    hop: &Hop<'_>,
    proposal: &ChannelProposal,
    child_params: &Params,
    child: &State,
) -> Result<SubAlloc, String> {
    let parent = hop.parent;
    let id = parent.channel.channel_id;
    check_funding_parent(parent, "ledger channel", "a virtual channel")?;
    let params = &parent.channel.params;
    let position = |who| participant_index(params, who);
    let (Some(left), Some(right)) = (position(hop.left), position(hop.right)) else {
        return Err(format!(
            "ledger channel {id} is not a channel between {} and {}",
            hop.left, hop.right
        ));
    };
    if params.participants.len() != 2 || left == right {
        return Err(format!(
            "ledger channel {id} must be a two-party channel between {} and {}",
            hop.left, hop.right
        ));
    }
    let latest = &parent.latest.state;
    if proposal.assets != latest.allocation.assets {
        return Err(format!(
            "a virtual channel holds the assets of the ledger channels on its path, in their \
             order ({} asset(s) in {id})",
            latest.allocation.assets.len()
        ));
    }
    let locked = lock_virtual(params, latest, child_params, child, vec![left, right])
        .and_then(|locked| with_lock_fee(latest, locked, hop.fee))
        .map_err(|e| format!("ledger channel {id} cannot fund it: {e}"))?;
    locked
        .allocation
        .locked
        .last()
        .cloned()
        .ok_or_else(|| format!("ledger channel {id} locked nothing"))
}

/// Checks, at intermediary `me`, that both of its ledger channels on the path can lock the
/// virtual channel `proposal` opens to `accepter` ([`check_virtual_hop`]) and that it comes
/// out even ([`check_intermediary`]): `left` is its channel towards the proposer (where it is
/// the right participant), `right` towards the accepter (where it is the left one).
pub fn check_virtual_route(
    me: &Participant,
    left: &Hop<'_>,
    right: &Hop<'_>,
    proposal: &ChannelProposal,
    accepter: &Participant,
) -> Result<(), String> {
    if left.right != me || right.left != me {
        return Err(
            "the intermediary stands between its two channels on the path: on the right of \
             the one towards the proposer, on the left of the one towards the accepter"
                .to_string(),
        );
    }
    let (child_params, child) = opening(proposal, accepter)?;
    let left_lock = hop_lock(left, proposal, &child_params, &child)?;
    let right_lock = hop_lock(right, proposal, &child_params, &child)?;
    let left_path = PathLock {
        params: &left.parent.channel.params,
        lock: &left_lock,
    };
    let right_path = PathLock {
        params: &right.parent.channel.params,
        lock: &right_lock,
    };
    check_intermediary(me, &child_params, &child, left_path, right_path).map_err(|e| e.to_string())
}

/// The virtual channel's parameters and opening state, under a placeholder id (the channel id
/// is only known once both nonce shares are; any id but a parent's will do for the checks).
fn opening(proposal: &ChannelProposal, accepter: &Participant) -> Result<(Params, State), String> {
    let params = virtual_params(proposal, accepter)?;
    let placeholder = ChannelId(crate::hash::keccak256(&[
        &proposal.proposal_id.0,
        b"parley-proposed-virtual",
    ]));
    Ok((params, opening_state(proposal, placeholder)))
}

#[cfg(test)]
#[path = "virtual_proposal_tests.rs"]
mod tests;
