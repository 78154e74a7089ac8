//! A child's funds locked in its parent: whether a child matches the lock that funds it, and the
//! parent update that creates the lock.
//!
//! Two levels of check, kept apart on purpose:
//! - [`check_lock_on_chain`] is exactly what the Adjudicator requires of a sub-channel's state
//!   when it registers or concludes a tree (`requireSubState` in `contracts/src/Adjudicator.sol`,
//!   `check_sub_state` in the sim chain): the child's id is the lock's, its assets are the
//!   parent's in the parent's order, the index map has one entry per child participant, and the
//!   child's totals per asset equal the locked amounts. A tree failing it cannot be registered.
//! - [`check_lock`] adds what the contract does not check but the node must before it signs a
//!   lock: the contract pays the child's participant `p` to the parent's participant
//!   `index_map[p]` whoever that is, so each entry must name the parent participant with the
//!   same address, no two entries the same one, and the child must not be a ledger channel
//!   (its funds would be deposited and locked, counted twice).
//!
//! These are the rules of a sub-channel, whose participants are among its parent's. A virtual
//! channel's lock maps by role instead: a child participant who is in the parent maps to itself,
//! and one who is not (the far end, seen from a channel on the path) maps to the parent
//! participant who stands in for it, an intermediary that is not in the child
//! ([`check_virtual_index_map`]). Which intermediary stands in for which end is the
//! intermediary's own affair: [`super::intermediary`] checks that it comes out even.

use crate::protocol::transition::{check_conservation, check_succession, TransitionError};
use parley_plugin_api::model::{
    AllocationError, Amount, ChannelId, Params, Participant, State, SubAlloc,
};
use thiserror::Error;

/// Why a child does not match its lock, or cannot be locked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LockError {
    /// The child's state names another channel than the lock.
    #[error("the lock is for channel {locked}, the child's state is of channel {found}")]
    OtherChannel {
        /// The lock's id.
        locked: ChannelId,
        /// The child's state's channel id.
        found: ChannelId,
    },
    /// The child's assets are not the parent's, in the parent's order.
    #[error("child {child} must hold the parent's assets in the parent's order")]
    Assets {
        /// The child.
        child: ChannelId,
    },
    /// The index map does not have one entry per child participant.
    #[error(
        "the index map of child {child} has {entries} entries for {participants} participants"
    )]
    IndexMapLength {
        /// The child.
        child: ChannelId,
        /// Entries in the map.
        entries: usize,
        /// The child's participants.
        participants: usize,
    },
    /// The child's totals differ from what the parent locks.
    #[error("child {child} holds {found:?} but its parent locks {locked:?}")]
    Totals {
        /// The child.
        child: ChannelId,
        /// The locked amounts, per asset.
        locked: Vec<Amount>,
        /// The child's totals, per asset.
        found: Vec<Amount>,
    },
    /// The child's allocation is malformed.
    #[error("the allocation of child {child} is malformed: {source}")]
    ChildShape {
        /// The child.
        child: ChannelId,
        /// What is wrong.
        source: AllocationError,
    },
    /// A child participant is not a participant of the parent (or the map names another one).
    #[error(
        "participant {index} of child {child} ({participant}) is not the parent's participant \
         the index map names"
    )]
    NotParentParticipant {
        /// The child.
        child: ChannelId,
        /// The child participant's index.
        index: usize,
        /// Its address.
        participant: Participant,
    },
    /// Two child participants map to the same parent participant.
    #[error("the index map of child {child} names parent participant {parent_index} twice")]
    IndexTwice {
        /// The child.
        child: ChannelId,
        /// The parent index named twice.
        parent_index: u16,
    },
    /// The child is a ledger channel: funded by deposits, so it cannot also be locked.
    #[error("child {child} is a ledger channel; a channel funded by deposits is never locked")]
    ChildIsLedgerChannel {
        /// The child.
        child: ChannelId,
    },
    /// A virtual child locked as a sub-channel: its lock must say who stands in for its
    /// participants outside the parent ([`lock_virtual`]).
    #[error(
        "child {child} is a virtual channel; its lock names who stands in for its participants \
         outside the parent (lock it as a virtual channel)"
    )]
    VirtualChild {
        /// The child.
        child: ChannelId,
    },
    /// A participant of a virtual child outside the parent is mapped to a parent participant
    /// who cannot stand in for it: one out of range, or a participant of the child itself.
    #[error(
        "participant {index} of virtual child {child} is not in the parent, and the index map \
         names parent participant {parent_index} for it, who cannot stand in for it (out of \
         range, or a participant of the child)"
    )]
    NoStandIn {
        /// The child.
        child: ChannelId,
        /// The child participant's index.
        index: usize,
        /// The parent index the map names.
        parent_index: u16,
    },
    /// After its share of the lock, the proposer's stand-in cannot pay the fee.
    #[error(
        "parent participant {participant} has {available} of the first asset left after the \
         lock, short of the intermediaries' fee of {fee}"
    )]
    FeeNotCovered {
        /// The parent participant's index.
        participant: usize,
        /// What it has left.
        available: Amount,
        /// The fee.
        fee: Amount,
    },
    /// A fee goes with a lock that is not a two-party virtual channel's (or would overflow).
    #[error("a fee is paid only with the lock of a virtual channel between two ends")]
    NoLockForFee,
    /// A virtual child whose participants are all the parent's: that is a sub-channel.
    #[error(
        "every participant of virtual child {child} is in the parent; a channel among the \
         parent's own participants is a sub-channel"
    )]
    NotVirtual {
        /// The child.
        child: ChannelId,
    },
    /// The parent already locks funds in this child.
    #[error("the parent already locks funds in child {child}")]
    AlreadyLocked {
        /// The child.
        child: ChannelId,
    },
    /// A channel cannot lock funds in itself.
    #[error("channel {0} cannot lock funds in itself")]
    OwnChild(ChannelId),
    /// A new child's opening state must not lock funds itself.
    #[error("the opening state of child {child} locks funds itself; a new channel locks nothing")]
    ChildLocks {
        /// The child.
        child: ChannelId,
    },
    /// A parent participant's balance does not cover what it puts into the child.
    #[error(
        "parent participant {participant} has {available} of asset {asset} but the child needs \
         {needed} from it"
    )]
    NotCovered {
        /// The asset's index.
        asset: usize,
        /// The parent participant's index.
        participant: usize,
        /// Its balance.
        available: Amount,
        /// What the child's opening state gives it.
        needed: Amount,
    },
    /// The parent's next state breaks a rule every update keeps.
    #[error("the parent's next state is not a valid update: {0}")]
    Transition(#[from] TransitionError),
}

