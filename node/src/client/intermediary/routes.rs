//! The virtual channels an intermediary agreed to carry and has not locked yet: one [`Route`]
//! per proposal it forwarded, from the proposal to the moment both of its ledger channels on
//! the path lock the virtual channel. Pure, with time as an input; bounded (a proposer may have
//! `[hub] pending_per_peer` at once, each lapses at its deadline).

use crate::protocol::proposal::opening_allocation;
use crate::protocol::{ChannelProposal, ProposalId};
use crate::wire::NodeId;
use parley_plugin_api::model::{Amount, ChannelId, Params, Participant, SignedState, State};
use std::collections::HashMap;
use std::time::Instant;

/// A virtual channel the intermediary forwarded the proposal of.
///
/// The route's two channels are ours on the path: `left` towards the proposer, `right` towards
/// the accepter. In each, the participant on the proposer's side stands in for the proposer
/// and the one on the accepter's side for the accepter (`maps`). An end (proposer or accepter)
/// proposes the lock in its channel with us and we hold it; in a channel between two
/// intermediaries the one on the proposer's side proposes the lock (`right_is_ours`: we, in
/// `right`) once it holds the lock of its own `left`, and the other holds it like an end's.
#[derive(Clone, Debug)]
pub struct Route {
    /// The proposal, as forwarded.
    pub proposal: ChannelProposal,
    /// Our ledger channel towards the proposer (with it, or with the intermediary before us).
    pub left: ChannelId,
    /// Our ledger channel towards the accepter (with it, or with the intermediary after us).
    pub right: ChannelId,
    /// The node the proposal came from (the proposer, or the intermediary before us).
    pub previous: NodeId,
    /// The node we forwarded it to (the accepter, or the intermediary after us).
    pub next: NodeId,
    /// Our chain address, which may not be a participant of the virtual channel.
    pub intermediary: Participant,
    /// The accepter's chain address, known when `right` is a channel with the accepter.
    pub accepter: Option<Participant>,
    /// The virtual channel's index map in `left` and in `right`: the index of the stand-in of
    /// the proposer, then of the accepter.
    pub maps: [Vec<u16>; 2],
    /// The fee paid with the lock in `left` (to us: ours and those after us) and in `right`
    /// (by us: those after us).
    pub fees: [Amount; 2],
    /// We propose the lock in `right` (a channel with the next intermediary).
    pub right_is_ours: bool,
    /// Where our own lock in `right` stands (only with `right_is_ours`).
    pub our_lock: OurLock,
    /// When the route lapses unless both locks were accepted.
    pub deadline: Instant,
    /// The virtual channel's fully signed opening state, once an end handed it over.
    pub opening: Option<SignedState>,
    /// The version of each held lock update: `[left, right]`.
    pub held: [Option<u64>; 2],
}

/// Our own lock of a virtual channel in a channel with the next intermediary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OurLock {
    /// Not proposed (or proposed and refused).
    #[default]
    None,
    /// Proposed, not answered yet.
    Proposing,
    /// Signed by the next intermediary.
    Locked,
}

/// The held locks of one virtual channel, ready to be accepted: `(channel, version)` each, and
/// the virtual channel's fully signed opening state.
pub type LockPair = (Vec<(ChannelId, u64)>, SignedState);

/// Our own lock to propose in a channel with the next intermediary: the route's proposal, the
/// channel and the virtual channel's opening state (the channel knows the lock's index map and
/// fee already: `Intermediary::on_child`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnLock {
    /// The route's proposal.
    pub proposal: ProposalId,
    /// Our channel with the next intermediary.
    pub channel: ChannelId,
    /// The virtual channel's fully signed opening state.
    pub opening: SignedState,
}

/// What becomes of a lock proposed to us in one of our channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Held {
    /// It waits for its twin in the route's other channel.
    Wait,
    /// Its twin is held too (or our own lock there is signed): accept them.
    Ready(Box<LockPair>),
    /// Propose our own lock in the channel with the next intermediary, then accept this one.
    Propose(Box<OwnLock>),
    /// Declined: no route carries it, or holding it would close a circle of channels each
    /// waiting for the next (each holds a lock whose twin cannot arrive in the next, which is
    /// busy with its own held lock; a channel has one incoming update at a time). Its proposer
    /// proposes it again shortly, once the others went through.
    Decline,
}

