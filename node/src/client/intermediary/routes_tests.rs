//! The route table: bounded per proposer, matched by the virtual channel's opening, done once
//! both locks are held.

use super::*;
use crate::protocol::ProposalId;
use crate::wire::NodeKey;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Allocation, Amount, Asset, Params, State};
use std::time::Duration;

/// Routes one proposer may have at once here.
const MAX: usize = 16;

fn node(seed: u8) -> NodeId {
    NodeKey::from_secret_bytes(&[seed; 32]).unwrap().node_id()
}

fn proposal(id: u8) -> ChannelProposal {
    ChannelProposal {
        proposal_id: ProposalId([id; 32]),
        proposer: Participant(vec![1; 20]),
        assets: vec![Asset {
            chain_id: 1,
            holder: parley_plugin_api::model::Address(vec![9; 20]),
        }],
        balances: vec![vec![Amount::from(10u64), Amount::from(5u64)]],
        locked: Vec::new(),
        challenge_duration: 60,
        nonce_share: [3; 32],
        app: None,
        app_data: Bytes::default(),
        ledger_channel: false,
        virtual_channel: true,
        parent: None,
    }
}

fn route(id: u8, proposer: u8, deadline: Instant) -> Route {
    Route {
        proposal: proposal(id),
        left: ChannelId([10; 32]),
        right: ChannelId([11; 32]),
        previous: node(proposer),
        next: node(200),
        intermediary: Participant(vec![5; 20]),
        accepter: Some(Participant(vec![2; 20])),
        maps: [vec![0, 1], vec![0, 1]],
        fees: [Amount::ZERO, Amount::ZERO],
        right_is_ours: false,
        our_lock: OurLock::None,
        deadline,
        opening: None,
        held: [None, None],
    }
}

/// A route of the first of two intermediaries: the next one is no end, and the lock in our
/// channel with it is ours to propose.
fn first_of_two(id: u8, deadline: Instant) -> Route {
    Route {
        accepter: None,
        right_is_ours: true,
        next: node(201),
        ..route(id, 1, deadline)
    }
}

fn opening(route: &Route) -> SignedState {
    let params = Params {
        participants: vec![Participant(vec![1; 20]), Participant(vec![2; 20])],
        challenge_duration: 60,
        nonce: [4; 32],
        app: None,
        ledger_channel: false,
        virtual_channel: true,
    };
    let state = State {
        channel_id: ChannelId([7; 32]),
        version: 0,
        allocation: Allocation {
            assets: route.proposal.assets.clone(),
            balances: route.proposal.balances.clone(),
            locked: Vec::new(),
        },
        app_data: Bytes::default(),
        is_final: false,
    };
    SignedState {
        params,
        state,
        sigs: Vec::new(),
    }
}

#[test]
fn a_proposer_has_a_bounded_number_of_routes_and_lapsed_ones_are_dropped() {
    let now = Instant::now();
    let later = now + Duration::from_secs(60);
    let mut routes = Routes::default();
    for id in 0..MAX as u8 {
        routes.add(route(id, 1, later), now, MAX).unwrap();
    }
    assert!(routes.add(route(100, 1, later), now, MAX).is_err());
    // Another proposer is not held up by the first one.
    routes.add(route(101, 2, later), now, MAX).unwrap();
    // The same proposal twice is refused.
    assert!(routes.add(route(101, 2, later), now, MAX).is_err());
    // Once lapsed, they make room.
    routes
        .add(route(102, 1, later + Duration::from_secs(60)), later, MAX)
        .unwrap();
    assert_eq!(routes.len(), 1);
}

#[test]
fn only_the_node_it_was_forwarded_to_rejects_a_route() {
    let now = Instant::now();
    let mut routes = Routes::default();
    routes
        .add(route(1, 1, now + Duration::from_secs(9)), now, MAX)
        .unwrap();
    let id = ProposalId([1; 32]);
    assert!(routes.take_rejected(&id, &node(1)).is_none());
    assert!(routes.take_rejected(&id, &node(200)).is_some());
    assert!(routes.is_empty());
}

