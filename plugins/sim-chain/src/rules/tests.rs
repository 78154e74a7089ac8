//! Unit tests of the rules over the in-memory ledger: no LMDB, no clock, no threads.

use super::memory::MemoryLedger;
use super::*;
use crate::apps::{Apps, TurnCounter};
use crate::crypto::{
    address_of, app_address, asset_holder, funding_id, sign_state, WithdrawalAuth,
};
use k256::ecdsa::SigningKey;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Address, Allocation, Participant, Sig, SubAlloc};
use parley_plugin_api::ErrorKind;

const CHALLENGE: u64 = 60;

fn key(i: u8) -> SigningKey {
    SigningKey::from_slice(&[i + 1; 32]).unwrap()
}

fn addr(i: u8) -> Participant {
    address_of(key(i).verifying_key())
}

fn eth() -> Asset {
    Asset {
        chain_id: 1337,
        holder: asset_holder("ETH"),
    }
}

fn amounts(values: &[u64]) -> Vec<Amount> {
    values.iter().map(|&v| Amount::from(v)).collect()
}

/// Parameters of a channel between the key indices `parties`.
fn params(parties: &[u8], app: Option<Address>, nonce: u8) -> Params {
    Params {
        participants: parties.iter().map(|&i| addr(i)).collect(),
        challenge_duration: CHALLENGE,
        nonce: [nonce; 32],
        app,
        ledger_channel: true,
        virtual_channel: false,
    }
}

fn state(params: &Params, version: u64, balances: &[u64]) -> State {
    State {
        channel_id: channel_id(params),
        version,
        allocation: Allocation {
            assets: vec![eth()],
            balances: vec![amounts(balances)],
            locked: vec![],
        },
        app_data: Bytes::default(),
        is_final: false,
    }
}

/// `state` signed by the keys `parties` (in participant order).
fn signed(params: &Params, parties: &[u8], state: &State) -> SignedState {
    SignedState {
        params: params.clone(),
        state: state.clone(),
        sigs: parties
            .iter()
            .map(|&i| sign_state(&key(i), state))
            .collect(),
    }
}

fn rejected<T: std::fmt::Debug>(result: PluginResult<T>, needle: &str) {
    let error = result.expect_err("the rule must refuse");
    assert_eq!(error.kind, ErrorKind::Rejected, "{error}");
    assert!(
        error.message().contains(needle),
        "`{error}` does not say `{needle}`"
    );
}

/// A ledger where A (key 0) and B (key 1) each hold 1000 ETH.
fn ledger() -> MemoryLedger {
    let mut ledger = MemoryLedger {
        now: 1_000,
        chain_id: eth().chain_id,
        ..Default::default()
    };
    for i in 0..2 {
        ledger
            .set_balance(addr(i).as_bytes(), &eth(), Amount::from(1000u64))
            .unwrap();
    }
    ledger
}

fn fund(ledger: &mut MemoryLedger, channel: &ChannelId, who: u8, amount: u64) {
    ledger
        .run(|l| {
            deposit(
                l,
                &addr(who),
                channel,
                &addr(who),
                &eth(),
                Amount::from(amount),
            )
        })
        .unwrap();
}

fn withdraw_all(ledger: &mut MemoryLedger, channel: &ChannelId, who: u8) -> PluginResult<Amount> {
    ledger.run(|l| {
        let auth = WithdrawalAuth {
            channel_id: *channel,
            participant: addr(who),
            receiver: addr(who),
            asset: eth(),
            amount: l.holding(&funding_id(channel, &addr(who)), &eth())?,
        };
        withdraw(l, &auth, &auth.sign(&key(who)))
    })
}

#[test]
fn an_overdraft_is_refused_and_changes_nothing() {
    let mut ledger = ledger();
    let channel = ChannelId([1; 32]);
    rejected(
        ledger.run(|l| {
            deposit(
                l,
                &addr(0),
                &channel,
                &addr(0),
                &eth(),
                Amount::from(1001u64),
            )
        }),
        "deposit refused",
    );
    assert_eq!(
        ledger.balance(addr(0).as_bytes(), &eth()).unwrap(),
        Amount::from(1000u64)
    );
    assert!(ledger.events.is_empty());
}