impl Route {
    /// The virtual channel, once an end handed over its opening state.
    pub fn child(&self) -> Option<ChannelId> {
        self.opening.as_ref().map(|o| o.state.channel_id)
    }

    /// The route's channel on `side` (0: towards the proposer, 1: towards the accepter).
    fn channel(&self, side: usize) -> ChannelId {
        if side == 0 {
            self.left
        } else {
            self.right
        }
    }

    /// Whether the lock on `side` is in hand: held from the other participant, or our own
    /// and signed.
    fn in_hand(&self, side: usize) -> bool {
        if side == 1 && self.right_is_ours {
            self.our_lock == OurLock::Locked
        } else {
            self.held[side].is_some()
        }
    }

    /// Whether `params` and `opening` are this route's virtual channel's.
    fn fits(&self, params: &Params, opening: &State) -> bool {
        let proposal = &self.proposal;
        params.virtual_channel
            && !params.ledger_channel
            && params.app == proposal.app
            && params.participants.len() == 2
            && params.participants[0] == proposal.proposer
            && self
                .accepter
                .as_ref()
                .is_none_or(|a| params.participants[1] == *a)
            && !params.participants.contains(&self.intermediary)
            && params.challenge_duration == proposal.challenge_duration
            && opening.version == 0
            && !opening.is_final
            && opening.allocation == opening_allocation(proposal)
            && opening.app_data == proposal.app_data
    }
}

/// What to do once our own lock was answered ([`Routes::our_lock_answered`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OurLockOutcome {
    /// Nothing waits on it.
    Nothing,
    /// Accept the held lock(s).
    Accept(Box<LockPair>),
    /// Decline the held lock: `(channel, version, child)`.
    Decline((ChannelId, u64, ChannelId)),
}

/// The routes in flight.
#[derive(Debug, Default)]
pub struct Routes {
    routes: HashMap<ProposalId, Route>,
}

impl Routes {
    /// Keeps `route` (dropping the lapsed ones first). Refused if its proposal is already
    /// carried or its proposer has `max_per_proposer` routes.
    pub fn add(
        &mut self,
        route: Route,
        now: Instant,
        max_per_proposer: usize,
    ) -> Result<(), String> {
        self.routes.retain(|_, r| r.deadline > now);
        let id = route.proposal.proposal_id;
        if self.routes.contains_key(&id) {
            return Err(format!("proposal {id} is already on its way"));
        }
        let open = self
            .routes
            .values()
            .filter(|r| r.previous == route.previous)
            .count();
        if open >= max_per_proposer {
            return Err(format!(
                "the proposer has {open} virtual channels being opened through this node; \
                 wait until they are open"
            ));
        }
        self.routes.insert(id, route);
        Ok(())
    }

    /// Takes the route of `id` if `from` is the node we forwarded it to (the accepter, or an
    /// intermediary relaying its reject): the reject goes back the way the proposal came.
    pub fn take_rejected(&mut self, id: &ProposalId, from: &NodeId) -> Option<Route> {
        match self.routes.get(id) {
            Some(route) if route.next == *from => self.routes.remove(id),
            _ => None,
        }
    }

    /// The route whose virtual channel `signed` opens, handed over through `parent` (one of
    /// the route's channels): the proposal's participants (the accepter's where we know it),
    /// challenge duration and opening allocation, without us among its participants. Its
    /// child is set to the opening's channel. `None` if no unlapsed route fits.
    pub fn match_opening(
        &mut self,
        parent: ChannelId,
        signed: &SignedState,
        now: Instant,
    ) -> Option<&Route> {
        let id = signed.state.channel_id;
        let route = self.routes.values_mut().find(|r| {
            r.deadline > now
                && (r.left == parent || r.right == parent)
                && r.child().is_none_or(|c| c == id)
                && r.fits(&signed.params, &signed.state)
        })?;
        route.opening = Some(signed.clone());
        Some(route)
    }

