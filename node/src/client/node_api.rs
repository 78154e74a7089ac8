//! The API methods ([`NodeApi`]) served by the node's [`NodeCore`]: each checks what depends
//! on the node's state, then drives the peers, the channel tasks and the chain, and maps every
//! failure to an [`ApiError`] category. A method that fails leaves nothing half-done.

use super::channel_task::{ChannelView, CommandError};
use super::core::{blocking, random_32, NodeCore};
use super::proposals::{Outgoing, ProposalOutcome, WaitingProposal};
use super::registry::{wait_for_status, ChannelStatus, DamagedChannel};
use crate::api::service::views::proposal_info;
use crate::api::types::{
    AssetBalances, BalanceRequest, ChannelInfo, ChannelListRequest, ChannelOpenRequest,
    ChannelPayRequest, ChannelSettleRequest, DisputeInfo, MisbehaveRegisterRequest, NodeInfo,
    OnChainBalance, PeerAddRequest, PeerInfo, ProposalInfo, ProposalRejectRequest,
};
use crate::api::{ApiError, ApiFuture, ErrorCategory, NodeApi};
use crate::protocol::{
    validate_proposal, ChannelError, ChannelMessage, ChannelProposal, ChannelSnapshot,
    PaymentError, Phase, ProposalId, ProposalReject, MAX_CHALLENGE_DURATION,
};
use crate::store::node_records::peer_op;
use crate::store::{ArchivedChannel, StoredPeer};
use crate::wire::NodeId;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{
    Amount, Asset, AssetInfo, ChainInfo, ChainTime, ChannelId, Dispute, DisputePhase, Participant,
    RegisterRequest,
};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Extra time an API call waits beyond the funding timeout before it gives up on its own.
const CHAIN_SLACK: Duration = Duration::from_secs(30);

/// How long `channel_settle` waits for the chain to pay out.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The API served by a running node.
pub struct NodeService {
    core: Arc<NodeCore>,
}

impl NodeService {
    /// Serves the API over `core`.
    pub fn new(core: Arc<NodeCore>) -> NodeService {
        NodeService { core }
    }

    /// Runs `work` on its own task, so that a client hanging up does not abandon a channel
    /// half-way (an accepted proposal still gets funded; a settle still withdraws).
    fn detached<T, F>(&self, work: impl FnOnce(Arc<NodeCore>) -> F) -> ApiFuture<'_, T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        let task = tokio::spawn(work(self.core.clone()));
        Box::pin(async move {
            task.await
                .map_err(|e| ApiError::internal(format!("the request's task failed: {e}")))?
        })
    }
}

/// The name a chain gives `asset`, or its `chain/holder` form if the chain does not know it.
pub fn asset_name(chain: &ChainInfo, asset: &Asset) -> String {
    chain
        .assets
        .iter()
        .find(|info| info.asset == *asset)
        .map_or_else(|| asset.to_string(), |info| info.name.clone())
}

fn asset_by_name<'a>(chain: &'a ChainInfo, name: Option<&str>) -> Result<&'a AssetInfo, ApiError> {
    let known = || {
        chain
            .assets
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        None => chain.assets.first().ok_or_else(|| {
            ApiError::new(
                ErrorCategory::Unavailable,
                "the chain backend offers no assets",
            )
        }),
        Some(name) => chain.assets.iter().find(|a| a.name == name).ok_or_else(|| {
            ApiError::invalid_param(
                "asset",
                format!("unknown asset `{name}`; this chain has {}", known()),
            )
        }),
    }
}

/// Runs a waiting chain call on a blocking thread; its failure is `unavailable`.
async fn chain_call<T: Send + 'static>(
    what: &'static str,
    call: impl FnOnce() -> Result<T, parley_plugin_api::PluginError> + Send + 'static,
) -> Result<T, ApiError> {
    blocking(call).await.map_err(|error| {
        ApiError::new(
            ErrorCategory::Unavailable,
            format!("cannot {what} on the chain: {error}"),
        )
    })
}

