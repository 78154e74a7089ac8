//! Opening a sub-channel: a channel inside one of this node's channels with the same peer,
//! funded by a lock in the parent's state (no transaction). The proposal names the parent;
//! both sides check that the parent can fund it ([`check_sub_channel_proposal`]) before
//! anything is signed, and the chain side then locks the funds (`onchain/tree.rs`).

use super::driver::Driver;
use super::error::Error;
use super::opening::OpenRequest;
use super::overview::ChannelOverview;
use super::start::random_32;
use crate::protocol::tree::check_sub_channel_proposal;
use crate::protocol::{validate_proposal_with_apps, ChannelProposal, ProposalId};
use crate::wire::NodeId;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Amount, ChannelId, Participant};

impl Driver {
    /// The proposal of a channel funded by a lock in `parent` (a sub-channel's parent, or our
    /// ledger channel with a virtual channel's intermediary, as `virtual_channel` says):
    /// every asset of the parent in its order, the requested one's deposits, the app's opening;
    /// proposed by `me` with `challenge`, checked as every proposal is.
    pub(super) fn child_proposal(
        &self,
        parent: &crate::protocol::ChannelSnapshot,
        request: &OpenRequest,
        me: &Participant,
        challenge: u64,
        virtual_channel: bool,
    ) -> Result<ChannelProposal, Error> {
        let id = parent.channel.channel_id;
        let assets = parent.latest.state.allocation.assets.clone();
        let main = self.chain.asset_by_name(request.asset.as_deref())?;
        let main = assets
            .iter()
            .position(|a| *a == main.asset)
            .ok_or_else(|| {
                Error::invalid("asset", format!("channel {id} holds no {}", main.name))
            })?;
        let balances = (0..assets.len())
            .map(|asset| {
                if asset == main {
                    vec![request.mine, request.theirs]
                } else {
                    vec![Amount::ZERO, Amount::ZERO]
                }
            })
            .collect();
        let (app, app_data) = match &request.app {
            None => (None, Bytes::default()),
            Some((app, setup)) => self.app_opening(app, setup.as_deref(), me, challenge)?,
        };
        let proposal = ChannelProposal {
            proposal_id: ProposalId(random_32()?),
            proposer: me.clone(),
            assets,
            balances,
            locked: Vec::new(),
            challenge_duration: challenge,
            nonce_share: random_32()?,
            app,
            app_data,
            ledger_channel: false,
            virtual_channel,
            parent: Some(id),
        };
        validate_proposal_with_apps(&proposal, &*self.apps)
            .map_err(|e| Error::invalid("mine", e))?;
        Ok(proposal)
    }

    /// Proposes the sub-channel of `request` inside `parent` to `peer` (called `name`); returns
    /// once the peer accepted and the parent locks its funds.
    pub(super) async fn open_sub_channel(
        &self,
        request: OpenRequest,
        parent: ChannelId,
        peer: NodeId,
        name: String,
        challenge: u64,
    ) -> Result<ChannelOverview, Error> {
        let running = self.registry.get(&parent).ok_or_else(|| {
            Error::not_found(format!(
                "no running channel {parent} to open a sub-channel in; `parley channel list` \
                 shows this node's channels"
            ))
        })?;
        if running.peer != Some(peer) {
            return Err(Error::invalid(
                "parent",
                format!("channel {parent} is not a channel with {name}"),
            ));
        }
        if !request.more_assets.is_empty() {
            return Err(Error::invalid(
                "more_assets",
                "a sub-channel holds every asset of its parent; give the deposits of one asset",
            ));
        }
        let parent_view = running
            .handle
            .snapshot()
            .await
            .map_err(|e| Error::conflict(format!("channel {parent} cannot be read: {e}")))?
            .snapshot;
        let me = self.chain.account()?.clone();
        let my_index = usize::from(parent_view.channel.my_index);
        let accepter = parent_view.channel.params.participants[1 - my_index].clone();
        let proposal = self.child_proposal(&parent_view, &request, &me, challenge, false)?;
        check_sub_channel_proposal(&parent_view, &proposal, &accepter)
            .map_err(|e| Error::invalid("parent", e))?;
        self.dialer.ensure_connected(peer).await?;
        let id = self.proposals.propose(proposal, peer, &name).await?;
        self.wait_for_funding(id).await?;
        self.channel(id).await
    }
}