    /// Notes that `parent` holds a lock update `version` of virtual channel `child` proposed to
    /// us (module documentation of [`Held`]). A lock held before in `parent` is gone: a channel
    /// has one incoming update at a time.
    pub fn hold(&mut self, parent: ChannelId, version: u64, child: ChannelId) -> Held {
        for route in self.routes.values_mut() {
            if route.child() != Some(child) {
                for side in 0..2 {
                    if route.channel(side) == parent {
                        route.held[side] = None;
                    }
                }
            }
        }
        let Some((&id, route)) = self
            .routes
            .iter_mut()
            .find(|(_, r)| r.child() == Some(child) && (r.left == parent || r.right == parent))
        else {
            return Held::Decline;
        };
        let side = usize::from(route.right == parent);
        if side == 1 && route.right_is_ours {
            // The lock in our channel with the next intermediary is ours to propose.
            return Held::Decline;
        }
        route.held[side] = Some(version);
        if route.in_hand(0) && route.in_hand(1) {
            return self.take_ready(id).map_or(Held::Decline, Held::Ready);
        }
        let propose = route.right_is_ours && route.our_lock == OurLock::None;
        if self.waits_in_circle(parent) {
            if let Some(route) = self.routes.get_mut(&id) {
                route.held[side] = None;
            }
            return Held::Decline;
        }
        if !propose {
            return Held::Wait;
        }
        let Some(route) = self.routes.get_mut(&id) else {
            return Held::Decline;
        };
        let Some(opening) = route.opening.clone() else {
            return Held::Decline;
        };
        route.our_lock = OurLock::Proposing;
        Held::Propose(Box::new(OwnLock {
            proposal: id,
            channel: route.right,
            opening,
        }))
    }

    /// Our own lock of route `proposal`'s virtual channel was signed (`locked`) or not. Signed:
    /// the held lock of our left channel, if still held, is ready to be accepted. Not: the held
    /// lock is returned to be declined (its end proposes it again, and we our lock with it).
    pub fn our_lock_answered(&mut self, proposal: &ProposalId, locked: bool) -> OurLockOutcome {
        let Some(route) = self.routes.get_mut(proposal) else {
            return OurLockOutcome::Nothing;
        };
        if locked {
            // The route stays until the held lock is accepted ([`Routes::remove`]): if it
            // lapsed meanwhile, its end proposes it again and it is ready at once.
            route.our_lock = OurLock::Locked;
            let (Some(version), Some(opening)) = (route.held[0].take(), route.opening.clone())
            else {
                return OurLockOutcome::Nothing;
            };
            return OurLockOutcome::Accept(Box::new((vec![(route.left, version)], opening)));
        }
        route.our_lock = OurLock::None;
        match (route.held[0].take(), route.child()) {
            (Some(version), Some(child)) => OurLockOutcome::Decline((route.left, version, child)),
            _ => OurLockOutcome::Nothing,
        }
    }

    /// Removes route `id`, whose locks are all in hand, and returns the held ones to accept.
    fn take_ready(&mut self, id: ProposalId) -> Option<Box<LockPair>> {
        let route = self.routes.remove(&id)?;
        let opening = route.opening.clone()?;
        let held = (0..2)
            .filter_map(|side| route.held[side].map(|version| (route.channel(side), version)))
            .collect();
        Some(Box::new((held, opening)))
    }

    /// Drops route `proposal`: every lock of it is accepted.
    pub fn remove(&mut self, proposal: &ProposalId) {
        self.routes.remove(proposal);
    }

    /// The channel whose lock the lock held in `channel` waits for, if one is held there.
    fn waits_for(&self, channel: ChannelId) -> Option<ChannelId> {
        self.routes.values().find_map(|route| {
            (0..2)
                .find(|&side| {
                    route.channel(side) == channel
                        && route.held[side].is_some()
                        && !route.in_hand(1 - side)
                })
                .map(|side| route.channel(1 - side))
        })
    }

    /// Whether the waiting that starts at `start` comes back to it.
    fn waits_in_circle(&self, start: ChannelId) -> bool {
        let mut at = start;
        for _ in 0..=self.routes.len() {
            match self.waits_for(at) {
                Some(next) if next == start => return true,
                Some(next) => at = next,
                None => return false,
            }
        }
        false
    }

    /// How many routes are in flight.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