#[test]
fn an_opening_matches_only_the_proposed_virtual_channel() {
    let now = Instant::now();
    let mut routes = Routes::default();
    let carried = route(1, 1, now + Duration::from_secs(9));
    routes.add(carried.clone(), now, MAX).unwrap();
    let signed = opening(&carried);
    let left = ChannelId([10; 32]);
    // Other balances, another participant, a later version, another channel: no match.
    let mut richer = signed.clone();
    richer.state.allocation.balances[0][0] = Amount::from(11u64);
    assert!(routes.match_opening(left, &richer, now).is_none());
    let mut stranger = signed.clone();
    stranger.params.participants[1] = Participant(vec![3; 20]);
    assert!(routes.match_opening(left, &stranger, now).is_none());
    let mut later = signed.clone();
    later.state.version = 1;
    assert!(routes.match_opening(left, &later, now).is_none());
    assert!(routes
        .match_opening(ChannelId([12; 32]), &signed, now)
        .is_none());
    // The proposed one matches through either channel, and fixes the route's child.
    let matched = routes.match_opening(left, &signed, now).unwrap();
    assert_eq!(matched.child(), Some(ChannelId([7; 32])));
    assert!(routes
        .match_opening(ChannelId([11; 32]), &signed, now)
        .is_some());
    let mut other_id = signed.clone();
    other_id.state.channel_id = ChannelId([8; 32]);
    assert!(routes.match_opening(left, &other_id, now).is_none());
    // A lapsed route matches nothing.
    assert!(routes
        .match_opening(left, &signed, now + Duration::from_secs(9))
        .is_none());
}

#[test]
fn both_locks_are_released_together_and_only_once_both_are_held() {
    let now = Instant::now();
    let mut routes = Routes::default();
    let carried = route(1, 1, now + Duration::from_secs(9));
    routes.add(carried.clone(), now, MAX).unwrap();
    let signed = opening(&carried);
    let child = signed.state.channel_id;
    let (left, right) = (ChannelId([10; 32]), ChannelId([11; 32]));
    // No child handed over yet: nothing to hold.
    assert_eq!(routes.hold(left, 5, child), Held::Decline);
    routes.match_opening(left, &signed, now).unwrap();
    assert_eq!(routes.hold(left, 5, child), Held::Wait);
    // A retried lock replaces the held version.
    assert_eq!(routes.hold(left, 6, child), Held::Wait);
    assert_eq!(routes.hold(ChannelId([12; 32]), 3, child), Held::Decline);
    assert_eq!(
        routes.hold(right, 3, child),
        Held::Ready(Box::new((vec![(left, 6), (right, 3)], signed)))
    );
    // Done: the route is gone.
    assert!(routes.is_empty());
    assert_eq!(routes.hold(right, 4, child), Held::Decline);
}

/// Routes with `first` (through channel x towards y) and a second one the other way round,
/// both with their openings matched; returns them and the two virtual channels.
fn crossing(first: Route) -> (Routes, ChannelId, ChannelId) {
    let now = Instant::now();
    let (x, y) = (first.left, first.right);
    let mut routes = Routes::default();
    let mut second = route(2, 2, now + Duration::from_secs(9));
    (second.left, second.right) = (y, x);
    // Other balances: each opening fits its own route only.
    second.proposal.balances = vec![vec![Amount::from(20u64), Amount::from(5u64)]];
    let mut second_opening = opening(&second);
    second_opening.state.channel_id = ChannelId([8; 32]);
    routes.add(first.clone(), now, MAX).unwrap();
    routes.add(second, now, MAX).unwrap();
    let first_opening = opening(&first);
    routes.match_opening(x, &first_opening, now).unwrap();
    routes.match_opening(y, &second_opening, now).unwrap();
    let (one, two) = (first_opening.state.channel_id, ChannelId([8; 32]));
    (routes, one, two)
}

