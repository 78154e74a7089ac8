//! [`ChannelStarter`]: the one way a channel comes to run, whether just opened (ours or the
//! peer's proposal) or restored: its task is spawned with everything it works with, registered,
//! and its phase reported to the chain side before the task takes its first step.

use super::apps::Apps;
use super::chain::ChainAccess;
use super::channel_policy::SharedPolicy;
use super::channel_task::{channel_task, ChannelDeps, ChannelHandle, ChannelReport, PaymentTag};
use super::error::Error;
use super::events::SharedSink;
use super::intermediary::VirtualHolds;
use super::peers::Peers;
use super::registry::{status_cell, Registry};
use crate::config::TestingSection;
use crate::protocol::{
    Channel, ChannelMessage, ChannelProposal, Effect, OpenError, ProposalAccept,
};
use crate::store::members::{members_op, ChannelMembers};
use crate::store::{ChannelStore, Direction, PaymentRecord, PaymentStatus};
use crate::testing::ChannelMisbehaviour;
use crate::wire::NodeId;
use parley_plugin_api::model::{Amount, AssetInfo, ChannelId, Participant};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::mpsc::UnboundedSender;

/// Why an accepted proposal did not become a running channel.
#[derive(Debug, thiserror::Error)]
pub enum OpenChannelError {
    /// The protocol refused the proposal or the accept, or could not sign.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A channel with the same id already runs (a replayed proposal and accept).
    #[error("channel {0} is already open")]
    AlreadyOpen(ChannelId),
}

/// 32 random bytes (proposal ids, nonce shares).
pub fn random_32() -> Result<[u8; 32], Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::internal(format!("the OS random source failed: {e}")))?;
    Ok(bytes)
}

/// Starts channel tasks: what every channel task works with besides its channel, and the
/// registry it enters.
pub struct ChannelStarter {
    registry: Arc<Registry>,
    peers: Peers,
    chain: Arc<ChainAccess>,
    apps: Arc<Apps>,
    store: Arc<ChannelStore>,
    events: SharedSink,
    policy: SharedPolicy,
    reports: UnboundedSender<(ChannelId, ChannelReport)>,
    keep_history: bool,
    misbehaviour: ChannelMisbehaviour,
    /// The chain's assets, one copy shared by every channel task.
    assets: Arc<[AssetInfo]>,
    /// Our payments still `pending` in the history, by channel and version: read once, by the
    /// first restored channel with a pending update, and handed out to those channels.
    pending_payments: OnceLock<Mutex<PendingPayments>>,
    /// Where our channels hold the ends' locks of the virtual channels this node carries.
    virtual_holds: VirtualHolds,
}

