//! A channel task while its store fails (a full disk, a failing or panicking store plugin).
//!
//! A failed persist means the channel's memory is ahead of its durable state, and write-ahead
//! forbids sending anything that follows it. Instead of stopping (which left the channel
//! unlisted and every command answering "stopped" until a restart), the task:
//!
//! 1. answers the commands waiting on it with the store's error (a payment whose proposal
//!    already reached the peer learns that it may still complete at re-synchronisation);
//! 2. falls back to the channel's durable state, read from the store: what a restart would
//!    restore, so `channel show` tells the truth. A channel with nothing durable yet (its
//!    opening batch failed) keeps its opening in memory, with the messages that were to follow
//!    it held back; if the store cannot even be read, the memory stays as it is. Either way
//!    nothing of it has been sent;
//! 3. keeps serving views, refuses updates with the store's error and drops the peer's
//!    messages (re-synchronisation covers them), but still applies what the chain says
//!    (funded, disputed, concluded) and reports the phase, so that funding, the watcher and
//!    disputes go on: these reveal nothing to the peer, and protecting the funds must not wait
//!    for a disk;
//! 4. every [`PROBE`] writes the channel's whole state (or, once closed, its archive record)
//!    as one batch. When the store takes it, the outage is over: the held opening messages
//!    go out and the channel re-synchronises with its peer, as after a reconnect.
//!
//! The node sees the outage through [`ChannelReport::StoreFailed`] and
//! [`ChannelReport::StoreRecovered`], and shows it in the channel's status.

use super::{
    ChannelCommand, ChannelInput, ChannelReport, ChannelTask, CommandError, PeerLink, StoreFailure,
};
use crate::protocol::{Channel, ChannelError, Effect, Phase};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// How often a channel task whose store failed writes its state again.
pub const PROBE: Duration = Duration::from_secs(1);

/// A store outage in progress.
#[derive(Debug)]
pub(super) struct Outage {
    /// The store's last error, for commands refused meanwhile.
    error: String,
    /// Effects of the channel's opening that followed its failed first batch: sent once the
    /// opening is durable.
    held: Vec<Effect>,
    /// When the state is written again.
    pub(super) next_probe: Instant,
}

impl Outage {
    /// The store's last error.
    pub(super) fn error(&self) -> &str {
        &self.error
    }
}

impl<L: PeerLink> ChannelTask<L> {
    /// A persist failed (see the module documentation, steps 1 and 2).
    pub(super) fn enter_outage(&mut self, failure: StoreFailure) {
        let id = self.channel.id();
        let error = failure.error.to_string();
        self.fail_waiting_commands(&error);
        self.to_decide = None;
        self.early = None;
        let mut held = Vec::new();
        let fallback = match self.deps.store.restore_channel(&id) {
            Ok(Some(snapshot)) => match Channel::restore(snapshot) {
                Ok(durable) => {
                    self.channel = durable;
                    format!("it stays at its durable version {}", self.channel.latest().version)
                }
                Err(broken) => format!("its durable record does not restore ({broken}), so it keeps its state in memory"),
            },
            Ok(None) => {
                held = failure.unsent;
                "nothing of it is durable yet, so its opening waits".to_string()
            }
            Err(unreadable) => format!("the store cannot be read either ({unreadable}), so it keeps its state in memory"),
        };
        self.payments.fell_back(self.channel.latest().clone());
        tracing::error!(channel = %id, "the store failed: {error}; {fallback}, sends nothing, and writes its state again every {} s", PROBE.as_secs());
        self.begin_outage(error, held);
    }

    fn begin_outage(&mut self, error: String, held: Vec<Effect>) {
        let report = format!(
            "the store failed: {error}; the channel sends nothing until its state is durable \
             again (tried every {} s)",
            PROBE.as_secs()
        );
        self.outage = Some(Outage {
            error,
            held,
            next_probe: Instant::now() + PROBE,
        });
        self.report(ChannelReport::StoreFailed(report));
    }

    /// Every command waiting on the channel learns the store's error now.
    fn fail_waiting_commands(&mut self, error: &str) {
        let (in_flight, waiting) = self.updates.drain();
        if let Some(in_flight) = in_flight {
            let error = error.to_string();
            let answer = if in_flight.sent {
                CommandError::Uncertain {
                    version: in_flight.version,
                    error,
                }
            } else {
                CommandError::StoreFailed { error }
            };
            for request in in_flight.into_replies() {
                let _ = request.reply.send(Err(answer.clone()));
            }
        }
        for request in waiting {
            let _ = request.reply.send(Err(CommandError::StoreFailed {
                error: error.to_string(),
            }));
        }
    }