/// Refuses, as `insufficient_funds`, a deposit larger than what `owner` holds on chain.
async fn check_can_deposit(
    core: &NodeCore,
    owner: &Participant,
    asset: &AssetInfo,
    deposit: Amount,
) -> Result<(), ApiError> {
    if deposit.is_zero() {
        return Ok(());
    }
    let chain = core.chain.clone();
    let (owner, holding) = (owner.clone(), asset.asset.clone());
    let balance = chain_call("read the balance", move || chain.balance(&owner, &holding)).await?;
    if balance < deposit {
        return Err(ApiError::new(
            ErrorCategory::InsufficientFunds,
            format!(
                "this node's account holds {balance} {name} on chain, but the channel needs a deposit of {deposit} {name}",
                name = asset.name
            ),
        ));
    }
    Ok(())
}

/// A command error as the API reports it.
fn command_error(error: CommandError) -> ApiError {
    let category = match &error {
        CommandError::Channel(ChannelError::Payment(PaymentError::Overdraft { .. })) => {
            ErrorCategory::InsufficientFunds
        }
        CommandError::Channel(ChannelError::Payment(_)) => ErrorCategory::InvalidArgument,
        CommandError::Channel(_)
        | CommandError::Superseded { .. }
        | CommandError::Discarded { .. } => ErrorCategory::Conflict,
        CommandError::Rejected(_) => ErrorCategory::RejectedByPeer,
        // The store is a dependency that is down; the channel goes on once it is back.
        CommandError::StoreFailed { .. } | CommandError::Uncertain { .. } => {
            ErrorCategory::Unavailable
        }
        CommandError::Stopped => ErrorCategory::Internal,
    };
    ApiError::new(category, error.to_string())
}

/// An on-chain record as the API shows it.
fn dispute_info((record, now): (Dispute, ChainTime)) -> DisputeInfo {
    DisputeInfo {
        version: record.version,
        phase: match record.phase {
            DisputePhase::Dispute => "dispute",
            DisputePhase::ForceExec => "force_exec",
            DisputePhase::Concluded => "concluded",
        }
        .to_string(),
        timeout: record.timeout,
        chain_time: now,
    }
}

fn view_to_info(core: &NodeCore, view: &ChannelView, peer: Option<NodeId>) -> ChannelInfo {
    let snapshot = &view.snapshot;
    let status = core.registry.status(&snapshot.channel.channel_id);
    let (note, dispute) = match status {
        Some(status) => (status.describe(), status.dispute.map(dispute_info)),
        None => (None, None),
    };
    snapshot_info(core, snapshot, peer, note, dispute)
}

/// A channel from its snapshot, with what the node says about it.
fn snapshot_info(
    core: &NodeCore,
    snapshot: &ChannelSnapshot,
    peer: Option<NodeId>,
    note: Option<String>,
    dispute: Option<DisputeInfo>,
) -> ChannelInfo {
    let state = &snapshot.latest.state;
    let me = usize::from(snapshot.channel.my_index);
    let them = 1 - me.min(1);
    ChannelInfo {
        id: snapshot.channel.channel_id,
        peer,
        peer_alias: alias(core, peer),
        phase: Some(snapshot.phase),
        version: state.version,
        challenge_seconds: snapshot.channel.params.challenge_duration,
        balances: state
            .allocation
            .assets
            .iter()
            .zip(&state.allocation.balances)
            .map(|(asset, row)| AssetBalances {
                asset: asset_name(&core.chain_info, asset),
                mine: row.get(me).copied().unwrap_or(Amount::ZERO),
                theirs: row.get(them).copied().unwrap_or(Amount::ZERO),
            })
            .collect(),
        status: note,
        dispute,
    }
}

fn alias(core: &NodeCore, peer: Option<NodeId>) -> Option<String> {
    peer.and_then(|peer| core.book.alias_of(&peer))
}

/// A channel whose stored record is damaged: only its id, peer, problem and on-chain record
/// are known.
fn damaged_info(core: &NodeCore, id: ChannelId, damaged: DamagedChannel) -> ChannelInfo {
    ChannelInfo {
        id,
        peer: damaged.peer,
        peer_alias: alias(core, damaged.peer),
        phase: None,
        version: 0,
        challenge_seconds: 0,
        balances: Vec::new(),
        status: Some(damaged.problem),
        dispute: damaged.dispute.map(dispute_info),
    }
}

