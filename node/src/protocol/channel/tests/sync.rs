//! Crash recovery: a channel restored from its records re-synchronises with its peer; both end
//! with the same newest state and no half-done update.

use super::harness::*;
use crate::protocol::channel::{ChannelError, SyncError};
use crate::protocol::effect::ChannelEvent;
use crate::protocol::messages::{ChannelMessage, FullySignedState, SyncReply};
use crate::protocol::phase::Phase;
use crate::protocol::record::PersistRecord;
use crate::protocol::test_support::FakeCrypto;
use crate::protocol::Channel;
use parley_plugin_api::model::Amount;

/// Both sides re-synchronise, as drivers do on reconnection.
fn resync(pair: &mut Pair) {
    resync_sides(pair, true);
}

/// A reconnect that B noticed, and A too if `both` (else only B noticed: its route moved to a
/// fresh connection while A kept the old one).
fn resync_sides(pair: &mut Pair, both: bool) {
    pair.reconnect(both, true);
}

#[test]
fn a_proposal_persisted_but_never_sent_is_discarded() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.a.crash_and_restore();
    assert_eq!(pair.a.channel.pending().unwrap().state.version, 1);
    assert_eq!(
        pair.a
            .channel
            .pay(0, 1, Amount::from(1u64), &pair.crypto)
            .unwrap_err(),
        ChannelError::UpdatePending { version: 1 }
    );
    resync(&mut pair);
    pair.assert_agree();
    assert_eq!(pair.a.channel.latest().version, 0);
    assert!(pair
        .a
        .events
        .contains(&ChannelEvent::UpdateDiscarded { version: 1 }));
    // The driver retries.
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.pump();
    pair.assert_agree();
    assert_eq!(balances(pair.b.channel.latest(), 0), vec![90, 110]);
}

#[test]
fn an_accept_lost_in_a_crash_is_recovered_from_the_peer() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.deliver(true);
    // B persisted version 1 and sent its accept; A crashes before reading it.
    assert_eq!(pair.b.channel.latest().version, 1);
    pair.a.crash_and_restore();
    resync(&mut pair);
    pair.assert_agree();
    assert_eq!(pair.a.channel.latest().version, 1);
    assert!(pair
        .a
        .events
        .contains(&ChannelEvent::UpdateAccepted { version: 1 }));
    assert_eq!(
        Channel::restore_from_records(&pair.a.store).unwrap(),
        pair.a.channel
    );
}

#[test]
fn a_receiver_that_crashed_before_answering_makes_the_proposer_discard() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.b.policy = |_| Err("unreachable: B crashes first".into());
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    // B receives the proposal but crashes before deciding (the policy is never reached).
    let proposal = pair.a.outbox.pop_front().unwrap();
    let crypto = pair.crypto.clone();
    pair.b.channel.on_message(0, proposal, &crypto).unwrap();
    assert!(pair.b.channel.awaiting_decision().is_some());
    pair.b.crash_and_restore();
    assert!(pair.b.channel.awaiting_decision().is_none());
    resync(&mut pair);
    pair.assert_agree();
    assert_eq!(pair.a.channel.latest().version, 0);
    assert!(pair
        .a
        .events
        .contains(&ChannelEvent::UpdateDiscarded { version: 1 }));
}

#[test]
fn an_undecided_proposal_is_dropped_on_both_sides_after_a_reconnect() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    let proposal = pair.a.outbox.pop_front().unwrap();
    let crypto = pair.crypto.clone();
    pair.b.channel.on_message(0, proposal, &crypto).unwrap();
    // The connection drops; nobody crashed.
    resync(&mut pair);
    pair.assert_agree();
    assert!(pair.b.channel.awaiting_decision().is_none());
    assert!(pair
        .b
        .events
        .contains(&ChannelEvent::UpdateDiscarded { version: 1 }));
}

