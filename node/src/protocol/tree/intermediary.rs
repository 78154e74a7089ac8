//! What an intermediary checks before it locks a virtual channel's funds in two of its ledger
//! channels: that it comes out even, whatever the ends do in the virtual channel.
//!
//! A virtual channel between ends A and B runs over a path of ledger channels A–I₁–…–Iₖ–B. Each
//! channel on the path locks the virtual channel's whole funds; in it, the participant on A's
//! side stands in for A and the one on B's side for B ([`super::lock::check_virtual_index_map`]).
//! An intermediary Iⱼ has two channels on the path: in the one towards A (its *left* channel) it
//! stands in for B, in the one towards B (its *right* channel) for A. So it puts B's opening share
//! into the left lock and A's into the right one, and gets back B's final share on the left and
//! A's on the right: the opening shares add up to the virtual channel's totals and so do the
//! final ones, so it ends with exactly what it put in, per asset. The check below is that
//! condition for any number of participants: both locks fund the same virtual channel with its
//! whole totals, the intermediary is not one of its participants, and the participants it
//! stands in for on the left and on the right are each participant exactly once.
//!
//! Fees (a hub's) are not part of the lock: they are a payment in the ledger channel, agreed
//! with the lock.

use parley_plugin_api::model::{Amount, ChannelId, Params, Participant, State, SubAlloc};
use thiserror::Error;

/// One of the intermediary's two ledger channels on the path and its lock of the virtual
/// channel.
#[derive(Clone, Copy, Debug)]
pub struct PathLock<'a> {
    /// The ledger channel's parameters.
    pub params: &'a Params,
    /// Its lock of the virtual channel.
    pub lock: &'a SubAlloc,
}

/// Why an intermediary would not come out even.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IntermediaryError {
    /// The intermediary is a participant of the virtual channel.
    #[error("the intermediary is a participant of virtual channel {child}; it can only stand in")]
    Participant {
        /// The virtual channel.
        child: ChannelId,
    },
    /// The intermediary is not a participant of one of its channels on the path.
    #[error("the intermediary is not a participant of its {side} channel")]
    NotInChannel {
        /// `left` or `right`.
        side: &'static str,
    },
    /// A lock is for another channel, or locks other amounts than the virtual channel holds.
    #[error(
        "the {side} lock is not the virtual channel with its totals {totals:?} (it locks \
         {locked:?} for {found})"
    )]
    Lock {
        /// `left` or `right`.
        side: &'static str,
        /// The virtual channel's totals per asset.
        totals: Vec<Amount>,
        /// The lock's channel.
        found: ChannelId,
        /// The lock's amounts.
        locked: Vec<Amount>,
    },
    /// The index map of a lock has the wrong length.
    #[error("the {side} lock maps {entries} participants, the virtual channel has {participants}")]
    MapLength {
        /// `left` or `right`.
        side: &'static str,
        /// Entries in the map.
        entries: usize,
        /// The virtual channel's participants.
        participants: usize,
    },
    /// Participant `index` of the virtual channel is stood in for by the intermediary on both
    /// sides (it would lose if that participant's share grows) or on neither (it would gain
    /// if it shrinks, so its peers would lose).
    #[error(
        "the intermediary stands in for participant {index} of the virtual channel {times} \
         times; it must be exactly once (on one side) to come out even"
    )]
    Uneven {
        /// The virtual channel participant.
        index: usize,
        /// How often the intermediary stands in for it across both locks.
        times: usize,
    },
    /// The virtual channel's state is malformed.
    #[error("the virtual channel's totals cannot be computed: {0}")]
    Totals(String),
}

/// Checks that intermediary `me`, locking the virtual channel of `child_params` whose opening
/// state is `child` in its `left` and `right` channels on the path, comes out even (see the
/// module documentation).
pub fn check_intermediary(
    me: &Participant,
    child_params: &Params,
    child: &State,
    left: PathLock<'_>,
    right: PathLock<'_>,
) -> Result<(), IntermediaryError> {
    let id = child.channel_id;
    if child_params.participants.contains(me) {
        return Err(IntermediaryError::Participant { child: id });
    }
    let totals = child
        .allocation
        .totals()
        .map_err(|e| IntermediaryError::Totals(e.to_string()))?;
    let parties = child_params.participants.len();
    let mut stood_in = vec![0usize; parties];
    for (side, path) in [("left", left), ("right", right)] {
        if path.lock.id != id || path.lock.balances != totals {
            return Err(IntermediaryError::Lock {
                side,
                totals: totals.clone(),
                found: path.lock.id,
                locked: path.lock.balances.clone(),
            });
        }
        if path.lock.index_map.len() != parties {
            return Err(IntermediaryError::MapLength {
                side,
                entries: path.lock.index_map.len(),
                participants: parties,
            });
        }
        let mine = path
            .params
            .participants
            .iter()
            .position(|p| p == me)
            .ok_or(IntermediaryError::NotInChannel { side })?;
        for (count, &parent_index) in stood_in.iter_mut().zip(&path.lock.index_map) {
            if usize::from(parent_index) == mine {
                *count += 1;
            }
        }
    }
    match stood_in.iter().position(|&times| times != 1) {
        Some(index) => Err(IntermediaryError::Uneven {
            index,
            times: stood_in[index],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "intermediary_tests.rs"]
mod tests;
