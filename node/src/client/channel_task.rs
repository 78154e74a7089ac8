//! The channel task: one tokio task per channel that owns its [`Channel`] and is the only code
//! that touches it (DESIGN §4: the sans-IO protocol decides, the task does the I/O).
//!
//! Inputs arrive on one queue ([`ChannelInput`]): the peer's messages, the peer (re)connecting,
//! and commands from the node and the API through a [`ChannelHandle`]. A peer's message comes
//! with its [`Ticket`], held until the message is handled: that is what bounds the queue by
//! the peer's budget (see [`Intake`](super::peers::Intake)). Each input is fed to the
//! channel and the returned effects are executed strictly in order:
//! - consecutive `Persist` records become ONE [`ChannelStore::persist`] batch that must be
//!   durable before anything after it runs (write-ahead); the channel's first batch carries
//!   its peer link, and the batch that closes it moves it to the archive instead;
//! - a failed persist starts a store outage (see [`outage`]): nothing after it runs, the
//!   channel falls back to its durable state, waiting commands get the store's error at once,
//!   and the task writes its state again every [`outage::PROBE`] until the store takes it,
//!   then re-synchronises with the peer;
//! - `Send` goes to the peer through a [`PeerLink`]; if the peer is not connected the message
//!   is dropped (debug log): the re-synchronisation on reconnect covers it;
//! - `Event` is published on the [`EventSink`](super::events::EventSink) where a domain [`Event`] fits, and settles the
//!   update a `Pay`/`ProposeFinal` command waits on; phases and proven peer faults are also
//!   reported to the node ([`ChannelReport`]), which drives the chain side and keeps the
//!   channel's status.
//!
//! The rules stay in the sans-IO protocol: which of our updates starts when (one at a time,
//! one retry after a lost race or a re-synchronisation) is the [`UpdateQueue`] the task
//! holds, and which peer message waits for the funding is
//! [`Channel::holds_until_funded`]. The task executes and answers.

mod asked;
mod outage;
mod payments;

use super::chain::overdraft_reason;
use super::channel_policy::{Decision, SharedPolicy};
use super::events::{Event, SharedSink};
use super::intermediary::{HeldLock, VirtualHolds};
use super::invoices;
use super::overview::ChannelOverview;
use super::peers::{PeerError, Peers, Ticket};
use super::registry::{enter_phase, StatusCell};
use crate::protocol::{
    Answer, BatchedPayment, Channel, ChannelError, ChannelEvent, ChannelMessage, ChannelSnapshot,
    Effect, PaymentError, PaymentNote, PersistRecord, Phase, RejectReason, Started, UpdateFailure,
    UpdateIntent, UpdateProposal, UpdateQueue, VirtualChild, VirtualTerms,
};
use crate::store::{
    ArchivedChannel, ChannelMembers, ChannelStore, Direction, PaymentId, PaymentStatus, StoreError,
};
use crate::testing::ChannelMisbehaviour;
use crate::wire::NodeId;
pub use asked::{AnswerError, Answered, NOT_ANSWERED};
pub use outage::PROBE;
use parley_plugin_api::model::{
    Amount, AssetInfo, ChainTime, ChannelId, Dispute, SignedState, State, WriteOp,
};
use parley_plugin_api::ChainSigner;
pub use payments::PaymentTag;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Where a channel task sends messages to its peer. [`Peers`] is the real one; tests may route
/// between tasks directly.
pub trait PeerLink: Send + Sync + 'static {
    /// Hands `message` to `peer`'s connection without waiting for delivery.
    fn send(
        &self,
        peer: NodeId,
        message: &ChannelMessage,
    ) -> impl Future<Output = Result<(), PeerError>> + Send;
}

impl PeerLink for Peers {
    fn send(
        &self,
        peer: NodeId,
        message: &ChannelMessage,
    ) -> impl Future<Output = Result<(), PeerError>> + Send {
        Peers::send(self, peer, message)
    }
}

/// Why a command to a channel task failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    /// The channel's state machine refused the command (an overdraft, the wrong phase, no
    /// update awaiting an answer, ...); nothing changed.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The peer rejected our update; the channel stays at its newest state.
    #[error("the peer rejected the update: {0}")]
    Rejected(RejectReason),
    /// Our update lost a concurrent race with the peer's twice (it was retried once).
    #[error("our update to version {version} lost a concurrent race again")]
    Superseded {
        /// The version of the second attempt.
        version: u64,
    },
    /// Our update was dropped by re-synchronisation twice (it was retried once).
    #[error("our update to version {version} was dropped by re-synchronisation again")]
    Discarded {
        /// The version of the second attempt.
        version: u64,
    },
    /// The store could not record the change, so nothing of it reached the peer and it did not
    /// happen. The channel stays at its durable state; the node writes it again until the
    /// store works.
    #[error(
        "the store could not record it, so nothing was sent to the peer and it did not happen: \
         {error}; the node retries the store every {} s and the channel works again once it \
         does", PROBE.as_secs()
    )]
    StoreFailed {
        /// The store's error.
        error: String,
    },
    /// The store failed while our update was with the peer: the peer may accept it, and the
    /// update then completes when the channel re-synchronises once the store works again.
    #[error(
        "the store failed while our update to version {version} was with the peer: {error}; \
         it completes or is dropped when the channel re-synchronises with the peer once the \
         store works again (`parley channel show` then shows version {version} or later if it \
         completed)"
    )]
    Uncertain {
        /// The version our update proposed.
        version: u64,
        /// The store's error.
        error: String,
    },
    /// The user's answer to the peer's update does not fit the update that awaits one.
    #[error(transparent)]
    Answer(#[from] AnswerError),
    /// A payment under this id is already queued or in flight on the channel (two calls
    /// with one id at once): the second is not made, so the id names one payment.
    #[error("payment {0} is already on its way on this channel; pay again under another id")]
    PaymentUnderWay(PaymentId),
    /// The task is gone (the node is shutting down, or the channel was archived).
    #[error("the channel task has stopped")]
    Stopped,
}

/// What a channel task tells the node about its channel, in the order it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelReport {
    /// The channel entered this phase (durable, or a chain fact kept in memory while the store
    /// is down: the outage writes it once the store works).
    Phase(Phase),
    /// Writing to the store failed: the channel is held at its durable state and its pending
    /// commands failed with this message.
    StoreFailed(String),
    /// The store took the channel's state again; the channel re-synchronises with its peer.
    StoreRecovered,
    /// The channel is closed and in the archive; its task has ended.
    Archived,
    /// The peer proved itself faulty: why, and what the channel does about it, for the
    /// channel's status. Comes before the `Phase(Disputed)` the fault may cause.
    PeerFault(String),
}

/// What the API sees of a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelView {
    /// Everything durable about the channel.
    pub snapshot: ChannelSnapshot,
    /// The peer's update awaiting an `Accept` or `Reject` command, if any.
    pub awaiting_decision: Option<State>,
    /// When (Unix seconds) the update awaiting a decision is declined unanswered, if the user
    /// was asked about it.
    pub answer_by: Option<u64>,
    /// Whether re-synchronisation with the peer is under way.
    pub syncing: bool,
    /// Whether the channel re-synchronised with its peer since its task started.
    pub synced: bool,
    /// Updates of ours queued behind the one in flight.
    pub queued_updates: usize,
    /// The store's error while it fails (the channel is held at its durable state).
    pub outage: Option<String>,
}

/// The result of an update command: the version it became.
pub type UpdateReply = oneshot::Sender<Result<u64, CommandError>>;