#[test]
fn a_crash_while_opening_is_recovered() {
    let crypto = FakeCrypto::new(2);
    let proposal = proposal(&crypto, vec![vec![5, 5]]);
    let accept = accept(&crypto);
    for a_saw_b in [false, true] {
        let (a, a_fx) =
            Channel::open(&proposal, &accept, &crypto.participant(0), &crypto, &crypto).unwrap();
        let (b, b_fx) =
            Channel::open(&proposal, &accept, &crypto.participant(1), &crypto, &crypto).unwrap();
        let mut a_node = Node::new(a);
        a_node.run(&crypto, a_fx);
        let mut b_node = Node::new(b);
        b_node.run(&crypto, b_fx);
        if a_saw_b {
            // B's signature reached A (A is in Funding); A's never reached B.
            let sig = b_node.outbox.pop_front().unwrap();
            a_node.receive(&crypto, sig);
            assert_eq!(a_node.channel.phase(), Phase::Funding);
        }
        // Both crash with their messages unsent.
        a_node.crash_and_restore();
        b_node.crash_and_restore();
        let mut pair = Pair {
            crypto: crypto.clone(),
            a: a_node,
            b: b_node,
        };
        resync(&mut pair);
        pair.assert_agree();
        assert_eq!(pair.a.channel.phase(), Phase::Funding);
        assert_eq!(pair.b.channel.phase(), Phase::Funding);
    }
}

#[test]
fn a_reply_that_breaks_a_rule_but_proves_nothing_is_refused_and_keeps_us_syncing() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.pump();
    let crypto = pair.crypto.clone();
    let good = pair.b.channel.fully_signed().unwrap();
    let id = pair.a.channel.id();

    // Without a request, a reply is unexpected.
    let reply = |latest: FullySignedState| SyncReply {
        channel_id: id,
        latest,
        pending: None,
    };
    assert_eq!(
        pair.a
            .channel
            .on_sync_reply(1, reply(good.clone()), &crypto)
            .unwrap_err(),
        ChannelError::UnexpectedSyncReply
    );

    let effects = pair.a.channel.sync_request();
    pair.a.run(&crypto, effects);
    let before = pair.a.channel.clone();

    // Newer versions signed by both (our own signature verifies: we cannot blame the peer)
    // that break the rules an update must keep: the re-synchronisation applies them too.
    let signed_by_both = |change: &dyn Fn(&mut parley_plugin_api::model::State)| {
        let mut state = good.state.clone();
        state.version += 1;
        change(&mut state);
        FullySignedState {
            sigs: vec![crypto.sign_as(0, &state), crypto.sign_as(1, &state)],
            state,
        }
    };
    let inflated = signed_by_both(&|s| s.allocation.balances[0][1] = Amount::from(1_000u64));
    // A lock both signed was checked by us when we signed it, but a final state with a lock
    // could never settle.
    let locked = signed_by_both(&|s| {
        s.is_final = true;
        s.allocation.balances[0][0] = Amount::from(0u64);
        s.allocation
            .locked
            .push(parley_plugin_api::model::SubAlloc {
                id: parley_plugin_api::model::ChannelId([4; 32]),
                balances: vec![Amount::from(90u64)],
                index_map: vec![0, 1],
            });
    });
    let app_data = signed_by_both(&|s| s.app_data = parley_plugin_api::codec::Bytes(vec![7]));
    let cases = [
        (
            inflated,
            crate::protocol::TransitionError::TotalChanged {
                asset: 0,
                before: Amount::from(200u64),
                after: Amount::from(1_090u64),
            },
        ),
        (
            locked,
            crate::protocol::TransitionError::FinalWithLocks { count: 1 },
        ),
        (app_data, crate::protocol::TransitionError::AppDataChanged),
    ];
    for (latest, expected) in cases {
        let error = SyncError::Transition(expected);
        assert!(!error.is_peer_fault());
        assert_eq!(
            pair.a
                .channel
                .on_sync_reply(1, reply(latest), &crypto)
                .unwrap_err(),
            ChannelError::Sync(error)
        );
        assert_eq!(pair.a.channel, before);
        assert!(pair.a.channel.is_syncing());
    }
    assert_eq!(
        pair.a
            .channel
            .pay(0, 1, Amount::from(1u64), &crypto)
            .unwrap_err(),
        ChannelError::Syncing
    );
    // The honest answer completes the sync.
    let effects = pair
        .a
        .channel
        .on_sync_reply(1, reply(good), &crypto)
        .unwrap();
    pair.a.run(&crypto, effects);
    assert!(!pair.a.channel.is_syncing());
}

