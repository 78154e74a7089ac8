//! Opening a virtual channel (issue #14): a channel with a peer this node has no channel with,
//! funded by locks in our ledger channel with an intermediary and in the intermediary's ledger
//! channel with the peer, or along a path of several intermediaries, each locking it in its
//! channels on the path (no transaction). We propose it through the intermediary, which checks
//! both of its channels and forwards it (`client/intermediary`); the peer answers us directly,
//! and from then on the channel runs between the two of us like any other. Its funding and its
//! merge back on close are our ledger channel's updates (`onchain/tree.rs`).

use super::driver::Driver;
use super::error::Error;
use super::intermediary::other_participant;
use super::opening::OpenRequest;
use super::overview::ChannelOverview;
use crate::protocol::tree::{check_virtual_hop, Hop};
use crate::protocol::{Funding, Phase, VirtualProposal, MAX_VIRTUAL_PATH};
use crate::wire::NodeId;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Amount, ChannelId, Participant};

impl Driver {
    /// Proposes the virtual channel of `request` to `peer` (called `name`) through our ledger
    /// channel `via` with its intermediary; returns once the peer accepted and `via` locks
    /// its funds.
    pub(super) async fn open_virtual(
        &self,
        request: OpenRequest,
        via: ChannelId,
        peer: NodeId,
        name: String,
        challenge: u64,
    ) -> Result<ChannelOverview, Error> {
        if request.parent.is_some() {
            return Err(Error::invalid(
                "via",
                "a channel is either a sub-channel (parent) or a virtual channel (via)",
            ));
        }
        if !request.more_assets.is_empty() {
            return Err(Error::invalid(
                "more_assets",
                "a virtual channel holds every asset of the ledger channels on its path; give \
                 the deposits of one asset",
            ));
        }
        let running = self.registry.get(&via).ok_or_else(|| {
            Error::not_found(format!(
                "no running channel {via} to open a virtual channel through; `parley channel \
                 list` shows this node's channels"
            ))
        })?;
        let intermediary = running
            .peer
            .ok_or_else(|| Error::conflict(format!("channel {via}'s peer is unknown")))?;
        if intermediary == peer {
            return Err(Error::invalid(
                "via",
                format!(
                    "channel {via} is a channel with {name} itself; open a sub-channel in it \
                     (--parent) instead"
                ),
            ));
        }
        let ledger = running
            .handle
            .snapshot()
            .await
            .map_err(|e| Error::conflict(format!("channel {via} cannot be read: {e}")))?
            .snapshot;
        if ledger.funding != Funding::Ledger || ledger.phase != Phase::Active {
            return Err(Error::invalid(
                "via",
                format!(
                    "channel {via} is a {} channel in phase {}; a virtual channel goes through \
                     an active ledger channel",
                    ledger.funding.kind(),
                    ledger.phase
                ),
            ));
        }
        let path = self.virtual_path(&request.through, intermediary, peer)?;
        if !request.fees.is_empty() && request.fees.len() != path.len() + 1 {
            return Err(Error::invalid(
                "fees",
                format!(
                    "gives {} fees for {} intermediaries; give one per intermediary (the one of \
                     `via` first, then one per `through`), or none",
                    request.fees.len(),
                    path.len() + 1
                ),
            ));
        }
        let lock_fee = Amount::checked_sum(&request.fees)
            .ok_or_else(|| Error::invalid("fees", "the fees overflow"))?;
        let me = self.chain.account()?.clone();
        let stand_in = other_participant(&ledger.channel.params.participants, &me)
            .map_err(|e| Error::invalid("via", format!("channel {via}: {e}")))?;
        let proposal = self.child_proposal(&ledger, &request, &me, challenge, true)?;
        // The peer's chain address is not known yet (its node answers with it); any address
        // outside our channel stands for it in the check of what our channel can lock.
        let somebody_else = Participant(vec![0; me.0.len()]);
        let hop = Hop {
            parent: &ledger,
            left: &me,
            right: &stand_in,
            fee: lock_fee,
        };
        check_virtual_hop(&hop, &proposal, &somebody_else).map_err(|e| Error::invalid("via", e))?;
        let message = VirtualProposal {
            proposal: proposal.clone(),
            parent: via,
            proposer_node: Bytes(self.node_id.as_bytes().to_vec()),
            proposer_address: self.listen_address.clone(),
            accepter_node: Bytes(peer.as_bytes().to_vec()),
            path: path
                .iter()
                .map(|node| Bytes(node.as_bytes().to_vec()))
                .collect(),
            fees: request.fees.clone(),
        };
        self.dialer.ensure_connected(intermediary).await?;
        let id = self
            .proposals
            .propose_virtual(proposal, peer, intermediary, lock_fee, message, &name)
            .await?;
        self.wait_for_funding(id).await?;
        self.channel(id).await
    }

    /// The intermediaries after `first` on the way to `peer`, by node id or alias: each named
    /// once, neither end nor `first`, at most [`MAX_VIRTUAL_PATH`].
    fn virtual_path(
        &self,
        through: &[String],
        first: NodeId,
        peer: NodeId,
    ) -> Result<Vec<NodeId>, Error> {
        if through.len() > MAX_VIRTUAL_PATH {
            return Err(Error::invalid(
                "through",
                format!(
                    "names {} intermediaries after the first; at most {MAX_VIRTUAL_PATH}",
                    through.len()
                ),
            ));
        }
        let mut path = Vec::with_capacity(through.len());
        for name in through {
            let (_, node) = self.book.resolve(name).ok_or_else(|| {
                Error::invalid(
                    "through",
                    format!("`{name}` is neither a node id nor a peer's alias"),
                )
            })?;
            if node == self.node_id || node == peer || node == first || path.contains(&node) {
                return Err(Error::invalid(
                    "through",
                    format!(
                        "`{name}` is this node, the peer, the intermediary of --via or named \
                         twice; each intermediary is on the path once"
                    ),
                ));
            }
            path.push(node);
        }
        Ok(path)
    }
}
