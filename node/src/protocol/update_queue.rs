//! Our updates of one channel, in order: the rule that starts them one at a time and retries
//! one that lost, without I/O (the channel task holds the queue, feeds it the channel's events
//! and executes what it starts).
//!
//! - An update starts only when the channel is free: none of ours in flight, none of the
//!   peer's awaiting our answer, no re-synchronisation under way, no race winner's update
//!   still to come ([`UpdateQueue::busy`]).
//! - Payments waiting in line one behind the other, in one asset, go as one update (at most
//!   [`MAX_BATCH`], as many as the balance covers): the payer pays them in one round trip and
//!   one commit instead of one each, and each request is answered with that update's version.
//!   A batch the peer rejects is tried again one payment at a time (it may refuse one of them
//!   only, an invoice's that expired for instance), without counting as a retry.
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
use super::messages::{RejectReason, MAX_BATCH};
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
    /// The requests it makes: one, or several payments batched.
    requests: Vec<Request<R>>,
}

impl<R> InFlight<R> {
    /// The callers' handles to answer, oldest first.
    pub fn into_replies(self) -> impl Iterator<Item = R> {
        self.requests.into_iter().map(|request| request.reply)
    }
}

#[derive(Debug)]
struct Request<R> {
    intent: UpdateIntent,
    reply: R,
    /// Whether this is its one retry.
    retried: bool,
    /// Whether it goes on its own: it was in a batch the peer rejected.
    solo: bool,
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
            solo: false,
        });
    }

    /// Our update in flight: the version it proposes, and the handles of the requests it
    /// makes (several for a batch of payments), oldest first.
    pub fn in_flight(&self) -> Option<(u64, impl Iterator<Item = &R> + '_)> {
        self.in_flight.as_ref().map(|in_flight| {
            let replies = in_flight.requests.iter().map(|request| &request.reply);
            (in_flight.version, replies)
        })
    }

    /// Whether any request, in flight or waiting, `matches`.
    pub fn any(&self, matches: impl Fn(&R) -> bool) -> bool {
        let in_flight = self.in_flight.iter().flat_map(|f| &f.requests);
        in_flight.chain(&self.waiting).any(|r| matches(&r.reply))
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

    /// Starts the oldest waiting request if the channel is free, with the payments queued
    /// right behind it if it is a payment (see the module documentation).
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
        let mut requests = vec![request];
        let proposed = match &requests[0].intent {
            UpdateIntent::Pay { asset, amount } => {
                let (asset, mut total) = (*asset, *amount);
                if !requests[0].solo {
                    total = self.batch_behind(channel, asset, total, &mut requests);
                }
                // A payment request names no recipient: it pays the other party of a
                // two-party channel.
                let to = channel.peer_index();
                channel.pay(asset, to, total, signer)
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
                    requests,
                });
                Started::Effects(effects)
            }
            Err(error) => {
                // A batch the channel refuses goes again one by one: the refusal is the
                // first payment's.
                let mut requests = requests.into_iter();
                let first = requests.next().expect("at least the request popped");
                self.requeue_solo(requests);
                Started::Refused(Answer::Failed(first.reply, UpdateFailure::Channel(error)))
            }
        }
    }

    /// Moves the payments of `asset` waiting right behind the first of `requests` (which pays
    /// `first` of it) into `requests`, as many as fit the batch and our balance; the total
    /// they pay.
    fn batch_behind(
        &mut self,
        channel: &Channel,
        asset: usize,
        first: Amount,
        requests: &mut Vec<Request<R>>,
    ) -> Amount {
        let available = channel
            .latest()
            .allocation
            .balances
            .get(asset)
            .and_then(|row| row.get(channel.my_index()))
            .copied()
            .unwrap_or_default();
        let mut total = first;
        while requests.len() < MAX_BATCH {
            let more = match self.waiting.front() {
                Some(Request {
                    intent: UpdateIntent::Pay { asset: a, amount },
                    solo: false,
                    ..
                }) if *a == asset => *amount,
                _ => break,
            };
            match total.checked_add(more).filter(|sum| *sum <= available) {
                Some(sum) => total = sum,
                None => break,
            }
            requests.extend(self.waiting.pop_front());
        }
        total
    }

    /// Puts `requests` back at the head of the line, in order, each to go on its own.
    fn requeue_solo(&mut self, requests: impl DoubleEndedIterator<Item = Request<R>>) {
        for mut request in requests.rev() {
            request.solo = true;
            self.waiting.push_front(request);
        }
    }

    /// The effects of the update just started ran: its proposal reached the peer's
    /// connection.
    pub fn mark_sent(&mut self) {
        if let Some(in_flight) = &mut self.in_flight {
            in_flight.sent = true;
        }
    }

    /// Follows one of the channel's events: the answers the callers are owed, if the event
    /// settles our update in flight (one per request it makes).
    pub fn on_event(&mut self, event: &ChannelEvent) -> Vec<Answer<R>> {
        match event {
            ChannelEvent::UpdateRenumbered { from, to } => {
                if let Some(in_flight) = self.in_flight.as_mut().filter(|f| f.version == *from) {
                    in_flight.version = *to;
                }
                Vec::new()
            }
            ChannelEvent::UpdateAccepted { version } => self
                .take_in_flight(*version)
                .map(|done| {
                    done.into_replies()
                        .map(|reply| Answer::Done(reply, *version))
                        .collect()
                })
                .unwrap_or_default(),
            ChannelEvent::UpdateRejected {
                version,
                reason: RejectReason::Concurrent,
            }
            | ChannelEvent::UpdateSuperseded { version } => {
                self.retry(*version, UpdateFailure::Superseded { version: *version })
            }
            ChannelEvent::UpdateRejected { version, reason } => {
                let Some(rejected) = self.take_in_flight(*version) else {
                    return Vec::new();
                };
                if rejected.requests.len() > 1 {
                    self.requeue_solo(rejected.requests.into_iter());
                    return Vec::new();
                }
                rejected
                    .into_replies()
                    .map(|reply| Answer::Failed(reply, UpdateFailure::Rejected(reason.clone())))
                    .collect()
            }
            ChannelEvent::UpdateDiscarded { version } => {
                self.retry(*version, UpdateFailure::Discarded { version: *version })
            }
            _ => Vec::new(),
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

    /// Our in-flight update of `version` was dropped: queue its requests again, first in
    /// line, once; or fail those whose retry this was with `failure`.
    fn retry(&mut self, version: u64, failure: UpdateFailure) -> Vec<Answer<R>> {
        let Some(InFlight { requests, .. }) = self.take_in_flight(version) else {
            return Vec::new();
        };
        let mut failed = Vec::new();
        for mut request in requests.into_iter().rev() {
            if request.retried {
                failed.push(Answer::Failed(request.reply, failure.clone()));
            } else {
                request.retried = true;
                self.waiting.push_front(request);
            }
        }
        failed.reverse();
        failed
    }
}

#[cfg(test)]
#[path = "update_queue_tests.rs"]
mod tests;
