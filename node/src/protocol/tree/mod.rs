//! The channel tree (DESIGN §4): a ledger channel and the channels it funds, as pure data and
//! rules. No I/O.
//!
//! A channel's state locks funds in its children (`Allocation::locked`, one
//! [`SubAlloc`](parley_plugin_api::model::SubAlloc) per child); each child is a channel whose
//! own state may lock funds in its children, to any depth. The root is funded by deposits on
//! chain; every other channel by its parent's lock ([`super::funding`]). What the chain enforces
//! for a tree is what the Adjudicator checks (`contracts/src/Adjudicator.sol`, the sim chain's
//! `rules/dispute.rs`), and this module follows it:
//!
//! - [`lock`]: whether a child matches the lock that funds it, and the parent update that locks
//!   a new child's funds ([`lock_child`]; a virtual channel's, by role: [`lock_virtual`]).
//! - [`intermediary`]: that an intermediary locking a virtual channel in two of its ledger
//!   channels comes out even ([`check_intermediary`]).
//! - [`virtual_proposal`]: whether a proposed virtual channel fits the ledger channels of its
//!   path, as each end and each intermediary checks it ([`check_virtual_hop`],
//!   [`check_virtual_route`]).
//! - [`merge`]: the parent update that returns a child's final outcome and removes its lock
//!   ([`merge_child`]).
//! - [`ChannelTree`] (here): a checked tree of fully signed states, its register and conclude
//!   requests in the order the contract reads them (pre-order, depth first: each locked child
//!   in the order of `locked`, then its own children, then the next child), and its payout.
//! - [`forest`]: the trees rebuilt from the channels a node stored.
//!
//! Nothing here is used to sign or deposit yet: the protocol still refuses every state that
//! locks funds ([`super::transition::check_transition`]) until app channels and sub-channels
//! arrive (#12), which call these functions.

pub mod forest;
pub mod intermediary;
pub mod lock;
pub mod merge;
pub mod proposal;
pub mod virtual_proposal;

pub use forest::{build_forest, signed_tree, Forest, ForestError, ForestNode};
pub use intermediary::{check_intermediary, IntermediaryError, PathLock};
pub use lock::{
    check_lock, check_lock_on_chain, check_virtual_index_map, index_map, lock_child, lock_virtual,
    participant_index, virtual_index_map, with_lock_fee, LockError,
};
pub use merge::{merge_child, MergeError};
pub use proposal::check_sub_channel_proposal;
pub use virtual_proposal::{check_virtual_hop, check_virtual_route, virtual_params, Hop};

use parley_plugin_api::model::{
    AllocationError, Amount, ChannelId, ConcludeRequest, Participant, RegisterRequest, SignedState,
    State,
};
use thiserror::Error;

/// A channel with its newest fully signed state and the trees of the channels it funds, one
/// per lock of that state, in the order of `locked`. Built only through [`ChannelTree::new`],
/// so every tree matches its locks at every level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelTree {
    channel: SignedState,
    children: Vec<ChannelTree>,
}

/// Why channels do not make a tree, or a tree cannot go on chain.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TreeError {
    /// A state does not carry one signature per participant.
    #[error("channel {channel} has {found} signatures for {expected} participants")]
    Signatures {
        /// The channel.
        channel: ChannelId,
        /// Signatures present.
        found: usize,
        /// Participants.
        expected: usize,
    },
    /// A state's allocation is malformed.
    #[error("the allocation of channel {channel} is malformed: {source}")]
    Shape {
        /// The channel.
        channel: ChannelId,
        /// What is wrong.
        source: AllocationError,
    },
    /// The children do not correspond one to one, in order, to the locks of the state.
    #[error("channel {channel} locks funds in {locked:?} but the children given are {children:?}")]
    Children {
        /// The parent.
        channel: ChannelId,
        /// The ids its state locks, in order.
        locked: Vec<ChannelId>,
        /// The ids of the children given, in order.
        children: Vec<ChannelId>,
    },
    /// A child does not match its lock.
    #[error("channel {parent}: {source}")]
    Lock {
        /// The parent.
        parent: ChannelId,
        /// What is wrong.
        source: lock::LockError,
    },
    /// A channel appears twice in one tree: the Adjudicator would pay it out once and then
    /// refuse to conclude the tree (the sim chain's `fold_sub_channels`).
    #[error("channel {0} appears twice in one tree")]
    Repeated(ChannelId),
    /// Only a ledger channel can be registered or concluded with its tree.
    #[error("channel {0} is not a ledger channel; only a tree's root goes on chain")]
    NotLedgerRoot(ChannelId),
    /// A payout does not fit in 256 bits.
    #[error("the payout of asset {asset} to participant {participant} overflows 256 bits")]
    Overflow {
        /// The asset's index.
        asset: usize,
        /// The root participant's index.
        participant: usize,
    },
}

