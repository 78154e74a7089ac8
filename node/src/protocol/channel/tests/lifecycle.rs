//! Opening, funding, payments, rejection, the final update and restore.

use super::harness::*;
use crate::protocol::channel::{Channel, ChannelError};
use crate::protocol::effect::{ChannelEvent, Effect};
use crate::protocol::funding::Funding;
use crate::protocol::messages::{ChannelMessage, RejectReason};
use crate::protocol::phase::Phase;
use crate::protocol::record::{ChannelSnapshot, PersistRecord};
use crate::protocol::transition::PaymentError;
use parley_plugin_api::codec::{Decode, Encode};
use parley_plugin_api::model::{Amount, ChannelId};

#[test]
fn opening_persists_before_sending_and_ends_in_funding() {
    let crypto = crate::protocol::test_support::FakeCrypto::new(2);
    let (channel, effects) = Channel::open(
        &proposal(&crypto, vec![vec![100, 50]]),
        &accept(&crypto),
        &crypto.participant(0),
        &crypto,
        &crypto,
    )
    .unwrap();
    assert_eq!(channel.phase(), Phase::Opening);
    assert_eq!(channel.my_index(), 0);
    assert!(channel.fully_signed().is_none());
    assert!(matches!(
        effects.as_slice(),
        [
            Effect::Persist(PersistRecord::Opened(_)),
            Effect::Persist(PersistRecord::Latest(_)),
            Effect::Persist(PersistRecord::Phase(Phase::Opening)),
            Effect::Send {
                to: 1,
                message: ChannelMessage::OpeningSig(_)
            },
        ]
    ));

    let pair = Pair::opened(vec![vec![100, 50], vec![7, 0]]);
    pair.assert_agree();
    let signed = pair.a.channel.signed_state().unwrap();
    assert_eq!(signed.state.version, 0);
    assert_eq!(signed.sigs.len(), 2);
    assert_eq!(balances(&signed.state, 1), vec![7, 0]);
    assert_eq!(pair.a.channel.id(), pair.b.channel.id());
    assert_eq!(pair.b.channel.my_index(), 1);
    assert!(pair.b.events.contains(&ChannelEvent::PhaseChanged {
        from: Phase::Opening,
        to: Phase::Funding
    }));
}

#[test]
fn funding_activates_once() {
    let mut pair = Pair::opened(vec![vec![10, 10]]);
    // No updates before the channel is funded.
    assert_eq!(
        pair.a
            .channel
            .pay(0, 1, Amount::from(1u64), &pair.crypto)
            .unwrap_err(),
        ChannelError::WrongPhase {
            action: "propose an update",
            phase: Phase::Funding
        }
    );
    pair.act(true, |c, _| c.funded());
    assert_eq!(pair.a.channel.phase(), Phase::Active);
    assert_eq!(
        pair.a.channel.funded().unwrap_err(),
        ChannelError::WrongPhase {
            action: "mark as funded",
            phase: Phase::Active
        }
    );
}

#[test]
fn a_thousand_alternating_payments() {
    let mut pair = Pair::active(vec![vec![10_000, 10_000], vec![5, 5]]);
    for i in 0..1000u64 {
        let a_pays = i % 2 == 0;
        let (to, amount) = if a_pays { (1, 3) } else { (0, 2) };
        pair.act(a_pays, |c, s| c.pay(0, to, Amount::from(amount), s));
        pair.pump();
        assert!(pair
            .node(a_pays)
            .events
            .contains(&ChannelEvent::UpdateAccepted { version: i + 1 }));
    }
    pair.assert_agree();
    let latest = pair.a.channel.latest().clone();
    assert_eq!(latest.version, 1000);
    // A paid 500 × 3, B paid 500 × 2.
    assert_eq!(
        balances(&latest, 0),
        vec![10_000 - 1500 + 1000, 10_000 + 1500 - 1000]
    );
    assert_eq!(balances(&latest, 1), vec![5, 5]);
    assert!(pair.a.errors.is_empty() && pair.b.errors.is_empty());
}

#[test]
fn a_declined_update_is_answered_with_its_reason() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.b.policy = |_| Err("over my limit".into());
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(60u64), s));
    pair.pump();
    assert!(pair.a.events.contains(&ChannelEvent::UpdateRejected {
        version: 1,
        reason: RejectReason::Declined("over my limit".into())
    }));
    assert!(pair.a.channel.pending().is_none());
    assert_eq!(pair.a.channel.latest().version, 0);
    pair.assert_agree();

    // The channel is usable after the rejection.
    pair.b.policy = accept_all;
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(60u64), s));
    pair.pump();
    pair.assert_agree();
    assert_eq!(balances(pair.b.channel.latest(), 0), vec![40, 160]);
}

#[test]
fn an_overdraft_is_refused_locally_and_changes_nothing() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    let before = pair.a.channel.clone();
    assert_eq!(
        pair.a
            .channel
            .pay(0, 1, Amount::from(101u64), &pair.crypto)
            .unwrap_err(),
        ChannelError::Payment(PaymentError::Overdraft {
            available: Amount::from(100u64),
            requested: Amount::from(101u64)
        })
    );
    assert_eq!(pair.a.channel, before);
}

