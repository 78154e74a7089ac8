//! One version, one state: a party must never sign two different states of the same version,
//! or a peer that kept the first signature can register whichever of the two pays it more if
//! the channel ends at that version.
//!
//! The rule is `update.rs`'s "One version, one state"; the harness checks it on every state
//! any test signs (`Node::note_signed`), and these tests drive the paths that once broke it.

use super::harness::*;
use crate::protocol::effect::ChannelEvent;
use crate::protocol::messages::{ChannelMessage, RejectReason};
use crate::protocol::record::PersistRecord;
use parley_plugin_api::model::{Amount, State};
use std::collections::VecDeque;

/// The state of the proposal first in `outbox`.
fn proposed(outbox: &VecDeque<ChannelMessage>) -> State {
    match outbox.front() {
        Some(ChannelMessage::UpdateProposal(proposal)) => proposal.state.clone(),
        other => panic!("expected a proposal first, found {other:?}"),
    }
}

fn assert_one_state_per_version(first: &State, second: &State) {
    assert!(
        first.version != second.version || first == second,
        "signed two different states of version {}",
        first.version
    );
}

#[test]
fn a_rejected_proposal_s_version_is_not_signed_again_for_another_state() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.b.policy = |_| Err("not now".into());
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    let rejected = proposed(&pair.a.outbox);
    pair.pump();
    assert!(pair
        .a
        .events
        .iter()
        .any(|e| matches!(e, ChannelEvent::UpdateRejected { .. })));
    // B kept A's signature on `rejected`. Now B pays A, and A accepts.
    pair.b.policy = accept_all;
    pair.act(false, |c, s| c.pay(0, 0, Amount::from(5u64), s));
    pair.pump();
    pair.assert_agree();
    assert_one_state_per_version(&rejected, pair.a.channel.latest());
}

#[test]
fn the_loser_of_a_race_does_not_sign_the_winners_state_of_its_own_version() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.act(false, |c, s| c.pay(0, 0, Amount::from(20u64), s));
    // Version 1: A (index 0) wins; B signed its own proposal of version 1.
    let losers = proposed(&pair.b.outbox);
    pair.pump();
    pair.assert_agree();
    assert_one_state_per_version(&losers, pair.b.channel.latest());
}

/// Both sides re-synchronise, as after a reconnect.
fn resync(pair: &mut Pair) {
    pair.reconnect(true, true);
}

#[test]
fn a_rejected_version_stays_spent_across_a_restart() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.b.policy = |_| Err("not now".into());
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.pump();
    // The pending slot keeps the withdrawn proposal, so a restart still knows version 1.
    assert_eq!(pair.a.durable().pending.unwrap().state.version, 1);
    pair.a.crash_and_restore();
    resync(&mut pair);
    pair.b.policy = accept_all;
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(3u64), s));
    pair.pump();
    pair.assert_agree();
    // Version 2 went to the restart (a proposal may leave before its record is durable).
    assert_eq!(pair.a.channel.latest().version, 3);
    assert_eq!(balances(pair.a.channel.latest(), 0), vec![97, 103]);
    // Covered by the newest state, the withdrawn proposal leaves the slot.
    assert!(pair.a.durable().pending.is_none());
}

#[test]
fn a_restart_tells_the_peer_which_versions_it_spent() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    // A's proposal of version 1 is persisted and lost with the connection; A restarts, which
    // spends version 2 as well, and only A asks B (B has nothing in flight, so it does not
    // ask back).
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.a.crash_and_restore();
    pair.reconnect(true, false);
    assert!(pair
        .a
        .events
        .contains(&ChannelEvent::UpdateDiscarded { version: 1 }));
    // A's request named version 2: B's proposal goes above it at once.
    pair.act(false, |c, s| c.pay(0, 0, Amount::from(5u64), s));
    pair.pump();
    pair.assert_agree();
    assert_eq!(pair.b.channel.latest().version, 3);
    assert_eq!(balances(pair.b.channel.latest(), 0), vec![105, 95]);
}

#[test]
fn a_proposal_at_a_version_the_peer_spent_is_answered_concurrent_and_goes_above() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    // A knows version 1 spent and B does not (say A's word of it was lost).
    pair.a.channel.spent = 1;
    pair.act(false, |c, s| c.pay(0, 0, Amount::from(5u64), s));
    pair.pump();
    assert!(pair.b.events.contains(&ChannelEvent::UpdateRejected {
        version: 1,
        reason: RejectReason::Concurrent
    }));
    assert_eq!(pair.a.channel.latest().version, 0);
    // B now knows version 1 is spent; its retry goes above it.
    pair.act(false, |c, s| c.pay(0, 0, Amount::from(5u64), s));
    pair.pump();
    pair.assert_agree();
    assert_eq!(pair.b.channel.latest().version, 2);
    assert_eq!(balances(pair.b.channel.latest(), 0), vec![105, 95]);
}

