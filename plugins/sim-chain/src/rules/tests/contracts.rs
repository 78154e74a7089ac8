//! Unit tests of the rules the sim chain shares with contracts/src (Adjudicator.sol,
//! AssetHolder.sol): each names the contract behaviour it mirrors, and each fails on the sim
//! chain's rule before it was aligned.

use super::*;
use crate::crypto::asset_holder;

/// The `(channel, version, phase, timeout)` of every record change logged since event `from`.
fn record_changes(ledger: &MemoryLedger, from: usize) -> Vec<(ChannelId, u64, DisputePhase, u64)> {
    ledger.events[from..]
        .iter()
        .filter_map(|event| match event {
            ChainEvent::Disputed(d) => Some((d.channel_id, d.version, d.phase, d.timeout)),
            ChainEvent::Deposited { .. } => None,
        })
        .collect()
}

/// A lock of `sub`'s totals in a parent, with `index_map`.
pub(super) fn lock(sub: &State, index_map: &[u16]) -> SubAlloc {
    SubAlloc {
        id: sub.channel_id,
        balances: sub.allocation.totals().unwrap(),
        index_map: index_map.to_vec(),
    }
}

/// Contract: `progress` sets timeout = now + challengeDuration on every move, so each answer
/// gets a full challenge duration.
#[test]
fn every_progress_move_restarts_the_timeout() {
    let mut ledger = ledger();
    let p = params(&[0, 1], Some(TurnCounter::address()), 20);
    let id = channel_id(&p);
    let v0 = counter_state(&p, 0, 0, &[5, 5]);
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &v0), &[]))
        .unwrap();
    ledger.now = 1_060;
    let v1 = counter_state(&p, 1, 1, &[5, 5]);
    ledger
        .run(|l| {
            progress(
                l,
                &Apps::built_in(),
                &p,
                &v0,
                &v1,
                0,
                &sign_state(&key(0), &v1),
            )
        })
        .unwrap();
    assert_eq!(ledger.records[&id].timeout, 1_120);

    ledger.now = 1_100;
    let v2 = counter_state(&p, 2, 2, &[5, 5]);
    ledger
        .run(|l| {
            progress(
                l,
                &Apps::built_in(),
                &p,
                &v1,
                &v2,
                1,
                &sign_state(&key(1), &v2),
            )
        })
        .unwrap();
    assert_eq!(ledger.records[&id].timeout, 1_100 + CHALLENGE);

    // Past the first move's deadline, within the second's: the answer is still in time.
    ledger.now = 1_130;
    let v3 = counter_state(&p, 3, 3, &[5, 5]);
    ledger
        .run(|l| {
            progress(
                l,
                &Apps::built_in(),
                &p,
                &v2,
                &v3,
                0,
                &sign_state(&key(0), &v3),
            )
        })
        .unwrap();
    assert_eq!(ledger.records[&id].timeout, 1_130 + CHALLENGE);
    rejected(
        ledger.run(|l| conclude(l, &p, &v3, &[])),
        "ends at chain time 1190",
    );
}

/// Contract: a final state cannot be refuted, so `register` gives it timeout = now, and a
/// `progress` to a final state ends the force-execution phase at once.
#[test]
fn a_final_state_gets_timeout_now() {
    let mut ledger = ledger();
    let p = params(&[0, 1], None, 21);
    let id = channel_id(&p);
    fund(&mut ledger, &id, 0, 10);
    let mut last = state(&p, 3, &[4, 6]);
    last.is_final = true;
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &last), &[]))
        .unwrap();
    assert_eq!(
        (ledger.records[&id].phase, ledger.records[&id].timeout),
        (DisputePhase::Dispute, 1_000)
    );
    ledger.run(|l| conclude(l, &p, &last, &[])).unwrap();
    assert_eq!(ledger.records[&id].timeout, 1_000);

    // A final state also refutes an older registration and ends its dispute now.
    let q = params(&[0, 1], None, 22);
    let q_id = channel_id(&q);
    ledger
        .run(|l| register(l, &signed(&q, &[0, 1], &state(&q, 1, &[5, 5])), &[]))
        .unwrap();
    ledger.now = 1_030;
    let mut q_last = state(&q, 2, &[2, 8]);
    q_last.is_final = true;
    ledger
        .run(|l| register(l, &signed(&q, &[0, 1], &q_last), &[]))
        .unwrap();
    assert_eq!(ledger.records[&q_id].timeout, 1_030);
    ledger.run(|l| conclude(l, &q, &q_last, &[])).unwrap();

    let app = params(&[0, 1], Some(TurnCounter::address()), 23);
    let app_id = channel_id(&app);
    let v0 = counter_state(&app, 0, 0, &[5, 5]);
    ledger
        .run(|l| register(l, &signed(&app, &[0, 1], &v0), &[]))
        .unwrap();
    ledger.now += CHALLENGE;
    let mut v1 = counter_state(&app, 1, 1, &[5, 5]);
    v1.is_final = true;
    ledger
        .run(|l| {
            progress(
                l,
                &Apps::built_in(),
                &app,
                &v0,
                &v1,
                0,
                &sign_state(&key(0), &v1),
            )
        })
        .unwrap();
    assert_eq!(
        (
            ledger.records[&app_id].phase,
            ledger.records[&app_id].timeout
        ),
        (DisputePhase::ForceExec, ledger.now)
    );
    ledger.run(|l| conclude(l, &app, &v1, &[])).unwrap();
}