/// A closed channel from the archive.
fn archived_info(core: &NodeCore, archived: &ArchivedChannel) -> ChannelInfo {
    snapshot_info(
        core,
        &archived.snapshot,
        archived.peer,
        archived.note.clone(),
        archived.dispute.clone().map(dispute_info),
    )
}

/// The channel `id` as the API shows it: read from its task, or the damaged record, or the
/// archive of closed channels.
async fn channel_info(core: &NodeCore, id: ChannelId) -> Result<ChannelInfo, ApiError> {
    if let Some((handle, peer)) = core.registry.handle_and_peer(&id) {
        // A task that ends meanwhile has just archived its channel.
        if let Ok(view) = handle.snapshot().await {
            return Ok(view_to_info(core, &view, peer));
        }
    }
    let damaged = core.registry.damaged(&id);
    if let Some(damaged) = damaged {
        return Ok(damaged_info(core, id, damaged));
    }
    match core.store.archived(&id) {
        Ok(Some(archived)) => Ok(archived_info(core, &archived)),
        Ok(None) => Err(no_channel(id)),
        Err(error) => Err(ApiError::internal(format!(
            "cannot read the archive of closed channels: {error}"
        ))),
    }
}

fn entry(
    core: &NodeCore,
    id: ChannelId,
) -> Result<(super::channel_task::ChannelHandle, Option<NodeId>), ApiError> {
    core.registry
        .handle_and_peer(&id)
        .ok_or_else(|| no_channel(id))
}

fn no_channel(id: ChannelId) -> ApiError {
    ApiError::new(
        ErrorCategory::NotFound,
        format!("no open channel {id} on this node; `parley channel list` shows them (`--closed` the closed ones)"),
    )
}

/// Waits until channel `id` reaches `phase` (or a later one), or its chain side fails; returns
/// the status reached.
async fn wait_for_phase(
    core: &NodeCore,
    id: ChannelId,
    phase: Phase,
    limit: Duration,
) -> Result<ChannelStatus, ApiError> {
    let status = core.registry.subscribe(&id);
    let Some(status) = status else {
        // Gone from the registry: it closed and was archived meanwhile.
        return match core.store.archived(&id) {
            Ok(Some(_)) => Ok(ChannelStatus::new(Phase::Closed)),
            _ => Err(ApiError::internal(format!("channel {id} vanished"))),
        };
    };
    // A failed step of a dispute does not end the wait: the dispute driver tries it again, and
    // the channel's status shows it meanwhile. Any other problem (funding, the cooperative
    // close) does.
    let waiting = wait_for_status(status, |s| s.phase >= phase, |s| s.phase != Phase::Disputed);
    match tokio::time::timeout(limit, waiting).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(problem)) => Err(ApiError::new(
            ErrorCategory::Unavailable,
            format!("channel {id}: {problem}"),
        )),
        Err(_) => Err(ApiError::new(
            ErrorCategory::Unavailable,
            format!(
                "channel {id} did not become {phase} within {} s; it goes on in the background (see `parley channel show {id}`)",
                limit.as_secs()
            ),
        )),
    }
}

/// Waits until a channel being opened is funded. A channel that went to a dispute instead (its
/// funding timed out, or the peer gave up on it) is an error that says what happens to the
/// deposits.
async fn wait_for_funding(core: &NodeCore, id: ChannelId) -> Result<(), ApiError> {
    let limit = core.policy.funding_timeout + CHAIN_SLACK;
    let status = wait_for_phase(core, id, Phase::Active, limit).await?;
    if matches!(status.phase, Phase::Active | Phase::Closing) {
        return Ok(());
    }
    let why = status
        .describe()
        .unwrap_or_else(|| "a dispute started before the funding completed".to_string());
    Err(ApiError::new(
        ErrorCategory::Unavailable,
        format!("channel {id} was not funded: {why} (`parley channel show {id}` follows it)"),
    ))
}