#[test]
fn a_sync_reply_reveals_only_persisted_signatures() {
    // The bench's write-ahead check runs on every SyncReply sent in the tests above; here the
    // replier has a pending update, so that the `pending` field is exercised too.
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.a.outbox.clear();
    let crypto = pair.crypto.clone();
    let effects = pair.b.channel.sync_request();
    pair.b.run(&crypto, effects);
    pair.deliver(false);
    let Some(ChannelMessage::SyncReply(reply)) = pair.a.outbox.front().cloned() else {
        panic!("A answers with a SyncReply")
    };
    assert_eq!(reply.pending.as_ref().unwrap().0.version, 1);
    assert!(matches!(
        pair.a.store.last(),
        Some(PersistRecord::Pending(Some(_)))
    ));
}

#[test]
fn a_one_sided_resync_still_recovers_the_accept_the_other_side_lost() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.deliver(true);
    // B accepted version 1, but its accept is lost with the old connection; A never hears
    // of a reconnect, only B re-synchronises.
    assert_eq!(pair.b.channel.latest().version, 1);
    resync_sides(&mut pair, false);
    pair.assert_agree();
    assert_eq!(pair.a.channel.latest().version, 1);
    assert!(pair
        .a
        .events
        .contains(&ChannelEvent::UpdateAccepted { version: 1 }));
}

#[test]
fn a_one_sided_resync_discards_the_update_the_resyncing_side_dropped() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    // A's proposal is lost before B sees it; only B re-synchronises: A learns B is not ahead
    // and drops its update (the driver retries it), instead of waiting forever.
    resync_sides(&mut pair, false);
    pair.assert_agree();
    assert_eq!(pair.a.channel.latest().version, 0);
    assert!(pair
        .a
        .events
        .contains(&ChannelEvent::UpdateDiscarded { version: 1 }));
}

#[test]
fn a_side_without_a_pending_update_does_not_ask_back() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.a.outbox.clear();
    let effects = pair.b.channel.sync_request();
    pair.b.run(&pair.crypto.clone(), effects);
    pair.deliver(false);
    let answers: Vec<_> = pair.a.outbox.iter().map(ChannelMessage::kind).collect();
    assert_eq!(answers, ["sync_reply"], "one answer, no request back");
}

/// The accepter's opening signature is lost with a connection that was replaced, and only the
/// accepter re-synchronises (the proposer kept its route). The proposer answers with its own
/// signature and asks back for the one it lacks, so both end up holding version 0 fully
/// signed.
#[test]
fn an_opening_signature_lost_with_a_replaced_connection_is_asked_back() {
    let crypto = FakeCrypto::new(2);
    let proposal = proposal(&crypto, vec![vec![5, 5]]);
    let accept = accept(&crypto);
    let (a, a_fx) =
        Channel::open(&proposal, &accept, &crypto.participant(0), &crypto, &crypto).unwrap();
    let (b, b_fx) =
        Channel::open(&proposal, &accept, &crypto.participant(1), &crypto, &crypto).unwrap();
    let mut pair = Pair {
        crypto: crypto.clone(),
        a: Node::new(a),
        b: Node::new(b),
    };
    pair.a.run(&crypto, a_fx);
    pair.b.run(&crypto, b_fx);
    // A's signature reaches B; B's is lost.
    let a_sig = pair.a.outbox.pop_front().unwrap();
    pair.b.receive(&crypto, a_sig);
    assert_eq!(pair.b.channel.phase(), Phase::Funding);
    assert_eq!(pair.a.channel.phase(), Phase::Opening);
    resync_sides(&mut pair, false);
    pair.assert_agree();
    assert_eq!(pair.a.channel.phase(), Phase::Funding);
}