#[test]
fn refutation_needs_a_newer_version_before_the_timeout_and_keeps_it() {
    let mut ledger = ledger();
    let p = params(&[0, 1], None, 1);
    let id = channel_id(&p);
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &state(&p, 1, &[5, 5])), &[]))
        .unwrap();
    assert_eq!(ledger.records[&id].timeout, 1_000 + CHALLENGE);

    ledger.now = 1_050;
    rejected(
        ledger.run(|l| register(l, &signed(&p, &[0, 1], &state(&p, 1, &[5, 5])), &[])),
        "registered 1, got 1",
    );
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &state(&p, 3, &[2, 8])), &[]))
        .unwrap();
    assert_eq!(ledger.records[&id].state.version, 3);
    assert_eq!(
        ledger.records[&id].timeout,
        1_000 + CHALLENGE,
        "refutation keeps the timeout"
    );

    ledger.now = 1_000 + CHALLENGE;
    rejected(
        ledger.run(|l| register(l, &signed(&p, &[0, 1], &state(&p, 4, &[2, 8])), &[])),
        "refutation too late",
    );
}

#[test]
fn register_refuses_bad_signatures_and_foreign_states() {
    let mut ledger = ledger();
    let p = params(&[0, 1], None, 2);
    let s = state(&p, 1, &[5, 5]);
    rejected(
        ledger.run(|l| register(l, &signed(&p, &[1, 0], &s), &[])),
        "signature 0",
    );
    let mut foreign = s.clone();
    foreign.channel_id = ChannelId([9; 32]);
    rejected(
        ledger.run(|l| register(l, &signed(&p, &[0, 1], &foreign), &[])),
        "parameters give channel",
    );
    assert!(ledger.records.is_empty());
}

#[test]
fn conclude_waits_for_the_timeout_and_register_is_refused_after() {
    let mut ledger = ledger();
    let p = params(&[0, 1], None, 3);
    let id = channel_id(&p);
    fund(&mut ledger, &id, 0, 50);
    fund(&mut ledger, &id, 1, 50);
    let s = state(&p, 1, &[20, 80]);
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &s), &[]))
        .unwrap();
    rejected(
        ledger.run(|l| conclude(l, &p, &s, &[])),
        "ends at chain time 1060",
    );
    rejected(withdraw_all(&mut ledger, &id, 0), "has no outcome");

    ledger.now = 1_060;
    ledger.run(|l| conclude(l, &p, &s, &[])).unwrap();
    assert_eq!(ledger.records[&id].phase, DisputePhase::Concluded);
    rejected(
        ledger.run(|l| register(l, &signed(&p, &[0, 1], &state(&p, 2, &[20, 80])), &[])),
        "phase Concluded",
    );
    assert_eq!(
        withdraw_all(&mut ledger, &id, 0).unwrap(),
        Amount::from(20u64)
    );
    assert_eq!(
        withdraw_all(&mut ledger, &id, 1).unwrap(),
        Amount::from(80u64)
    );
    assert_eq!(withdraw_all(&mut ledger, &id, 1).unwrap(), Amount::ZERO);
    assert_eq!(
        ledger.balance(addr(0).as_bytes(), &eth()).unwrap(),
        Amount::from(970u64)
    );
    assert_eq!(
        ledger.balance(addr(1).as_bytes(), &eth()).unwrap(),
        Amount::from(1030u64)
    );
}

#[test]
fn a_withdrawal_needs_the_participants_signature() {
    let mut ledger = ledger();
    let p = params(&[0, 1], None, 4);
    let id = channel_id(&p);
    fund(&mut ledger, &id, 0, 10);
    let mut s = state(&p, 1, &[10, 0]);
    s.is_final = true;
    ledger
        .run(|l| conclude_final(l, &signed(&p, &[0, 1], &s)))
        .unwrap();
    let auth = WithdrawalAuth {
        channel_id: id,
        participant: addr(0),
        receiver: addr(1),
        asset: eth(),
        amount: Amount::from(10u64),
    };
    rejected(
        ledger.run(|l| withdraw(l, &auth, &auth.sign(&key(1)))),
        "not signed by participant",
    );
    rejected(
        ledger.run(|l| withdraw(l, &auth, &Sig(vec![0; 65]))),
        "not signed by participant",
    );
    ledger
        .run(|l| withdraw(l, &auth, &auth.sign(&key(0))))
        .unwrap();
    assert_eq!(
        ledger.balance(addr(1).as_bytes(), &eth()).unwrap(),
        Amount::from(1010u64)
    );
}