/// Contract: each sub-channel passes its own timeout on to its sub-channels (here a final
/// sub-channel's, now), and the records are written parent first, depth first.
#[test]
fn sub_channels_pass_their_own_timeout_down_the_tree() {
    let mut ledger = ledger();
    let leaf_p = params(&[0, 1], None, 30);
    let leaf = state(&leaf_p, 2, &[4, 6]);
    let mid_p = params(&[1, 0], None, 31);
    let mut mid = state(&mid_p, 5, &[3, 7]);
    mid.allocation.locked = vec![lock(&leaf, &[1, 0])];
    mid.is_final = true;
    let root_p = params(&[0, 1], None, 32);
    let mut root = state(&root_p, 1, &[40, 40]);
    root.allocation.locked = vec![lock(&mid, &[1, 0])];
    let subs = [
        signed(&mid_p, &[1, 0], &mid),
        signed(&leaf_p, &[0, 1], &leaf),
    ];
    ledger
        .run(|l| register(l, &signed(&root_p, &[0, 1], &root), &subs))
        .unwrap();
    assert_eq!(
        record_changes(&ledger, 0),
        vec![
            (root.channel_id, 1, DisputePhase::Dispute, 1_000 + CHALLENGE),
            (mid.channel_id, 5, DisputePhase::Dispute, 1_000),
            (leaf.channel_id, 2, DisputePhase::Dispute, 1_000),
        ]
    );
}

/// Contract (`registerOne`): a sub-channel whose record holds the very state given is left
/// as it is, whatever its phase; here a sub-channel shared by two parents, concluded with the
/// first. The second parent then concludes too, folding the concluded state (see
/// `a_sub_channel_shared_by_two_parents_pays_out_in_both`).
#[test]
fn a_sub_channel_already_holding_the_state_is_left_alone() {
    let mut ledger = ledger();
    let (p1, s1, sub_signed, _, sub_state) = parent_with_sub_channel();
    let sub_id = sub_state.channel_id;
    ledger
        .run(|l| {
            register(
                l,
                &signed(&p1, &[0, 1], &s1),
                std::slice::from_ref(&sub_signed),
            )
        })
        .unwrap();
    ledger.now += CHALLENGE;
    ledger
        .run(|l| conclude(l, &p1, &s1, std::slice::from_ref(&sub_state)))
        .unwrap();
    let concluded = ledger.records[&sub_id].clone();

    let p2 = params(&[0, 1], None, 33);
    let mut s2 = state(&p2, 1, &[1, 1]);
    s2.allocation.locked = s1.allocation.locked.clone();
    let events = ledger.events.len();
    ledger
        .run(|l| {
            register(
                l,
                &signed(&p2, &[0, 1], &s2),
                std::slice::from_ref(&sub_signed),
            )
        })
        .unwrap();
    assert_eq!(ledger.records[&sub_id], concluded);
    assert_eq!(
        record_changes(&ledger, events),
        vec![(
            s2.channel_id,
            1,
            DisputePhase::Dispute,
            ledger.now + CHALLENGE
        )]
    );
    ledger.now += CHALLENGE;
    ledger
        .run(|l| conclude(l, &p2, &s2, std::slice::from_ref(&sub_state)))
        .unwrap();
    assert_eq!(ledger.records[&sub_id], concluded);
}