/// The assets of a channel being opened with both deposits each, in request order: the main
/// asset, then `more_assets`. Refuses unknown and repeated assets and a channel without funds.
fn deposits(
    chain: &ChainInfo,
    request: &ChannelOpenRequest,
) -> Result<Vec<(AssetInfo, Amount, Amount)>, ApiError> {
    let mut deposits = vec![(
        asset_by_name(chain, request.asset.as_deref())?.clone(),
        request.mine,
        request.theirs,
    )];
    for extra in &request.more_assets {
        let asset = asset_by_name(chain, Some(&extra.asset))?.clone();
        if deposits.iter().any(|(a, _, _)| a.asset == asset.asset) {
            return Err(ApiError::invalid_param(
                "more_assets",
                format!("asset `{}` appears twice", extra.asset),
            ));
        }
        deposits.push((asset, extra.mine, extra.theirs));
    }
    if deposits.iter().all(|(_, m, t)| m.is_zero() && t.is_zero()) {
        return Err(ApiError::invalid_param(
            "mine",
            "a channel needs a deposit from at least one side",
        ));
    }
    Ok(deposits)
}

async fn open(core: Arc<NodeCore>, request: ChannelOpenRequest) -> Result<ChannelInfo, ApiError> {
    let (alias, peer) = core.book.resolve(&request.peer).ok_or_else(|| {
        ApiError::new(
            ErrorCategory::NotFound,
            format!(
                "unknown peer `{}`; add it first with `parley peer add <alias> <node-id> <address>`",
                request.peer
            ),
        )
    })?;
    let name = alias.unwrap_or_else(|| peer.to_string());
    let deposits = deposits(&core.chain_info, &request)?;
    let challenge = request
        .challenge_seconds
        .unwrap_or(core.policy.challenge_seconds);
    if challenge == 0 || challenge > MAX_CHALLENGE_DURATION {
        return Err(ApiError::invalid_param(
            "challenge_seconds",
            format!("must be between 1 and {MAX_CHALLENGE_DURATION} seconds"),
        ));
    }
    let me = core.account()?.clone();
    for (asset, mine, _) in &deposits {
        check_can_deposit(&core, &me, asset, *mine).await?;
    }
    core.ensure_connected(peer).await?;
    let proposal = ChannelProposal {
        proposal_id: ProposalId(random_32()?),
        proposer: me,
        assets: deposits.iter().map(|(a, _, _)| a.asset.clone()).collect(),
        balances: deposits.iter().map(|(_, m, t)| vec![*m, *t]).collect(),
        locked: Vec::new(),
        challenge_duration: challenge,
        nonce_share: random_32()?,
        app: None,
        app_data: Bytes::default(),
        ledger_channel: true,
        virtual_channel: false,
    };
    validate_proposal(&proposal).map_err(|e| ApiError::invalid_param("mine", e))?;
    let mut proposal = proposal;
    super::misbehaviour::tamper_proposal(&core.testing, &mut proposal);
    let id = propose(&core, proposal, peer, &name).await?;
    wait_for_funding(&core, id).await?;
    channel_info(&core, id).await
}

/// Sends `proposal` to `peer` and waits for its answer; the channel is running on `Ok`.
async fn propose(
    core: &NodeCore,
    proposal: ChannelProposal,
    peer: crate::wire::NodeId,
    name: &str,
) -> Result<ChannelId, ApiError> {
    let id = proposal.proposal_id;
    let (answer, outcome) = oneshot::channel();
    let message = ChannelMessage::Proposal(proposal.clone());
    core.proposals.add_outgoing(Outgoing {
        proposal,
        peer,
        answer,
    });
    if let Err(error) = core.peers.send(peer, &message).await {
        core.proposals.drop_outgoing(&id);
        return Err(ApiError::new(
            ErrorCategory::Unavailable,
            format!("cannot send the proposal to {name}: {error}"),
        ));
    }
    let limit = core.policy.proposal_timeout;
    let outcome = match tokio::time::timeout(limit, outcome).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => return Err(ApiError::internal("the proposal's answer was lost")),
        Err(_) => {
            core.proposals.drop_outgoing(&id);
            return Err(ApiError::new(
                ErrorCategory::Unavailable,
                format!(
                    "{name} did not answer the proposal within {} s ([policy] proposal_timeout_seconds)",
                    limit.as_secs()
                ),
            ));
        }
    };
    match outcome {
        ProposalOutcome::Opened(channel) => Ok(channel),
        ProposalOutcome::Rejected(reason) => Err(ApiError::new(
            ErrorCategory::RejectedByPeer,
            format!("{name} rejected the proposal: {reason}"),
        )),
        ProposalOutcome::Failed(reason) => Err(ApiError::new(
            ErrorCategory::Conflict,
            format!("{name} accepted, but the channel could not be opened: {reason}"),
        )),
    }
}

