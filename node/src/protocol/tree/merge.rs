//! Closing a child off chain: its final outcome goes back into the parent's balances and its
//! lock is removed, in one update of the parent.

use super::lock::{check_lock, LockError};
use crate::protocol::transition::{check_conservation, check_succession, TransitionError};
use parley_plugin_api::model::{ChannelId, Params, State};
use thiserror::Error;

/// Why a child's outcome cannot be merged into its parent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MergeError {
    /// The parent locks nothing for this child.
    #[error("the parent locks no funds in channel {child}")]
    NotLocked {
        /// The child.
        child: ChannelId,
    },
    /// The child's state is not final: it could still change after the merge.
    #[error("version {version} of child {child} is not final; only a final outcome is merged")]
    NotFinal {
        /// The child.
        child: ChannelId,
        /// The state's version.
        version: u64,
    },
    /// The child still locks funds in its own children, which must be merged into it first.
    #[error("child {child} still locks funds in {count} channel(s) of its own; merge those first")]
    ChildStillLocks {
        /// The child.
        child: ChannelId,
        /// How many it locks.
        count: usize,
    },
    /// The child does not match its lock.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A parent balance would overflow 256 bits.
    #[error("parent participant {participant}'s balance of asset {asset} would overflow")]
    Overflow {
        /// The asset's index.
        asset: usize,
        /// The parent participant's index.
        participant: usize,
    },
    /// The parent's next state breaks a rule every update keeps.
    #[error("the parent's next state is not a valid update: {0}")]
    Transition(#[from] TransitionError),
}

/// The parent's next state with the final outcome `child` (of the channel with `child_params`)
/// merged back: `parent` at version + 1, the child's [`SubAlloc`] removed (the other locks keep
/// their order), and each child participant's final balance added to the balance of the parent
/// participant its index map names.
///
/// Refused unless the parent locks the child, the child's state is final, locks nothing, and
/// matches the lock ([`check_lock`]: same assets, totals equal to the locked amounts, so the
/// merge conserves every total); the result passes the succession and conservation rules of
/// every update.
///
/// [`SubAlloc`]: parley_plugin_api::model::SubAlloc
pub fn merge_child(
    parent_params: &Params,
    parent: &State,
    child_params: &Params,
    child: &State,
) -> Result<State, MergeError> {
    let id = child.channel_id;
    let position = parent
        .allocation
        .locked
        .iter()
        .position(|sub| sub.id == id)
        .ok_or(MergeError::NotLocked { child: id })?;
    if !child.is_final {
        return Err(MergeError::NotFinal {
            child: id,
            version: child.version,
        });
    }
    if !child.allocation.locked.is_empty() {
        return Err(MergeError::ChildStillLocks {
            child: id,
            count: child.allocation.locked.len(),
        });
    }
    parent
        .allocation
        .check_shape(parent_params.participants.len())
        .map_err(TransitionError::Shape)?;
    let sub = &parent.allocation.locked[position];
    check_lock(parent_params, parent, sub, child_params, child)?;

    let mut next = parent.clone();
    next.version = parent
        .version
        .checked_add(1)
        .ok_or(TransitionError::VersionExhausted(parent.version))?;
    let sub = next.allocation.locked.remove(position);
    for (asset, row) in child.allocation.balances.iter().enumerate() {
        for (amount, &parent_index) in row.iter().zip(&sub.index_map) {
            let participant = usize::from(parent_index);
            let balance = &mut next.allocation.balances[asset][participant];
            *balance = balance
                .checked_add(*amount)
                .ok_or(MergeError::Overflow { asset, participant })?;
        }
    }
    check_succession(parent_params, parent, &next)?;
    check_conservation(parent, &next)?;
    Ok(next)
}