/// Contract (`markConcluded`): a concluded record's timeout is when it became concludable;
/// for an app channel never progressed, after the unused force-execution window. Sub-channels
/// are written after their own sub-channels, the ledger channel last.
#[test]
fn a_concluded_record_keeps_the_time_it_became_concludable() {
    let mut ledger = ledger();
    let app_p = params(&[1, 0], Some(TurnCounter::address()), 40);
    let game = counter_state(&app_p, 3, 3, &[10, 20]);
    let root_p = params(&[0, 1], None, 41);
    let mut root = state(&root_p, 2, &[40, 30]);
    root.allocation.locked = vec![lock(&game, &[1, 0])];
    ledger
        .run(|l| {
            register(
                l,
                &signed(&root_p, &[0, 1], &root),
                &[signed(&app_p, &[1, 0], &game)],
            )
        })
        .unwrap();
    ledger.now = 1_060;
    rejected(
        ledger.run(|l| conclude(l, &root_p, &root, std::slice::from_ref(&game))),
        "ends at chain time 1120",
    );
    ledger.now = 1_500;
    let events = ledger.events.len();
    ledger
        .run(|l| conclude(l, &root_p, &root, std::slice::from_ref(&game)))
        .unwrap();
    assert_eq!(
        record_changes(&ledger, events),
        vec![
            (
                game.channel_id,
                3,
                DisputePhase::Concluded,
                1_000 + 2 * CHALLENGE
            ),
            (
                root.channel_id,
                2,
                DisputePhase::Concluded,
                1_000 + CHALLENGE
            ),
        ]
    );
    assert_eq!(ledger.records[&game.channel_id].timeout, 1_120);
}

/// Contract: `register`, `conclude` and `concludeFinal` need a ledger channel; a virtual
/// channel locks nothing but may run an app; a virtual sub-channel is registered through its
/// ledger channel.
#[test]
fn the_ledger_and_virtual_channel_flags_are_enforced() {
    let mut ledger = ledger();
    let mut virt_p = params(&[0, 1], None, 50);
    virt_p.ledger_channel = false;
    virt_p.virtual_channel = true;
    let virt = state(&virt_p, 1, &[3, 7]);
    rejected(
        ledger.run(|l| register(l, &signed(&virt_p, &[0, 1], &virt), &[])),
        "not a ledger channel",
    );
    let mut virt_final = virt.clone();
    virt_final.is_final = true;
    rejected(
        ledger.run(|l| conclude_final(l, &signed(&virt_p, &[0, 1], &virt_final))),
        "not a ledger channel",
    );

    let root_p = params(&[0, 1], None, 51);
    let mut root = state(&root_p, 1, &[5, 5]);
    root.allocation.locked = vec![lock(&virt, &[0, 1])];
    let root_signed = signed(&root_p, &[0, 1], &root);
    ledger
        .run(|l| register(l, &root_signed, &[signed(&virt_p, &[0, 1], &virt)]))
        .unwrap();
    ledger.now += CHALLENGE;
    rejected(
        ledger.run(|l| conclude(l, &virt_p, &virt, &[])),
        "not a ledger channel",
    );

    let mut with_app = virt_p.clone();
    with_app.app = Some(TurnCounter::address());
    let app_state = state(&with_app, 1, &[3, 7]);
    let root2_p = params(&[0, 1], None, 52);
    let mut root2 = state(&root2_p, 1, &[5, 5]);
    root2.allocation.locked = vec![lock(&app_state, &[0, 1])];
    ledger
        .run(|l| {
            register(
                l,
                &signed(&root2_p, &[0, 1], &root2),
                &[signed(&with_app, &[0, 1], &app_state)],
            )
        })
        .unwrap();
    assert_eq!(ledger.records[&app_state.channel_id].state, app_state);

    let mut locking_p = virt_p.clone();
    locking_p.nonce = [53; 32];
    let leaf_p = params(&[0, 1], None, 54);
    let leaf = state(&leaf_p, 1, &[1, 1]);
    let mut locking = state(&locking_p, 1, &[3, 5]);
    locking.allocation.locked = vec![lock(&leaf, &[0, 1])];
    let root3_p = params(&[0, 1], None, 55);
    let mut root3 = state(&root3_p, 1, &[5, 5]);
    root3.allocation.locked = vec![lock(&locking, &[0, 1])];
    rejected(
        ledger.run(|l| {
            register(
                l,
                &signed(&root3_p, &[0, 1], &root3),
                &[
                    signed(&locking_p, &[0, 1], &locking),
                    signed(&leaf_p, &[0, 1], &leaf),
                ],
            )
        }),
        "cannot lock funds",
    );
}