#[test]
fn one_update_at_a_time() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(1u64), s));
    assert_eq!(
        pair.a
            .channel
            .pay(0, 1, Amount::from(1u64), &pair.crypto)
            .unwrap_err(),
        ChannelError::UpdatePending { version: 1 }
    );
    pair.pump();
    pair.assert_agree();
    assert_eq!(pair.a.channel.latest().version, 1);
    // Once answered, the next update may go.
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(1u64), s));
    pair.pump();
    pair.assert_agree();
}

#[test]
fn the_peer_decides_later() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    let crypto = pair.crypto.clone();
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(5u64), s));
    let proposal = pair.a.outbox.pop_front().unwrap();
    // Deliver without the bench's auto-policy: the channel asks for a decision.
    let effects = pair.b.channel.on_message(0, proposal, &crypto).unwrap();
    assert!(matches!(
        effects.as_slice(),
        [Effect::Event(ChannelEvent::UpdateRequested { state })] if state.version == 1
    ));
    assert_eq!(pair.b.channel.awaiting_decision().unwrap().version, 1);
    assert_eq!(
        pair.b
            .channel
            .pay(0, 0, Amount::from(1u64), &crypto)
            .unwrap_err(),
        ChannelError::DecisionPending { version: 1 }
    );
    let effects = pair.b.channel.accept_update(&crypto).unwrap();
    pair.b.run(&crypto, effects);
    assert_eq!(
        pair.b.channel.accept_update(&crypto).unwrap_err(),
        ChannelError::NoUpdateAwaiting
    );
    pair.pump();
    pair.assert_agree();
}

#[test]
fn a_final_update_closes_the_channel_for_updates() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(false, |c, s| c.pay(0, 0, Amount::from(30u64), s));
    pair.pump();
    pair.act(true, |c, s| c.propose_final(s));
    pair.pump();
    pair.assert_agree();
    for node in [&pair.a, &pair.b] {
        assert_eq!(node.channel.phase(), Phase::Closing);
        assert!(node.channel.latest().is_final);
        assert!(node.events.contains(&ChannelEvent::PhaseChanged {
            from: Phase::Active,
            to: Phase::Closing
        }));
    }
    assert_eq!(balances(pair.a.channel.latest(), 0), vec![130, 70]);
    assert_eq!(
        pair.b
            .channel
            .pay(0, 0, Amount::from(1u64), &pair.crypto)
            .unwrap_err(),
        ChannelError::Payment(PaymentError::Final)
    );
    let mut next = pair.b.channel.latest().clone();
    next.version += 1;
    next.is_final = false;
    assert_eq!(
        pair.b
            .channel
            .propose_update(next, &pair.crypto)
            .unwrap_err(),
        ChannelError::WrongPhase {
            action: "propose an update",
            phase: Phase::Closing
        }
    );
    pair.act(true, |c, _| c.concluded());
    assert_eq!(pair.a.channel.phase(), Phase::Closed);
    assert!(pair.a.channel.concluded().is_err());
}

/// `channel` as a restart rebuilds it: the same, but with the version above every state it
/// signed spent (a proposal may have left before its record was durable).
fn restarted(channel: &Channel) -> Channel {
    let mut restarted = channel.clone();
    restarted.spent = channel.highest_signed_version() + 1;
    restarted
}

#[test]
fn restore_rebuilds_the_same_channel() {
    let mut pair = Pair::active(vec![vec![1000, 1000], vec![30, 40]]);
    for i in 0..20u64 {
        pair.act(i % 3 != 0, |c, s| {
            let to = c.peer_index();
            c.pay((i % 2) as usize, to, Amount::from(1u64), s)
        });
        pair.pump();
    }
    // Leave an update of A's in flight so that the pending slot is exercised too.
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(9u64), s));
    for node in [&pair.a, &pair.b] {
        let restored = Channel::restore_from_records(&node.store).unwrap();
        let expected = restarted(&node.channel);
        assert_eq!(restored, expected);
        // The snapshot survives its own encoding, and from it the channel again.
        let snapshot = node.channel.snapshot();
        let decoded = ChannelSnapshot::decode(&snapshot.encode()).unwrap();
        assert_eq!(Channel::restore(decoded).unwrap(), expected);
        // The newest record of each slot, in any order, gives the same channel.
        let mut slots = snapshot.to_records();
        slots.reverse();
        assert_eq!(Channel::restore_from_records(&slots).unwrap(), expected);
    }
    assert_eq!(pair.a.channel.pending().unwrap().state.version, 21);
}

#[test]
fn restore_keeps_the_funding_of_each_kind() {
    let pair = Pair::active(vec![vec![1000, 1000]]);
    let ledger = pair.a.channel.snapshot();
    assert_eq!(ledger.funding, Funding::Ledger);
    assert_eq!(pair.a.channel.funding(), &Funding::Ledger);
    let mut sub = ledger.clone();
    sub.funding = Funding::SubChannel {
        parent: ChannelId([5; 32]),
    };
    for snapshot in [ledger, sub] {
        let restored = Channel::restore_from_records(&snapshot.to_records()).unwrap();
        assert_eq!(restored.funding(), &snapshot.funding);
        assert_eq!(restored.snapshot(), snapshot);
    }
}

