//! Opening channels: proposing one to a peer, and answering the peers' proposals (accept,
//! reject, list those waiting). Both sides return once the channel is funded.

use super::chain::{chain_call, ChainAccess};
use super::driver::Driver;
use super::error::Error;
use super::overview::ChannelOverview;
use super::proposals::WaitingProposal;
use super::start::random_32;
use crate::protocol::{
    validate_proposal_with_apps, ChannelProposal, Phase, ProposalId, MAX_CHALLENGE_DURATION,
};
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Address, Amount, AssetInfo, ChannelId, Params, Participant};
use std::time::Duration;

/// Extra time an opening waits beyond the funding timeout before it gives up on its own.
const CHAIN_SLACK: Duration = Duration::from_secs(30);

/// A channel to propose: with whom, what each side deposits, and the challenge duration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenRequest {
    /// The peer, by alias or node id.
    pub peer: String,
    /// The main asset by name (the chain's first asset when `None`), and what this node and
    /// the peer deposit of it.
    pub asset: Option<String>,
    /// What this node deposits of the main asset.
    pub mine: Amount,
    /// What the peer deposits of the main asset.
    pub theirs: Amount,
    /// Further assets, each by name with both deposits.
    pub more_assets: Vec<(String, Amount, Amount)>,
    /// The challenge duration in seconds; `[policy] challenge_seconds` when `None`.
    pub challenge_seconds: Option<u64>,
    /// The app the channel runs (by the name in `[[apps]]`) with its setup (JSON; `{}` when
    /// `None`); a payment channel when `None`.
    pub app: Option<(String, Option<String>)>,
    /// The channel whose state funds this one (a sub-channel, no transaction), or `None` for
    /// a channel funded on chain.
    pub parent: Option<ChannelId>,
    /// Our ledger channel with the intermediary that carries a virtual channel to the peer,
    /// or `None` for a channel with the peer itself.
    pub via: Option<ChannelId>,
    /// With `via`: the further intermediaries to the peer, in order (node ids or aliases).
    pub through: Vec<String>,
    /// With `via`: what we offer each intermediary for carrying the virtual channel (base
    /// units of its first asset), the one of `via` first; empty: nothing.
    pub fees: Vec<Amount>,
}

impl Driver {
    /// Proposes the channel of `request` to its peer; returns once the peer accepted and the
    /// channel is funded.
    pub async fn open(&self, request: OpenRequest) -> Result<ChannelOverview, Error> {
        let (alias, peer) = self.book.resolve(&request.peer).ok_or_else(|| {
            Error::not_found(format!(
                "unknown peer `{}`; add it first with `parley peer add <alias> <node-id> <address>`",
                request.peer
            ))
        })?;
        let name = alias.unwrap_or_else(|| peer.to_string());
        let deposits = deposits(&self.chain, &request)?;
        let challenge = request
            .challenge_seconds
            .unwrap_or(self.policy.challenge_seconds);
        if challenge == 0 || challenge > MAX_CHALLENGE_DURATION {
            return Err(Error::invalid(
                "challenge_seconds",
                format!("must be between 1 and {MAX_CHALLENGE_DURATION} seconds"),
            ));
        }
        if let Some(via) = request.via {
            return self.open_virtual(request, via, peer, name, challenge).await;
        }
        if let Some(parent) = request.parent {
            return self
                .open_sub_channel(request, parent, peer, name, challenge)
                .await;
        }
        let me = self.chain.account()?.clone();
        let (app, app_data) = match &request.app {
            None => (None, Bytes::default()),
            Some((name, setup)) => self.app_opening(name, setup.as_deref(), &me, challenge)?,
        };
        for (asset, mine, _) in &deposits {
            self.check_can_deposit(&me, asset, *mine).await?;
        }
        self.dialer.ensure_connected(peer).await?;
        let proposal = ChannelProposal {
            proposal_id: ProposalId(random_32()?),
            proposer: me,
            assets: deposits.iter().map(|(a, _, _)| a.asset.clone()).collect(),
            balances: deposits.iter().map(|(_, m, t)| vec![*m, *t]).collect(),
            locked: Vec::new(),
            challenge_duration: challenge,
            nonce_share: random_32()?,
            app,
            app_data,
            ledger_channel: true,
            virtual_channel: false,
            parent: None,
        };
        validate_proposal_with_apps(&proposal, &*self.apps)
            .map_err(|e| Error::invalid("mine", e))?;
        let mut proposal = proposal;
        self.tamper(&mut proposal);
        let id = self.proposals.propose(proposal, peer, &name).await?;
        self.wait_for_funding(id).await?;
        self.channel(id).await
    }

