//! A proposed virtual channel against the ledger channels of its path.

use super::*;
use crate::protocol::phase::Phase;
use crate::protocol::tree::tests::{ledger_snapshot, party as who, sub_channel_proposal};
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Address, Amount};

/// An active ledger channel `id` between `parties` with `balances`.
fn ledger(id: u8, parties: [u8; 2], balances: [u64; 2]) -> ChannelSnapshot {
    ledger_snapshot(id, parties, balances, Phase::Active)
}

/// Alice (1) proposes a virtual channel to Bob (3): `mine` of hers, `theirs` of his.
fn proposal(mine: u64, theirs: u64) -> ChannelProposal {
    ChannelProposal {
        virtual_channel: true,
        parent: None,
        ..sub_channel_proposal(mine, theirs)
    }
}

const ALICE: u8 = 1;
const INGRID: u8 = 2;
const BOB: u8 = 3;

fn hop<'a>(parent: &'a ChannelSnapshot, left: &'a Participant, right: &'a Participant) -> Hop<'a> {
    Hop {
        parent,
        left,
        right,
        fee: Amount::ZERO,
    }
}

#[test]
fn each_node_on_a_one_hop_path_finds_that_it_fits() {
    let (alice, ingrid, bob) = (who(ALICE), who(INGRID), who(BOB));
    let left = ledger(10, [ALICE, INGRID], [10, 10]);
    let right = ledger(11, [INGRID, BOB], [10, 10]);
    let p = proposal(3, 1);
    // Alice's channel locks 4: 3 of hers, 1 of Ingrid's for Bob.
    let lock = check_virtual_hop(&hop(&left, &alice, &ingrid), &p, &bob).unwrap();
    assert_eq!(lock.balances, vec![Amount::from(4u64)]);
    assert_eq!(lock.index_map, vec![0, 1]);
    // Bob's: 3 of Ingrid's for Alice, 1 of his.
    let lock = check_virtual_hop(&hop(&right, &ingrid, &bob), &p, &bob).unwrap();
    assert_eq!(lock.index_map, vec![0, 1]);
    // Ingrid's two, and she comes out even.
    check_virtual_route(
        &ingrid,
        &hop(&left, &alice, &ingrid),
        &hop(&right, &ingrid, &bob),
        &p,
        &bob,
    )
    .unwrap();
}

#[test]
fn every_reason_a_path_cannot_fund_it_is_named() {
    let (alice, ingrid, bob) = (who(ALICE), who(INGRID), who(BOB));
    let left = ledger(10, [ALICE, INGRID], [10, 10]);
    let right = ledger(11, [INGRID, BOB], [10, 10]);
    let at_alice = |p: &ChannelProposal, parent: &ChannelSnapshot| {
        check_virtual_hop(&hop(parent, &alice, &ingrid), p, &bob).unwrap_err()
    };
    // Not flagged virtual.
    let mut plain = proposal(3, 1);
    plain.virtual_channel = false;
    assert!(at_alice(&plain, &left).contains("not for a virtual channel"));
    // A parent not active, or running an app.
    let mut funding = left.clone();
    funding.phase = Phase::Funding;
    assert!(at_alice(&proposal(3, 1), &funding).contains("only an active channel"));
    let mut app_parent = left.clone();
    app_parent.channel.params.app = Some(Address(vec![9; 20]));
    assert!(at_alice(&proposal(3, 1), &app_parent).contains("runs an app"));
    // Alice has 10 in her channel: 11 is not covered.
    assert!(at_alice(&proposal(11, 1), &left).contains("cannot fund"));
    // Another asset.
    let mut other = proposal(3, 1);
    other.assets[0].chain_id = 2;
    assert!(at_alice(&other, &left).contains("assets"));
    // Bob's channel is not Alice's hop.
    assert!(at_alice(&proposal(3, 1), &right).contains("not a channel between"));
    // Ingrid must cover Alice's 3 in her channel with Bob: she has 2 there.
    let poor = ledger(11, [INGRID, BOB], [2, 10]);
    let error = check_virtual_route(
        &ingrid,
        &hop(&left, &alice, &ingrid),
        &hop(&poor, &ingrid, &bob),
        &proposal(3, 1),
        &bob,
    )
    .unwrap_err();
    assert!(error.contains("cannot fund"), "{error}");
    // The hops' sides swapped: Ingrid would stand in for Alice in Alice's own channel.
    let error = check_virtual_route(
        &ingrid,
        &hop(&right, &ingrid, &bob),
        &hop(&left, &alice, &ingrid),
        &proposal(3, 1),
        &bob,
    )
    .unwrap_err();
    assert!(error.contains("stands between"), "{error}");
}