/// Contract (`conclude`): a virtual channel of 0 and 2, funded through 1 in both of 1's ledger
/// channels, is concluded with the first parent; the second parent folds the same state and
/// pays out, and a state other than the concluded one is refused.
#[test]
fn a_sub_channel_shared_by_two_parents_pays_out_in_both() {
    let mut ledger = ledger();
    let mut virt_p = params(&[0, 2], None, 80);
    virt_p.ledger_channel = false;
    virt_p.virtual_channel = true;
    let virt = state(&virt_p, 7, &[1, 3]);
    // In the first, 1 stands in for 2; in the second, for 0.
    let first_p = params(&[0, 1], None, 81);
    let mut first = state(&first_p, 1, &[3, 3]);
    first.allocation.locked = vec![lock(&virt, &[0, 1])];
    let second_p = params(&[1, 2], None, 82);
    let mut second = state(&second_p, 1, &[3, 3]);
    second.allocation.locked = vec![lock(&virt, &[0, 1])];
    let (first_id, second_id) = (channel_id(&first_p), channel_id(&second_p));
    ledger
        .set_balance(addr(2).as_bytes(), &eth(), Amount::from(1000u64))
        .unwrap();
    fund(&mut ledger, &first_id, 0, 5);
    fund(&mut ledger, &first_id, 1, 5);
    fund(&mut ledger, &second_id, 1, 5);
    fund(&mut ledger, &second_id, 2, 5);
    let virt_signed = signed(&virt_p, &[0, 2], &virt);
    for (p, parties, s) in [(&first_p, [0, 1], &first), (&second_p, [1, 2], &second)] {
        let root = signed(p, &parties, s);
        ledger
            .run(|l| register(l, &root, std::slice::from_ref(&virt_signed)))
            .unwrap();
    }
    ledger.now += CHALLENGE;
    ledger
        .run(|l| conclude(l, &first_p, &first, std::slice::from_ref(&virt)))
        .unwrap();
    let mut other = virt.clone();
    other.allocation.balances = vec![amounts(&[0, 4])];
    rejected(
        ledger.run(|l| conclude(l, &second_p, &second, std::slice::from_ref(&other))),
        "not the state it was concluded with",
    );
    ledger
        .run(|l| conclude(l, &second_p, &second, std::slice::from_ref(&virt)))
        .unwrap();
    let paid = |ledger: &mut MemoryLedger, id, who| withdraw_all(ledger, id, who).unwrap();
    assert_eq!(paid(&mut ledger, &first_id, 0), Amount::from(3u64 + 1));
    assert_eq!(paid(&mut ledger, &first_id, 1), Amount::from(3u64 + 3));
    assert_eq!(paid(&mut ledger, &second_id, 1), Amount::from(3u64 + 1));
    assert_eq!(paid(&mut ledger, &second_id, 2), Amount::from(3u64 + 3));
}

/// Contract (`withdraw`): each authorisation is paid once; partial withdrawals use one
/// authorisation per part.
#[test]
fn a_withdrawal_authorisation_is_paid_once() {
    let mut ledger = ledger();
    let p = params(&[0, 1], None, 60);
    let id = channel_id(&p);
    fund(&mut ledger, &id, 0, 10);
    let mut last = state(&p, 1, &[10, 0]);
    last.is_final = true;
    ledger
        .run(|l| conclude_final(l, &signed(&p, &[0, 1], &last)))
        .unwrap();
    let auth = |receiver: u8, amount: u64| WithdrawalAuth {
        channel_id: id,
        participant: addr(0),
        receiver: addr(receiver),
        asset: eth(),
        amount: Amount::from(amount),
    };
    let pay = |ledger: &mut MemoryLedger, auth: &WithdrawalAuth| {
        ledger.run(|l| withdraw(l, auth, &auth.sign(&key(0))))
    };
    pay(&mut ledger, &auth(1, 4)).unwrap();
    rejected(pay(&mut ledger, &auth(1, 4)), "already paid out");
    pay(&mut ledger, &auth(0, 4)).unwrap();
    pay(&mut ledger, &auth(1, 2)).unwrap();
    assert_eq!(
        ledger.holding(&funding_id(&id, &addr(0)), &eth()).unwrap(),
        Amount::ZERO
    );
    assert_eq!(
        ledger.balance(addr(1).as_bytes(), &eth()).unwrap(),
        Amount::from(1006u64)
    );
}