#[test]
fn a_proposal_the_peer_saw_and_resync_dropped_is_spent_on_both_sides() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.b.policy = |_| Err("ask me later".into());
    // B receives A's proposal but its answer is lost with the connection.
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.deliver(true);
    pair.b.outbox.clear();
    pair.b.policy = accept_all;
    resync(&mut pair);
    // Either side's next update goes above version 1 at once.
    pair.act(false, |c, s| c.pay(0, 0, Amount::from(5u64), s));
    pair.pump();
    pair.assert_agree();
    assert_eq!(pair.a.channel.latest().version, 2);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(1u64), s));
    pair.pump();
    pair.assert_agree();
    assert_eq!(pair.a.channel.latest().version, 3);
}

/// A's newest proposal left before its record was durable, and a crash lost the record (a
/// driver may send a proposal one above every state its records hold before writing it).
fn crash_forgetting_the_proposal(pair: &mut Pair) {
    let last = pair.a.store.pop();
    assert!(
        matches!(last, Some(PersistRecord::Pending(Some(_)))),
        "the proposal's record is the last write"
    );
    pair.a.crash_and_restore();
}

/// What becomes of A's proposal, which B's policy refuses: B rejects it, B got it and its
/// answer is lost, or it never reached B.
fn meet_fate(pair: &mut Pair, fate: &str) {
    match fate {
        "rejected" => pair.pump(),
        "unanswered" => {
            pair.deliver(true);
            pair.b.outbox.clear();
        }
        _ => pair.a.outbox.clear(),
    }
}

/// With B accepting again, A pays 4 and B pays 1, and both agree.
fn pay_both_ways(pair: &mut Pair) {
    pair.b.policy = accept_all;
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(4u64), s));
    pair.pump();
    pair.act(false, |c, s| c.pay(0, 0, Amount::from(1u64), s));
    pair.pump();
    pair.assert_agree();
}

#[test]
fn a_proposal_a_crash_forgot_is_not_signed_again_for_another_state() {
    // The peer got it and rejected it, kept it unanswered, or never got it; the restarted node
    // signs nothing else at its version (the harness checks every state either side signs).
    for fate in ["rejected", "unanswered", "lost"] {
        let mut pair = Pair::active(vec![vec![100, 100]]);
        pair.b.policy = |_| Err("not now".into());
        pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
        meet_fate(&mut pair, fate);
        crash_forgetting_the_proposal(&mut pair);
        assert_eq!(pair.a.channel.pending(), None, "{fate}");
        resync(&mut pair);
        pay_both_ways(&mut pair);
        assert_eq!(
            balances(pair.a.channel.latest(), 0),
            vec![97, 103],
            "{fate}"
        );
        assert!(pair.a.channel.latest().version >= 3, "{fate}");
    }
}

#[test]
fn a_recorded_restart_lets_the_next_proposal_leave_first_and_a_crash_that_forgot_it_spends_it() {
    for fate in ["rejected", "unanswered", "lost"] {
        let mut pair = Pair::active(vec![vec![100, 100]]);
        pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
        pair.pump();
        pair.a.crash_and_restore();
        // The restart spent version 2 in memory only: a proposal of 3 would be two above
        // the records, so it would have to be durable before it left.
        assert_eq!(pair.a.channel.highest_signed_version(), 1);
        assert_eq!(pair.a.channel.unrecorded_restart_spent(), Some(2), "{fate}");
        pair.a.record_restart_spent();
        assert_eq!(pair.a.channel.highest_signed_version(), 2);
        assert_eq!(pair.a.channel.unrecorded_restart_spent(), None);
        resync(&mut pair);
        pair.b.policy = |_| Err("not now".into());
        let recorded = pair.a.channel.highest_signed_version();
        pair.act(true, |c, s| c.pay(0, 1, Amount::from(4u64), s));
        // One above what the records hold: the driver may send it before its record.
        assert_eq!(proposed(&pair.a.outbox).version, recorded + 1);
        meet_fate(&mut pair, fate);
        crash_forgetting_the_proposal(&mut pair);
        // The records name version 2 as spent: this restart spends 3, the forgotten one's.
        assert_eq!(pair.a.channel.unrecorded_restart_spent(), Some(3), "{fate}");
        pair.a.record_restart_spent();
        resync(&mut pair);
        pay_both_ways(&mut pair);
        assert_eq!(
            balances(pair.a.channel.latest(), 0),
            vec![87, 113],
            "{fate}"
        );
        assert!(pair.a.channel.latest().version >= 4, "{fate}");
    }
}

#[test]
fn a_proposal_a_crash_forgot_that_the_peer_accepted_comes_back_with_resync() {
    let mut pair = Pair::active(vec![vec![100, 100]]);
    pair.act(true, |c, s| c.pay(0, 1, Amount::from(10u64), s));
    pair.deliver(true);
    // B accepted (durably); its accept is lost with A's crash.
    pair.b.outbox.clear();
    crash_forgetting_the_proposal(&mut pair);
    assert_eq!(pair.a.channel.latest().version, 0);
    resync(&mut pair);
    pair.assert_agree();
    assert_eq!(pair.a.channel.latest().version, 1);
    assert_eq!(balances(pair.a.channel.latest(), 0), vec![90, 110]);
}