/// Checks exactly what the Adjudicator checks of a sub-channel's state `child` under the lock
/// `sub` in `parent` (see the module documentation); `child_parties` is the number of the
/// child's participants (the contract takes it from the child's parameters when registering).
pub fn check_lock_on_chain(
    parent: &State,
    sub: &SubAlloc,
    child_parties: usize,
    child: &State,
) -> Result<(), LockError> {
    let id = sub.id;
    if child.channel_id != id {
        return Err(LockError::OtherChannel {
            locked: id,
            found: child.channel_id,
        });
    }
    if child.allocation.assets != parent.allocation.assets {
        return Err(LockError::Assets { child: id });
    }
    if sub.index_map.len() != child_parties {
        return Err(LockError::IndexMapLength {
            child: id,
            entries: sub.index_map.len(),
            participants: child_parties,
        });
    }
    let totals = child_totals(child, child_parties)?;
    if totals != sub.balances {
        return Err(LockError::Totals {
            child: id,
            locked: sub.balances.clone(),
            found: totals,
        });
    }
    Ok(())
}

/// Checks that `child` (the state of the channel with `child_params`) matches the lock `sub`
/// in the state `parent` of the channel with `parent_params`: everything
/// [`check_lock_on_chain`] checks, and the node's own rules (see the module documentation).
pub fn check_lock(
    parent_params: &Params,
    parent: &State,
    sub: &SubAlloc,
    child_params: &Params,
    child: &State,
) -> Result<(), LockError> {
    check_lock_on_chain(parent, sub, child_params.participants.len(), child)?;
    if child_params.ledger_channel {
        return Err(LockError::ChildIsLedgerChannel { child: sub.id });
    }
    if child_params.virtual_channel {
        return check_virtual_index_map(parent_params, child_params, sub.id, &sub.index_map);
    }
    let expected = index_map(parent_params, child_params, sub.id)?;
    if let Some(index) = (0..expected.len()).find(|&p| expected[p] != sub.index_map[p]) {
        return Err(LockError::NotParentParticipant {
            child: sub.id,
            index,
            participant: child_params.participants[index].clone(),
        });
    }
    Ok(())
}

