//! The channel task: one tokio task per channel that owns its [`Channel`] and is the only code
//! that touches it (DESIGN §4: the sans-IO protocol decides, the task does the I/O).
//!
//! Inputs arrive on one queue ([`ChannelInput`]): the peer's messages, the peer (re)connecting,
//! and commands from the node and the API through a [`ChannelHandle`]. A peer's message comes
//! with its [`Ticket`], held until the message is handled: that is what bounds the queue by
//! the peer's budget (see [`Intake`](super::peers::Intake)). Each input is fed to the
//! channel and the returned effects are executed strictly in order:
//! - consecutive `Persist` records become ONE [`ChannelStore::persist`] batch that must be
//!   durable before anything after it runs (write-ahead); a failed persist stops the task,
//!   since the channel's memory is then ahead of its durable state and nothing may be sent;
//! - `Send` goes to the peer through a [`PeerLink`]; if the peer is not connected the message
//!   is dropped (debug log): the re-synchronisation on reconnect covers it;
//! - `Event` is published on the [`EventBus`] where a [`NodeEvent`] fits, and settles the
//!   update a `Pay`/`ProposeFinal` command waits on.
//!
//! Updates of ours are queued and started one at a time, when the channel has no update in
//! flight, no peer update awaiting an answer and no re-synchronisation under way. An update
//! that loses a concurrent race (`UpdateSuperseded`) or is dropped by re-synchronisation is
//! retried once on top of the new state; the second loss fails its command.

use super::channel_policy::{Decision, SharedPolicy};
use super::peers::{PeerError, Peers, Ticket};
use crate::api::{EventBus, NodeEvent};
use crate::protocol::{
    Channel, ChannelError, ChannelEvent, ChannelMessage, ChannelSnapshot, Effect, PersistRecord,
    Phase, RejectReason,
};
use crate::store::{ChannelStore, StoreError};
use crate::wire::NodeId;
use parley_plugin_api::model::{Amount, ChannelId, SignedState, State};
use parley_plugin_api::ChainBackend;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
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
    /// The task is gone (shut down, or stopped by a failed persist).
    #[error("the channel task has stopped")]
    Stopped,
}

/// Why a channel task stopped on its own.
#[derive(Debug, Error)]
pub enum TaskError {
    /// A persist failed: the channel's memory is ahead of the store, so the task stops before
    /// any later effect (write-ahead) and the channel must be restored from the store.
    #[error("channel {channel}: persisting failed: {source}")]
    Persist {
        /// The channel.
        channel: ChannelId,
        /// The store's error.
        source: StoreError,
    },
}

/// What the API sees of a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelView {
    /// Everything durable about the channel.
    pub snapshot: ChannelSnapshot,
    /// The peer's update awaiting an `Accept` or `Reject` command, if any.
    pub awaiting_decision: Option<State>,
    /// Whether re-synchronisation with the peer is under way.
    pub syncing: bool,
    /// Updates of ours queued behind the one in flight.
    pub queued_updates: usize,
}

/// The result of an update command: the version it became.
pub type UpdateReply = oneshot::Sender<Result<u64, CommandError>>;

