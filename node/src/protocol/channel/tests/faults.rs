//! Proven peer faults: an answer to our re-synchronisation that no honest peer sends ends the
//! sync without adopting anything and, while funds are at stake, in a dispute; what proves
//! nothing (a bad update signature, a rule broken by a state we signed) does not.

use super::harness::*;
use crate::protocol::channel::{ChannelError, FaultResponse, SyncError};
use crate::protocol::effect::{ChannelEvent, Effect};
use crate::protocol::messages::{ChannelMessage, FullySignedState, OpeningSig, SyncReply};
use crate::protocol::phase::Phase;
use crate::protocol::record::PersistRecord;
use crate::protocol::test_support::FakeCrypto;
use crate::protocol::Channel;
use parley_plugin_api::model::{Amount, ChannelId, Sig};

/// An active pair after one payment, with A asking B to re-synchronise.
fn syncing_pair() -> Pair {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.pump();
    let crypto = pair.crypto.clone();
    let effects = pair.a.channel.sync_request();
    pair.a.run(&crypto, effects);
    pair.a.outbox.clear();
    pair
}

fn reply(pair: &Pair, latest: FullySignedState) -> SyncReply {
    SyncReply {
        channel_id: pair.a.channel.id(),
        latest,
        pending: None,
    }
}

/// Everything a malicious B can answer A's request with that proves it faulty, and the error
/// each proves: B cannot produce A's signature on a state A never signed, so a fork it invents
/// carries a signature of A's that does not verify; a real fork (two states of one version
/// signed by both) needs A to have signed twice, which the bench's crypto can fake.
fn faulty_answers(pair: &Pair) -> Vec<(FullySignedState, SyncError)> {
    let crypto = &pair.crypto;
    let good = pair.b.channel.fully_signed().unwrap();
    let mut taken = good.state.clone();
    taken.allocation.balances[0] = vec![Amount::ZERO, Amount::from(200u64)];
    // B's invented fork: B signs it, A's signature is copied from the real state.
    let invented = FullySignedState {
        sigs: vec![good.sigs[0].clone(), crypto.sign_as(1, &taken)],
        state: taken.clone(),
    };
    // The same at the next version (a "newer" state A never signed).
    let mut newer = taken.clone();
    newer.version += 1;
    let invented_newer = FullySignedState {
        sigs: vec![good.sigs[0].clone(), crypto.sign_as(1, &newer)],
        state: newer,
    };
    // B's own signature is garbage.
    let mut own_bad = good.clone();
    own_bad.sigs[1] = Sig(vec![1; 65]);
    let real_fork = FullySignedState {
        sigs: vec![crypto.sign_as(0, &taken), crypto.sign_as(1, &taken)],
        state: taken,
    };
    let mut missing = good.clone();
    missing.sigs.pop();
    let mut other_channel = good.clone();
    other_channel.state.channel_id = ChannelId([3; 32]);
    vec![
        (invented, SyncError::BadSignature { participant: 0 }),
        (invented_newer, SyncError::BadSignature { participant: 0 }),
        (own_bad, SyncError::BadSignature { participant: 1 }),
        (real_fork, SyncError::Fork { version: 1 }),
        (
            missing,
            SyncError::SignatureCount {
                found: 1,
                expected: 2,
            },
        ),
        (
            other_channel,
            SyncError::StateOfOtherChannel {
                expected: pair.a.channel.id(),
                found: ChannelId([3; 32]),
            },
        ),
    ]
}

#[test]
fn every_proof_of_a_faulty_peer_ends_the_sync_in_a_dispute() {
    let count = faulty_answers(&syncing_pair()).len();
    for case in 0..count {
        let mut pair = syncing_pair();
        let (latest, fault) = faulty_answers(&pair).swap_remove(case);
        assert!(fault.is_peer_fault(), "{fault}");
        let before = pair.a.channel.clone();
        let crypto = pair.crypto.clone();
        let message = reply(&pair, latest);
        let effects = pair.a.channel.on_sync_reply(1, message, &crypto).unwrap();
        assert_eq!(
            effects,
            vec![
                Effect::Persist(PersistRecord::Phase(Phase::Disputed)),
                Effect::Event(ChannelEvent::PeerFault {
                    fault: fault.clone(),
                    response: FaultResponse::Dispute,
                }),
                Effect::Event(ChannelEvent::PhaseChanged {
                    from: Phase::Active,
                    to: Phase::Disputed,
                }),
            ],
            "{fault}"
        );
        pair.a.run(&crypto, effects);
        // Nothing of the peer's answer was adopted: our newest state is what goes on chain.
        assert_eq!(pair.a.channel.fully_signed(), before.fully_signed());
        assert!(!pair.a.channel.is_syncing());
        assert_eq!(pair.a.channel.phase(), Phase::Disputed);
        assert_eq!(pair.a.durable().phase, Phase::Disputed);
        assert!(matches!(
            pair.a.channel.pay(0, 1, Amount::from(1u64), &crypto),
            Err(ChannelError::WrongPhase { .. })
        ));
    }
}

#[test]
fn a_fault_while_funding_disputes_too_and_drops_nothing_of_ours() {
    // Funding: version 0 is fully signed and deposits may be on chain.
    let mut pair = Pair::opened(vec![vec![100, 100]]);
    let crypto = pair.crypto.clone();
    let effects = pair.a.channel.sync_request();
    pair.a.run(&crypto, effects);
    let mut forged = pair.b.channel.fully_signed().unwrap();
    forged.sigs[1] = Sig(vec![2; 65]);
    let message = reply(&pair, forged);
    let effects = pair.a.channel.on_sync_reply(1, message, &crypto).unwrap();
    pair.a.run(&crypto, effects);
    assert_eq!(pair.a.channel.phase(), Phase::Disputed);
    assert!(pair.a.events.contains(&ChannelEvent::PhaseChanged {
        from: Phase::Funding,
        to: Phase::Disputed
    }));
}