    /// One input while the store fails (step 3).
    pub(super) fn during_outage(&mut self, input: ChannelInput) {
        let refused = |outage: &Option<Outage>| CommandError::StoreFailed {
            error: outage
                .as_ref()
                .map_or_else(String::new, |o| o.error.clone()),
        };
        match input {
            ChannelInput::Message(_, message, _ticket) => tracing::debug!(
                channel = %self.channel.id(),
                "dropped a {} from the peer while the store fails; re-synchronisation covers it",
                message.kind()
            ),
            // The outage ends with a re-synchronisation anyway.
            ChannelInput::PeerConnected => {}
            ChannelInput::Command(command) => match *command {
                ChannelCommand::Pay { reply, .. }
                | ChannelCommand::Move { reply, .. }
                | ChannelCommand::LockChild { reply, .. }
                | ChannelCommand::MergeChild { reply, .. }
                | ChannelCommand::ProposeFinal { reply } => {
                    let _ = reply.send(Err(refused(&self.outage)));
                }
                ChannelCommand::Accept { reply, .. } | ChannelCommand::Reject { reply, .. } => {
                    let _ = reply.send(Err(refused(&self.outage)));
                }
                // Nothing waits in an outage: its start refused every queued request.
                ChannelCommand::Withdraw { reply, .. } => {
                    let _ = reply.send(false);
                }
                // Nothing is held either: the accept that would follow is refused.
                ChannelCommand::HoldLonger { .. } => {}
                // Nothing is queued: the outage writes the whole state itself.
                ChannelCommand::Flush { reply } => {
                    let _ = reply.send(());
                }
                ChannelCommand::KnowChild { state, terms, .. } => match terms {
                    Some(terms) => self.channel.know_virtual_child(*state, terms),
                    None => self.channel.know_child(*state),
                },
                ChannelCommand::Funded { reply } => {
                    let result = self.channel.funded();
                    self.apply_in_memory(result, reply);
                }
                ChannelCommand::Dispute { reply } => {
                    let result = self.channel.dispute();
                    self.apply_in_memory(result, reply);
                }
                ChannelCommand::Concluded { ending, reply } => {
                    let result = self.channel.concluded();
                    if result.is_ok() {
                        self.ending = ending;
                    }
                    self.apply_in_memory(result, reply);
                }
                ChannelCommand::Abandon { ending, reply } => {
                    let result = self.channel.abandon();
                    if result.is_ok() {
                        self.ending = ending;
                    }
                    self.apply_in_memory(result, reply);
                }
                ChannelCommand::SignedVersion { version, reply } => {
                    let _ = reply.send(self.signed_version(version));
                }
                ChannelCommand::Snapshot { reply } => {
                    let _ = reply.send(self.view());
                }
            },
        }
    }

    /// A chain fact (funded, disputed, concluded; or an opening abandoned) while the store
    /// works: persisted like any change, but if the store fails, the fact stays applied and
    /// announced, and the outage writes it later (it reveals nothing to the peer).
    pub(super) async fn chain_fact(
        &mut self,
        result: Result<Vec<Effect>, ChannelError>,
        reply: oneshot::Sender<Result<(), CommandError>>,
    ) {
        let effects = match result {
            Ok(effects) => effects,
            Err(error) => {
                let _ = reply.send(Err(error.into()));
                return;
            }
        };
        if let Err(failure) = self.execute(effects).await {
            let error = failure.error.to_string();
            tracing::error!(channel = %self.channel.id(), "the store failed: {error}; the channel goes on in memory and writes its state again every {} s", PROBE.as_secs());
            self.fail_waiting_commands(&error);
            self.begin_outage(error, Vec::new());
            self.run_in_memory(failure.unsent);
        }
        let _ = reply.send(Ok(()));
    }

    /// A chain fact while the store fails: applied and announced, written by the next probe.
    fn apply_in_memory(
        &mut self,
        result: Result<Vec<Effect>, ChannelError>,
        reply: oneshot::Sender<Result<(), CommandError>>,
    ) {
        match result {
            Ok(effects) => {
                self.run_in_memory(effects);
                let _ = reply.send(Ok(()));
            }
            Err(error) => {
                let _ = reply.send(Err(error.into()));
            }
        }
    }

    /// Runs the events of `effects`; their persists are left to the next probe, and a send
    /// (none comes from a chain fact) is dropped.
    fn run_in_memory(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Persist(_) => {}
                Effect::Send { message, .. } => tracing::debug!(
                    channel = %self.channel.id(),
                    "{} not sent while the store fails", message.kind()
                ),
                Effect::Event(event) => self.event(event),
            }
        }
    }

    /// Writes the whole state again (step 4); ends the outage if the store takes it.
    pub(super) async fn probe(&mut self) {
        let id = self.channel.id();
        let written = if self.channel.phase() == Phase::Closed {
            self.deps.store.archive(&self.archive_record()).await
        } else {
            let records = self.channel.snapshot().to_records();
            let also = self.first_writes.clone();
            self.deps.store.persist_with(id, &records, also).await
        };
        if let Err(error) = written {
            tracing::debug!(channel = %id, "the store still fails: {error}");
            if let Some(outage) = &mut self.outage {
                outage.error = error.to_string();
                outage.next_probe = Instant::now() + PROBE;
            }
            return;
        }
        self.first_writes.clear();
        let Some(outage) = self.outage.take() else {
            return;
        };
        tracing::info!(channel = %id, version = self.channel.latest().version, "the store works again; the channel's state is durable");
        self.report(ChannelReport::StoreRecovered);
        if self.channel.phase() == Phase::Closed {
            self.archived = true;
            return;
        }
        if self.channel.phase() != self.reported {
            // The memory was ahead of what was announced (the store could not be read back).
            self.report(ChannelReport::Phase(self.channel.phase()));
        }
        let mut effects = outage.held;
        effects.extend(self.channel.sync_request());
        if let Err(failure) = self.execute(effects).await {
            self.enter_outage(failure);
        }
    }
}
