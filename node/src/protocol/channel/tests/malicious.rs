//! A malicious or broken peer: every rule broken by an incoming message is refused with its own
//! error, the reason goes back to the peer, and our state does not change.

use super::harness::*;
use crate::protocol::channel::{Channel, ChannelError, IncomingUpdateError, MAX_VERSION_GAP};
use crate::protocol::effect::{ChannelEvent, Effect};
use crate::protocol::messages::{
    ChannelMessage, RejectReason, UpdateAccept, UpdateProposal, UpdateReject,
};
use crate::protocol::phase::Phase;
use crate::protocol::transition::TransitionError;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{AllocationError, Amount, ChannelId, Sig, State, SubAlloc};

/// A proposal from A for B's channel: the next state after `mutate`, signed with A's key.
fn forged(pair: &Pair, mutate: impl FnOnce(&mut State)) -> UpdateProposal {
    let mut state = pair.b.channel.latest().clone();
    state.version += 1;
    mutate(&mut state);
    UpdateProposal {
        channel_id: pair.b.channel.id(),
        sig: pair.crypto.sign_as(0, &state),
        state,
        payment: None,
        batch: Vec::new(),
    }
}

/// Feeds `proposal` to B and checks: refused with `expected`, the reason sent back, B
/// unchanged.
fn assert_refused(pair: &mut Pair, proposal: UpdateProposal, expected: IncomingUpdateError) {
    let before: Channel = pair.b.channel.clone();
    let version = proposal.state.version;
    let effects = pair
        .b
        .channel
        .on_update_proposal(0, proposal, &pair.crypto)
        .unwrap();
    assert_eq!(
        effects,
        vec![
            Effect::Send {
                to: 0,
                message: ChannelMessage::UpdateReject(UpdateReject {
                    channel_id: before.id(),
                    version,
                    reason: RejectReason::Invalid(expected.to_string()),
                }),
            },
            Effect::Event(ChannelEvent::UpdateRefused {
                version,
                error: expected,
            }),
        ]
    );
    assert_eq!(
        pair.b.channel, before,
        "a refused update changed the channel"
    );
}

#[test]
fn every_invariant_violation_is_refused() {
    let mut pair = Pair::active(vec![vec![100, 100], vec![10, 20]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(5u64), s));
    pair.pump();
    let v = pair.b.channel.latest().version;
    let id = pair.b.channel.id();

    // Spent versions may be skipped, but not beyond reach.
    let p = forged(&pair, |s| s.version += MAX_VERSION_GAP);
    assert_refused(
        &mut pair,
        p,
        TransitionError::Version {
            old: v,
            expected: v + 1,
            found: v + 1 + MAX_VERSION_GAP,
        }
        .into(),
    );

    let p = forged(&pair, |s| s.allocation.balances[1][0] = Amount::from(11u64));
    assert_refused(
        &mut pair,
        p,
        TransitionError::TotalChanged {
            asset: 1,
            before: Amount::from(30u64),
            after: Amount::from(31u64),
        }
        .into(),
    );

    // Taking from ourselves without paying the peer destroys funds: refused the same way.
    let p = forged(&pair, |s| s.allocation.balances[0][1] = Amount::from(0u64));
    assert!(matches!(p.state.allocation.balances[0][0], a if a == Amount::from(95u64)));
    assert_refused(
        &mut pair,
        p,
        TransitionError::TotalChanged {
            asset: 0,
            before: Amount::from(200u64),
            after: Amount::from(95u64),
        }
        .into(),
    );

    let p = forged(&pair, |s| s.channel_id = ChannelId([0xee; 32]));
    assert_refused(
        &mut pair,
        p,
        TransitionError::ChannelId {
            expected: id,
            found: ChannelId([0xee; 32]),
        }
        .into(),
    );

    let p = forged(&pair, |s| s.allocation.assets.swap(0, 1));
    assert_refused(&mut pair, p, TransitionError::AssetsChanged.into());

    let p = forged(&pair, |s| s.allocation.assets[1] = asset(9));
    assert_refused(&mut pair, p, TransitionError::AssetsChanged.into());

    let p = forged(&pair, |s| s.allocation.balances[0].push(Amount::ZERO));
    assert_refused(
        &mut pair,
        p,
        TransitionError::Shape(AllocationError::ColumnCount {
            asset: 0,
            found: 3,
            expected: 2,
        })
        .into(),
    );

    let p = forged(&pair, |s| {
        s.allocation.balances[0][0] = Amount::from(90u64);
        s.allocation.locked.push(SubAlloc {
            id: ChannelId([5; 32]),
            balances: vec![Amount::from(5u64), Amount::ZERO],
            index_map: vec![0, 1],
        });
    });
    // A lock of a sub-channel B never opened: nothing to enforce it with.
    assert_refused(
        &mut pair,
        p,
        TransitionError::TreeChange {
            child: ChannelId([5; 32]),
            reason: "this node holds no fully signed opening state of it".to_string(),
        }
        .into(),
    );

    let p = forged(&pair, |s| s.app_data = Bytes(vec![1, 2, 3]));
    assert_refused(&mut pair, p, TransitionError::AppDataChanged.into());

    assert!(pair.b.errors.is_empty());
}

