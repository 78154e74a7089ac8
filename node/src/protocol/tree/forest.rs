//! The channel trees rebuilt from what a node stored: which channel funds which.
//!
//! The structure is in the stored data twice, and the two must agree: a parent's newest state
//! names its children (its `locked` sub-allocations), and a child's funding record names its
//! parents ([`Funding`]). A child is attached under a parent when both say so. A child whose
//! funding names a parent that does not lock it (yet: its lock is still being signed; or any
//! more: its outcome was merged back and it waits to be archived) is *detached*: it holds no
//! funds of the tree, so it is listed apart. Everything else is an error: a lock of a channel
//! the node does not have (it could not register the tree), a lock of a channel that names
//! another parent, a funding record naming a parent the node does not have (an orphan), a
//! funding record contradicting the channel's parameters, or parents that fund each other (a
//! cycle).

use super::{ChannelTree, TreeError};
use crate::protocol::funding::{Funding, FundingError};
use crate::protocol::record::ChannelSnapshot;
use parley_plugin_api::model::ChannelId;
use std::collections::{HashMap, HashSet};
use thiserror::Error;

/// One channel and the channels it funds, by id, in the order of its state's locks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForestNode {
    /// The channel.
    pub id: ChannelId,
    /// The channels its newest fully signed state locks funds in, in the order of `locked`.
    pub children: Vec<ForestNode>,
}

/// Every stored channel in its place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forest {
    /// The ledger-funded channels, each with the channels it funds, in the order the snapshots
    /// were given. A virtual channel locked in two of them (at an intermediary) is under both.
    pub roots: Vec<ForestNode>,
    /// Channels funded by a parent that does not lock them now, with what they lock.
    pub detached: Vec<ForestNode>,
}

/// Why stored channels do not make a forest.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ForestError {
    /// Two snapshots of one channel.
    #[error("channel {0} is stored twice")]
    DuplicateChannel(ChannelId),
    /// A channel's funding names a parent the node does not have.
    #[error("channel {child} is funded by channel {parent}, which this node does not have")]
    Orphan {
        /// The channel.
        child: ChannelId,
        /// The missing parent.
        parent: ChannelId,
    },
    /// A channel's funding contradicts its parameters.
    #[error("channel {channel}: {source}")]
    Funding {
        /// The channel.
        channel: ChannelId,
        /// What is wrong.
        source: FundingError,
    },
    /// Channels fund each other in a circle.
    #[error("channels fund each other in a cycle: {0:?}")]
    Cycle(Vec<ChannelId>),
    /// A channel locks funds in a channel the node does not have.
    #[error("channel {parent} locks funds in channel {child}, which this node does not have")]
    UnknownChild {
        /// The parent.
        parent: ChannelId,
        /// The missing child.
        child: ChannelId,
    },
    /// A channel locks funds in a channel whose funding names other parents.
    #[error("channel {parent} locks funds in channel {child}, which says it has {funding}")]
    NotItsParent {
        /// The parent.
        parent: ChannelId,
        /// The child.
        child: ChannelId,
        /// The child's recorded funding.
        funding: Funding,
    },
    /// A channel of the tree has no fully signed state to register.
    #[error("channel {0} has no fully signed state")]
    NotFullySigned(ChannelId),
    /// A channel is not in the given snapshots.
    #[error("channel {0} is not among the snapshots")]
    Missing(ChannelId),
    /// The states do not make a tree the chain accepts.
    #[error(transparent)]
    Tree(#[from] TreeError),
}