#[test]
fn an_under_funded_channel_pays_back_the_deposits() {
    let mut ledger = ledger();
    let p = params(&[0, 1], None, 5);
    let id = channel_id(&p);
    fund(&mut ledger, &id, 0, 100);
    // The outcome moves funds to B, who never deposited: the holders cannot pay it.
    let s = state(&p, 1, &[50, 150]);
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &s), &[]))
        .unwrap();
    ledger.now += CHALLENGE;
    ledger.run(|l| conclude(l, &p, &s, &[])).unwrap();
    assert_eq!(
        withdraw_all(&mut ledger, &id, 0).unwrap(),
        Amount::from(100u64)
    );
    assert_eq!(withdraw_all(&mut ledger, &id, 1).unwrap(), Amount::ZERO);
}

#[test]
fn conclude_final_needs_a_final_state_and_ends_a_running_dispute() {
    let mut ledger = ledger();
    let p = params(&[0, 1], None, 6);
    let id = channel_id(&p);
    fund(&mut ledger, &id, 0, 30);
    fund(&mut ledger, &id, 1, 30);
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &state(&p, 1, &[30, 30])), &[]))
        .unwrap();
    let mut last = state(&p, 2, &[10, 50]);
    rejected(
        ledger.run(|l| conclude_final(l, &signed(&p, &[0, 1], &last))),
        "not final",
    );
    last.is_final = true;
    ledger
        .run(|l| conclude_final(l, &signed(&p, &[0, 1], &last)))
        .unwrap();
    assert_eq!(ledger.records[&id].phase, DisputePhase::Concluded);
    assert_eq!(ledger.records[&id].state.version, 2);
    rejected(
        ledger.run(|l| conclude_final(l, &signed(&p, &[0, 1], &last))),
        "already concluded",
    );
    assert_eq!(
        withdraw_all(&mut ledger, &id, 1).unwrap(),
        Amount::from(50u64)
    );
}

/// A parent channel A-B that locks 30 in a sub-channel B-A (participants swapped).
fn parent_with_sub_channel() -> (Params, State, SignedState, Params, State) {
    let sub_params = params(&[1, 0], None, 71);
    let sub_state = state(&sub_params, 4, &[10, 20]); // B: 10, A: 20
    let parent_params = params(&[0, 1], None, 70);
    let mut parent_state = state(&parent_params, 2, &[40, 30]);
    parent_state.allocation.locked = vec![SubAlloc {
        id: sub_state.channel_id,
        balances: amounts(&[30]),
        index_map: vec![1, 0],
    }];
    let sub_signed = signed(&sub_params, &[1, 0], &sub_state);
    (
        parent_params,
        parent_state,
        sub_signed,
        sub_params,
        sub_state,
    )
}

