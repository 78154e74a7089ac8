//! Moving to `Disputed`: which phases may, what happens to half-done updates, and that a
//! disputed channel neither proposes nor accepts updates but still adopts the accept of its
//! own update (a newer state to refute with) and survives a restart with it.

use super::harness::*;
use crate::protocol::channel::ChannelError;
use crate::protocol::effect::ChannelEvent;
use crate::protocol::messages::{ChannelMessage, RejectReason};
use crate::protocol::phase::Phase;
use parley_plugin_api::model::Amount;

fn pay(pair: &mut Pair, on_a: bool, amount: u64) {
    pair.act(on_a, |c, crypto| {
        let to = c.peer_index();
        c.pay(0, to, Amount::from(amount), crypto)
    });
}

#[test]
fn only_a_fully_signed_channel_that_is_not_final_can_be_disputed() {
    let mut pair = Pair::opened(vec![vec![10, 10]]);
    // Funding: version 0 is fully signed, so it can be registered (recovering deposits).
    let effects = pair.a.channel.dispute().unwrap();
    pair.a.run(&pair.crypto, effects);
    assert_eq!(pair.a.channel.phase(), Phase::Disputed);
    assert!(pair.a.events.contains(&ChannelEvent::PhaseChanged {
        from: Phase::Funding,
        to: Phase::Disputed
    }));
    assert_eq!(
        pair.a.durable().phase,
        Phase::Disputed,
        "the phase is persisted"
    );
    // Idempotent.
    assert_eq!(pair.a.channel.dispute().unwrap(), Vec::new());

    let mut closing = Pair::active(vec![vec![10, 10]]);
    closing.act(true, |c, crypto| c.propose_final(crypto));
    closing.pump();
    assert_eq!(closing.a.channel.phase(), Phase::Closing);
    assert_eq!(
        closing.a.channel.dispute().unwrap_err(),
        ChannelError::WrongPhase {
            action: "dispute",
            phase: Phase::Closing
        }
    );
    let effects = closing.a.channel.concluded().unwrap();
    closing.a.run(&closing.crypto, effects);
    assert!(matches!(
        closing.a.channel.dispute(),
        Err(ChannelError::WrongPhase {
            phase: Phase::Closed,
            ..
        })
    ));
}

#[test]
fn a_disputed_channel_refuses_updates_both_ways() {
    let mut pair = Pair::active(vec![vec![10, 10]]);
    pay(&mut pair, true, 3);
    pair.pump();
    pair.act(true, |c, _| c.dispute());
    assert!(matches!(
        pair.a.channel.pay(0, 1, Amount::from(1u64), &pair.crypto),
        Err(ChannelError::WrongPhase {
            phase: Phase::Disputed,
            ..
        })
    ));
    // B does not know yet and proposes; A answers with a reject instead of signing.
    pay(&mut pair, false, 2);
    pair.deliver(false);
    let answer = pair.a.outbox.pop_front().expect("A answers");
    let ChannelMessage::UpdateReject(reject) = answer else {
        panic!("expected a reject, got {answer:?}");
    };
    assert!(matches!(reject.reason, RejectReason::Invalid(_)));
    assert_eq!(pair.a.channel.latest().version, 1);
    assert_eq!(balances(pair.a.channel.latest(), 0), vec![7, 13]);
}

#[test]
fn the_peers_unanswered_update_is_dropped_and_our_pending_one_is_kept() {
    let mut pair = Pair::active(vec![vec![10, 10]]);
    // B's proposal reaches A, who has not answered yet (the user decides).
    pair.a.policy = |_| Err("never".into());
    pay(&mut pair, false, 4);
    let proposal = pair.b.outbox.pop_front().unwrap();
    let effects = pair
        .a
        .channel
        .on_message(1, proposal, &pair.crypto)
        .unwrap();
    // Run without the policy answering: keep the update awaiting.
    for effect in effects {
        if let crate::protocol::effect::Effect::Event(event) = effect {
            pair.a.events.push(event);
        }
    }
    assert!(pair.a.channel.awaiting_decision().is_some());
    pair.a.take_events();
    pair.act(true, |c, _| c.dispute());
    assert!(pair.a.channel.awaiting_decision().is_none());
    assert!(pair
        .a
        .events
        .contains(&ChannelEvent::UpdateDiscarded { version: 1 }));

    // B's own pending update (its version 1) stays when B is disputed too: the peer may
    // have signed it.
    pair.act(false, |c, _| c.dispute());
    assert_eq!(pair.b.channel.pending().map(|p| p.state.version), Some(1));
}

#[test]
fn the_accept_of_our_pending_update_is_still_adopted_and_survives_a_restart() {
    let mut pair = Pair::active(vec![vec![10, 10]]);
    pay(&mut pair, true, 5);
    // B accepts; the accept is on its way when A learns of a dispute.
    pair.deliver(true);
    pair.act(true, |c, _| c.dispute());
    pair.a.crash_and_restore();
    assert_eq!(pair.a.channel.phase(), Phase::Disputed);
    assert_eq!(
        pair.a.channel.pending().map(|p| p.state.version),
        Some(1),
        "a restored disputed channel keeps its pending update"
    );
    pair.deliver(false);
    assert_eq!(pair.a.channel.latest().version, 1);
    assert_eq!(balances(pair.a.channel.latest(), 0), vec![5, 15]);
    assert!(pair.a.channel.pending().is_none());
    assert_eq!(pair.a.channel.phase(), Phase::Disputed);
    assert!(pair.a.errors.is_empty(), "{:?}", pair.a.errors);
}