async fn accept(core: Arc<NodeCore>, id: ProposalId) -> Result<ChannelInfo, ApiError> {
    let not_found = || {
        ApiError::new(
            ErrorCategory::NotFound,
            format!("no proposal {id} awaits an answer (it may have expired); `parley proposal list` shows them"),
        )
    };
    let incoming = core
        .proposals
        .incoming(Instant::now())
        .into_iter()
        .find(|p| p.proposal.proposal_id == id)
        .ok_or_else(not_found)?;
    // Check everything before taking the proposal, so a refusal leaves it answerable.
    let me = core.account()?.clone();
    for (asset, row) in incoming
        .proposal
        .assets
        .iter()
        .zip(&incoming.proposal.balances)
    {
        let info = core
            .chain_info
            .assets
            .iter()
            .find(|a| a.asset == *asset)
            .ok_or_else(|| ApiError::internal("a proposal with an unknown asset was kept"))?;
        let ours = row.get(1).copied().unwrap_or(Amount::ZERO);
        check_can_deposit(&core, &me, info, ours).await?;
    }
    core.ensure_connected(incoming.peer).await?;
    let incoming = core
        .proposals
        .take_incoming(&id, Instant::now())
        .ok_or_else(not_found)?;
    let channel = core.accept_proposal(&incoming.proposal, incoming.peer)?;
    wait_for_funding(&core, channel).await?;
    channel_info(&core, channel).await
}

async fn pay(core: Arc<NodeCore>, request: ChannelPayRequest) -> Result<ChannelInfo, ApiError> {
    let (running, assets) = core
        .registry
        .get(&request.id)
        .zip(core.registry.assets(&request.id))
        .ok_or_else(|| no_channel(request.id))?;
    let (handle, peer, phase) = (running.handle, running.peer, running.phase);
    // A quick answer for a channel that is plainly not active (before trying to reach its
    // peer); the channel task checks the phase, the balance and every other rule itself.
    if phase != Phase::Active {
        return Err(ApiError::new(
            ErrorCategory::Conflict,
            format!(
                "channel {} is {phase}; payments need an active channel",
                request.id
            ),
        ));
    }
    let index = match &request.asset {
        None if assets.len() == 1 => 0,
        None => {
            return Err(ApiError::invalid_param(
                "asset",
                "the channel holds several assets; name one",
            ))
        }
        Some(name) => assets
            .iter()
            .position(|a| asset_name(&core.chain_info, a) == *name)
            .ok_or_else(|| {
                ApiError::invalid_param("asset", format!("the channel holds no asset `{name}`"))
            })?,
    };
    let Some(peer) = peer else {
        return Err(ApiError::new(
            ErrorCategory::Conflict,
            format!(
                "channel {} cannot be used: this node has no record of its peer; settle it with `parley channel settle {} --force`",
                request.id, request.id
            ),
        ));
    };
    if !core.peers.is_connected(&peer) {
        core.ensure_connected(peer).await?;
    }
    let limit = core.policy.update_timeout;
    match tokio::time::timeout(limit, handle.pay(index, request.amount)).await {
        Ok(Ok(_version)) => {}
        Ok(Err(error)) => return Err(command_error(error)),
        Err(_) => {
            return Err(ApiError::new(
                ErrorCategory::Unavailable,
                format!(
                    "the peer did not answer within {} s; the payment completes or is dropped when the channels re-synchronise (`parley channel show {}` then shows the new version and balances if it completed)",
                    limit.as_secs(),
                    request.id
                ),
            ))
        }
    }
    channel_info(&core, request.id).await
}