#[test]
fn sub_channels_are_registered_and_concluded_with_their_parent() {
    let mut ledger = ledger();
    let (p, s, sub_signed, _, sub_state) = parent_with_sub_channel();
    let id = channel_id(&p);
    fund(&mut ledger, &id, 0, 50);
    fund(&mut ledger, &id, 1, 50);
    let parent_signed = signed(&p, &[0, 1], &s);
    rejected(
        ledger.run(|l| register(l, &parent_signed, &[])),
        "signed state is missing",
    );

    let mut wrong = sub_signed.clone();
    wrong.state.allocation.balances = vec![amounts(&[10, 21])];
    wrong.sigs = vec![
        sign_state(&key(1), &wrong.state),
        sign_state(&key(0), &wrong.state),
    ];
    rejected(
        ledger.run(|l| register(l, &parent_signed, &[wrong])),
        "its parent locks",
    );

    ledger
        .run(|l| register(l, &parent_signed, std::slice::from_ref(&sub_signed)))
        .unwrap();
    assert_eq!(
        ledger.records[&sub_state.channel_id].timeout,
        1_000 + CHALLENGE
    );

    ledger.now += CHALLENGE;
    rejected(ledger.run(|l| conclude(l, &p, &s, &[])), "sub-channel");
    ledger
        .run(|l| conclude(l, &p, &s, std::slice::from_ref(&sub_state)))
        .unwrap();
    assert_eq!(
        ledger.records[&sub_state.channel_id].phase,
        DisputePhase::Concluded
    );
    // A: 40 + 20 from the sub-channel, B: 30 + 10.
    assert_eq!(
        withdraw_all(&mut ledger, &id, 0).unwrap(),
        Amount::from(60u64)
    );
    assert_eq!(
        withdraw_all(&mut ledger, &id, 1).unwrap(),
        Amount::from(40u64)
    );
}

fn counter_state(p: &Params, version: u64, counter: u64, balances: &[u64]) -> State {
    let mut s = state(p, version, balances);
    s.app_data = Bytes(TurnCounter::app_data(counter));
    s
}

#[test]
fn the_counter_app_accepts_valid_moves_only() {
    let mut ledger = ledger();
    let p = params(&[0, 1], Some(TurnCounter::address()), 8);
    let id = channel_id(&p);
    let v0 = counter_state(&p, 4, 7, &[5, 5]);
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &v0), &[]))
        .unwrap();
    let v1 = counter_state(&p, 5, 8, &[5, 5]);
    // Version 4: participant 4 % 2 = 0 moves.
    let sig0 = sign_state(&key(0), &v1);
    rejected(
        ledger.run(|l| progress(l, &Apps::built_in(), &p, &v0, &v1, 0, &sig0)),
        "can be refuted until",
    );

    ledger.now += CHALLENGE;
    let sig1 = sign_state(&key(1), &v1);
    rejected(
        ledger.run(|l| progress(l, &Apps::built_in(), &p, &v0, &v1, 1, &sig1)),
        "participant 0's turn",
    );
    rejected(
        ledger.run(|l| progress(l, &Apps::built_in(), &p, &v0, &v1, 0, &sig1)),
        "not signed by actor 0",
    );
    let skip = counter_state(&p, 5, 9, &[5, 5]);
    rejected(
        ledger.run(|l| {
            progress(
                l,
                &Apps::built_in(),
                &p,
                &v0,
                &skip,
                0,
                &sign_state(&key(0), &skip),
            )
        }),
        "from 7 to 8",
    );
    let steal = counter_state(&p, 5, 8, &[10, 0]);
    rejected(
        ledger.run(|l| {
            progress(
                l,
                &Apps::built_in(),
                &p,
                &v0,
                &steal,
                0,
                &sign_state(&key(0), &steal),
            )
        }),
        "must not change the balances",
    );
    let inflate = counter_state(&p, 5, 8, &[6, 5]);
    rejected(
        ledger.run(|l| {
            progress(
                l,
                &Apps::built_in(),
                &p,
                &v0,
                &inflate,
                0,
                &sign_state(&key(0), &inflate),
            )
        }),
        "conserved",
    );

    ledger
        .run(|l| progress(l, &Apps::built_in(), &p, &v0, &v1, 0, &sig0))
        .unwrap();
    let record = &ledger.records[&id];
    assert_eq!(
        (record.phase, record.state.version),
        (DisputePhase::ForceExec, 5)
    );
    assert_eq!(record.timeout, ledger.now + CHALLENGE);
    let v2 = counter_state(&p, 6, 9, &[5, 5]);
    rejected(
        ledger.run(|l| {
            progress(
                l,
                &Apps::built_in(),
                &p,
                &v0,
                &v2,
                1,
                &sign_state(&key(1), &v2),
            )
        }),
        "not the one registered",
    );
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
    rejected(
        ledger.run(|l| conclude(l, &p, &v2, &[])),
        "ends at chain time",
    );
    ledger.now += CHALLENGE;
    let v3 = counter_state(&p, 7, 10, &[5, 5]);
    rejected(
        ledger.run(|l| {
            progress(
                l,
                &Apps::built_in(),
                &p,
                &v2,
                &v3,
                0,
                &sign_state(&key(0), &v3),
            )
        }),
        "force-execution",
    );
    ledger.run(|l| conclude(l, &p, &v2, &[])).unwrap();
}