/// The index of `who` among the participants of `params`, as an index map holds it.
pub fn participant_index(params: &Params, who: &Participant) -> Option<u16> {
    params
        .participants
        .iter()
        .position(|p| p == who)
        .and_then(|i| u16::try_from(i).ok())
}

/// For each participant of the child, its index among the parent's participants (the same
/// address). Refused if one is not a parent participant or two are the same one.
pub fn index_map(
    parent_params: &Params,
    child_params: &Params,
    child: ChannelId,
) -> Result<Vec<u16>, LockError> {
    let mut map: Vec<u16> = Vec::with_capacity(child_params.participants.len());
    for (index, participant) in child_params.participants.iter().enumerate() {
        let parent_index = participant_index(parent_params, participant).ok_or_else(|| {
            LockError::NotParentParticipant {
                child,
                index,
                participant: participant.clone(),
            }
        })?;
        if map.contains(&parent_index) {
            return Err(LockError::IndexTwice {
                child,
                parent_index,
            });
        }
        map.push(parent_index);
    }
    Ok(map)
}

/// Checks the index map `map` of virtual child `child` (of `child_params`) in the channel of
/// `parent_params`: a child participant who is a parent participant maps to itself; one who is
/// not maps to a parent participant who is not in the child (its stand-in); no parent
/// participant twice; and at least one child participant is outside the parent.
pub fn check_virtual_index_map(
    parent_params: &Params,
    child_params: &Params,
    child: ChannelId,
    map: &[u16],
) -> Result<(), LockError> {
    let parents = &parent_params.participants;
    let members = &child_params.participants;
    if map.len() != members.len() {
        return Err(LockError::IndexMapLength {
            child,
            entries: map.len(),
            participants: members.len(),
        });
    }
    let mut outside = 0;
    for (index, (participant, &parent_index)) in members.iter().zip(map).enumerate() {
        match participant_index(parent_params, participant) {
            Some(own) if parent_index != own => {
                return Err(LockError::NotParentParticipant {
                    child,
                    index,
                    participant: participant.clone(),
                })
            }
            Some(_) => {}
            None => {
                outside += 1;
                let stands_in = parents.get(usize::from(parent_index));
                if stands_in.is_none_or(|p| members.contains(p)) {
                    return Err(LockError::NoStandIn {
                        child,
                        index,
                        parent_index,
                    });
                }
            }
        }
        if map[..index].contains(&parent_index) {
            return Err(LockError::IndexTwice {
                child,
                parent_index,
            });
        }
    }
    if outside == 0 {
        return Err(LockError::NotVirtual { child });
    }
    Ok(())
}

/// The index map of virtual child `child_params` in a channel of `parent_params` on its path
/// next to an end: the child participants in the parent map to themselves, every other one to
/// `stand_in` (the intermediary, a parent participant). Checked by
/// [`check_virtual_index_map`], so it fits only a channel where one child participant is
/// missing (an end's channel with its intermediary); a channel between two intermediaries
/// names its map whole.
pub fn virtual_index_map(
    parent_params: &Params,
    child_params: &Params,
    child: ChannelId,
    stand_in: &Participant,
) -> Result<Vec<u16>, LockError> {
    let stand_in_index = participant_index(parent_params, stand_in).unwrap_or(u16::MAX);
    let map: Vec<u16> = child_params
        .participants
        .iter()
        .map(|p| participant_index(parent_params, p).unwrap_or(stand_in_index))
        .collect();
    check_virtual_index_map(parent_params, child_params, child, &map)?;
    Ok(map)
}

/// The parent's next state with the funds of a new child locked: `parent` (the newest state of
/// the channel with `parent_params`) at version + 1, with what the child's opening state
/// `child` gives each child participant taken from that participant's balance in the parent,
/// and a new [`SubAlloc`] (the child's id, its totals, its index map) appended to `locked`.
///
/// Refused if a parent balance does not cover its share, if the child does not match the lock
/// it would get ([`check_lock`]), if it is already locked or would lock funds itself; the
/// result passes the succession and conservation rules of every update.
pub fn lock_child(
    parent_params: &Params,
    parent: &State,
    child_params: &Params,
    child: &State,
) -> Result<State, LockError> {
    let id = child.channel_id;
    if child_params.virtual_channel {
        return Err(LockError::VirtualChild { child: id });
    }
    let map = index_map(parent_params, child_params, id)?;
    lock_with_map(parent_params, parent, child_params, child, map)
}

