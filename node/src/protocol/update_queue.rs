//! Our updates of one channel, in order: the rule that starts them one at a time and retries
//! one that lost, without I/O (the channel task holds the queue, feeds it the channel's events
//! and executes what it starts).
//!
//! - An update starts only when the channel is free: none of ours in flight, none of the
//!   peer's awaiting our answer, no re-synchronisation under way, no race winner's update
//!   still to come ([`UpdateQueue::busy`]).
//! - An update that loses a concurrent race (`UpdateSuperseded`), whose version the peer knew
//!   spent (its `Concurrent` reject) or that re-synchronisation drops (`UpdateDiscarded`) is
//!   retried once, first in line, on top of the new state; a second loss fails it. One that
//!   wins a race is proposed again by the channel at a higher version (`UpdateRenumbered`),
//!   and stays in flight.
//! - Every request is answered exactly once: with the version it became, or why not.
//!
//! `R` is whatever the caller answers through (a oneshot sender in the task, a plain value in
//! tests).

use super::channel::{Channel, ChannelError};
use super::effect::{ChannelEvent, Effect};
use super::messages::RejectReason;
use super::signer::StateSigner;
use parley_plugin_api::model::{Amount, ChannelId};
use std::collections::VecDeque;

/// An update this node starts on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateIntent {
    /// Pay `amount` of asset index `asset` to the peer.
    Pay {
        /// Asset index in the channel's allocation.
        asset: usize,
        /// The amount.
        amount: Amount,
    },
    /// Propose the final state.
    Final,
    /// Make a move in an app channel (the action as JSON, as the app takes it).
    Move {
        /// The action.
        action: String,
    },
    /// Lock the funds of sub-channel `child` (whose opening state the channel holds).
    LockChild {
        /// The sub-channel.
        child: ChannelId,
    },
    /// Merge the final outcome of sub-channel `child` back.
    MergeChild {
        /// The sub-channel.
        child: ChannelId,
    },
}

/// Why one of our updates did not become a state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateFailure {
    /// The channel refused to start it (an overdraft, the wrong phase, ...).
    Channel(ChannelError),
    /// The peer rejected it.
    Rejected(RejectReason),
    /// It lost a concurrent race again after its one retry.
    Superseded {
        /// The version of the second attempt.
        version: u64,
    },
    /// Re-synchronisation dropped it again after its one retry.
    Discarded {
        /// The version of the second attempt.
        version: u64,
    },
}

/// An answer the caller owes a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer<R> {
    /// The update became this version.
    Done(R, u64),
    /// It did not happen.
    Failed(R, UpdateFailure),
}

/// Our update the peer has not answered.
#[derive(Debug)]
pub struct InFlight<R> {
    /// The version it proposes.
    pub version: u64,
    /// Whether its proposal was handed to the peer (its persist succeeded): only then can the
    /// peer have it.
    pub sent: bool,
    request: Request<R>,
}

impl<R> InFlight<R> {
    /// The caller's handle to answer.
    pub fn into_reply(self) -> R {
        self.request.reply
    }
}

#[derive(Debug)]
struct Request<R> {
    intent: UpdateIntent,
    reply: R,
    /// Whether this is its one retry.
    retried: bool,
}

/// Our updates: the one in flight and those waiting behind it. See the module documentation.
#[derive(Debug)]
pub struct UpdateQueue<R> {
    waiting: VecDeque<Request<R>>,
    in_flight: Option<InFlight<R>>,
}

impl<R> Default for UpdateQueue<R> {
    fn default() -> Self {
        UpdateQueue {
            waiting: VecDeque::new(),
            in_flight: None,
        }
    }
}

/// What [`UpdateQueue::start_next`] did.
#[derive(Debug)]
pub enum Started<R> {
    /// Nothing to start, or the channel is busy.
    Nothing,
    /// An update started: execute these effects, then call [`UpdateQueue::mark_sent`].
    Effects(Vec<Effect>),
    /// The channel refused the next request; answer it and try the next.
    Refused(Answer<R>),
}

impl<R> UpdateQueue<R> {
    /// Queues `intent` behind the others.
    pub fn push(&mut self, intent: UpdateIntent, reply: R) {
        self.waiting.push_back(Request {
            intent,
            reply,
            retried: false,
        });
    }

    /// Our update in flight: the version it proposes, and its request's handle.
    pub fn in_flight(&self) -> Option<(u64, &R)> {
        self.in_flight
            .as_ref()
            .map(|in_flight| (in_flight.version, &in_flight.request.reply))
    }