async fn settle(
    core: Arc<NodeCore>,
    request: ChannelSettleRequest,
) -> Result<ChannelInfo, ApiError> {
    let id = request.id;
    let (handle, peer) = entry(&core, id)?;
    let view = handle.snapshot().await.map_err(command_error)?;
    let phase = view.snapshot.phase;
    let challenge = view.snapshot.channel.params.challenge_duration;
    match phase {
        Phase::Opening if request.force => {
            // Nothing is fully signed and nothing of ours deposited: ending it is all there is.
            let reason = "the opening was abandoned (--force); this node deposited nothing";
            core.registry.set_reason(&id, reason.to_string());
            match handle.abandon(reason.to_string()).await {
                Ok(()) | Err(CommandError::Channel(ChannelError::WrongPhase { .. })) => {}
                Err(error) => return Err(command_error(error)),
            }
        }
        Phase::Opening => {
            return Err(ApiError::new(
                ErrorCategory::Conflict,
                format!(
                    "channel {id} is still opening: nothing is signed to settle with and nothing \
                     of ours is deposited; it ends by itself if the opening does not complete \
                     within [policy] funding_timeout_seconds, or now with `parley channel \
                     settle {id} --force`"
                ),
            ))
        }
        Phase::Funding if !request.force => {
            return Err(ApiError::new(
                ErrorCategory::Conflict,
                format!(
                    "channel {id} is not funded yet; to get the deposits back now, settle it \
                     unilaterally (`parley channel settle {id} --force`)"
                ),
            ))
        }
        Phase::Funding | Phase::Active if request.force => {
            core.registry
                .set_reason(&id, "settling unilaterally (--force)".to_string());
            dispute(&handle, id).await?
        }
        Phase::Active => {
            if let Err(failure) = settle_cooperatively(&core, &handle, peer).await {
                let why = match failure {
                    Cooperation::Failed(why) => return Err(why),
                    Cooperation::Unanswered(why) => why,
                };
                tracing::warn!(channel = %id, "{}; settling unilaterally instead", why.message);
                core.registry.set_reason(
                    &id,
                    format!("{}; settling unilaterally instead", why.message),
                );
                dispute(&handle, id).await?;
            }
        }
        Phase::Funding | Phase::Closing | Phase::Disputed | Phase::Closed => {}
    }
    // A dispute takes the challenge duration (chain time, which moves at least as fast as
    // the wall clock on every ledger) plus the transactions.
    let limit = SETTLE_TIMEOUT + Duration::from_secs(challenge);
    let closed = wait_for_phase(&core, id, Phase::Closed, limit).await?;
    // The channel may be archived already: what the node saw on chain is in the status.
    let mut info = channel_info(&core, id).await?;
    if info.dispute.is_none() {
        info.dispute = closed.dispute.clone().map(dispute_info);
    }
    if info.status.is_none() {
        info.status = closed.describe();
    }
    Ok(info)
}

/// Why a cooperative settlement did not happen.
enum Cooperation {
    /// The peer cannot be reached or did not answer in time: settle unilaterally instead.
    Unanswered(ApiError),
    /// Anything else (the peer refused, the store failed): the caller is told.
    Failed(ApiError),
}

/// Agrees the final state with the peer.
async fn settle_cooperatively(
    core: &NodeCore,
    handle: &super::channel_task::ChannelHandle,
    peer: Option<NodeId>,
) -> Result<(), Cooperation> {
    let Some(peer) = peer else {
        return Err(Cooperation::Unanswered(ApiError::new(
            ErrorCategory::Unavailable,
            "this node has no record of the channel's peer",
        )));
    };
    core.ensure_connected(peer)
        .await
        .map_err(Cooperation::Unanswered)?;
    let limit = core.policy.update_timeout;
    match tokio::time::timeout(limit, handle.propose_final()).await {
        Ok(Ok(_)) => Ok(()),
        // A store that fails is no reason to go on chain: it says nothing about the peer.
        Ok(Err(error)) => Err(Cooperation::Failed(command_error(error))),
        Err(_) => Err(Cooperation::Unanswered(ApiError::new(
            ErrorCategory::Unavailable,
            format!(
                "the peer did not answer the final update within {} s ([policy] update_timeout_seconds)",
                limit.as_secs()
            ),
        ))),
    }
}