/// A command from the node or the API.
#[derive(Debug)]
pub enum ChannelCommand {
    /// Pay `amount` of asset index `asset` to the peer. Answers once the peer accepted (with
    /// the new version) or rejected it.
    Pay {
        /// Asset index in the channel's allocation.
        asset: usize,
        /// The amount.
        amount: Amount,
        /// Where the outcome goes.
        reply: UpdateReply,
    },
    /// Propose the final state. Answers like `Pay`.
    ProposeFinal {
        /// Where the outcome goes.
        reply: UpdateReply,
    },
    /// Accept the peer's update awaiting an answer.
    Accept {
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    /// Decline the peer's update awaiting an answer.
    Reject {
        /// The reason told to the peer.
        reason: String,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    /// The channel concluded on chain and our share was withdrawn.
    Concluded {
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    /// Stop updating: a state is registered on chain, or we are about to register one.
    Dispute {
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

/// One input of a channel task.
#[derive(Debug)]
pub enum ChannelInput {
    /// A message for this channel from its authenticated peer (boxed: messages are large,
    /// the other inputs small), and its place in the peer's budget.
    Message(Box<ChannelMessage>, Ticket),
    /// The peer (re)connected: re-synchronise.
    PeerConnected,
    /// A command.
    Command(ChannelCommand),
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

    /// Queues `input`; `Err(Stopped)` if the task is gone.
    pub fn input(&self, input: ChannelInput) -> Result<(), CommandError> {
        self.inputs.send(input).map_err(|_| CommandError::Stopped)
    }

    /// Delivers a message from the peer that no budget holds (tests, replays).
    pub fn deliver(&self, message: ChannelMessage) -> Result<(), CommandError> {
        self.deliver_held(message, Ticket::untracked())
    }

    /// Delivers a message from the peer; `ticket` is given back once the task handled it.
    pub fn deliver_held(
        &self,
        message: ChannelMessage,
        ticket: Ticket,
    ) -> Result<(), CommandError> {
        self.input(ChannelInput::Message(Box::new(message), ticket))
    }

    /// Tells the task the peer (re)connected.
    pub fn peer_connected(&self) -> Result<(), CommandError> {
        self.input(ChannelInput::PeerConnected)
    }

    /// Pays `amount` of asset index `asset` to the peer; resolves with the new version once
    /// the peer accepted, and only after that state is durable.
    pub async fn pay(&self, asset: usize, amount: Amount) -> Result<u64, CommandError> {
        self.ask(|reply| ChannelCommand::Pay {
            asset,
            amount,
            reply,
        })
        .await?
    }

    /// Proposes the final state; resolves with its version once the peer accepted.
    pub async fn propose_final(&self) -> Result<u64, CommandError> {
        self.ask(|reply| ChannelCommand::ProposeFinal { reply })
            .await?
    }

    /// Accepts the peer's update awaiting an answer.
    pub async fn accept(&self) -> Result<(), CommandError> {
        self.ask(|reply| ChannelCommand::Accept { reply }).await?
    }

    /// Declines the peer's update awaiting an answer.
    pub async fn reject(&self, reason: impl Into<String>) -> Result<(), CommandError> {
        let reason = reason.into();
        self.ask(|reply| ChannelCommand::Reject { reason, reply })
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

    /// Reports the channel concluded on chain (any phase → `Closed`).
    pub async fn concluded(&self) -> Result<(), CommandError> {
        self.ask(|reply| ChannelCommand::Concluded { reply })
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
        self.input(ChannelInput::Command(command(reply)))?;
        answer.await.map_err(|_| CommandError::Stopped)
    }
}

/// What a channel task works with besides its channel.
pub struct ChannelDeps<L> {
    /// The peer's node id (where `Send` effects go).
    pub peer: NodeId,
    /// The connection to peers.
    pub link: L,
    /// Signs our states and verifies the peer's.
    pub chain: Arc<dyn ChainBackend>,
    /// Where the channel's records go.
    pub store: Arc<ChannelStore>,
    /// Where events are published.
    pub events: EventBus,
    /// Decides the peer's updates.
    pub policy: SharedPolicy,
    /// Told every phase the channel enters (after it is durable), so the node can fund,
    /// conclude and withdraw; `None` when nobody drives the chain side (tests).
    pub phases: Option<UnboundedSender<(ChannelId, Phase)>>,
    /// Keep every fully signed state in memory, so that a test node can register an old one
    /// (`[testing] allow_misbehaviour`). Off on real nodes: they only need the newest.
    pub keep_history: bool,
}

/// Spawns the task of `channel`. `initial` are effects still to execute (those of
/// `Channel::open`; empty for a restored channel). Must be called inside a tokio runtime.
pub fn spawn_channel_task<L: PeerLink>(
    channel: Channel,
    initial: Vec<Effect>,
    deps: ChannelDeps<L>,
) -> (ChannelHandle, JoinHandle<Result<(), TaskError>>) {
    let (inputs, inbox) = unbounded_channel();
    let handle = ChannelHandle {
        id: channel.id(),
        inputs,
    };
    let task = ChannelTask {
        channel,
        deps,
        queue: VecDeque::new(),
        in_flight: None,
        to_decide: None,
        early: None,
        history: Vec::new(),
    };
    (handle, tokio::spawn(task.run(initial, inbox)))
}

/// An update command of ours.
#[derive(Debug)]
enum UpdateKind {
    Pay { asset: usize, amount: Amount },
    Final,
}

#[derive(Debug)]
struct UpdateRequest {
    kind: UpdateKind,
    reply: UpdateReply,
    /// Whether this is the one retry after a lost race or a re-synchronisation.
    retried: bool,
}

struct ChannelTask<L> {
    channel: Channel,
    deps: ChannelDeps<L>,
    /// Our updates waiting for the channel to be free, oldest first.
    queue: VecDeque<UpdateRequest>,
    /// Our update the peer has not answered, with its version.
    in_flight: Option<(u64, UpdateRequest)>,
    /// The peer's update the policy has yet to decide.
    to_decide: Option<State>,
    /// The peer's first update, received while we still wait to see the funding on chain: the
    /// peer saw it first. Handled once the channel is active (the peer sends one at a time).
    early: Option<(Box<ChannelMessage>, Ticket)>,
    /// Every older fully signed state, when `deps.keep_history` is on.
    history: Vec<SignedState>,
}

impl<L: PeerLink> ChannelTask<L> {
    async fn run(
        mut self,
        initial: Vec<Effect>,
        mut inbox: UnboundedReceiver<ChannelInput>,
    ) -> Result<(), TaskError> {
        self.execute(initial).await?;
        while let Some(input) = inbox.recv().await {
            self.handle(input).await?;
            self.settle().await?;
            if self.channel.phase() != Phase::Funding {
                if let Some((message, ticket)) = self.early.take() {
                    self.handle(ChannelInput::Message(message, ticket)).await?;
                    self.settle().await?;
                }
            }
        }
        Ok(())
    }

    async fn handle(&mut self, input: ChannelInput) -> Result<(), TaskError> {
        match input {
            ChannelInput::Message(message, ticket)
                if self.channel.phase() == Phase::Funding
                    && matches!(*message, ChannelMessage::UpdateProposal(_)) =>
            {
                tracing::debug!(channel = %self.channel.id(), "holding the peer's update until the funding is seen");
                self.early = Some((message, ticket));
            }
            // The ticket goes when the message has been handled, effects and all.
            ChannelInput::Message(message, _ticket) => {
                let kind = message.kind();
                match self.channel.on_message(*message, &*self.deps.chain) {
                    Ok(effects) => self.execute(effects).await?,
                    Err(error) => tracing::warn!(
                        channel = %self.channel.id(),
                        "ignored a {kind} message from the peer: {error}"
                    ),
                }
            }
            ChannelInput::PeerConnected => {
                let effects = self.channel.sync_request();
                self.execute(effects).await?;
            }
            ChannelInput::Command(command) => self.command(command).await?,
        }
        Ok(())
    }

    async fn command(&mut self, command: ChannelCommand) -> Result<(), TaskError> {
        match command {
            ChannelCommand::Pay {
                asset,
                amount,
                reply,
            } => self.queue.push_back(UpdateRequest {
                kind: UpdateKind::Pay { asset, amount },
                reply,
                retried: false,
            }),
            ChannelCommand::ProposeFinal { reply } => self.queue.push_back(UpdateRequest {
                kind: UpdateKind::Final,
                reply,
                retried: false,
            }),
            ChannelCommand::Accept { reply } => {
                let result = self.channel.accept_update(&*self.deps.chain);
                self.answer(result, reply).await?;
            }
            ChannelCommand::Reject { reason, reply } => {
                let result = self.channel.reject_update(reason);
                self.answer(result, reply).await?;
            }
            ChannelCommand::Dispute { reply } => {
                let result = self.channel.dispute();
                self.answer(result, reply).await?;
            }
            ChannelCommand::SignedVersion { version, reply } => {
                let newest = self.channel.signed_state();
                let found = newest.filter(|s| s.state.version == version).or_else(|| {
                    self.history
                        .iter()
                        .find(|s| s.state.version == version)
                        .cloned()
                });
                let _ = reply.send(found);
            }
            ChannelCommand::Funded { reply } => {
                let result = self.channel.funded();
                self.answer(result, reply).await?;
            }
            ChannelCommand::Concluded { reply } => {
                let result = self.channel.concluded();
                self.answer(result, reply).await?;
            }
            ChannelCommand::Snapshot { reply } => {
                let _ = reply.send(ChannelView {
                    snapshot: self.channel.snapshot(),
                    awaiting_decision: self.channel.awaiting_decision().cloned(),
                    syncing: self.channel.is_syncing(),
                    queued_updates: self.queue.len(),
                });
            }
        }
        Ok(())
    }

    /// Executes the effects of a command, then answers it: the answer never overtakes the
    /// persist of what the command changed.
    async fn answer(
        &mut self,
        result: Result<Vec<Effect>, ChannelError>,
        reply: oneshot::Sender<Result<(), CommandError>>,
    ) -> Result<(), TaskError> {
        match result {
            Ok(effects) => {
                self.execute(effects).await?;
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
    async fn settle(&mut self) -> Result<(), TaskError> {
        loop {
            if let Some(new) = self.to_decide.take() {
                // Only if it is still the update awaiting us (re-sync may have dropped it).
                if self.channel.awaiting_decision() == Some(&new) {
                    let me = self.channel.my_index();
                    let effects = match self.deps.policy.decide(me, self.channel.latest(), &new) {
                        Decision::Accept => self.channel.accept_update(&*self.deps.chain),
                        Decision::Reject(reason) => self.channel.reject_update(reason),
                        Decision::Ask => Ok(Vec::new()),
                    };
                    match effects {
                        Ok(effects) => self.execute(effects).await?,
                        Err(error) => tracing::warn!(
                            channel = %self.channel.id(),
                            "could not answer the peer's update {}: {error}", new.version
                        ),
                    }
                }
                continue;
            }
            if self.busy() {
                return Ok(());
            }
            let Some(request) = self.queue.pop_front() else {
                return Ok(());
            };
            let chain = &*self.deps.chain;
            let proposed = match request.kind {
                UpdateKind::Pay { asset, amount } => {
                    let to = self.channel.peer_index();
                    self.channel.pay(asset, to, amount, chain)
                }
                UpdateKind::Final => self.channel.propose_final(chain),
            };
            match proposed {
                Ok(effects) => {
                    let version = self
                        .channel
                        .pending()
                        .map_or(self.channel.latest().version + 1, |p| p.state.version);
                    self.in_flight = Some((version, request));
                    self.execute(effects).await?;
                }
                Err(error) => {
                    let _ = request.reply.send(Err(error.into()));
                }
            }
        }
    }

    /// Whether a new update of ours cannot start now.
    fn busy(&self) -> bool {
        self.in_flight.is_some()
            || self.channel.pending().is_some()
            || self.channel.awaiting_decision().is_some()
            || self.channel.is_syncing()
    }

    /// Executes `effects` in order, batching consecutive persists into one durable write.
    async fn execute(&mut self, effects: Vec<Effect>) -> Result<(), TaskError> {
        let mut batch: Vec<PersistRecord> = Vec::new();
        for effect in effects {
            match effect {
                Effect::Persist(record) => batch.push(record),
                Effect::Send(message) => {
                    self.persist(&mut batch).await?;
                    self.send(message).await;
                }
                Effect::Event(event) => {
                    self.persist(&mut batch).await?;
                    self.event(event);
                }
            }
        }
        self.persist(&mut batch).await
    }

    async fn persist(&mut self, batch: &mut Vec<PersistRecord>) -> Result<(), TaskError> {
        if batch.is_empty() {
            return Ok(());
        }
        let channel = self.channel.id();
        let records = std::mem::take(batch);
        self.deps
            .store
            .persist(channel, &records)
            .await
            .map_err(|source| TaskError::Persist { channel, source })
    }

    async fn send(&self, message: ChannelMessage) {
        if let Err(error) = self.deps.link.send(self.deps.peer, &message).await {
            // Re-synchronisation on reconnect delivers whatever this message carried.
            tracing::debug!(
                channel = %self.channel.id(),
                "{} not sent to the peer: {error}", message.kind()
            );
        }
    }

    fn event(&mut self, event: ChannelEvent) {
        let channel = self.channel.id();
        match event {
            ChannelEvent::PhaseChanged { from, to } => {
                if let Some(phases) = &self.deps.phases {
                    // The receiver is gone only while the node shuts down.
                    let _ = phases.send((channel, to));
                }
                self.deps
                    .events
                    .publish(NodeEvent::PhaseChanged { channel, from, to });
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
                    self.deps.events.publish(NodeEvent::UpdateAccepted {
                        channel,
                        version: state.version,
                    });
                }
            }
            ChannelEvent::UpdateRequested { state } => {
                self.deps.events.publish(NodeEvent::UpdateReceived {
                    channel,
                    version: state.version,
                });
                self.to_decide = Some(state);
            }
            ChannelEvent::UpdateAccepted { version } => {
                if let Some((_, request)) = self.take_in_flight(version) {
                    let _ = request.reply.send(Ok(version));
                }
            }
            ChannelEvent::UpdateRejected { version, reason } => {
                if reason == RejectReason::Concurrent {
                    self.retry(version, CommandError::Superseded { version });
                } else if let Some((_, request)) = self.take_in_flight(version) {
                    let _ = request.reply.send(Err(CommandError::Rejected(reason)));
                }
            }
            ChannelEvent::UpdateSuperseded { version } => {
                self.retry(version, CommandError::Superseded { version });
            }
            ChannelEvent::UpdateDiscarded { version } => {
                self.retry(version, CommandError::Discarded { version });
            }
            ChannelEvent::UpdateRefused { version, error } => {
                tracing::warn!(%channel, "refused the peer's update {version}: {error}");
            }
            ChannelEvent::Synced { version } => {
                tracing::debug!(%channel, "re-synchronised at version {version}");
            }
        }
    }

    fn take_in_flight(&mut self, version: u64) -> Option<(u64, UpdateRequest)> {
        match &self.in_flight {
            Some((v, _)) if *v == version => self.in_flight.take(),
            _ => None,
        }
    }

    /// Our in-flight update of `version` was dropped: queue it again (first in line) once,
    /// or fail it with `error` if it was the retry already.
    fn retry(&mut self, version: u64, error: CommandError) {
        if let Some((_, mut request)) = self.take_in_flight(version) {
            if request.retried {
                let _ = request.reply.send(Err(error));
            } else {
                request.retried = true;
                self.queue.push_front(request);
            }
        }
    }
}

#[cfg(test)]
#[path = "channel_task_tests.rs"]
mod tests;