#[test]
fn restore_refuses_inconsistent_records() {
    use crate::protocol::record::RestoreError;
    use parley_plugin_api::model::{ChannelId, Participant};

    let mut pair = Pair::active(vec![vec![10, 10]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(1u64), s));
    pair.pump();
    let good = pair.b.channel.snapshot();
    let refused = |change: &dyn Fn(&mut ChannelSnapshot)| {
        let mut snapshot = good.clone();
        change(&mut snapshot);
        Channel::restore(snapshot).unwrap_err()
    };
    // A third participant is allowed, but then every state needs its signature slot.
    assert_eq!(
        refused(&|s| s.channel.params.participants.push(Participant(vec![9; 20]))),
        RestoreError::SignatureSlots {
            found: 2,
            expected: 3
        }
    );
    assert_eq!(
        refused(&|s| {
            s.channel.params.participants.pop();
            s.channel.my_index = 0;
        }),
        RestoreError::UnsupportedParticipants { found: 1 }
    );
    assert_eq!(
        refused(&|s| s.channel.my_index = 2),
        RestoreError::IndexOutOfRange {
            index: 2,
            participants: 2
        }
    );
    assert_eq!(
        refused(&|s| s.latest.state.channel_id = ChannelId([4; 32])),
        RestoreError::StateOfOtherChannel {
            expected: good.channel.channel_id,
            found: ChannelId([4; 32])
        }
    );
    assert_eq!(
        refused(&|s| {
            s.latest.sigs.pop();
        }),
        RestoreError::SignatureSlots {
            found: 1,
            expected: 2
        }
    );
    assert_eq!(
        refused(&|s| s.latest.sigs[1] = None),
        RestoreError::MissingOwnSignature
    );
    assert_eq!(
        refused(&|s| s.latest.sigs[0] = None),
        RestoreError::MissingSignature {
            index: 0,
            phase: Phase::Active
        }
    );
    assert_eq!(
        refused(&|s| s.latest.state.is_final = true),
        RestoreError::FinalInPhase(Phase::Active)
    );
    assert_eq!(
        Channel::restore_from_records(&[PersistRecord::Phase(Phase::Active)]).unwrap_err(),
        RestoreError::MissingChannel
    );
    assert_eq!(
        Channel::restore_from_records(&good.to_records()[..1]).unwrap_err(),
        RestoreError::MissingLatest
    );

    // A pending update that the newest state already covers (a crash between the two writes)
    // is dropped on restore.
    let mut covered = pair.a.channel.snapshot();
    covered.pending = Some(crate::protocol::record::PendingUpdate {
        state: covered.latest.state.clone(),
        sig: covered.latest.sigs[0].clone().unwrap(),
    });
    assert_eq!(
        Channel::restore(covered).unwrap(),
        restarted(&pair.a.channel)
    );
}

#[test]
fn only_an_opening_can_be_abandoned_and_it_ends_closed() {
    let crypto = crate::protocol::test_support::FakeCrypto::new(2);
    let (mut channel, _) = Channel::open(
        &proposal(&crypto, vec![vec![100, 50]]),
        &accept(&crypto),
        &crypto.participant(0),
        &crypto,
        &crypto,
    )
    .unwrap();
    let effects = channel.abandon().unwrap();
    assert_eq!(channel.phase(), Phase::Closed);
    assert_eq!(
        effects,
        vec![
            Effect::Persist(PersistRecord::Phase(Phase::Closed)),
            Effect::Event(ChannelEvent::PhaseChanged {
                from: Phase::Opening,
                to: Phase::Closed
            }),
        ]
    );
    // Once a state is fully signed, funds may be deposited: only the chain can end it.
    let mut pair = Pair::opened(vec![vec![10, 10]]);
    assert_eq!(
        pair.a.channel.abandon().unwrap_err(),
        ChannelError::WrongPhase {
            action: "abandon",
            phase: Phase::Funding
        }
    );
    pair.act(true, |c, _| c.funded());
    assert!(pair.a.channel.abandon().is_err());
}

#[test]
fn an_update_from_a_peer_that_saw_the_funding_first_waits_for_ours() {
    let mut pair = Pair::opened(vec![vec![10, 10]]);
    let fx = pair.a.channel.funded().unwrap();
    pair.a.run(&pair.crypto, fx);
    let crypto = pair.crypto.clone();
    pair.act(true, |channel, _| {
        channel.pay(0, 1, Amount::from(1u64), &crypto)
    });
    let proposal = pair.a.outbox.front().cloned().expect("A proposed");
    assert!(pair.b.channel.holds_until_funded(&proposal));
    let fx = pair.b.channel.funded().unwrap();
    pair.b.run(&pair.crypto, fx);
    assert!(!pair.b.channel.holds_until_funded(&proposal));
    pair.pump();
    pair.assert_agree();
}