#[test]
fn a_lock_that_would_wait_in_a_circle_is_declined_and_the_other_goes_through() {
    let (x, y) = (ChannelId([10; 32]), ChannelId([11; 32]));
    // One virtual channel proposed through x towards y, another the other way round.
    let (mut routes, one, two) = crossing(route(1, 1, Instant::now() + Duration::from_secs(9)));
    // x holds the first's lock, waiting for y; y then gets the second's, which waits for x:
    // neither twin could ever arrive. The second is declined.
    assert_eq!(routes.hold(x, 4, one), Held::Wait);
    assert_eq!(routes.hold(y, 7, two), Held::Decline);
    // y is free again: the first's twin goes through there.
    assert!(matches!(routes.hold(y, 7, one), Held::Ready(_)));
    // Then the second, proposed again, waits as usual.
    assert_eq!(routes.hold(y, 8, two), Held::Wait);
    assert!(matches!(routes.hold(x, 5, two), Held::Ready(_)));
}

#[test]
fn the_first_of_two_intermediaries_proposes_its_lock_and_then_accepts_the_held_one() {
    let now = Instant::now();
    let mut routes = Routes::default();
    let carried = first_of_two(1, now + Duration::from_secs(9));
    let id = carried.proposal.proposal_id;
    routes.add(carried.clone(), now, MAX).unwrap();
    let signed = opening(&carried);
    let child = signed.state.channel_id;
    let (left, right) = (ChannelId([10; 32]), ChannelId([11; 32]));
    // Any accepter address fits until the opening names it; never ours.
    let mut ours = signed.clone();
    ours.params.participants[1] = Participant(vec![5; 20]);
    assert!(routes.match_opening(left, &ours, now).is_none());
    let mut stranger = signed.clone();
    stranger.params.participants[1] = Participant(vec![3; 20]);
    assert!(routes.match_opening(left, &stranger, now).is_some());
    routes.match_opening(left, &signed, now).unwrap();
    // The next intermediary never proposes the lock of our channel with it.
    assert_eq!(routes.hold(right, 2, child), Held::Decline);
    // The end's lock is held: we propose ours, once.
    let propose = routes.hold(left, 5, child);
    assert_eq!(
        propose,
        Held::Propose(Box::new(OwnLock {
            proposal: id,
            channel: right,
            opening: signed.clone(),
        }))
    );
    assert_eq!(routes.hold(left, 6, child), Held::Wait);
    // Refused: the held lock is declined, and the next one proposes ours again.
    assert_eq!(
        routes.our_lock_answered(&id, false),
        OurLockOutcome::Decline((left, 6, child))
    );
    assert!(matches!(routes.hold(left, 7, child), Held::Propose(_)));
    // Signed: the held lock is accepted; the route stays until that is done.
    assert_eq!(
        routes.our_lock_answered(&id, true),
        OurLockOutcome::Accept(Box::new((vec![(left, 7)], signed.clone())))
    );
    assert_eq!(routes.len(), 1);
    // Had the held lock lapsed meanwhile, its end's next proposal is ready at once.
    assert_eq!(
        routes.hold(left, 8, child),
        Held::Ready(Box::new((vec![(left, 8)], signed)))
    );
    assert!(routes.is_empty());
}

#[test]
fn an_intermediary_waiting_on_its_own_lock_closes_a_circle_too() {
    let (x, y) = (ChannelId([10; 32]), ChannelId([11; 32]));
    // The first is ours to lock in y; the second comes the other way, held in y waiting for x.
    let (mut routes, one, two) = crossing(first_of_two(1, Instant::now() + Duration::from_secs(9)));
    assert!(matches!(routes.hold(x, 4, one), Held::Propose(_)));
    // y's lock waits for x, which waits for our lock in y: declined.
    assert_eq!(routes.hold(y, 7, two), Held::Decline);
}