#[test]
fn a_bad_opening_signature_in_answer_to_our_sync_is_a_fault() {
    // B answers as if still opening, with a signature on version 0 that does not verify.
    let mut pair = Pair::active(vec![vec![100, 100]]);
    let crypto = pair.crypto.clone();
    let effects = pair.a.channel.sync_request();
    pair.a.run(&crypto, effects);
    let message = ChannelMessage::OpeningSig(OpeningSig {
        channel_id: pair.a.channel.id(),
        sig: Sig(vec![3; 65]),
    });
    pair.a.receive(&crypto, message);
    assert!(pair.a.errors.is_empty(), "{:?}", pair.a.errors);
    assert_eq!(pair.a.channel.phase(), Phase::Disputed);
    assert!(pair.a.events.contains(&ChannelEvent::PeerFault {
        fault: SyncError::BadSignature { participant: 1 },
        response: FaultResponse::Dispute,
    }));
    // Past version 0, any answer "still opening" is a lie: the peer signed version 1.
    let mut liar = Pair::active(vec![vec![100, 100]]);
    liar.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    liar.pump();
    let valid_opening_sig = crypto.sign_as(1, &{
        let mut v0 = liar.b.channel.latest().clone();
        v0.version = 0;
        v0.allocation.balances[0] = vec![Amount::from(100u64), Amount::from(100u64)];
        v0
    });
    let effects = liar.a.channel.sync_request();
    liar.a.run(&crypto, effects);
    let message = ChannelMessage::OpeningSig(OpeningSig {
        channel_id: liar.a.channel.id(),
        sig: valid_opening_sig,
    });
    liar.a.receive(&crypto, message);
    assert_eq!(liar.a.channel.phase(), Phase::Disputed);
    assert!(liar.a.events.contains(&ChannelEvent::PeerFault {
        fault: SyncError::OpeningAfterSigning { version: 1 },
        response: FaultResponse::Dispute,
    }));
    // Outside a sync, a repeated opening signature is ignored as before.
    let mut quiet = Pair::active(vec![vec![100, 100]]);
    let message = ChannelMessage::OpeningSig(OpeningSig {
        channel_id: quiet.a.channel.id(),
        sig: Sig(vec![3; 65]),
    });
    quiet.a.receive(&crypto, message);
    assert_eq!(quiet.a.channel.phase(), Phase::Active);
}

#[test]
fn where_funds_are_settled_already_or_not_yet_at_stake_the_fault_changes_no_phase() {
    // Closing: the final state settles the channel with `conclude_final` already.
    let mut closing = Pair::active(vec![vec![100, 100]]);
    closing.act(true, |c, s| c.propose_final(s));
    closing.pump();
    assert_eq!(closing.a.channel.phase(), Phase::Closing);
    let crypto = closing.crypto.clone();
    let effects = closing.a.channel.sync_request();
    closing.a.run(&crypto, effects);
    let mut forged = closing.b.channel.fully_signed().unwrap();
    forged.sigs[0] = Sig(vec![4; 65]);
    let message = reply(&closing, forged);
    let effects = closing
        .a
        .channel
        .on_sync_reply(1, message, &crypto)
        .unwrap();
    assert_eq!(
        effects,
        vec![Effect::Event(ChannelEvent::PeerFault {
            fault: SyncError::BadSignature { participant: 0 },
            response: FaultResponse::AlreadySettling,
        })]
    );
    closing.a.run(&crypto, effects);
    assert_eq!(closing.a.channel.phase(), Phase::Closing);
    assert!(!closing.a.channel.is_syncing());

    // Opening: nothing is fully signed or deposited; B claims to hold version 0 fully signed
    // with a signature of A's that does not verify.
    let crypto = FakeCrypto::new(2);
    let proposal = proposal(&crypto, vec![vec![5, 5]]);
    let (mut a, _) = Channel::open(
        &proposal,
        &accept(&crypto),
        &crypto.participant(0),
        &crypto,
        &crypto,
    )
    .unwrap();
    let _ = a.sync_request();
    let state = a.latest().clone();
    let forged = FullySignedState {
        sigs: vec![Sig(vec![5; 65]), crypto.sign_as(1, &state)],
        state,
    };
    let effects = a
        .on_sync_reply(
            1,
            SyncReply {
                channel_id: a.id(),
                latest: forged,
                pending: None,
            },
            &crypto,
        )
        .unwrap();
    assert_eq!(
        effects,
        vec![Effect::Event(ChannelEvent::PeerFault {
            fault: SyncError::BadSignature { participant: 0 },
            response: FaultResponse::NothingAtStake,
        })]
    );
    assert_eq!(a.phase(), Phase::Opening);
}

#[test]
fn a_local_backend_failure_is_no_proof() {
    let error = SyncError::Backend(crate::protocol::BackendError("the chain is down".into()));
    assert!(!error.is_peer_fault());
}

#[test]
fn the_fault_is_told_from_our_side() {
    let ours = SyncError::BadSignature { participant: 1 }.describe_for(1);
    assert!(ours.contains("signature of ours"), "{ours}");
    let theirs = SyncError::BadSignature { participant: 0 }.describe_for(1);
    assert!(theirs.contains("its own signature"), "{theirs}");
    let fork = SyncError::Fork { version: 7 }.describe_for(0);
    assert!(fork.contains("version 7"), "{fork}");
}