    /// How many requests wait behind the one in flight.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Whether a new update of ours cannot start now.
    pub fn busy(&self, channel: &Channel) -> bool {
        self.in_flight.is_some()
            || channel.pending().is_some()
            || channel.awaiting_decision().is_some()
            || channel.is_syncing()
            || channel.awaits_race_winner()
    }

    /// Starts the oldest waiting request if the channel is free.
    pub fn start_next(
        &mut self,
        channel: &mut Channel,
        signer: &(impl StateSigner + ?Sized),
    ) -> Started<R> {
        if self.busy(channel) {
            return Started::Nothing;
        }
        let Some(request) = self.waiting.pop_front() else {
            return Started::Nothing;
        };
        let proposed = match &request.intent {
            UpdateIntent::Pay { asset, amount } => {
                // A payment request names no recipient: it pays the other party of a
                // two-party channel.
                let to = channel.peer_index();
                channel.pay(*asset, to, *amount, signer)
            }
            UpdateIntent::Final => channel.propose_final(signer),
            UpdateIntent::Move { action } => channel.app_move(action, signer),
            UpdateIntent::LockChild { child } => channel.lock_child(*child, signer),
            UpdateIntent::MergeChild { child } => channel.merge_child(*child, signer),
        };
        match proposed {
            Ok(effects) => {
                let version = channel
                    .pending()
                    .map_or(channel.latest().version + 1, |p| p.state.version);
                self.in_flight = Some(InFlight {
                    version,
                    sent: false,
                    request,
                });
                Started::Effects(effects)
            }
            Err(error) => {
                Started::Refused(Answer::Failed(request.reply, UpdateFailure::Channel(error)))
            }
        }
    }

    /// The effects of the update just started ran: its proposal reached the peer's
    /// connection.
    pub fn mark_sent(&mut self) {
        if let Some(in_flight) = &mut self.in_flight {
            in_flight.sent = true;
        }
    }

    /// Follows one of the channel's events: an answer the caller owes, if the event settles
    /// our update in flight.
    pub fn on_event(&mut self, event: &ChannelEvent) -> Option<Answer<R>> {
        match event {
            ChannelEvent::UpdateRenumbered { from, to } => {
                if let Some(in_flight) = self.in_flight.as_mut().filter(|f| f.version == *from) {
                    in_flight.version = *to;
                }
                None
            }
            ChannelEvent::UpdateAccepted { version } => self
                .take_in_flight(*version)
                .map(|done| Answer::Done(done.request.reply, *version)),
            ChannelEvent::UpdateRejected {
                version,
                reason: RejectReason::Concurrent,
            }
            | ChannelEvent::UpdateSuperseded { version } => {
                self.retry(*version, UpdateFailure::Superseded { version: *version })
            }
            ChannelEvent::UpdateRejected { version, reason } => {
                self.take_in_flight(*version).map(|rejected| {
                    Answer::Failed(
                        rejected.request.reply,
                        UpdateFailure::Rejected(reason.clone()),
                    )
                })
            }
            ChannelEvent::UpdateDiscarded { version } => {
                self.retry(*version, UpdateFailure::Discarded { version: *version })
            }
            _ => None,
        }
    }

    /// Takes the first waiting request (not the one in flight) whose handle `matches` out of
    /// the queue: a caller gave up on it before it started.
    pub fn withdraw_waiting(&mut self, matches: impl Fn(&R) -> bool) -> Option<R> {
        let index = self.waiting.iter().position(|r| matches(&r.reply))?;
        self.waiting.remove(index).map(|request| request.reply)
    }

    /// Takes everything out, for a caller that must answer it all at once (the store failed):
    /// the update in flight, if any, and the waiting requests' handles, oldest first.
    pub fn drain(&mut self) -> (Option<InFlight<R>>, Vec<R>) {
        let in_flight = self.in_flight.take();
        let waiting = self
            .waiting
            .drain(..)
            .map(|request| request.reply)
            .collect();
        (in_flight, waiting)
    }

    fn take_in_flight(&mut self, version: u64) -> Option<InFlight<R>> {
        match &self.in_flight {
            Some(in_flight) if in_flight.version == version => self.in_flight.take(),
            _ => None,
        }
    }

    /// Our in-flight update of `version` was dropped: queue it again, first in line, once; or
    /// fail it with `failure` if this was its retry.
    fn retry(&mut self, version: u64, failure: UpdateFailure) -> Option<Answer<R>> {
        let InFlight { mut request, .. } = self.take_in_flight(version)?;
        if request.retried {
            return Some(Answer::Failed(request.reply, failure));
        }
        request.retried = true;
        self.waiting.push_front(request);
        None
    }
}

#[cfg(test)]
#[path = "update_queue_tests.rs"]
mod tests;