/// Contract (`setOutcome`): a participant listed twice has one holding, counted once, and
/// gets the sum of its payouts.
#[test]
fn a_participant_listed_twice_is_counted_once() {
    let mut ledger = ledger();
    let p = params(&[0, 0], None, 61);
    let id = channel_id(&p);
    fund(&mut ledger, &id, 0, 100);
    let mut last = state(&p, 1, &[30, 70]);
    last.is_final = true;
    ledger
        .run(|l| conclude_final(l, &signed(&p, &[0, 0], &last)))
        .unwrap();
    assert_eq!(
        withdraw_all(&mut ledger, &id, 0).unwrap(),
        Amount::from(100u64)
    );

    // Owed 150 against one deposit of 100: under-funded, the deposit stays.
    let q = params(&[0, 0], None, 62);
    let q_id = channel_id(&q);
    fund(&mut ledger, &q_id, 0, 100);
    let mut greedy = state(&q, 1, &[60, 90]);
    greedy.is_final = true;
    ledger
        .run(|l| conclude_final(l, &signed(&q, &[0, 0], &greedy)))
        .unwrap();
    assert_eq!(
        withdraw_all(&mut ledger, &q_id, 0).unwrap(),
        Amount::from(100u64)
    );
}

/// Contract: outcomes are pushed only to the holders of this chain's assets, and each holder
/// knows only its own outcomes (`settled` is per holder).
#[test]
fn only_the_outcomes_assets_of_this_chain_are_settled() {
    let mut ledger = ledger();
    let tok = Asset {
        chain_id: eth().chain_id,
        holder: asset_holder("TOK"),
    };
    let foreign = Asset {
        chain_id: 1,
        holder: asset_holder("ETH"),
    };
    ledger
        .set_balance(addr(0).as_bytes(), &tok, Amount::from(50u64))
        .unwrap();
    let p = params(&[0, 1], None, 63);
    let id = channel_id(&p);
    fund(&mut ledger, &id, 0, 10);
    // A token deposit the channel's states never mention.
    ledger
        .run(|l| deposit(l, &addr(0), &id, &addr(0), &tok, Amount::from(5u64)))
        .unwrap();
    let mut last = state(&p, 1, &[10, 0]);
    last.allocation.assets.push(foreign.clone());
    last.allocation.balances.push(amounts(&[0, 0]));
    last.is_final = true;
    ledger
        .run(|l| conclude_final(l, &signed(&p, &[0, 1], &last)))
        .unwrap();
    assert_eq!(
        withdraw_all(&mut ledger, &id, 0).unwrap(),
        Amount::from(10u64)
    );
    for asset in [tok, foreign] {
        let auth = WithdrawalAuth {
            channel_id: id,
            participant: addr(0),
            receiver: addr(0),
            asset: asset.clone(),
            amount: Amount::ZERO,
        };
        rejected(
            ledger.run(|l| withdraw(l, &auth, &auth.sign(&key(0)))),
            "has no outcome",
        );
    }
}

/// Contract (`foldSubChannels`): a sub-channel named twice in one tree is folded once per lock,
/// each against that lock's amount, so the payouts add up to the parent's own allocation and
/// no more (what makes folding a concluded sub-channel again safe for a second parent).
#[test]
fn a_sub_channel_named_twice_pays_each_lock_and_no_more() {
    let mut ledger = ledger();
    let (p, mut s, sub_signed, _, sub_state) = parent_with_sub_channel();
    let twice = s.allocation.locked[0].clone();
    s.allocation.locked.push(twice);
    s.allocation.balances = vec![amounts(&[10, 30])];
    let id = channel_id(&p);
    fund(&mut ledger, &id, 0, 50);
    fund(&mut ledger, &id, 1, 50);
    let subs = [sub_signed.clone(), sub_signed];
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &s), &subs))
        .unwrap();
    ledger.now += CHALLENGE;
    ledger
        .run(|l| conclude(l, &p, &s, &[sub_state.clone(), sub_state.clone()]))
        .unwrap();
    // A: 10 + 20 per lock; B: 30 + 10 per lock; 100 in all, what the parent holds.
    assert_eq!(
        withdraw_all(&mut ledger, &id, 0).unwrap(),
        Amount::from(50u64)
    );
    assert_eq!(
        withdraw_all(&mut ledger, &id, 1).unwrap(),
        Amount::from(50u64)
    );
}

/// Contract (`requireConcludable`): a final app-channel state cannot be progressed, so it needs
/// no force-execution window: registered, it concludes at once.
#[test]
fn a_registered_final_app_state_concludes_at_once() {
    let mut ledger = ledger();
    let p = params(&[0, 1], Some(TurnCounter::address()), 42);
    let mut last = counter_state(&p, 6, 9, &[12, 8]);
    last.is_final = true;
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &last), &[]))
        .unwrap();
    ledger.run(|l| conclude(l, &p, &last, &[])).unwrap();
    assert_eq!(
        ledger.records[&last.channel_id].phase,
        DisputePhase::Concluded
    );
}
