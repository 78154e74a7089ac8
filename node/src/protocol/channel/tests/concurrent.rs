//! Concurrent proposals: the winner is decided deterministically whatever the delivery order
//! ([`race_winner`] of the version, alternating between races two versions apart), neither
//! side signs two states of the race's version (the winner proposes again above it), both
//! sides end with the same state, and the loser retries once the winner's update is in,
//! winning the next race.

use super::harness::*;
use crate::protocol::channel::{race_winner, ChannelError};
use crate::protocol::effect::ChannelEvent;
use crate::protocol::messages::RejectReason;
use parley_plugin_api::model::Amount;
use proptest::prelude::*;

fn both_propose(pair: &mut Pair) {
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.act(false, |c, s| c.pay(0, 0, Amount::from(20u64), s));
}

#[test]
fn the_winner_proposes_again_above_the_race_in_either_delivery_order() {
    for a_first in [true, false] {
        let mut pair = Pair::active(vec![vec![100, 100]]);
        both_propose(&mut pair);
        pair.deliver(a_first);
        pair.deliver(!a_first);
        pair.pump();
        pair.assert_agree();
        // A's payment (index 0 wins version 1) landed at version 2; B's was dropped.
        assert_eq!(race_winner(1), 0);
        assert_eq!(balances(pair.a.channel.latest(), 0), vec![90, 110]);
        assert_eq!(pair.a.channel.latest().version, 2);
        assert!(pair
            .a
            .events
            .contains(&ChannelEvent::UpdateRenumbered { from: 1, to: 2 }));
        assert!(pair
            .a
            .events
            .contains(&ChannelEvent::UpdateAccepted { version: 2 }));
        assert!(pair
            .b
            .events
            .contains(&ChannelEvent::UpdateSuperseded { version: 1 }));
        assert!(!pair
            .a
            .events
            .iter()
            .any(|e| matches!(e, ChannelEvent::UpdateSuperseded { .. })));
        // B signed nothing at version 1 but its own proposal.
        assert!(!pair
            .b
            .events
            .iter()
            .any(|e| matches!(e, ChannelEvent::UpdateRequested { state } if state.version == 1)));
        assert!(pair.a.errors.is_empty() && pair.b.errors.is_empty());

        // The loser retries on the new state.
        pair.act(false, |c, s| c.pay(0, 0, Amount::from(20u64), s));
        pair.pump();
        pair.assert_agree();
        assert_eq!(pair.b.channel.latest().version, 3);
        assert_eq!(balances(pair.b.channel.latest(), 0), vec![110, 90]);
    }
}

#[test]
fn the_winner_alternates_so_the_loser_wins_the_next_race() {
    assert_eq!((race_winner(1), race_winner(3)), (0, 1));
    assert_eq!((race_winner(2), race_winner(4)), (1, 0));
    let mut pair = Pair::active(vec![vec![100, 100]]);
    // Version 1: A (index 0) wins and lands at 2; B's 20 is dropped.
    both_propose(&mut pair);
    pair.pump();
    pair.assert_agree();
    assert_eq!(balances(pair.a.channel.latest(), 0), vec![90, 110]);
    // Version 3: both propose again; now B wins (landing at 4) and A's 10 is dropped.
    both_propose(&mut pair);
    pair.pump();
    pair.assert_agree();
    assert_eq!(pair.a.channel.latest().version, 4);
    assert_eq!(balances(pair.a.channel.latest(), 0), vec![110, 90]);
    assert!(pair
        .a
        .events
        .contains(&ChannelEvent::UpdateSuperseded { version: 3 }));
    assert!(pair.a.errors.is_empty() && pair.b.errors.is_empty());
}

#[test]
fn the_loser_waits_for_the_winners_update() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    both_propose(&mut pair);
    // B learns of A's proposal first and drops its own.
    pair.deliver(true);
    assert!(pair
        .b
        .events
        .contains(&ChannelEvent::UpdateSuperseded { version: 1 }));
    assert!(pair.b.channel.awaits_race_winner());
    // Proposing now would race again: refused until A's update is in.
    let crypto = pair.crypto.clone();
    assert_eq!(
        pair.b
            .channel
            .pay(0, 0, Amount::from(20u64), &crypto)
            .unwrap_err(),
        ChannelError::RaceWinnerFirst { version: 1 }
    );
    pair.pump();
    assert!(!pair.b.channel.awaits_race_winner());
    pair.act(false, |c, s| c.pay(0, 0, Amount::from(20u64), s));
    pair.pump();
    pair.assert_agree();
    assert_eq!(pair.b.channel.latest().version, 3);
    assert_eq!(balances(pair.b.channel.latest(), 0), vec![110, 90]);
    assert!(pair.a.errors.is_empty() && pair.b.errors.is_empty());
}

#[test]
fn if_the_winner_is_declined_both_stay_and_both_may_retry() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.b.policy = |_| Err("no".into());
    both_propose(&mut pair);
    pair.pump();
    pair.assert_agree();
    assert_eq!(pair.a.channel.latest().version, 0);
    assert!(pair.a.events.contains(&ChannelEvent::UpdateRejected {
        version: 2,
        reason: RejectReason::Declined("no".into())
    }));
    pair.b.policy = accept_all;
    pair.act(false, |c, s| c.pay(0, 0, Amount::from(20u64), s));
    pair.pump();
    pair.assert_agree();
    // Versions 1 and 2 are spent.
    assert_eq!(pair.a.channel.latest().version, 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any interleaving of proposals and deliveries ends with both sides agreeing on one fully
    /// signed state that conserves the funds, with no protocol error on either side.
    #[test]
    fn any_interleaving_converges(schedule in proptest::collection::vec(0u8..4, 1..80)) {
        let mut pair = Pair::active(vec![vec![1_000, 1_000]]);
        for step in schedule {
            match step {
                0 | 1 => {
                    let on_a = step == 0;
                    let to = if on_a { 1 } else { 0 };
                    let crypto = pair.crypto.clone();
                    let node = pair.node(on_a);
                    match node.channel.pay(0, to, Amount::from(1u64), &crypto) {
                        Ok(effects) => node.run(&crypto, effects),
                        Err(ChannelError::UpdatePending { .. })
                        | Err(ChannelError::RaceWinnerFirst { .. }) => {}
                        Err(other) => prop_assert!(false, "unexpected {other}"),
                    }
                }
                2 => { pair.deliver(true); }
                _ => { pair.deliver(false); }
            }
        }
        pair.pump();
        pair.assert_agree();
        prop_assert!(pair.a.errors.is_empty(), "{:?}", pair.a.errors);
        prop_assert!(pair.b.errors.is_empty(), "{:?}", pair.b.errors);
        let total: u64 = balances(pair.a.channel.latest(), 0).iter().sum();
        prop_assert_eq!(total, 2_000);
    }
}