impl ChannelStarter {
    /// The running channels this starter enters new channels into.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Starts channels that send through `peers`, sign and verify with `chain`, check app
    /// channels by `apps`, persist to
    /// `store`, publish on `events`, answer the peer's updates by `policy`, report to the chain
    /// side on `reports` and enter `registry`; `testing` says what a test node does wrong. A
    /// lock of a virtual channel this node is the intermediary of waits on `virtual_holds`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        registry: Arc<Registry>,
        peers: Peers,
        chain: Arc<ChainAccess>,
        apps: Arc<Apps>,
        store: Arc<ChannelStore>,
        events: SharedSink,
        policy: SharedPolicy,
        reports: UnboundedSender<(ChannelId, ChannelReport)>,
        testing: &TestingSection,
        virtual_holds: VirtualHolds,
    ) -> ChannelStarter {
        ChannelStarter {
            virtual_holds,
            assets: chain.info.assets.clone().into(),
            pending_payments: OnceLock::new(),
            registry,
            peers,
            chain,
            apps,
            store,
            events,
            policy,
            reports,
            keep_history: testing.keeps_signed_history(),
            misbehaviour: ChannelMisbehaviour::from_testing(testing),
        }
    }

    /// The apps this node checks app channels by.
    pub fn apps(&self) -> &Apps {
        &self.apps
    }

    /// Our payments whose update was pending in restored `channel` when the node stopped (one,
    /// or several batched): their `pending` records, as the tags the channel's payment log
    /// follows.
    fn restored_payments(&self, channel: &Channel) -> Option<(u64, Vec<PaymentTag>)> {
        let pending = channel.pending()?;
        let version = pending.state.version;
        let index = self
            .pending_payments
            .get_or_init(|| Mutex::new(pending_payments(&self.store)));
        let records = index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&(channel.id(), version))?;
        let assets = &pending.state.allocation.assets;
        let tags = records
            .into_iter()
            .filter_map(|record| {
                Some(PaymentTag {
                    id: record.id,
                    asset: assets.iter().position(|a| *a == record.asset)?,
                    amount: record.amount,
                    memo: record.memo,
                    asked_ms: record.created_ms,
                })
            })
            .collect();
        Some((version, tags))
    }

    /// Starts the task of a channel and registers it: one just opened with `members`
    /// (`initial` are the effects of its opening; its first batch also records its members),
    /// or one restored (`initial` empty; no member known if its members record was lost).
    pub fn start_channel(
        &self,
        channel: Channel,
        initial: Vec<Effect>,
        members: ChannelMembers,
        opened: bool,
    ) -> ChannelHandle {
        let mut channel = channel;
        // A restored app channel gets its app's rules here (an opened one has them already).
        channel.attach_app(&*self.apps);
        let id = channel.id();
        let phase = channel.phase();
        let assets = channel.latest().allocation.assets.clone();
        let first_writes = if opened {
            vec![members_op(&id, &members)]
        } else {
            Vec::new()
        };
        let status = status_cell(phase);
        let deps = ChannelDeps {
            status: Some(status.clone()),
            members: members.clone(),
            link: self.peers.clone(),
            chain: self.chain.signer.clone(),
            store: self.store.clone(),
            events: self.events.clone(),
            policy: self.policy.clone(),
            reports: Some(self.reports.clone()),
            keep_history: self.keep_history,
            first_writes,
            restored_payments: if opened {
                None
            } else {
                self.restored_payments(&channel)
            },
            misbehaviour: self.misbehaviour,
            assets: self.assets.clone(),
            virtual_holds: Some(self.virtual_holds.clone()),
        };
        let (handle, task) = channel_task(channel, initial, deps);
        let inserted = self
            .registry
            .insert(handle.clone(), members, assets, status);
        if !inserted {
            tracing::error!(channel = %id, "a channel with this id is already running");
        }
        // The channel's chain-side owner starts with this report: a restored channel resumes funding
        // or settling, and an opening is given until its funding timeout. Registered and
        // reported before the task runs, so that its own reports (a failed first write) follow.
        let _ = self.reports.send((id, ChannelReport::Phase(phase)));
        let task = tokio::spawn(task);
        tokio::spawn(async move {
            match task.await {
                Ok(()) => tracing::debug!(channel = %id, "channel task ended"),
                Err(error) => tracing::error!(channel = %id, %error, "channel task panicked"),
            }
        });
        handle
    }

    /// Opens the channel of `proposal` accepted by `accept`, as participant `me`, with
    /// `peer`: the protocol signs version 0, and the task persists it and sends our
    /// signature (preceded by `first`, if given: the accepter's `ProposalAccept`).
    pub fn open_channel(
        &self,
        proposal: &ChannelProposal,
        accept: &ProposalAccept,
        me: &Participant,
        peer: NodeId,
        first: Option<ChannelMessage>,
        lock_fee: Amount,
    ) -> Result<ChannelId, OpenChannelError> {
        let chain = &*self.chain.signer;
        let (channel, mut effects) =
            Channel::open_with_apps(proposal, accept, me, chain, chain, &*self.apps)?;
        let id = channel.id();
        if self.registry.contains(&id) {
            return Err(OpenChannelError::AlreadyOpen(id));
        }
        if !lock_fee.is_zero() {
            // Known before the channel runs: its funding step pays it with the lock.
            self.registry.set_lock_fee(id, lock_fee);
        }
        if let Some(first) = first {
            let at = effects
                .iter()
                .position(|e| matches!(e, Effect::Send { .. }))
                .unwrap_or(effects.len());
            // Proposals are two-party: the accept goes to the proposer, the other one.
            let to = channel.peer_index() as u16;
            effects.insert(at, Effect::Send { to, message: first });
        }
        let members = ChannelMembers::two_party(channel.my_index(), peer);
        self.start_channel(channel, effects, members, true);
        Ok(id)
    }

    /// Accepts the peer's `proposal`: opens the channel with our own address and a fresh nonce
    /// share, and sends the accept ahead of our opening signature. Returns the channel and the
    /// accept (to send again if the connection it left on is replaced).
    pub fn accept_proposal(
        &self,
        proposal: &ChannelProposal,
        peer: NodeId,
    ) -> Result<(ChannelId, ProposalAccept), Error> {
        let me = self.chain.account()?.clone();
        let accept = ProposalAccept {
            proposal_id: proposal.proposal_id,
            nonce_share: random_32()?,
            participant: me.clone(),
        };
        let first = ChannelMessage::ProposalAccept(accept.clone());
        let id = self
            .open_channel(proposal, &accept, &me, peer, Some(first), Amount::ZERO)
            .map_err(|e| {
                Error::invalid_request(format!("cannot open the proposed channel: {e}"))
            })?;
        Ok((id, accept))
    }
}

/// Our payments `pending` in the history of `store`, by channel and version (none if the
/// history cannot be read: those payments then stay `pending`, and the log says why).
/// Our payments still `pending`, by channel and version (several for a batch).
type PendingPayments = HashMap<(ChannelId, u64), Vec<PaymentRecord>>;

fn pending_payments(store: &ChannelStore) -> PendingPayments {
    match store.payments() {
        Ok((records, _)) => {
            let mut pending = PendingPayments::new();
            for record in records
                .into_iter()
                .filter(|r| r.direction == Direction::Sent && r.status == PaymentStatus::Pending)
            {
                pending
                    .entry((record.channel, record.version))
                    .or_default()
                    .push(record);
            }
            pending
        }
        Err(error) => {
            tracing::warn!("cannot read the payment history to end the payments pending at the restart: {error}");
            HashMap::new()
        }
    }
}