/// Stops the channel's updates and hands it to the dispute driver, which registers our newest
/// state.
async fn dispute(
    handle: &super::channel_task::ChannelHandle,
    id: ChannelId,
) -> Result<(), ApiError> {
    match handle.dispute().await {
        Ok(()) => Ok(()),
        // The channel moved on meanwhile (a final state, or already disputed or closed):
        // settling continues from there.
        Err(CommandError::Channel(ChannelError::WrongPhase { .. })) => Ok(()),
        Err(error) => Err(command_error(error)),
    }
    .inspect(|()| tracing::info!(channel = %id, "settling unilaterally"))
}

/// Registers an old state of channel `id` on chain and keeps this node from refuting it: what
/// a cheating peer does. Test nodes only.
async fn misbehave_register(
    core: Arc<NodeCore>,
    request: MisbehaveRegisterRequest,
) -> Result<ChannelInfo, ApiError> {
    let id = request.id;
    if !core.testing.allow_misbehaviour {
        return Err(ApiError::new(
            ErrorCategory::Conflict,
            "misbehaviour is disabled on this node; a test node enables it with \
             `allow_misbehaviour = true` in a [testing] section of node.toml (never on a node \
             with real funds)",
        ));
    }
    let (handle, _) = entry(&core, id)?;
    let signed = handle
        .signed_version(request.version)
        .await
        .map_err(command_error)?
        .ok_or_else(|| {
            ApiError::invalid_param(
                "version",
                format!(
                    "this node holds no fully signed version {} of channel {id} (it keeps the \
                     versions signed since it started)",
                    request.version
                ),
            )
        })?;
    let me = core.account()?.clone();
    set_refute(&core, id, false);
    let register = RegisterRequest {
        from: me,
        channel: signed,
        sub_channels: Vec::new(),
    };
    let chain = core.chain.clone();
    if let Err(error) =
        chain_call("register the old state", move || chain.register(&register)).await
    {
        set_refute(&core, id, true);
        return Err(error);
    }
    tracing::warn!(channel = %id, version = request.version, "[testing] MISBEHAVING: registered an old state on chain");
    core.registry.set_reason(
        &id,
        format!(
            "[testing] this node registered the old version {} to cheat",
            request.version
        ),
    );
    let chain = core.chain.clone();
    if let Ok((record, now)) = blocking(move || Ok((chain.dispute(&id)?, chain.now()?))).await {
        core.registry.set_dispute(&id, record, now);
    }
    dispute(&handle, id).await?;
    channel_info(&core, id).await
}

fn set_refute(core: &NodeCore, id: ChannelId, refute: bool) {
    core.registry.set_refute(&id, refute);
}