/// Builds the forest of `snapshots` (all the channels a node restored); see the module
/// documentation for what is attached, detached, and refused.
pub fn build_forest(snapshots: &[ChannelSnapshot]) -> Result<Forest, ForestError> {
    let by_id = index(snapshots)?;
    for snapshot in snapshots {
        let child = snapshot.channel.channel_id;
        snapshot
            .funding
            .check_params(&snapshot.channel.params)
            .map_err(|source| ForestError::Funding {
                channel: child,
                source,
            })?;
        if let Some(parent) = snapshot
            .funding
            .parents()
            .iter()
            .find(|p| !by_id.contains_key(*p))
        {
            return Err(ForestError::Orphan {
                child,
                parent: *parent,
            });
        }
    }
    check_acyclic(snapshots, &by_id)?;
    let mut locked_somewhere = HashSet::new();
    for snapshot in snapshots {
        let parent = snapshot.channel.channel_id;
        for child in locked_ids(snapshot) {
            let stored = by_id
                .get(&child)
                .ok_or(ForestError::UnknownChild { parent, child })?;
            if !stored.funding.parents().contains(&parent) {
                return Err(ForestError::NotItsParent {
                    parent,
                    child,
                    funding: stored.funding.clone(),
                });
            }
            locked_somewhere.insert(child);
        }
    }
    // Every lock edge agrees with the child's funding, and funding has no cycle: the lock
    // graph has none either, so the recursion below ends.
    let mut forest = Forest::default();
    for snapshot in snapshots {
        let id = snapshot.channel.channel_id;
        if snapshot.funding == Funding::Ledger {
            forest.roots.push(node(id, &by_id));
        } else if !locked_somewhere.contains(&id) {
            forest.detached.push(node(id, &by_id));
        }
    }
    Ok(forest)
}

/// The [`ChannelTree`] of `root` (a node of [`build_forest`]'s result) from the newest fully
/// signed states in `snapshots`: what registering or concluding that tree needs.
pub fn signed_tree(
    root: &ForestNode,
    snapshots: &[ChannelSnapshot],
) -> Result<ChannelTree, ForestError> {
    let by_id = index(snapshots)?;
    tree_of(root, &by_id)
}

fn tree_of(
    node: &ForestNode,
    by_id: &HashMap<ChannelId, &ChannelSnapshot>,
) -> Result<ChannelTree, ForestError> {
    let snapshot = by_id.get(&node.id).ok_or(ForestError::Missing(node.id))?;
    let channel = snapshot
        .signed_latest()
        .ok_or(ForestError::NotFullySigned(node.id))?;
    let children = node
        .children
        .iter()
        .map(|child| tree_of(child, by_id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ChannelTree::new(channel, children)?)
}

fn index(
    snapshots: &[ChannelSnapshot],
) -> Result<HashMap<ChannelId, &ChannelSnapshot>, ForestError> {
    let mut by_id = HashMap::with_capacity(snapshots.len());
    for snapshot in snapshots {
        let id = snapshot.channel.channel_id;
        if by_id.insert(id, snapshot).is_some() {
            return Err(ForestError::DuplicateChannel(id));
        }
    }
    Ok(by_id)
}

/// The ids the channel's newest state locks funds in, in order.
fn locked_ids(snapshot: &ChannelSnapshot) -> impl Iterator<Item = ChannelId> + '_ {
    snapshot.latest.state.allocation.locked.iter().map(|s| s.id)
}

fn node(id: ChannelId, by_id: &HashMap<ChannelId, &ChannelSnapshot>) -> ForestNode {
    let children = by_id
        .get(&id)
        .map(|s| locked_ids(s).map(|child| node(child, by_id)).collect())
        .unwrap_or_default();
    ForestNode { id, children }
}

/// Refuses funding records that lead from a channel back to itself (every parent named exists).
fn check_acyclic(
    snapshots: &[ChannelSnapshot],
    by_id: &HashMap<ChannelId, &ChannelSnapshot>,
) -> Result<(), ForestError> {
    let mut done: HashSet<ChannelId> = HashSet::new();
    for snapshot in snapshots {
        // Depth-first along parent links, with the path kept to name the cycle.
        let start = snapshot.channel.channel_id;
        let mut path: Vec<(ChannelId, usize)> = vec![(start, 0)];
        while let Some((id, next)) = path.last().copied() {
            if done.contains(&id) {
                path.pop();
                continue;
            }
            let parents = by_id[&id].funding.parents();
            match parents.get(next) {
                None => {
                    done.insert(id);
                    path.pop();
                }
                Some(parent) => {
                    if let Some(last) = path.last_mut() {
                        last.1 += 1;
                    }
                    if let Some(at) = path.iter().position(|(p, _)| p == parent) {
                        return Err(ForestError::Cycle(
                            path[at..].iter().map(|(p, _)| *p).collect(),
                        ));
                    }
                    path.push((*parent, 0));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "forest_tests.rs"]
mod tests;
