//! The virtual channels an intermediary agreed to carry and has not locked yet: one [`Route`]
//! per proposal it forwarded, from the proposal to the moment both of its ledger channels on
//! the path hold the ends' locks. Pure, with time as an input; bounded (a proposer may have
//! `[hub] pending_per_peer` at once, each lapses at its deadline).

use crate::protocol::proposal::opening_allocation;
use crate::protocol::{ChannelProposal, ProposalId};
use crate::wire::NodeId;
use parley_plugin_api::model::{ChannelId, Participant, SignedState};
use std::collections::HashMap;
use std::time::Instant;

/// A virtual channel the intermediary forwarded the proposal of.
#[derive(Clone, Debug)]
pub struct Route {
    /// The proposal, as forwarded.
    pub proposal: ChannelProposal,
    /// The intermediary's ledger channel with the proposer.
    pub left: ChannelId,
    /// Its ledger channel with the accepter.
    pub right: ChannelId,
    /// The proposer's node.
    pub proposer: NodeId,
    /// The accepter's node.
    pub accepter: NodeId,
    /// The virtual channel's participants: the proposer's and the accepter's chain addresses.
    pub participants: [Participant; 2],
    /// When the route lapses unless both locks were accepted.
    pub deadline: Instant,
    /// The virtual channel's fully signed opening state, once an end handed it over.
    pub opening: Option<SignedState>,
    /// The version of each end's held lock update: `[left, right]`.
    pub held: [Option<u64>; 2],
}

/// Both locks of one virtual channel, ready to be accepted: `(channel, version)` each, and
/// the virtual channel's fully signed opening state.
pub type LockPair = ([(ChannelId, u64); 2], SignedState);

/// What becomes of a lock an end proposed in one of our channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Held {
    /// It waits for its twin in the route's other channel.
    Wait,
    /// Its twin is held too: accept both.
    Ready(Box<LockPair>),
    /// Declined: no route carries it, or holding it would close a circle of channels each
    /// waiting for the next (each holds a lock whose twin cannot arrive in the next, which is
    /// busy with its own held lock; a channel has one incoming update at a time). The end
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
            .filter(|r| r.proposer == route.proposer)
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

    /// Takes the route of `id` if `from` is its accepter (who rejected it): the reject goes
    /// back to the proposer.
    pub fn take_rejected(&mut self, id: &ProposalId, from: &NodeId) -> Option<Route> {
        match self.routes.get(id) {
            Some(route) if route.accepter == *from => self.routes.remove(id),
            _ => None,
        }
    }

    /// The route whose virtual channel `params` and opening state `opening` are, handed over
    /// by an end through `parent` (one of the route's channels): the participants, challenge
    /// duration and opening allocation of the proposal. Its child is set to the opening's
    /// channel. `None` if no unlapsed route fits.
    pub fn match_opening(
        &mut self,
        parent: ChannelId,
        signed: &SignedState,
        now: Instant,
    ) -> Option<&Route> {
        let (params, opening) = (&signed.params, &signed.state);
        let id = opening.channel_id;
        let route = self.routes.values_mut().find(|r| {
            r.deadline > now
                && (r.left == parent || r.right == parent)
                && r.child().is_none_or(|c| c == id)
                && params.virtual_channel
                && !params.ledger_channel
                && params.app == r.proposal.app
                && params.participants == r.participants
                && params.challenge_duration == r.proposal.challenge_duration
                && opening.version == 0
                && !opening.is_final
                && opening.allocation == opening_allocation(&r.proposal)
                && opening.app_data == r.proposal.app_data
        })?;
        route.opening = Some(signed.clone());
        Some(route)
    }

    /// Notes that `parent` holds an end's lock update `version` of virtual channel `child`
    /// (module documentation of [`Held`]). A lock held before in `parent` is gone: a channel
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
        route.held[side] = Some(version);
        if let ([Some(left), Some(right)], Some(opening)) = (route.held, route.opening.clone()) {
            let pair = ([(route.left, left), (route.right, right)], opening);
            self.routes.remove(&id);
            return Held::Ready(Box::new(pair));
        }
        if self.waits_in_circle(parent) {
            if let Some(route) = self.routes.get_mut(&id) {
                route.held[side] = None;
            }
            return Held::Decline;
        }
        Held::Wait
    }

    /// The channel whose lock the lock held in `channel` waits for, if one is held there.
    fn waits_for(&self, channel: ChannelId) -> Option<ChannelId> {
        self.routes.values().find_map(|route| {
            (0..2)
                .find(|&side| {
                    route.channel(side) == channel
                        && route.held[side].is_some()
                        && route.held[1 - side].is_none()
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