impl NodeApi for NodeService {
    fn node_info(&self) -> ApiFuture<'_, NodeInfo> {
        let core = &self.core;
        Box::pin(async move {
            Ok(NodeInfo {
                node_id: core.node_id,
                version: env!("CARGO_PKG_VERSION").to_string(),
                chain: core.chain_info.clone(),
                listen_address: core.listen_address.clone(),
            })
        })
    }

    fn peer_add(&self, request: PeerAddRequest) -> ApiFuture<'_, PeerInfo> {
        self.detached(move |core| async move {
            core.book.check_add(&request)?;
            let stored = StoredPeer {
                alias: request.alias.clone(),
                node_id: request.node_id,
                transport_address: request.transport_address.clone(),
            };
            core.store
                .commit(vec![peer_op(&stored)])
                .await
                .map_err(|e| ApiError::internal(format!("cannot store the peer: {e}")))?;
            core.book.add(&request)?;
            Ok(PeerInfo {
                connected: core.peers.is_connected(&request.node_id),
                alias: request.alias,
                node_id: request.node_id,
                transport_address: request.transport_address,
            })
        })
    }

    fn peer_list(&self) -> ApiFuture<'_, Vec<PeerInfo>> {
        let core = &self.core;
        Box::pin(async move {
            Ok(core
                .book
                .all()
                .into_iter()
                .map(|(alias, peer)| PeerInfo {
                    alias,
                    node_id: peer.node_id,
                    transport_address: peer.transport_address,
                    connected: core.peers.is_connected(&peer.node_id),
                })
                .collect())
        })
    }

    fn channel_open(&self, request: ChannelOpenRequest) -> ApiFuture<'_, ChannelInfo> {
        self.detached(move |core| open(core, request))
    }

    fn proposal_list(&self) -> ApiFuture<'_, Vec<ProposalInfo>> {
        let core = &self.core;
        Box::pin(async move {
            let now = Instant::now();
            let incoming = core.proposals.incoming(now);
            Ok(incoming
                .into_iter()
                .map(|p| {
                    let waiting = WaitingProposal {
                        proposer_alias: core.book.alias_of(&p.peer),
                        proposal: p.proposal,
                        proposer: p.peer,
                        expires_at: p.expires_at,
                    };
                    proposal_info(&core.chain_info, &waiting)
                })
                .collect())
        })
    }

    fn proposal_accept(&self, id: ProposalId) -> ApiFuture<'_, ChannelInfo> {
        self.detached(move |core| accept(core, id))
    }

    fn proposal_reject(&self, request: ProposalRejectRequest) -> ApiFuture<'_, ()> {
        let core = &self.core;
        Box::pin(async move {
            let incoming = core
                .proposals
                .take_incoming(&request.id, Instant::now())
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCategory::NotFound,
                        format!(
                            "no proposal {} awaits an answer (it may have expired)",
                            request.id
                        ),
                    )
                })?;
            let reason = request
                .reason
                .unwrap_or_else(|| "rejected by the peer's user".to_string());
            let message = ChannelMessage::ProposalReject(ProposalReject {
                proposal_id: request.id,
                reason,
            });
            if let Err(error) = core.peers.send(incoming.peer, &message).await {
                // The proposal is answered here either way; the proposer times out.
                tracing::info!(proposal = %request.id, "the reject could not be sent: {error}");
            }
            Ok(())
        })
    }

    fn channel_list(&self, request: ChannelListRequest) -> ApiFuture<'_, Vec<ChannelInfo>> {
        let core = &self.core;
        Box::pin(async move {
            let mut infos = Vec::new();
            if request.closed {
                let archived = core.store.archived_all().map_err(|e| {
                    ApiError::internal(format!("cannot read the archive of closed channels: {e}"))
                })?;
                for archived in archived {
                    match archived {
                        Ok(archived) => infos.push(archived_info(core, &archived)),
                        Err(error) => tracing::error!("{error}"),
                    }
                }
            } else {
                let channels = core.registry.all();
                for (handle, peer) in channels {
                    if let Ok(view) = handle.snapshot().await {
                        infos.push(view_to_info(core, &view, peer));
                    }
                }
                let damaged = core.registry.all_damaged();
                for (id, damaged) in damaged {
                    infos.push(damaged_info(core, id, damaged));
                }
            }
            infos.sort_by_key(|info| info.id);
            Ok(infos)
        })
    }

    fn channel_get(&self, id: ChannelId) -> ApiFuture<'_, ChannelInfo> {
        let core = &self.core;
        Box::pin(async move { channel_info(core, id).await })
    }

    fn channel_pay(&self, request: ChannelPayRequest) -> ApiFuture<'_, ChannelInfo> {
        self.detached(move |core| pay(core, request))
    }

    fn channel_settle(&self, request: ChannelSettleRequest) -> ApiFuture<'_, ChannelInfo> {
        self.detached(move |core| settle(core, request))
    }

    fn misbehave_register(&self, request: MisbehaveRegisterRequest) -> ApiFuture<'_, ChannelInfo> {
        self.detached(move |core| misbehave_register(core, request))
    }

    fn balance(&self, request: BalanceRequest) -> ApiFuture<'_, Vec<OnChainBalance>> {
        self.detached(move |core| async move {
            let account = core.account()?.clone();
            let assets: Vec<AssetInfo> = match &request.asset {
                None => core.chain_info.assets.clone(),
                Some(name) => vec![asset_by_name(&core.chain_info, Some(name))?.clone()],
            };
            let mut balances = Vec::with_capacity(assets.len());
            for asset in assets {
                let chain = core.chain.clone();
                let (owner, holding) = (account.clone(), asset.asset.clone());
                let amount =
                    chain_call("read the balance", move || chain.balance(&owner, &holding)).await?;
                balances.push(OnChainBalance {
                    asset: asset.name,
                    amount,
                });
            }
            Ok(balances)
        })
    }
}