#[test]
fn an_app_channel_in_dispute_concludes_after_the_unused_force_execution_window() {
    let mut ledger = ledger();
    let p = params(&[0, 1], Some(TurnCounter::address()), 9);
    let v0 = counter_state(&p, 0, 0, &[5, 5]);
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &v0), &[]))
        .unwrap();
    ledger.now += CHALLENGE;
    rejected(
        ledger.run(|l| conclude(l, &p, &v0, &[])),
        "ends at chain time 1120",
    );
    ledger.now += CHALLENGE;
    ledger.run(|l| conclude(l, &p, &v0, &[])).unwrap();
}

#[test]
fn progress_refuses_unknown_apps_and_payment_channels() {
    let mut ledger = ledger();
    let unknown = params(&[0, 1], Some(app_address("chess")), 10);
    let v0 = counter_state(&unknown, 0, 0, &[5, 5]);
    ledger
        .run(|l| register(l, &signed(&unknown, &[0, 1], &v0), &[]))
        .unwrap();
    ledger.now += CHALLENGE;
    let v1 = counter_state(&unknown, 1, 1, &[5, 5]);
    rejected(
        ledger.run(|l| {
            progress(
                l,
                &Apps::built_in(),
                &unknown,
                &v0,
                &v1,
                0,
                &sign_state(&key(0), &v1),
            )
        }),
        "built-in apps are: counter at 0x",
    );
    let payment = params(&[0, 1], None, 11);
    let p0 = state(&payment, 0, &[5, 5]);
    let p1 = state(&payment, 1, &[5, 5]);
    rejected(
        ledger.run(|l| {
            progress(
                l,
                &Apps::built_in(),
                &payment,
                &p0,
                &p1,
                0,
                &sign_state(&key(0), &p1),
            )
        }),
        "has no app",
    );
}

/// The node's apps, which the sim chain asks its host for.
mod node_apps;

/// The rules where the sim chain follows the project's contracts (contracts/src) rather than
/// an earlier reading of Perun's.
mod contracts;

/// A virtual channel running an app, moved on chain and paid out in both of its parents.
mod virtual_apps;

#[test]
fn a_stale_sub_channel_is_refuted_under_its_unchanged_parent() {
    let mut ledger = ledger();
    let (p, s, sub_signed, sub_params, sub_state) = parent_with_sub_channel();
    let id = channel_id(&p);
    fund(&mut ledger, &id, 0, 50);
    fund(&mut ledger, &id, 1, 50);
    let parent_signed = signed(&p, &[0, 1], &s);
    // A cheater registers the tree with an older state of the sub-channel (same totals).
    let mut old = sub_state.clone();
    old.version = 1;
    old.allocation.balances = vec![amounts(&[25, 5])];
    let old_signed = signed(&sub_params, &[1, 0], &old);
    ledger
        .run(|l| register(l, &parent_signed, std::slice::from_ref(&old_signed)))
        .unwrap();
    assert_eq!(ledger.records[&sub_state.channel_id].state.version, 1);
    // The parent's own state again, alone, is no refutation.
    rejected(
        ledger.run(|l| register(l, &parent_signed, &[])),
        "newer version",
    );
    // With the newer sub-channel state, the parent's record stays and the sub-channel's is
    // refuted, keeping its timeout.
    let timeout = ledger.records[&sub_state.channel_id].timeout;
    ledger
        .run(|l| register(l, &parent_signed, std::slice::from_ref(&sub_signed)))
        .unwrap();
    assert_eq!(ledger.records[&sub_state.channel_id].state, sub_state);
    assert_eq!(ledger.records[&sub_state.channel_id].timeout, timeout);
    assert_eq!(ledger.records[&id].state, s);
}