#[test]
fn bad_signatures_are_refused() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    // Signed with B's own key instead of A's.
    let mut p = forged(&pair, |s| {
        s.allocation.balances[0] = vec![Amount::from(90u64), Amount::from(110u64)]
    });
    p.sig = pair.crypto.sign_as(1, &p.state);
    assert_refused(&mut pair, p, IncomingUpdateError::BadSignature);
    // Garbage.
    let mut p = forged(&pair, |_| {});
    p.sig = Sig(vec![0; 65]);
    assert_refused(&mut pair, p, IncomingUpdateError::BadSignature);
    // A valid signature on a different state.
    let other = forged(&pair, |s| {
        s.allocation.balances[0] = vec![Amount::from(99u64), Amount::from(101u64)]
    });
    let mut p = forged(&pair, |_| {});
    p.sig = other.sig;
    assert_refused(&mut pair, p, IncomingUpdateError::BadSignature);

    // A bad signature on an accept: refused, our update stays pending.
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(1u64), s));
    let before = pair.a.channel.clone();
    let forged_accept = UpdateAccept {
        channel_id: pair.a.channel.id(),
        version: 1,
        sig: pair.crypto.sign_as(0, pair.a.channel.latest()),
    };
    assert_eq!(
        pair.a
            .channel
            .on_update_accept(1, forged_accept, &pair.crypto)
            .unwrap_err(),
        ChannelError::BadSignature {
            participant: 1,
            version: 1
        }
    );
    assert_eq!(pair.a.channel, before);
    pair.pump();
    pair.assert_agree();
    assert_eq!(pair.a.channel.latest().version, 1);
}

#[test]
fn replayed_messages_are_refused() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(1u64), s));
    let first_proposal = pair.a.outbox.front().cloned().unwrap();
    pair.deliver(true);
    let first_accept = pair.b.outbox.front().cloned().unwrap();
    pair.pump();
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(2u64), s));
    pair.pump();
    pair.assert_agree();

    let ChannelMessage::UpdateProposal(old) = first_proposal else {
        panic!("expected a proposal")
    };
    assert_refused(
        &mut pair,
        old,
        TransitionError::Version {
            old: 2,
            expected: 3,
            found: 1,
        }
        .into(),
    );
    let before = pair.a.channel.clone();
    pair.a.receive(&pair.crypto.clone(), first_accept);
    assert_eq!(
        pair.a.errors.pop(),
        Some(ChannelError::UnexpectedAccept { version: 1 })
    );
    assert_eq!(pair.a.channel, before);
    let stray_reject = ChannelMessage::UpdateReject(UpdateReject {
        channel_id: pair.a.channel.id(),
        version: 2,
        reason: RejectReason::Concurrent,
    });
    pair.a.receive(&pair.crypto.clone(), stray_reject);
    assert_eq!(
        pair.a.errors.pop(),
        Some(ChannelError::UnexpectedReject { version: 2 })
    );
    assert_eq!(pair.a.channel, before);
}

#[test]
fn updates_outside_the_active_phase_are_refused() {
    let mut pair = Pair::opened(vec![vec![100, 100]]);
    let p = forged(&pair, |_| {});
    assert_refused(
        &mut pair,
        p,
        IncomingUpdateError::NotActive {
            phase: Phase::Funding,
        },
    );

    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(false, |c, s| c.propose_final(s));
    pair.pump();
    assert_eq!(pair.b.channel.phase(), Phase::Closing);
    let v = pair.b.channel.latest().version;
    let p = forged(&pair, |s| s.is_final = false);
    assert_refused(
        &mut pair,
        p,
        IncomingUpdateError::ChannelFinal { version: v },
    );
}

#[test]
fn unanswerable_messages_are_errors_without_effects() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    let crypto = pair.crypto.clone();
    let mut p = forged(&pair, |_| {});
    p.channel_id = ChannelId([0xaa; 32]);
    assert_eq!(
        pair.b
            .channel
            .on_update_proposal(0, p, &crypto)
            .unwrap_err(),
        ChannelError::WrongChannel {
            expected: pair.b.channel.id(),
            found: ChannelId([0xaa; 32])
        }
    );

    // A second proposal while the first awaits our answer breaks the one-at-a-time rule.
    let first = forged(&pair, |_| {});
    let effects = pair
        .b
        .channel
        .on_update_proposal(0, first, &crypto)
        .unwrap();
    assert!(matches!(
        effects.as_slice(),
        [Effect::Event(ChannelEvent::UpdateRequested { .. })]
    ));
    let second = forged(&pair, |s| s.allocation.balances[0].swap(0, 1));
    assert_eq!(
        pair.b
            .channel
            .on_update_proposal(0, second, &crypto)
            .unwrap_err(),
        ChannelError::SecondProposal {
            version: 1,
            awaiting: 1
        }
    );

    let proposal = ChannelMessage::Proposal(proposal(&crypto, vec![vec![1, 1]]));
    assert_eq!(
        pair.a.channel.on_message(1, proposal, &crypto).unwrap_err(),
        ChannelError::NotAChannelMessage("proposal")
    );
}

#[test]
fn a_message_from_anyone_but_the_other_party_is_refused_and_changes_nothing() {
    let mut pair = Pair::active(vec![vec![10, 10]]);
    let crypto = pair.crypto.clone();
    pair.act(true, |channel, _| {
        channel.pay(0, 1, Amount::from(1u64), &crypto)
    });
    let proposal = pair.a.outbox.pop_front().expect("A proposed");
    let before = pair.b.channel.clone();
    for from in [1, 2] {
        assert_eq!(
            pair.b
                .channel
                .on_message(from, proposal.clone(), &crypto)
                .unwrap_err(),
            ChannelError::UnexpectedSender { from }
        );
        assert_eq!(pair.b.channel, before);
    }
    pair.b.receive(&crypto, proposal);
    pair.pump();
    pair.assert_agree();
}