impl ChannelTree {
    /// The tree of `channel` with `children`, which must be the trees of the channels its state
    /// locks, in the order of `locked`, each matching its lock ([`check_lock`]), no channel
    /// twice in the whole tree. Every state
    /// must carry one signature per participant (signatures are verified where a state is
    /// adopted, not here).
    pub fn new(channel: SignedState, children: Vec<ChannelTree>) -> Result<Self, TreeError> {
        let id = channel.state.channel_id;
        let expected = channel.params.participants.len();
        if channel.sigs.len() != expected {
            return Err(TreeError::Signatures {
                channel: id,
                found: channel.sigs.len(),
                expected,
            });
        }
        channel
            .state
            .allocation
            .check_shape(expected)
            .map_err(|source| TreeError::Shape {
                channel: id,
                source,
            })?;
        let locked = &channel.state.allocation.locked;
        let in_order = locked.len() == children.len()
            && locked.iter().zip(&children).all(|(s, c)| s.id == c.id());
        if !in_order {
            return Err(TreeError::Children {
                channel: id,
                locked: locked.iter().map(|s| s.id).collect(),
                children: children.iter().map(ChannelTree::id).collect(),
            });
        }
        let mut seen = vec![id];
        for tree in children
            .iter()
            .flat_map(|c| std::iter::once(c).chain(c.descendants()))
        {
            if seen.contains(&tree.id()) {
                return Err(TreeError::Repeated(tree.id()));
            }
            seen.push(tree.id());
        }
        for (sub, child) in locked.iter().zip(&children) {
            check_lock(
                &channel.params,
                &channel.state,
                sub,
                &child.channel.params,
                &child.channel.state,
            )
            .map_err(|source| TreeError::Lock { parent: id, source })?;
        }
        Ok(ChannelTree { channel, children })
    }

    /// A channel that funds no other: its state locks nothing.
    pub fn leaf(channel: SignedState) -> Result<Self, TreeError> {
        ChannelTree::new(channel, Vec::new())
    }

    /// The root channel's id.
    pub fn id(&self) -> ChannelId {
        self.channel.state.channel_id
    }

    /// The root channel's parameters, state and signatures.
    pub fn channel(&self) -> &SignedState {
        &self.channel
    }

    /// The trees of the channels the root funds, in the order of its locks.
    pub fn children(&self) -> &[ChannelTree] {
        &self.children
    }

    /// Every channel below the root, in the order the Adjudicator reads them: pre-order, depth
    /// first (each child, then its own descendants, then the next child).
    pub fn descendants(&self) -> Vec<&ChannelTree> {
        let mut out = Vec::new();
        let mut stack: Vec<&ChannelTree> = self.children.iter().rev().collect();
        while let Some(tree) = stack.pop() {
            out.push(tree);
            stack.extend(tree.children.iter().rev());
        }
        out
    }

    /// The register call for this tree, sent from `from`: the root's signed state and, in
    /// [`descendants`](Self::descendants) order, every descendant's. The root must be a ledger
    /// channel (the Adjudicator registers only those).
    pub fn register_request(&self, from: Participant) -> Result<RegisterRequest, TreeError> {
        self.require_ledger_root()?;
        Ok(RegisterRequest {
            from,
            channel: self.channel.clone(),
            sub_channels: self
                .descendants()
                .into_iter()
                .map(|tree| tree.channel.clone())
                .collect(),
        })
    }

    /// The conclude call for this tree, sent from `from`: the root's parameters and state and
    /// every descendant's state in [`descendants`](Self::descendants) order. The tree must hold
    /// the states registered on chain (the contract refuses any other).
    pub fn conclude_request(&self, from: Participant) -> Result<ConcludeRequest, TreeError> {
        self.require_ledger_root()?;
        Ok(ConcludeRequest {
            from,
            params: self.channel.params.clone(),
            state: self.channel.state.clone(),
            sub_states: self
                .descendants()
                .into_iter()
                .map(|tree| tree.channel.state.clone())
                .collect(),
        })
    }

    /// What the tree pays out, `[asset][root participant]`: the root's balances plus, for every
    /// descendant, each of its participants' balances credited to the root participant its
    /// index maps lead to. This is the outcome the Adjudicator's `conclude` pushes to the asset
    /// holders, so it is what each participant can withdraw after concluding this tree.
    pub fn payout(&self) -> Result<Vec<Vec<Amount>>, TreeError> {
        let mut outcome = self.channel.state.allocation.balances.clone();
        let to_root: Vec<usize> = (0..self.channel.params.participants.len()).collect();
        add_children(&self.channel.state, &self.children, &to_root, &mut outcome)?;
        Ok(outcome)
    }

    fn require_ledger_root(&self) -> Result<(), TreeError> {
        if self.channel.params.ledger_channel {
            Ok(())
        } else {
            Err(TreeError::NotLedgerRoot(self.id()))
        }
    }
}

/// Adds the balances of `children` (locked in `parent`, whose participants map to the root's
/// through `to_root`) and of their descendants to `outcome`.
fn add_children(
    parent: &State,
    children: &[ChannelTree],
    to_root: &[usize],
    outcome: &mut [Vec<Amount>],
) -> Result<(), TreeError> {
    for (sub, child) in parent.allocation.locked.iter().zip(children) {
        let child_to_root: Vec<usize> = sub
            .index_map
            .iter()
            .map(|&i| to_root[usize::from(i)])
            .collect();
        let state = &child.channel.state;
        for (asset, row) in state.allocation.balances.iter().enumerate() {
            for (amount, &participant) in row.iter().zip(&child_to_root) {
                let payout = &mut outcome[asset][participant];
                *payout = payout
                    .checked_add(*amount)
                    .ok_or(TreeError::Overflow { asset, participant })?;
            }
        }
        add_children(state, &child.children, &child_to_root, outcome)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