    /// The app `name` and the app data its `setup` gives a channel proposed by `me`. The
    /// accepter's address and the nonce are not known yet: the app sees the parameters as far
    /// as they are (two participants, ours first, a placeholder for the other).
    pub(super) fn app_opening(
        &self,
        name: &str,
        setup: Option<&str>,
        me: &Participant,
        challenge: u64,
    ) -> Result<(Option<Address>, Bytes), Error> {
        let known = self.apps.by_name(name)?;
        let address = known
            .address
            .clone()
            .ok_or_else(|| Error::internal("by_name returned an app without an address"))?;
        let params = Params {
            participants: vec![me.clone(), Participant::default()],
            challenge_duration: challenge,
            nonce: [0; 32],
            app: Some(address.clone()),
            ledger_channel: true,
            virtual_channel: false,
        };
        let data = known
            .app
            .init(&params, setup.unwrap_or("{}"))
            .map_err(|e| {
                Error::invalid(
                    "app_setup",
                    format!("the app `{name}` refuses the setup: {}", e.message()),
                )
            })?;
        Ok((Some(address), Bytes(data)))
    }

    /// The peers' proposals waiting for an answer, in id order.
    pub fn waiting_proposals(&self) -> Vec<WaitingProposal> {
        self.proposals.waiting()
    }

    /// Accepts the peer's proposal `id`; returns once the channel is funded.
    pub async fn accept(&self, id: ProposalId) -> Result<ChannelOverview, Error> {
        let not_found = || {
            Error::not_found(format!(
                "no proposal {id} awaits an answer (it may have expired); `parley proposal list` shows them"
            ))
        };
        let incoming = self.proposals.waiting_for(&id).ok_or_else(not_found)?;
        // Check everything before taking the proposal, so a refusal leaves it answerable.
        let me = self.chain.account()?.clone();
        let from_chain = incoming.proposal.parent.is_none();
        for (asset, row) in incoming
            .proposal
            .assets
            .iter()
            .zip(&incoming.proposal.balances)
            .filter(|_| from_chain)
        {
            let info = self
                .chain
                .info
                .assets
                .iter()
                .find(|a| a.asset == *asset)
                .ok_or_else(|| Error::internal("a proposal with an unknown asset was kept"))?;
            let ours = row.get(1).copied().unwrap_or(Amount::ZERO);
            self.check_can_deposit(&me, info, ours).await?;
        }
        self.dialer.ensure_connected(incoming.peer).await?;
        let channel = self.proposals.accept(&id).ok_or_else(not_found)??;
        self.wait_for_funding(channel).await?;
        self.channel(channel).await
    }

    /// Rejects the peer's proposal `id`, telling the proposer `reason` (or that the user
    /// rejected it).
    pub async fn reject(&self, id: ProposalId, reason: Option<String>) -> Result<(), Error> {
        self.proposals.reject(id, reason).await
    }

    /// Refuses, as `insufficient_funds`, a deposit larger than what `owner` holds on chain.
    async fn check_can_deposit(
        &self,
        owner: &Participant,
        asset: &AssetInfo,
        deposit: Amount,
    ) -> Result<(), Error> {
        if deposit.is_zero() {
            return Ok(());
        }
        let chain = self.chain.ledger.clone();
        let (owner, holding) = (owner.clone(), asset.asset.clone());
        let balance =
            chain_call("read the balance", move || chain.balance(&owner, &holding)).await?;
        if balance < deposit {
            return Err(Error::insufficient_funds(format!(
                "this node's account holds {} on chain, but the channel needs a deposit of {}",
                crate::units::show(&balance, asset),
                crate::units::show(&deposit, asset),
            )));
        }
        Ok(())
    }

    /// Waits until a channel being opened is funded. A channel that went to a dispute instead
    /// (its funding timed out, or the peer gave up on it) is an error that says what happens
    /// to the deposits.
    pub(super) async fn wait_for_funding(&self, id: ChannelId) -> Result<(), Error> {
        let limit = self.policy.funding_timeout + CHAIN_SLACK;
        let status = self.wait_for_phase(id, Phase::Active, limit).await?;
        if matches!(status.phase, Phase::Active | Phase::Closing) {
            return Ok(());
        }
        let why = status
            .describe()
            .unwrap_or_else(|| "a dispute started before the funding completed".to_string());
        Err(Error::unavailable(format!(
            "channel {id} was not funded: {why} (`parley channel show {id}` follows it)"
        )))
    }
}

/// The assets of a channel being opened with both deposits each, in request order: the main
/// asset, then `more_assets`. Refuses unknown and repeated assets and a channel without funds.
fn deposits(
    chain: &ChainAccess,
    request: &OpenRequest,
) -> Result<Vec<(AssetInfo, Amount, Amount)>, Error> {
    let mut deposits = vec![(
        chain.asset_by_name(request.asset.as_deref())?.clone(),
        request.mine,
        request.theirs,
    )];
    for (name, mine, theirs) in &request.more_assets {
        let asset = chain.asset_by_name(Some(name))?.clone();
        if deposits.iter().any(|(a, _, _)| a.asset == asset.asset) {
            return Err(Error::invalid(
                "more_assets",
                format!("asset `{name}` appears twice"),
            ));
        }
        deposits.push((asset, *mine, *theirs));
    }
    if deposits.iter().all(|(_, m, t)| m.is_zero() && t.is_zero()) {
        return Err(Error::invalid(
            "mine",
            "a channel needs a deposit from at least one side",
        ));
    }
    Ok(deposits)
}