/// The parent's next state with the funds of new virtual child `child` (of `child_params`)
/// locked, as [`lock_child`] does for a sub-channel, with the index map `map` naming each child
/// participant's stand-in in the parent (see [`check_virtual_index_map`];
/// [`virtual_index_map`] makes it for an end's channel): what the child's opening state gives
/// a participant outside the parent is taken from its stand-in's balance.
pub fn lock_virtual(
    parent_params: &Params,
    parent: &State,
    child_params: &Params,
    child: &State,
    map: Vec<u16>,
) -> Result<State, LockError> {
    let id = child.channel_id;
    if !child_params.virtual_channel {
        return Err(LockError::NotVirtual { child: id });
    }
    lock_with_map(parent_params, parent, child_params, child, map)
}

/// `locked` (the next state [`lock_virtual`] built from `parent`) with `fee` of the first asset
/// moved from the participant standing in for the virtual channel's proposer (its lock's
/// `index_map[0]`) to the one standing in for its accepter (`index_map[1]`): what the
/// intermediaries from here on towards the accepter charge for carrying it. Paid in the same
/// update as the lock, so neither is signed without the other. A zero fee changes nothing.
pub fn with_lock_fee(parent: &State, mut locked: State, fee: Amount) -> Result<State, LockError> {
    if fee.is_zero() {
        return Ok(locked);
    }
    let sub = locked
        .allocation
        .locked
        .last()
        .ok_or(LockError::NoLockForFee)?;
    let (Some(&payer), Some(&payee)) = (sub.index_map.first(), sub.index_map.get(1)) else {
        return Err(LockError::NoLockForFee);
    };
    let (payer, payee) = (usize::from(payer), usize::from(payee));
    let row = locked
        .allocation
        .balances
        .first_mut()
        .ok_or(LockError::NoLockForFee)?;
    let available = row.get(payer).copied().ok_or(LockError::NoLockForFee)?;
    row[payer] = available.checked_sub(fee).ok_or(LockError::FeeNotCovered {
        participant: payer,
        available,
        fee,
    })?;
    let received = row.get(payee).copied().ok_or(LockError::NoLockForFee)?;
    row[payee] = received.checked_add(fee).ok_or(LockError::NoLockForFee)?;
    check_conservation(parent, &locked)?;
    Ok(locked)
}

/// The lock of `child` in `parent` under index map `map`: the common part of [`lock_child`]
/// and [`lock_virtual`].
fn lock_with_map(
    parent_params: &Params,
    parent: &State,
    child_params: &Params,
    child: &State,
    map: Vec<u16>,
) -> Result<State, LockError> {
    let id = child.channel_id;
    if id == parent.channel_id {
        return Err(LockError::OwnChild(id));
    }
    if parent.allocation.locked.iter().any(|sub| sub.id == id) {
        return Err(LockError::AlreadyLocked { child: id });
    }
    if !child.allocation.locked.is_empty() {
        return Err(LockError::ChildLocks { child: id });
    }
    parent
        .allocation
        .check_shape(parent_params.participants.len())
        .map_err(TransitionError::Shape)?;
    let parties = child_params.participants.len();
    let sub = SubAlloc {
        id,
        balances: child_totals(child, parties)?,
        index_map: map,
    };
    check_lock(parent_params, parent, &sub, child_params, child)?;

    let mut next = parent.clone();
    next.version = parent
        .version
        .checked_add(1)
        .ok_or(TransitionError::VersionExhausted(parent.version))?;
    for (asset, row) in child.allocation.balances.iter().enumerate() {
        for (amount, &parent_index) in row.iter().zip(&sub.index_map) {
            let participant = usize::from(parent_index);
            let available = parent.allocation.balances[asset][participant];
            next.allocation.balances[asset][participant] =
                available
                    .checked_sub(*amount)
                    .ok_or(LockError::NotCovered {
                        asset,
                        participant,
                        available,
                        needed: *amount,
                    })?;
        }
    }
    next.allocation.locked.push(sub);
    check_succession(parent_params, parent, &next)?;
    check_conservation(parent, &next)?;
    Ok(next)
}

/// The child's totals per asset, refusing a malformed allocation.
fn child_totals(child: &State, parties: usize) -> Result<Vec<Amount>, LockError> {
    child
        .allocation
        .check_shape(parties)
        .and_then(|()| child.allocation.totals())
        .map_err(|source| LockError::ChildShape {
            child: child.channel_id,
            source,
        })
}