#[test]
fn the_middle_channel_of_two_hops_fits_with_each_intermediary_on_its_side() {
    // A(1)–I1(2)–I2(4)–B(3).
    let (alice, i1, i2, bob) = (who(ALICE), who(INGRID), who(4), who(BOB));
    let first = ledger(10, [ALICE, INGRID], [10, 10]);
    let middle = ledger(12, [INGRID, 4], [10, 10]);
    let last = ledger(11, [4, BOB], [10, 10]);
    let p = proposal(3, 1);
    check_virtual_route(
        &i1,
        &hop(&first, &alice, &i1),
        &hop(&middle, &i1, &i2),
        &p,
        &bob,
    )
    .unwrap();
    check_virtual_route(
        &i2,
        &hop(&middle, &i1, &i2),
        &hop(&last, &i2, &bob),
        &p,
        &bob,
    )
    .unwrap();
    // I1 and I2 swapped in the middle: I2 would stand in for Alice on I1's side.
    let error = check_virtual_route(
        &i1,
        &hop(&first, &alice, &i1),
        &hop(&middle, &i2, &i1),
        &p,
        &bob,
    )
    .unwrap_err();
    assert!(error.contains("stands between"), "{error}");
}

/// A virtual channel may run an app: the parameters name it, the opening state carries its
/// data, and both ends' hops and the intermediary's route fit as for a payment channel.
#[test]
fn a_virtual_channel_running_an_app_fits_its_path() {
    let (alice, ingrid, bob) = (who(ALICE), who(INGRID), who(BOB));
    let left = ledger(10, [ALICE, INGRID], [10, 10]);
    let right = ledger(11, [INGRID, BOB], [10, 10]);
    let app = Address(vec![9; 20]);
    let mut game = proposal(3, 1);
    game.app = Some(app.clone());
    game.app_data = Bytes(vec![0; 10]);

    let params = virtual_params(&game, &bob).unwrap();
    assert_eq!(params.app, Some(app));
    assert!(params.virtual_channel && !params.ledger_channel);
    let (_, opening) = opening(&game, &bob).unwrap();
    assert_eq!(opening.app_data, game.app_data);

    let lock = check_virtual_hop(&hop(&left, &alice, &ingrid), &game, &bob).unwrap();
    assert_eq!(lock.balances, vec![Amount::from(4u64)]);
    check_virtual_hop(&hop(&right, &ingrid, &bob), &game, &bob).unwrap();
    check_virtual_route(
        &ingrid,
        &hop(&left, &alice, &ingrid),
        &hop(&right, &ingrid, &bob),
        &game,
        &bob,
    )
    .unwrap();
}

#[test]
fn a_hop_fee_goes_from_the_proposers_side_to_the_accepters_with_the_lock() {
    let (alice, ingrid, bob) = (who(ALICE), who(INGRID), who(BOB));
    let left = ledger(10, [ALICE, INGRID], [10, 10]);
    let p = proposal(3, 1);
    let (params, child) = opening(&p, &bob).unwrap();
    let latest = &left.latest.state;
    let locked = lock_virtual(&left.channel.params, latest, &params, &child, vec![0, 1]).unwrap();
    // Alice pays 2 on top of her 3; Ingrid receives them and puts in Bob's 1.
    let paid = with_lock_fee(latest, locked.clone(), Amount::from(2u64)).unwrap();
    assert_eq!(
        paid.allocation.balances[0],
        vec![Amount::from(5u64), Amount::from(11u64)]
    );
    assert_eq!(paid.allocation.locked, locked.allocation.locked);
    // No fee: the lock alone.
    assert_eq!(
        with_lock_fee(latest, locked.clone(), Amount::ZERO).unwrap(),
        locked
    );
    // What is left after her share does not cover 8: the hop does not fit, and says why.
    let mut costly = hop(&left, &alice, &ingrid);
    costly.fee = Amount::from(8u64);
    let refused = check_virtual_hop(&costly, &p, &bob).unwrap_err();
    assert!(refused.contains("fee of 8"), "{refused}");
    costly.fee = Amount::from(7u64);
    check_virtual_hop(&costly, &p, &bob).unwrap();
}

#[test]
fn a_virtual_channel_holding_nothing_is_refused_at_every_node() {
    let (alice, ingrid, bob) = (who(ALICE), who(INGRID), who(BOB));
    let left = ledger(10, [ALICE, INGRID], [10, 10]);
    let right = ledger(11, [INGRID, BOB], [10, 10]);
    let empty = proposal(0, 0);
    let refused = check_virtual_hop(&hop(&left, &alice, &ingrid), &empty, &bob).unwrap_err();
    assert!(refused.contains("carries nothing"), "{refused}");
    assert!(check_virtual_route(
        &ingrid,
        &hop(&left, &alice, &ingrid),
        &hop(&right, &ingrid, &bob),
        &empty,
        &bob
    )
    .is_err());
    // One end's deposit is enough.
    check_virtual_hop(&hop(&left, &alice, &ingrid), &proposal(0, 1), &bob).unwrap();
}