/// A command from the node or the API.
#[derive(Debug)]
pub enum ChannelCommand {
    /// Pay the peer: `payment` says what, under which id. Answers once the peer accepted
    /// (with the new version) or rejected it; the payment's record goes into the store with
    /// the channel's own writes (see [`payments`]).
    Pay {
        /// The payment.
        payment: PaymentTag,
        /// Where the outcome goes.
        reply: UpdateReply,
    },
    /// The caller of payment `id` gave up (its call timed out): if the payment still waits
    /// behind earlier updates, it is not made and is recorded as failed (answers `true` once
    /// that record is durable); if it started, it goes on (answers `false`).
    Withdraw {
        /// The payment.
        id: PaymentId,
        /// Where the outcome goes.
        reply: oneshot::Sender<bool>,
    },
    /// Keep the peer's held update `version` (a virtual channel's lock that the intermediary
    /// service holds) unanswered for `within` from now, instead of its earlier deadline.
    HoldLonger {
        /// The held update.
        version: u64,
        /// How long from now it may wait.
        within: Duration,
    },
    /// Answer once every persist queued so far is durable (see `ChannelTask::may_defer`).
    Flush {
        /// Answered then.
        reply: oneshot::Sender<()>,
    },
    /// Propose the final state. Answers like `Pay`.
    ProposeFinal {
        /// Where the outcome goes.
        reply: UpdateReply,
    },
    /// Make a move in an app channel (`action` as JSON). Answers like `Pay`.
    Move {
        /// The action, as the app takes it.
        action: String,
        /// Where the outcome goes.
        reply: UpdateReply,
    },
    /// Lock the funds of sub-channel `child` (see `Channel::lock_child`). Answers like `Pay`.
    LockChild {
        /// The sub-channel.
        child: ChannelId,
        /// Where the outcome goes.
        reply: UpdateReply,
    },
    /// Merge sub-channel `child`'s final outcome back (see `Channel::merge_child`). Answers
    /// like `Pay`.
    MergeChild {
        /// The sub-channel.
        child: ChannelId,
        /// Where the outcome goes.
        reply: UpdateReply,
    },
    /// A sub-channel's fully signed state (its opening state before its lock, its final state
    /// before its merge), from the sub-channel's own task.
    KnowChild {
        /// The state.
        state: Box<SignedState>,
        /// Also send it to the channel's other participants (the intermediary of a virtual
        /// child, which must hold it before it signs the child's lock or merge).
        share: bool,
        /// How a virtual child is locked here, where the path says more than its opening
        /// state (see `Channel::know_virtual_child`).
        terms: Option<VirtualTerms>,
    },
    /// Accept the peer's update awaiting an answer.
    Accept {
        /// The version the answer is for; `None`: whichever awaits.
        version: Option<u64>,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    /// Decline the peer's update awaiting an answer.
    Reject {
        /// The version the answer is for; `None`: whichever awaits.
        version: Option<u64>,
        /// The reason told to the peer.
        reason: String,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    /// The channel concluded on chain and our share was withdrawn.
    Concluded {
        /// How it ended, kept with the archived channel.
        ending: Ending,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    /// Stop updating: a state is registered on chain, or we are about to register one.
    Dispute {
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    /// Give up an opening that did not complete (`Opening` → `Closed`).
    Abandon {
        /// Why, kept with the archived channel.
        ending: Ending,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    /// The fully signed state of `version`, if this task knows it: the newest one, or an
    /// older one from the history a test node keeps to cheat with.
    SignedVersion {
        /// The version wanted.
        version: u64,
        /// Where the state goes.
        reply: oneshot::Sender<Option<SignedState>>,
    },
    /// The chain reports the channel fully funded.
    Funded {
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    /// What the channel looks like now.
    Snapshot {
        /// Where the view goes.
        reply: oneshot::Sender<ChannelView>,
    },
}

/// How a channel ended, as the node saw it: kept in its archive record for `channel show`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ending {
    /// What the node did on chain, or why an opening was abandoned.
    pub note: Option<String>,
    /// The channel's on-chain record as last read, and the chain time of that reading.
    pub dispute: Option<(Dispute, ChainTime)>,
}

/// One input of a channel task.
#[derive(Debug)]
pub enum ChannelInput {
    /// A message for this channel from the participant with this index (the dispatcher maps
    /// the authenticated sending node to it through the channel's members; boxed: messages
    /// are large, the other inputs small), and its place in the sender's budget.
    Message(usize, Box<ChannelMessage>, Ticket),
    /// The peer (re)connected: re-synchronise.
    PeerConnected,
    /// A command (boxed: the largest command is far larger than the other inputs, and every
    /// channel's inbox keeps room for a block of inputs however idle the channel is).
    Command(Box<ChannelCommand>),
}

/// The handle to a channel task; cheap to clone. The task stops once every handle is dropped.
#[derive(Clone, Debug)]
pub struct ChannelHandle {
    id: ChannelId,
    inputs: UnboundedSender<ChannelInput>,
}

impl ChannelHandle {
    /// The channel's id.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// A handle with no task behind it: its inputs go to the returned receiver (tests of the
    /// services that only keep handles).
    #[cfg(test)]
    pub(crate) fn detached(id: ChannelId) -> (ChannelHandle, UnboundedReceiver<ChannelInput>) {
        let (inputs, inbox) = unbounded_channel();
        (ChannelHandle { id, inputs }, inbox)
    }

    /// Queues `input`; `Err(Stopped)` if the task is gone.
    pub fn input(&self, input: ChannelInput) -> Result<(), CommandError> {
        self.inputs.send(input).map_err(|_| CommandError::Stopped)
    }

    /// Queues `command` (boxed, see [`ChannelInput::Command`]).
    fn command(&self, command: ChannelCommand) -> Result<(), CommandError> {
        self.input(ChannelInput::Command(Box::new(command)))
    }

    /// Delivers a message from participant `from` that no budget holds (tests, replays).
    pub fn deliver(&self, from: usize, message: ChannelMessage) -> Result<(), CommandError> {
        self.deliver_held(from, message, Ticket::untracked())
    }

    /// Delivers a message from participant `from`; `ticket` is given back once the task
    /// handled it.
    pub fn deliver_held(
        &self,
        from: usize,
        message: ChannelMessage,
        ticket: Ticket,
    ) -> Result<(), CommandError> {
        self.input(ChannelInput::Message(from, Box::new(message), ticket))
    }

    /// Tells the task the peer (re)connected.
    pub fn peer_connected(&self) -> Result<(), CommandError> {
        self.input(ChannelInput::PeerConnected)
    }

    /// Pays `amount` of asset index `asset` to the peer under a fresh id; resolves with the
    /// new version once the peer accepted, and only after that state is durable.
    pub async fn pay(&self, asset: usize, amount: Amount) -> Result<u64, CommandError> {
        self.pay_tracked(PaymentTag {
            id: PaymentId::random(),
            asset,
            amount,
            memo: String::new(),
            asked_ms: unix_ms(),
        })
        .await
    }

    /// Pays as `payment` says, under its id; resolves like [`ChannelHandle::pay`].
    pub async fn pay_tracked(&self, payment: PaymentTag) -> Result<u64, CommandError> {
        self.ask(|reply| ChannelCommand::Pay { payment, reply })
            .await?
    }

    /// Withdraws payment `id` if it has not started: see [`ChannelCommand::Withdraw`]. `false`
    /// also if the task stopped.
    pub async fn withdraw_payment(&self, id: PaymentId) -> bool {
        self.ask(|reply| ChannelCommand::Withdraw { id, reply })
            .await
            .unwrap_or(false)
    }

    /// Makes the move `action` (JSON) in an app channel; resolves with the new version once
    /// the others accepted it, like [`ChannelHandle::pay`].
    pub async fn app_move(&self, action: String) -> Result<u64, CommandError> {
        self.ask(|reply| ChannelCommand::Move { action, reply })
            .await?
    }

    /// Locks the funds of sub-channel `child`; resolves with the parent's new version once
    /// every participant signed it.
    pub async fn lock_child(&self, child: ChannelId) -> Result<u64, CommandError> {
        self.ask(|reply| ChannelCommand::LockChild { child, reply })
            .await?
    }

    /// Merges sub-channel `child`'s final outcome back; resolves like [`ChannelHandle::lock_child`].
    pub async fn merge_child(&self, child: ChannelId) -> Result<u64, CommandError> {
        self.ask(|reply| ChannelCommand::MergeChild { child, reply })
            .await?
    }

    /// Hands this (parent) channel a sub-channel's fully signed state.
    pub fn know_child(&self, state: SignedState) -> Result<(), CommandError> {
        self.command(ChannelCommand::KnowChild {
            state: Box::new(state),
            share: false,
            terms: None,
        })
    }

    /// Hands this (parent) channel a virtual child's fully signed state and sends it to the
    /// channel's other participants (the intermediary), ahead of the lock or merge it precedes.
    pub fn share_child(&self, state: SignedState) -> Result<(), CommandError> {
        self.command(ChannelCommand::KnowChild {
            state: Box::new(state),
            share: true,
            terms: None,
        })
    }

    /// Hands this channel a virtual child's fully signed opening `state` with the `terms` of
    /// its lock here (an index map, a fee), and sends the state to the channel's other
    /// participant if `share` (the intermediary ahead, which must hold it before the lock).
    pub fn know_virtual_child(
        &self,
        state: SignedState,
        terms: VirtualTerms,
        share: bool,
    ) -> Result<(), CommandError> {
        self.command(ChannelCommand::KnowChild {
            state: Box::new(state),
            share,
            terms: Some(terms),
        })
    }

    /// Proposes the final state; resolves with its version once the peer accepted.
    pub async fn propose_final(&self) -> Result<u64, CommandError> {
        self.ask(|reply| ChannelCommand::ProposeFinal { reply })
            .await?
    }

    /// Accepts the peer's update awaiting an answer (if `version` is given, only the update
    /// to that version).
    pub async fn accept(&self, version: Option<u64>) -> Result<(), CommandError> {
        self.ask(|reply| ChannelCommand::Accept { version, reply })
            .await?
    }

    /// Returns once everything this channel queued for its store is durable: a payment it
    /// made is then recorded as completed in the payment history too (the payer's own write
    /// of the payee's accept may still be on its way when the payment returns).
    pub async fn flush(&self) -> Result<(), CommandError> {
        self.ask(|reply| ChannelCommand::Flush { reply }).await
    }

    /// Keeps the peer's held update `version` waiting for `within` from now (the intermediary
    /// service proposes the twin lock, and must not see this one declined meanwhile).
    pub fn hold_longer(&self, version: u64, within: Duration) -> Result<(), CommandError> {
        self.command(ChannelCommand::HoldLonger { version, within })
    }

    /// Declines the peer's update awaiting an answer (if `version` is given, only the update
    /// to that version), telling the peer `reason`.
    pub async fn reject(
        &self,
        version: Option<u64>,
        reason: impl Into<String>,
    ) -> Result<(), CommandError> {
        let reason = reason.into();
        self.ask(|reply| ChannelCommand::Reject {
            version,
            reason,
            reply,
        })
        .await?
    }

    /// Reports the channel funded (`Funding` → `Active`).
    pub async fn funded(&self) -> Result<(), CommandError> {
        self.ask(|reply| ChannelCommand::Funded { reply }).await?
    }

    /// Stops updates: the channel moves to `Disputed` (see `Channel::dispute`).
    pub async fn dispute(&self) -> Result<(), CommandError> {
        self.ask(|reply| ChannelCommand::Dispute { reply }).await?
    }

    /// The fully signed state of `version`, if the task knows it (see
    /// [`ChannelCommand::SignedVersion`]).
    pub async fn signed_version(&self, version: u64) -> Result<Option<SignedState>, CommandError> {
        self.ask(|reply| ChannelCommand::SignedVersion { version, reply })
            .await
    }

    /// Gives up an opening that did not complete (`Opening` → `Closed`, see
    /// `Channel::abandon`).
    pub async fn abandon(&self, reason: String) -> Result<(), CommandError> {
        let ending = Ending {
            note: Some(reason),
            dispute: None,
        };
        self.ask(|reply| ChannelCommand::Abandon { ending, reply })
            .await?
    }

    /// Reports the channel concluded on chain (any phase → `Closed`).
    pub async fn concluded(&self, ending: Ending) -> Result<(), CommandError> {
        self.ask(|reply| ChannelCommand::Concluded { ending, reply })
            .await?
    }

    /// The channel as it is now.
    pub async fn snapshot(&self) -> Result<ChannelView, CommandError> {
        self.ask(|reply| ChannelCommand::Snapshot { reply }).await
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> ChannelCommand,
    ) -> Result<T, CommandError> {
        let (reply, answer) = oneshot::channel();
        self.command(command(reply))?;
        answer.await.map_err(|_| CommandError::Stopped)
    }
}

/// What a channel task works with besides its channel.
pub struct ChannelDeps<L> {
    /// The node of each participant (where `Send { to, .. }` effects go); none known for a
    /// channel whose members record was lost: it is watched and can be settled on chain, but
    /// sends nothing.
    pub members: ChannelMembers,
    /// The connection to peers.
    pub link: L,
    /// Signs our states and verifies the peer's.
    pub chain: Arc<dyn ChainSigner>,
    /// Where the channel's records go.
    pub store: Arc<ChannelStore>,
    /// Where events are published.
    pub events: SharedSink,
    /// Decides the peer's updates.
    pub policy: SharedPolicy,
    /// The channel's status in the registry: the task writes each phase into it the moment
    /// the channel enters it (before reporting it), so API calls never see a lagging phase.
    /// `None` when nothing is registered (tests).
    pub status: Option<StatusCell>,
    /// Told every phase the channel enters (after it is durable), every store outage and
    /// every proven peer fault, so the node can fund, conclude, dispute and withdraw and show
    /// why; `None` when nobody drives the chain side (tests).
    pub reports: Option<UnboundedSender<(ChannelId, ChannelReport)>>,
    /// Writes that go into the channel's first persist batch, atomically with its first
    /// records: the members of a channel just opened. Empty for a restored channel.
    pub first_writes: Vec<WriteOp>,
    /// Our payments whose update was pending when the node stopped (the version it proposes;
    /// several if it was a batch), from their `pending` records: they end in the history
    /// without the requests the restart lost. `None` for a channel just opened.
    pub restored_payments: Option<(u64, Vec<PaymentTag>)>,
    /// Keep every fully signed state in memory, so that a test node can register an old one
    /// (`[testing] allow_misbehaviour`). Off on real nodes: they only need the newest.
    pub keep_history: bool,
    /// What this channel does wrong on purpose (`[testing]` switches; all off on real nodes).
    pub misbehaviour: ChannelMisbehaviour,
    /// The chain's assets (shared by every channel task), so that a payment's failure is
    /// recorded in whole units (`0.5 ETH`); empty writes base units.
    pub assets: Arc<[AssetInfo]>,
    /// Where a lock of a virtual channel this node is the intermediary of goes to wait for
    /// its twin in the path's other channel (`client/intermediary`); `None`: such a lock is
    /// declined.
    pub virtual_holds: Option<VirtualHolds>,
}

/// Spawns the task of `channel`. `initial` are effects still to execute (those of
/// `Channel::open`; empty for a restored channel). Must be called inside a tokio runtime.
pub fn spawn_channel_task<L: PeerLink>(
    channel: Channel,
    initial: Vec<Effect>,
    deps: ChannelDeps<L>,
) -> (ChannelHandle, JoinHandle<()>) {
    let (handle, task) = channel_task(channel, initial, deps);
    (handle, tokio::spawn(task))
}

/// [`spawn_channel_task`] without the spawn: the handle, and the task to spawn once the
/// caller has registered the handle (so that nothing the task reports can arrive first).
pub fn channel_task<L: PeerLink>(
    channel: Channel,
    initial: Vec<Effect>,
    mut deps: ChannelDeps<L>,
) -> (ChannelHandle, impl Future<Output = ()> + Send + 'static) {
    let (inputs, inbox) = unbounded_channel();
    let handle = ChannelHandle {
        id: channel.id(),
        inputs,
    };
    let mut payments = payments::PaymentLog::new(
        channel.id(),
        channel.my_index(),
        channel.snapshot().channel.params.app.is_some(),
        channel.latest().clone(),
    );
    if let Some((version, tags)) = deps.restored_payments.take() {
        payments.restore(version, tags);
    }
    let task = ChannelTask {
        payments,
        reported: channel.phase(),
        first_writes: std::mem::take(&mut deps.first_writes),
        channel,
        deps,
        updates: UpdateQueue::default(),
        to_decide: None,
        asked: asked::Asked::default(),
        early: None,
        history: Vec::new(),
        outage: None,
        archived: false,
        ending: Ending::default(),
        deferred: None,
        riding: false,
        ahead_of_record: false,
        synced: false,
        race_wait_since: None,
    };
    (handle, Box::new(task).run(initial, inbox))
}

/// A persist that failed, with the effects that were to follow it (none of them ran).
#[derive(Debug)]
struct StoreFailure {
    error: StoreError,
    unsent: Vec<Effect>,
}

struct ChannelTask<L> {
    channel: Channel,
    deps: ChannelDeps<L>,
    /// Our updates: the one the peer has not answered and those waiting behind it.
    updates: UpdateQueue<Requested>,
    /// The payments of the channel: what each persist batch records of them.
    payments: payments::PaymentLog,
    /// The peer's update the policy has yet to decide.
    to_decide: Option<State>,
    /// The peer's update the policy left to the user, with its deadline.
    asked: asked::Asked,
    /// Since when we have waited for the winner of a race we lost to propose its update again
    /// (`Channel::awaits_race_winner`); after [`RACE_WINNER_WAIT`] we re-synchronise.
    race_wait_since: Option<tokio::time::Instant>,
    /// The peer's first update, received while we still wait to see the funding on chain: the
    /// peer saw it first. Handled once the channel is active (the peer sends one at a time).
    early: Option<(usize, Box<ChannelMessage>, Ticket)>,
    /// Every older fully signed state, when `deps.keep_history` is on.
    history: Vec<SignedState>,
    /// Writes still to go with the channel's first successful persist (its members).
    first_writes: Vec<WriteOp>,
    /// The last phase reported to the node.
    reported: Phase,
    /// Set while the store fails; see [`outage`].
    outage: Option<outage::Outage>,
    /// The channel is closed and archived: the task ends.
    archived: bool,
    /// How the channel ended (kept in its archive record).
    ending: Ending,
    /// The persists queued and not yet awaited, in order: our own update's completion
    /// ([`ChannelTask::may_defer`]), then perhaps our next proposal's record
    /// ([`ChannelTask::may_send_before_durable`]). Awaited before anything else is persisted
    /// or sent, but for the next proposal.
    deferred: Option<DeferredCommit>,
    /// The deferred persists are lazy ones only (a payer's completion, [`ChannelTask::may_defer`]):
    /// they ride with the node's next commit, so our next write is queued without waiting for
    /// them, and awaited after them.
    riding: bool,
    /// Our proposal went out before its record was known durable: no other may, until the
    /// deferred persists are awaited.
    ahead_of_record: bool,
    /// The channel re-synchronised with its peer since the task started.
    synced: bool,
}

/// How long a payer's completion waits in the committer for another write of the node to go
/// with ([`ChannelStore::persist_lazily`]): a payer paying again at once, on this channel or
/// another, shares one commit between the completion of one payment and the proposal of the
/// next, which on one disk shared with its peer leaves the peer's commit alone on the path.
const HOLD_AT_MOST: Duration = Duration::from_millis(1);

/// How long we wait for the winner of a race we lost to propose its update again before we
/// re-synchronise with it. An honest winner proposes again in the same step that tells it
/// it won, so this only ends a stall (a peer that never does, or a lost message).
const RACE_WINNER_WAIT: Duration = Duration::from_secs(5);

/// The payments our update in flight makes (several for a batch), and its version as the
/// channel has it now: a race's winner proposes it again at a higher version, and the queue
/// learns that from the event that follows the persist and the send. `None` if no update of
/// ours is in flight or it is no payment. A function of the two fields, so that the payment
/// log can be borrowed beside it.
fn our_payments<'a>(
    updates: &'a UpdateQueue<Requested>,
    channel: &Channel,
) -> Option<(u64, Vec<&'a PaymentTag>)> {
    let (version, requests) = updates.in_flight()?;
    let version = channel.pending().map_or(version, |p| p.state.version);
    let tags: Vec<&PaymentTag> = requests.filter_map(|r| r.payment.as_ref()).collect();
    (!tags.is_empty()).then_some((version, tags))
}

/// A queued persist whose durability nothing waits for yet (a task of its own, so that the
/// channel task can poll it from its loop and still be shared across awaits).
type DeferredCommit = JoinHandle<Result<(), StoreError>>;

/// What a deferred persist came to: a task that ended without an answer (the runtime is
/// shutting down) counts as a failed write.
fn deferred_outcome(
    channel: ChannelId,
    joined: Result<Result<(), StoreError>, tokio::task::JoinError>,
) -> Result<(), StoreError> {
    joined.unwrap_or(Err(StoreError::Write {
        target: crate::store::WriteTarget::Channel(channel),
        source: crate::store::CommitError::Stopped,
    }))
}

impl<L: PeerLink> ChannelTask<L> {
    /// The task's loop: inputs, lapses and store probes until the channel is archived or
    /// every handle is gone.
    ///
    /// The task lives in a box, and every await of work (an input, a lapse, a probe) is boxed
    /// too: a task's future is as large as the largest state it can be suspended in, and
    /// an `async fn` keeps its arguments apart from its locals. Unboxed, an idle channel's
    /// future took 7.4 KiB (the task twice, and the kilobytes of handling an input); boxed, it
    /// is 0.3 KiB beside the 2.2 KiB task. The future of handling an input is allocated while
    /// one is handled (one allocation, nothing next to a signature).
    async fn run(
        mut self: Box<Self>,
        initial: Vec<Effect>,
        mut inbox: UnboundedReceiver<ChannelInput>,
    ) {
        if let Err(failure) = Box::pin(self.execute(initial)).await {
            self.enter_outage(failure);
        }
        loop {
            if self.archived {
                self.report(ChannelReport::Archived);
                tracing::debug!(channel = %self.channel.id(), "channel archived; its task ends");
                return;
            }
            if let Some(deferred) = self.deferred.as_mut() {
                // Inputs first; otherwise learn as soon as the queued persist failed.
                let next = tokio::select! {
                    biased;
                    input = inbox.recv() => Ok(input),
                    result = deferred => Err(result),
                };
                match next {
                    Ok(Some(input)) => {
                        if let Err(failure) = Box::pin(self.step(input)).await {
                            self.enter_outage(failure);
                        }
                    }
                    Ok(None) => {
                        if let Err(error) = self.await_deferred().await {
                            tracing::warn!(channel = %self.channel.id(), "the last write failed as the task ended: {error}");
                        }
                        return;
                    }
                    Err(result) => {
                        self.deferred = None;
                        self.ahead_of_record = false;
                        self.riding = false;
                        if let Err(error) = deferred_outcome(self.channel.id(), result) {
                            self.enter_outage(StoreFailure {
                                error,
                                unsent: Vec::new(),
                            });
                        }
                    }
                }
                continue;
            }
            let input = match self.outage.as_ref().map(|o| o.next_probe) {
                None => match self.next_deadline() {
                    None => inbox.recv().await,
                    Some(at) => tokio::select! {
                        input = inbox.recv() => input,
                        () = tokio::time::sleep_until(at) => {
                            if let Err(failure) = Box::pin(self.at_deadline(tokio::time::Instant::now())).await {
                                self.enter_outage(failure);
                            }
                            continue;
                        }
                    },
                },
                Some(at) => tokio::select! {
                    input = inbox.recv() => input,
                    () = tokio::time::sleep_until(at) => {
                        Box::pin(self.probe()).await;
                        continue;
                    }
                },
            };
            let Some(input) = input else { return };
            if self.outage.is_some() {
                self.during_outage(input);
                continue;
            }
            if let Err(failure) = Box::pin(self.step(input)).await {
                self.enter_outage(failure);
            }
        }
    }

    /// Handles one input and what follows from it.
    async fn step(&mut self, input: ChannelInput) -> Result<(), StoreFailure> {
        self.handle(input).await?;
        self.settle().await?;
        if self.channel.phase() != Phase::Funding {
            if let Some((from, message, ticket)) = self.early.take() {
                self.handle(ChannelInput::Message(from, message, ticket))
                    .await?;
                self.settle().await?;
            }
        }
        Ok(())
    }

    async fn handle(&mut self, input: ChannelInput) -> Result<(), StoreFailure> {
        match input {
            ChannelInput::Message(from, message, ticket)
                if self.channel.holds_until_funded(&message) =>
            {
                tracing::debug!(channel = %self.channel.id(), "holding the peer's update until the funding is seen");
                self.early = Some((from, message, ticket));
            }
            // The ticket goes when the message has been handled, effects and all.
            ChannelInput::Message(from, message, _ticket) => {
                let kind = message.kind();
                if let ChannelMessage::UpdateProposal(proposal) = &*message {
                    if let Some(offered) = self.offered_payments(proposal) {
                        self.payments.offer(proposal.state.version, offered);
                    }
                }
                match self.channel.on_message(from, *message, &*self.deps.chain) {
                    Ok(effects) => self.execute(effects).await?,
                    Err(error) => tracing::warn!(
                        channel = %self.channel.id(),
                        "ignored a {kind} message from participant {from}: {error}"
                    ),
                }
            }
            ChannelInput::PeerConnected => {
                let effects = self.channel.sync_request();
                self.execute(effects).await?;
            }
            ChannelInput::Command(command) => self.command(*command).await?,
        }
        Ok(())
    }

    async fn command(&mut self, command: ChannelCommand) -> Result<(), StoreFailure> {
        match command {
            ChannelCommand::Pay { payment, reply } => {
                let id = payment.id;
                if self
                    .updates
                    .any(|r: &Requested| r.payment.as_ref().is_some_and(|p| p.id == id))
                {
                    let _ = reply.send(Err(CommandError::PaymentUnderWay(id)));
                    return Ok(());
                }
                let intent = UpdateIntent::Pay {
                    asset: payment.asset,
                    amount: payment.amount,
                };
                let request = Requested {
                    reply,
                    payment: Some(payment),
                };
                self.updates.push(intent, request)
            }
            ChannelCommand::Withdraw { id, reply } => {
                let withdrawn = self.withdraw_payment(id).await;
                let _ = reply.send(withdrawn);
            }
            ChannelCommand::ProposeFinal { reply } => {
                self.updates.push(UpdateIntent::Final, reply.into())
            }
            ChannelCommand::Flush { reply } => {
                let written = self.await_deferred().await;
                let _ = reply.send(());
                if let Err(error) = written {
                    return Err(StoreFailure {
                        error,
                        unsent: Vec::new(),
                    });
                }
            }
            ChannelCommand::HoldLonger { version, within } => {
                let held = self
                    .channel
                    .awaiting_decision()
                    .filter(|s| s.version == version)
                    .filter(|s| self.asked.expires_at(Some(s)).is_some())
                    .cloned();
                if let Some(state) = held {
                    self.asked
                        .ask(state, tokio::time::Instant::now(), 0, within);
                }
            }
            ChannelCommand::Move { action, reply } => self
                .updates
                .push(UpdateIntent::Move { action }, reply.into()),
            ChannelCommand::LockChild { child, reply } => self
                .updates
                .push(UpdateIntent::LockChild { child }, reply.into()),
            ChannelCommand::MergeChild { child, reply } => self
                .updates
                .push(UpdateIntent::MergeChild { child }, reply.into()),
            ChannelCommand::KnowChild {
                state,
                share,
                terms,
            } => {
                if share {
                    let message = ChannelMessage::VirtualChild(VirtualChild {
                        parent: self.channel.id(),
                        child: (*state).clone(),
                    });
                    let others: Vec<usize> = self.channel.others().collect();
                    for to in others {
                        // A participant index fits u16 (a channel has at most that many).
                        self.send(to as u16, message.clone()).await;
                    }
                }
                match terms {
                    Some(terms) => self.channel.know_virtual_child(*state, terms),
                    None => self.channel.know_child(*state),
                }
            }
            ChannelCommand::Accept { version, reply } => {
                let result = self.user_answer(version, Answered::Accepted, |channel, chain| {
                    channel.accept_update(chain)
                });
                self.answer(result, reply).await?;
            }
            ChannelCommand::Reject {
                version,
                reason,
                reply,
            } => {
                let result = self.user_answer(version, Answered::Rejected, |channel, _| {
                    channel.reject_update(reason)
                });
                self.answer(result, reply).await?;
            }
            ChannelCommand::Dispute { reply } => {
                let result = self.channel.dispute();
                self.chain_fact(result, reply).await;
            }
            ChannelCommand::SignedVersion { version, reply } => {
                let _ = reply.send(self.signed_version(version));
            }
            ChannelCommand::Funded { reply } => {
                let result = self.channel.funded();
                self.chain_fact(result, reply).await;
            }
            ChannelCommand::Concluded { ending, reply } => {
                let result = self.channel.concluded();
                if result.is_ok() {
                    self.ending = ending;
                }
                self.chain_fact(result, reply).await;
            }
            ChannelCommand::Abandon { ending, reply } => {
                let result = self.channel.abandon();
                if result.is_ok() {
                    self.ending = ending;
                }
                self.chain_fact(result, reply).await;
            }
            ChannelCommand::Snapshot { reply } => {
                let _ = reply.send(self.view());
            }
        }
        Ok(())
    }

    /// The fully signed state of `version`: the newest, or one from the kept history.
    fn signed_version(&self, version: u64) -> Option<SignedState> {
        let newest = self.channel.signed_state();
        newest.filter(|s| s.state.version == version).or_else(|| {
            self.history
                .iter()
                .find(|s| s.state.version == version)
                .cloned()
        })
    }

    /// The user's answer to the peer's update of `version` (`None`: whichever awaits), made
    /// with `apply` if it fits the update that awaits.
    fn user_answer(
        &mut self,
        version: Option<u64>,
        how: Answered,
        apply: impl FnOnce(&mut Channel, &dyn ChainSigner) -> Result<Vec<Effect>, ChannelError>,
    ) -> Result<Vec<Effect>, CommandError> {
        let version = self
            .asked
            .check(self.channel.awaiting_decision(), version)?;
        let effects = apply(&mut self.channel, &*self.deps.chain)?;
        self.asked.answered(version, how);
        Ok(effects)
    }

    /// The next instant the task acts on its own: an asked update's deadline, or the end of
    /// the wait for a race's winner. Notes when such a wait begins or ended.
    fn next_deadline(&mut self) -> Option<tokio::time::Instant> {
        self.race_wait_since = match self.race_wait_since {
            _ if !self.channel.awaits_race_winner() => None,
            Some(since) => Some(since),
            None => Some(tokio::time::Instant::now()),
        };
        let race = self.race_wait_since.map(|since| since + RACE_WINNER_WAIT);
        match (self.asked.deadline(), race) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// At `now`, a deadline of [`ChannelTask::next_deadline`] passed: acts on each that did.
    async fn at_deadline(&mut self, now: tokio::time::Instant) -> Result<(), StoreFailure> {
        self.lapse(now).await?;
        if self
            .race_wait_since
            .is_some_and(|since| since + RACE_WINNER_WAIT <= now)
        {
            self.give_up_on_race_winner().await?;
        }
        Ok(())
    }

    /// The peer won a race of concurrent updates and has not proposed its update again
    /// within [`RACE_WINNER_WAIT`] (an honest winner does so at once): re-synchronise. That
    /// ends the wait here, and the peer, asked, discards the update it never sent again, so
    /// the channel is free on both sides without waiting for a reconnect. Nothing is signed
    /// by it, and a late proposal is checked like any other.
    async fn give_up_on_race_winner(&mut self) -> Result<(), StoreFailure> {
        self.race_wait_since = None;
        if !self.channel.awaits_race_winner() {
            return Ok(());
        }
        tracing::warn!(
            channel = %self.channel.id(),
            "the peer won a race of concurrent updates but did not propose its update again within {} s; re-synchronising with it",
            RACE_WINNER_WAIT.as_secs()
        );
        let effects = self.channel.sync_request();
        self.execute(effects).await?;
        self.settle().await
    }

    /// At `now`: declines the asked update whose deadline passed, if it still awaits an
    /// answer, so that the peer is not left waiting.
    async fn lapse(&mut self, now: tokio::time::Instant) -> Result<(), StoreFailure> {
        let Some(state) = self.asked.lapsed(now) else {
            return Ok(());
        };
        if self.channel.awaiting_decision() != Some(&state) {
            return Ok(());
        }
        tracing::info!(channel = %self.channel.id(), "declining the peer's update {}: {NOT_ANSWERED}", state.version);
        match self.channel.reject_update(NOT_ANSWERED) {
            Ok(effects) => {
                self.asked.answered(state.version, Answered::Lapsed);
                self.execute(effects).await?;
            }
            Err(error) => tracing::warn!(
                channel = %self.channel.id(),
                "could not decline the peer's update {}: {error}", state.version
            ),
        }
        self.settle().await
    }

    /// Why `payment` failed, for its record: an overdraft in the asset's whole units (as the
    /// caller is told it), anything else as the error says.
    fn failure_reason(&self, payment: &PaymentTag, error: &CommandError) -> String {
        if let CommandError::Channel(ChannelError::Payment(PaymentError::Overdraft {
            available,
            requested,
        })) = error
        {
            if let Some(asset) = self.channel.latest().allocation.assets.get(payment.asset) {
                return overdraft_reason(&self.deps.assets, asset, requested, available);
            }
        }
        error.to_string()
    }

    /// Gives an update command its answer; a payment that did not happen gets its record
    /// (a write of its own: not the path of a payment that succeeds).
    fn answer_update(&mut self, answer: Answer<Requested>) {
        let (request, result) = match answer {
            Answer::Done(request, version) => (request, Ok(version)),
            Answer::Failed(request, failure) => (request, Err(CommandError::from(failure))),
        };
        if let (Some(payment), Err(error)) = (&request.payment, &result) {
            let status = match error {
                CommandError::Rejected(reason) => PaymentStatus::Rejected(reason.to_string()),
                other => PaymentStatus::Failed(self.failure_reason(payment, other)),
            };
            let version = match error {
                CommandError::Superseded { version } | CommandError::Discarded { version } => {
                    Some(*version)
                }
                _ => None,
            };
            tokio::spawn(self.record_ended(payment, version, status));
        }
        let _ = request.reply.send(result);
    }

    /// The write of the record of our payment `tag` that ended without completing (`status`):
    /// a write of its own, not the path of a payment that succeeds. A failed write is logged.
    fn record_ended(
        &self,
        tag: &PaymentTag,
        version: Option<u64>,
        status: PaymentStatus,
    ) -> impl Future<Output = ()> + Send + 'static {
        let record = self.payments.ended(tag, version, status, unix_ms());
        let write = self.deps.store.put_payment(&record);
        let channel = self.channel.id();
        async move {
            if let Err(error) = write.await {
                tracing::warn!(%channel, "could not record payment {}: {error}", record.id);
            }
        }
    }

    /// Takes payment `id` out of the queue if it has not started, and records it as failed
    /// (durably, before answering: the caller looks it up next). Whether it was waiting.
    async fn withdraw_payment(&mut self, id: PaymentId) -> bool {
        let is_it = |r: &Requested| r.payment.as_ref().is_some_and(|p| p.id == id);
        let Some(Requested {
            payment: Some(payment),
            ..
        }) = self.updates.withdraw_waiting(is_it)
        else {
            return false;
        };
        let reason = "the call timed out while the payment waited behind earlier updates; it \
                      was not made"
            .to_string();
        self.record_ended(&payment, None, PaymentStatus::Failed(reason))
            .await;
        true
    }

    /// Our payment pending at the restart ended without completing (rejected, or dropped by
    /// re-synchronisation or a race): its record says so. One that completed was recorded with
    /// the state that completed it.
    fn end_restored_payment(&mut self, event: &ChannelEvent) {
        let (version, status) = match event {
            ChannelEvent::UpdateRejected { version, reason } => {
                (*version, PaymentStatus::Rejected(reason.to_string()))
            }
            ChannelEvent::UpdateDiscarded { version }
            | ChannelEvent::UpdateSuperseded { version } => (
                *version,
                PaymentStatus::Failed(
                    "the node restarted while the peer had not answered, and the update was \
                     dropped; it was not made"
                        .to_string(),
                ),
            ),
            _ => return,
        };
        for tag in self.payments.take_restored(version) {
            tokio::spawn(self.record_ended(&tag, Some(version), status.clone()));
        }
    }

    /// Why the peer's update `new` is refused if it says it pays one of our invoices (or, in a
    /// batch, several): that invoice expired, or the update pays less than it asks (see
    /// [`invoices::refusal`]).
    fn invoice_refusal(&self, new: &State) -> Option<String> {
        if !self.payments.has_offer(new.version) {
            return None;
        }
        let me = self.channel.my_index();
        let (asset, amount) = match payments::transfer(self.channel.latest(), new, me) {
            Some((asset, Direction::Received, amount)) => {
                (new.allocation.assets.get(asset)?, amount)
            }
            // Not a payment to us: the policy answers it as it is.
            _ => return None,
        };
        let offered = self.payments.offered_for(new.version, amount)?;
        offered.iter().find_map(|payment| {
            let signed = invoices::issued(&self.deps.store, &payment.id)?;
            let paid = payment.amount.unwrap_or(amount);
            invoices::refusal(&signed.invoice, asset, paid, unix_ms() / 1000)
        })
    }

    /// The payments the peer's `proposal` names, if it names any and they may be recorded as
    /// it names them: memos no longer than [`PaymentNote::MAX_MEMO`], ids that no record holds
    /// yet (a payer who reuses an id, the invoice's once it is paid or one of our own
    /// payments, would otherwise overwrite that record) and, in a batch, distinct. Otherwise
    /// the payment is recorded under its derived id.
    fn offered_payments(&self, proposal: &UpdateProposal) -> Option<Vec<payments::Offered>> {
        let offered: Vec<payments::Offered> = match (&proposal.payment, &proposal.batch) {
            (Some(note), batch) if batch.is_empty() => vec![payments::Offered {
                id: PaymentId(note.id),
                amount: None,
                memo: note.memo.clone(),
            }],
            (None, batch) if !batch.is_empty() => batch
                .iter()
                .map(|payment| payments::Offered {
                    id: PaymentId(payment.id),
                    amount: Some(payment.amount),
                    memo: payment.memo.clone(),
                })
                .collect(),
            _ => return None,
        };
        let distinct = offered
            .iter()
            .enumerate()
            .all(|(i, a)| offered[..i].iter().all(|b| b.id != a.id));
        let recordable = offered.iter().all(|payment| {
            payment.memo.len() <= PaymentNote::MAX_MEMO
                && matches!(self.deps.store.payment(&payment.id), Ok(None))
        });
        (distinct && recordable).then_some(offered)
    }

    /// Whether our update in flight is a payment (what [`ChannelTask::may_send_before_durable`]
    /// and the lazy completion are for).
    fn paying(&self) -> bool {
        self.updates
            .in_flight()
            .is_some_and(|(_, mut requests)| requests.any(|r| r.payment.is_some()))
    }

    /// `message` with the note of the payments it makes, if it makes any: the payee records
    /// each payment under the payer's id (an invoice's id for an invoice payment), and those
    /// of a batch with their amounts.
    fn noted(&self, mut message: ChannelMessage) -> ChannelMessage {
        let ChannelMessage::UpdateProposal(proposal) = &mut message else {
            return message;
        };
        let Some((version, tags)) = our_payments(&self.updates, &self.channel) else {
            return message;
        };
        if version != proposal.state.version {
            return message;
        }
        match tags.as_slice() {
            [tag] => {
                proposal.payment = Some(PaymentNote {
                    id: tag.id.0,
                    memo: tag.memo.clone(),
                })
            }
            tags => {
                proposal.batch = tags
                    .iter()
                    .map(|tag| BatchedPayment {
                        id: tag.id.0,
                        amount: tag.amount,
                        memo: tag.memo.clone(),
                    })
                    .collect()
            }
        }
        message
    }

    /// Tells followers the channel as it is now (after a durable change). The view copies the
    /// channel, so it is built only when somebody follows (not on every update otherwise).
    fn publish_changed(&self) {
        if !self.deps.events.is_followed() {
            return;
        }
        // The status line and the on-chain record as the registry shows them (the app's
        // description is the API's to add: it knows the apps).
        let (status, dispute) = match &self.deps.status {
            Some(cell) => {
                let status = cell.borrow();
                (status.describe(), status.dispute.clone())
            }
            None => (None, None),
        };
        let overview = ChannelOverview {
            id: self.channel.id(),
            peer: self.deps.members.peer(),
            peer_alias: None,
            snapshot: Some(self.channel.snapshot()),
            status,
            dispute,
            app: None,
        };
        self.deps
            .events
            .publish(Event::ChannelChanged(Box::new(overview)));
    }

    fn view(&self) -> ChannelView {
        let awaiting = self.channel.awaiting_decision();
        ChannelView {
            snapshot: self.channel.snapshot(),
            awaiting_decision: awaiting.cloned(),
            answer_by: self.asked.expires_at(awaiting),
            syncing: self.channel.is_syncing(),
            synced: self.synced,
            queued_updates: self.updates.waiting(),
            outage: self.outage.as_ref().map(|o| o.error().to_string()),
        }
    }

    /// Executes the effects of a command, then answers it: the answer never overtakes the
    /// persist of what the command changed.
    async fn answer(
        &mut self,
        result: Result<Vec<Effect>, impl Into<CommandError>>,
        reply: oneshot::Sender<Result<(), CommandError>>,
    ) -> Result<(), StoreFailure> {
        match result {
            Ok(effects) => {
                if let Err(failure) = self.execute(effects).await {
                    let _ = reply.send(Err(CommandError::StoreFailed {
                        error: failure.error.to_string(),
                    }));
                    return Err(failure);
                }
                let _ = reply.send(Ok(()));
            }
            Err(error) => {
                let _ = reply.send(Err(error.into()));
            }
        }
        Ok(())
    }

    /// After an input: answers the peer's update by policy, then starts our queued updates
    /// while the channel is free.
    async fn settle(&mut self) -> Result<(), StoreFailure> {
        loop {
            if let Some(new) = self.to_decide.take() {
                // Only if it is still the update awaiting us (re-sync may have dropped it).
                if self.channel.awaiting_decision() == Some(&new) {
                    let me = self.channel.my_index();
                    let version = new.version;
                    let decision = match (
                        self.invoice_refusal(&new),
                        self.channel.virtual_lock_to_match(&new),
                    ) {
                        (Some(reason), _) => Decision::Reject(reason),
                        (None, Some(child)) => match self.hold_virtual_lock(version, child) {
                            Ok(within) => {
                                self.asked.ask(new, tokio::time::Instant::now(), 0, within);
                                continue;
                            }
                            Err(reason) => Decision::Reject(reason),
                        },
                        (None, None) => self.deps.policy.decide(me, self.channel.latest(), &new),
                    };
                    let effects = match decision {
                        Decision::Accept => self.channel.accept_update(&*self.deps.chain),
                        Decision::Reject(reason) => self.channel.reject_update(reason),
                        Decision::Ask { within } => {
                            self.ask_user(new, within);
                            Ok(Vec::new())
                        }
                    };
                    match effects {
                        Ok(effects) => self.execute(effects).await?,
                        Err(error) => tracing::warn!(
                            channel = %self.channel.id(),
                            "could not answer the peer's update {version}: {error}"
                        ),
                    }
                }
                continue;
            }
            let signed_before = self.channel.highest_signed_version();
            match self
                .updates
                .start_next(&mut self.channel, &*self.deps.chain)
            {
                Started::Nothing => return Ok(()),
                Started::Effects(effects) => {
                    if self.may_send_before_durable(&effects, signed_before) {
                        self.execute_sending_first(effects).await?;
                    } else {
                        self.execute(effects).await?;
                    }
                    self.updates.mark_sent();
                }
                Started::Refused(answer) => self.answer_update(answer),
            }
        }
    }

    /// The peer's update `version` locks virtual channel `child`, which this node stands in
    /// for as its intermediary: it waits (as an asked update, declined at its deadline) until
    /// the intermediary service holds the lock of the same child in the channel on the path's
    /// other side and accepts both. A node that serves no virtual channels declines it.
    fn hold_virtual_lock(&self, version: u64, child: ChannelId) -> Result<Duration, String> {
        let held = HeldLock {
            parent: self.channel.id(),
            version,
            child,
        };
        match &self.deps.virtual_holds {
            Some(holds) if holds.sender.send(held).is_ok() => {
                tracing::debug!(channel = %self.channel.id(), %child, version, "holding a virtual channel's lock until its other parent locks it too");
                Ok(holds.hold)
            }
            _ => Err("this node serves no virtual channels, so it does not lock one".to_string()),
        }
    }

    /// Leaves the peer's update `new` to the user, who has `within` to answer, and says so.
    fn ask_user(&mut self, new: State, within: std::time::Duration) {
        let channel = self.channel.id();
        let version = new.version;
        let now_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let expires_at = self
            .asked
            .ask(new, tokio::time::Instant::now(), now_unix, within);
        tracing::info!(%channel, "the peer's update {version} awaits `parley channel accept|reject` for {} s", within.as_secs());
        self.deps.events.publish(Event::UpdateAwaitsAnswer {
            channel,
            version,
            expires_at,
        });
    }

    /// Executes `effects` in order, batching consecutive persists into one durable write. A
    /// failed persist stops the run: the effects from there on are returned unexecuted.
    async fn execute(&mut self, effects: Vec<Effect>) -> Result<(), StoreFailure> {
        let effects = self.deps.misbehaviour.filter(&self.channel, effects);
        let writes = effects.iter().any(|e| !matches!(e, Effect::Event(_)));
        if writes && !self.riding {
            // A payer's completion still riding is not waited for here: it goes with this
            // run's first persist (which awaits it), and its sends need nothing of it (it adds
            // no signature of ours that is not durable).
            if let Err(error) = self.await_deferred().await {
                return Err(StoreFailure {
                    error,
                    unsent: effects,
                });
            }
        }
        if self.may_defer(&effects) {
            self.execute_deferred(effects);
            return Ok(());
        }
        let mut batch: Vec<PersistRecord> = Vec::new();
        let mut effects = effects.into_iter();
        while let Some(effect) = effects.next() {
            if !matches!(effect, Effect::Persist(_)) {
                if let Err(error) = self.persist(&mut batch).await {
                    let unsent = std::iter::once(effect).chain(effects).collect();
                    return Err(StoreFailure { error, unsent });
                }
            }
            match effect {
                Effect::Persist(record) => batch.push(record),
                Effect::Send { to, message } => self.send(to, message).await,
                Effect::Event(event) => self.event(event),
            }
        }
        self.persist(&mut batch)
            .await
            .map_err(|error| StoreFailure {
                error,
                unsent: Vec::new(),
            })
    }

    /// Whether `effects` complete our own update in a two-party channel (the peer's accept
    /// came in) with nothing to send: then the reply need not wait for their persist, which
    /// is queued and awaited only before the next persist or send ([`ChannelTask::execute`]).
    /// A payer's completion is queued lazily: it rides with the node's next commit, on any
    /// channel, or goes alone after [`HOLD_AT_MOST`]; the next persist of this channel is
    /// queued behind it and awaits it, and sends need nothing of it (it adds no signature of
    /// ours that is not durable).
    ///
    /// Why that keeps every guarantee (issue #15): the state adopted is the one we proposed,
    /// and our proposal, with our signature, is durable by now (the `Pending` record, written
    /// before it was sent or, see [`ChannelTask::may_send_before_durable`], awaited before
    /// these effects run), while the peer made the whole state durable before it sent its
    /// accept. If we crash before this persist lands, we restart with our pending proposal on
    /// top of the previous state, and re-synchronisation brings back the peer's signature. Until then,
    /// or if the peer never comes back, we hold the previous state: the transition we lose
    /// is only our own doing, which we can always redo or better on our own: a payment we
    /// made (the previous state pays us more), the final state (the previous one concludes to
    /// the same balances), a move (we can make it on chain, it is our turn in the previous
    /// state), a lock or merge (the tree concludes to the same outcome). The peer cannot use
    /// our loss against us: it can register only states we signed, and we answer a dispute
    /// with the newest we hold, as before. Nothing is sent in between: the write-ahead rule
    /// holds as it did, and the store keeps batches in submission order, so a later persist
    /// being durable means this one is. A failure of this persist ends in the store outage,
    /// at once if the task is idle, or before the next persist or send. With more than two
    /// participants an accepter may not hold every signature yet, so there the reply waits.
    fn may_defer(&self, effects: &[Effect]) -> bool {
        self.channel.participants() == 2
            && self.first_writes.is_empty()
            && self.deferred.is_none()
            && effects.iter().any(|e| {
                matches!(
                    e,
                    Effect::Event(crate::protocol::ChannelEvent::UpdateAccepted { .. })
                )
            })
            && effects.iter().all(|e| match e {
                Effect::Send { .. } => false,
                Effect::Persist(record) => {
                    matches!(record, PersistRecord::Latest(_) | PersistRecord::Pending(_))
                }
                Effect::Event(_) => true,
            })
    }

    /// Whether `effects`, our new proposal in a two-party channel, may go out while its
    /// record is being written (issue #15: the payer's commit leaves the path of a payment).
    ///
    /// Why that keeps every guarantee: the write-ahead rule protects against signing two
    /// different states of one version (`protocol/channel/update.rs`, "One version, one
    /// state"), and a proposal's record exists so that a restart knows its version is used.
    /// Here the proposal is exactly one above every state the durable records hold
    /// ([`Channel::highest_signed_version`] before it; the records behind that version are
    /// durable, as no earlier proposal is still ahead of its record: a deferred completion
    /// only rewrites, as `Latest`, a state the durable `Pending` record already holds), and a
    /// restart spends that version by itself ([`Channel::restore`]), so a crash that forgets
    /// the proposal cannot reuse its version. Nothing else rests on the record: if the peer accepted, its accept (sent only once it
    /// made the state durable) or re-synchronisation brings the fully signed state back; if
    /// not, the previous state pays us more. The peer's own side is unchanged: it accepts only
    /// once durable. The write is awaited before our next write or send, so at most one
    /// proposal is ever out ahead of its record; a proposal above a version spent in memory
    /// alone, or with other writes due, goes the durable way first.
    ///
    /// Only payments go this way: the price is that a store failing under one leaves it
    /// uncertain (`CommandError::Uncertain`: re-synchronisation settles it) instead of not
    /// made; a settlement, a move or a change to the channel tree is not worth that.
    fn may_send_before_durable(&self, effects: &[Effect], signed_before: u64) -> bool {
        self.channel.participants() == 2
            && self.first_writes.is_empty()
            && !self.ahead_of_record
            && !self.deps.store.commits_inline()
            && self.paying()
            && self
                .channel
                .pending()
                .is_some_and(|p| Some(p.state.version) == signed_before.checked_add(1))
            && effects.iter().all(|e| {
                matches!(
                    e,
                    Effect::Persist(PersistRecord::Pending(Some(_)))
                        | Effect::Send {
                            message: ChannelMessage::UpdateProposal(_),
                            ..
                        }
                )
            })
    }

    /// Executes our new proposal's effects sending first (see
    /// [`ChannelTask::may_send_before_durable`]): its record is queued behind the deferred
    /// ones (the store commits in submission order), and the proposal sent while it is
    /// written.
    async fn execute_sending_first(&mut self, effects: Vec<Effect>) -> Result<(), StoreFailure> {
        let mut batch = Vec::new();
        let mut sends = Vec::new();
        for effect in effects {
            match effect {
                Effect::Persist(record) => batch.push(record),
                Effect::Send { to, message } => sends.push((to, message)),
                Effect::Event(_) => unreachable!("may_send_before_durable admits no event"),
            }
        }
        let (also, logged) = self.log_records(&batch);
        let written = self
            .deps
            .store
            .persist_with(self.channel.id(), &batch, also);
        self.defer(written);
        self.ahead_of_record = true;
        for event in logged {
            self.deps.events.publish(event);
        }
        for (to, message) in sends {
            self.send(to, message).await;
        }
        Ok(())
    }

    /// Queues the persists of `effects` (see [`ChannelTask::may_defer`]) and handles their
    /// events now.
    fn execute_deferred(&mut self, effects: Vec<Effect>) {
        let mut batch = Vec::new();
        let mut events = Vec::new();
        for effect in effects {
            match effect {
                Effect::Persist(record) => batch.push(record),
                Effect::Event(event) => events.push(event),
                Effect::Send { .. } => unreachable!("may_defer admits no send"),
            }
        }
        let (also, logged) = self.log_records(&batch);
        let id = self.channel.id();
        if self.paying() && !self.deps.store.commits_inline() {
            // A payer's completion rides with the node's next commit, on this channel or
            // another (an inline commit costs no sync anyway).
            let written = self
                .deps
                .store
                .persist_lazily(id, &batch, also, HOLD_AT_MOST);
            self.defer(written);
            self.riding = true;
        } else {
            let written = self.deps.store.persist_with(id, &batch, also);
            self.defer(written);
        }
        for event in logged {
            self.deps.events.publish(event);
        }
        for event in events {
            self.event(event);
        }
    }

    /// Makes `written` (already queued in the store) the last of the deferred persists.
    fn defer(&mut self, written: impl Future<Output = Result<(), StoreError>> + Send + 'static) {
        self.riding = false;
        let earlier = self.deferred.take();
        let channel = self.channel.id();
        self.deferred = Some(tokio::spawn(async move {
            if let Some(earlier) = earlier {
                deferred_outcome(channel, earlier.await)?;
            }
            written.await
        }));
    }

    /// Waits for the deferred persists, lazy ones included ([`ChannelTask::may_defer`]).
    async fn await_deferred(&mut self) -> Result<(), StoreError> {
        self.ahead_of_record = false;
        self.riding = false;
        match self.deferred.take() {
            Some(deferred) => deferred_outcome(self.channel.id(), deferred.await),
            None => Ok(()),
        }
    }

    /// What `records` add to the store besides themselves (the first writes still due and the
    /// payment records they make), and the payment events to publish once they are durable.
    fn log_records(
        &mut self,
        records: &[PersistRecord],
    ) -> (Vec<WriteOp>, Vec<crate::client::events::Event>) {
        let mut also = self.first_writes.clone();
        let ours = our_payments(&self.updates, &self.channel);
        let ours = ours
            .as_ref()
            .map(|(version, tags)| (*version, tags.as_slice()));
        let logged = self.payments.on_batch(records, ours, unix_ms());
        also.extend(logged.ops);
        (also, logged.events)
    }

    /// Makes `batch` durable: with the first writes still due (the members), or as the move
    /// to the archive if it closes the channel.
    async fn persist(&mut self, batch: &mut Vec<PersistRecord>) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let records = std::mem::take(batch);
        if records.contains(&PersistRecord::Phase(Phase::Closed)) {
            // The channel in memory is already the closed one these records describe; the
            // deferred persists go first, for the payment records they make.
            self.await_deferred().await?;
            self.deps.store.archive(&self.archive_record()).await?;
            self.archived = true;
            return Ok(());
        }
        let (also, events) = self.log_records(&records);
        let written = self
            .deps
            .store
            .persist_with(self.channel.id(), &records, also);
        // A payer's completion still riding was queued before this batch: the committer
        // writes it with this one or earlier, so waiting for it costs nothing now.
        self.await_deferred().await?;
        written.await?;
        self.first_writes.clear();
        for event in events {
            self.deps.events.publish(event);
        }
        Ok(())
    }

    fn archive_record(&self) -> ArchivedChannel {
        ArchivedChannel {
            // (The archive's encoding keeps no version a restart spent.)
            snapshot: self.channel.snapshot(),
            peer: self.deps.members.peer(),
            note: self.ending.note.clone(),
            dispute: self.ending.dispute.clone(),
        }
    }

    fn report(&mut self, report: ChannelReport) {
        if let ChannelReport::Phase(phase) = report {
            self.reported = phase;
            if let Some(status) = &self.deps.status {
                enter_phase(status, phase);
            }
        }
        if let Some(reports) = &self.deps.reports {
            // The receiver is gone only while the node shuts down.
            let _ = reports.send((self.channel.id(), report));
        }
    }

    /// Sends `message` to participant `to`, at the node its members record names; a
    /// participant without a known node (ourselves, or a lost record) has nowhere to go.
    async fn send(&self, to: u16, message: ChannelMessage) {
        let to = usize::from(to);
        if to == self.channel.my_index() {
            tracing::error!(channel = %self.channel.id(), "{} addressed to ourselves (participant {to}); not sent", message.kind());
            return;
        }
        let Some(peer) = self.deps.members.node_of(to) else {
            tracing::debug!(channel = %self.channel.id(), "{} not sent: the node of participant {to} is unknown", message.kind());
            return;
        };
        let message = self.noted(message);
        let message = self
            .deps
            .misbehaviour
            .tamper(&self.channel, message, &*self.deps.chain);
        if let Err(error) = self.deps.link.send(peer, &message).await {
            // Re-synchronisation on reconnect delivers whatever this message carried.
            tracing::debug!(
                channel = %self.channel.id(),
                "{} not sent to participant {to}: {error}", message.kind()
            );
        }
    }

    fn event(&mut self, event: ChannelEvent) {
        let channel = self.channel.id();
        for answer in self.updates.on_event(&event) {
            self.answer_update(answer);
        }
        self.end_restored_payment(&event);
        match event {
            ChannelEvent::PhaseChanged { from, to } => {
                self.report(ChannelReport::Phase(to));
                self.deps
                    .events
                    .publish(Event::PhaseChanged { channel, from, to });
                self.publish_changed();
            }
            ChannelEvent::PeerFault { fault, response } => {
                let reason = format!(
                    "the peer proved itself faulty during re-synchronisation: {}; {}",
                    fault.describe_for(self.channel.my_index()),
                    response.describe()
                );
                tracing::error!(%channel, "{reason}");
                self.report(ChannelReport::PeerFault(reason.clone()));
                self.deps
                    .events
                    .publish(Event::PeerFault { channel, reason });
            }
            ChannelEvent::StateChanged { state } => {
                if self.deps.keep_history {
                    if let Some(signed) = self.channel.signed_state() {
                        if signed.state == state {
                            self.history.push(signed);
                        }
                    }
                }
                if state.version > 0 {
                    self.deps.events.publish(Event::UpdateAccepted {
                        channel,
                        version: state.version,
                    });
                    self.publish_changed();
                }
            }
            ChannelEvent::UpdateRequested { state } => {
                self.deps.events.publish(Event::UpdateReceived {
                    channel,
                    version: state.version,
                });
                self.to_decide = Some(state);
            }
            // Our update's answers: settled by the queue above.
            ChannelEvent::UpdateAccepted { .. }
            | ChannelEvent::UpdateRejected { .. }
            | ChannelEvent::UpdateSuperseded { .. }
            | ChannelEvent::UpdateRenumbered { .. }
            | ChannelEvent::UpdateDiscarded { .. } => {}
            ChannelEvent::UpdateRefused { version, error } => {
                tracing::warn!(%channel, "refused the peer's update {version}: {error}");
            }
            ChannelEvent::Synced { version } => {
                self.synced = true;
                tracing::debug!(%channel, "re-synchronised at version {version}");
            }
        }
    }
}

/// An update command waiting in the [`UpdateQueue`]: where its answer goes, and the payment
/// it is, if it is one.
#[derive(Debug)]
struct Requested {
    reply: UpdateReply,
    payment: Option<PaymentTag>,
}

impl From<UpdateReply> for Requested {
    fn from(reply: UpdateReply) -> Requested {
        Requested {
            reply,
            payment: None,
        }
    }
}

/// Now, in Unix milliseconds (the time of payment records).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl From<UpdateFailure> for CommandError {
    fn from(failure: UpdateFailure) -> Self {
        match failure {
            UpdateFailure::Channel(error) => CommandError::Channel(error),
            UpdateFailure::Rejected(reason) => CommandError::Rejected(reason),
            UpdateFailure::Superseded { version } => CommandError::Superseded { version },
            UpdateFailure::Discarded { version } => CommandError::Discarded { version },
        }
    }
}

#[cfg(test)]
#[path = "channel_task_tests.rs"]
mod tests;
