//! The update queue against two real channels (the harness of `channel::tests`).

use super::*;
use crate::protocol::channel::tests::harness::{balances, Pair};

fn pay(amount: u64) -> UpdateIntent {
    UpdateIntent::Pay {
        asset: 0,
        amount: Amount::from(amount),
    }
}

/// Starts A's next update and runs its effects; whether one started.
fn start(pair: &mut Pair, queue: &mut UpdateQueue<&'static str>) -> Option<Answer<&'static str>> {
    let crypto = pair.crypto.clone();
    match queue.start_next(&mut pair.a.channel, &crypto) {
        Started::Nothing => None,
        Started::Effects(effects) => {
            pair.a.run(&crypto, effects);
            queue.mark_sent();
            None
        }
        Started::Refused(answer) => Some(answer),
    }
}

/// Feeds A's events to the queue; the answers it owes.
fn follow(pair: &mut Pair, queue: &mut UpdateQueue<&'static str>) -> Vec<Answer<&'static str>> {
    pair.a
        .take_events()
        .iter()
        .flat_map(|event| queue.on_event(event))
        .collect()
}

/// A pair whose two sides hold `each`, and a queue of `payments` (amount, name), in order.
fn queued(each: u64, payments: &[(u64, &'static str)]) -> (Pair, UpdateQueue<&'static str>) {
    let pair = Pair::active(vec![vec![each, each]]);
    let mut queue = UpdateQueue::default();
    for &(amount, name) in payments {
        queue.push(pay(amount), name);
    }
    (pair, queue)
}

#[test]
fn updates_start_one_at_a_time_and_each_is_answered_with_its_version() {
    let mut pair = Pair::active(vec![vec![10, 10]]);
    let mut queue = UpdateQueue::default();
    queue.push(pay(1), "first");
    assert!(start(&mut pair, &mut queue).is_none());
    queue.push(pay(2), "second");
    assert!(queue.busy(&pair.a.channel));
    assert!(matches!(
        queue.start_next(&mut pair.a.channel, &pair.crypto.clone()),
        Started::Nothing
    ));
    assert_eq!(queue.waiting(), 1);

    pair.pump();
    assert_eq!(
        follow(&mut pair, &mut queue),
        vec![Answer::Done("first", 1)]
    );
    start(&mut pair, &mut queue);
    pair.pump();
    assert_eq!(
        follow(&mut pair, &mut queue),
        vec![Answer::Done("second", 2)]
    );
    assert_eq!(balances(pair.a.channel.latest(), 0), vec![7, 13]);
}

#[test]
fn only_a_waiting_request_is_withdrawn() {
    let mut pair = Pair::active(vec![vec![10, 10]]);
    let mut queue = UpdateQueue::default();
    queue.push(pay(1), "first");
    assert!(start(&mut pair, &mut queue).is_none());
    queue.push(pay(2), "second");
    queue.push(pay(3), "third");
    // The one in flight stays: its proposal is out.
    assert_eq!(queue.withdraw_waiting(|r| *r == "first"), None);
    assert_eq!(queue.withdraw_waiting(|r| *r == "second"), Some("second"));
    assert_eq!(queue.withdraw_waiting(|r| *r == "second"), None);
    assert_eq!(queue.waiting(), 1);
    pair.pump();
    assert_eq!(
        follow(&mut pair, &mut queue),
        vec![Answer::Done("first", 1)]
    );
    assert!(start(&mut pair, &mut queue).is_none());
    pair.pump();
    assert_eq!(
        follow(&mut pair, &mut queue),
        vec![Answer::Done("third", 2)]
    );
}

#[test]
fn a_refused_start_is_answered_and_the_next_request_can_start() {
    let (mut pair, mut queue) = queued(10, &[(11, "overdraft"), (1, "fine")]);
    match start(&mut pair, &mut queue) {
        Some(Answer::Failed("overdraft", UpdateFailure::Channel(_))) => {}
        other => panic!("expected the overdraft refused, got {other:?}"),
    }
    assert!(start(&mut pair, &mut queue).is_none());
    pair.pump();
    assert_eq!(follow(&mut pair, &mut queue), vec![Answer::Done("fine", 1)]);
}

#[test]
fn a_rejected_update_fails_with_the_peers_reason() {
    let mut pair = Pair::active(vec![vec![10, 10]]);
    pair.b.policy = |_| Err("not today".to_string());
    let mut queue = UpdateQueue::default();
    queue.push(pay(1), "pay");
    start(&mut pair, &mut queue);
    pair.pump();
    match follow(&mut pair, &mut queue).as_slice() {
        [Answer::Failed("pay", UpdateFailure::Rejected(RejectReason::Declined(reason)))] => {
            assert_eq!(reason, "not today")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(!queue.busy(&pair.a.channel));
}

/// B pays A alone (no race) and both sides settle.
fn b_pays(pair: &mut Pair) {
    let crypto = pair.crypto.clone();
    pair.act(false, |channel, _| {
        channel.pay(0, 0, Amount::from(1u64), &crypto)
    });
    pair.pump();
}

/// A starts its next queued update while B proposes one at the same time; the answers A's
/// queue owes afterwards.
fn race(pair: &mut Pair, queue: &mut UpdateQueue<&'static str>) -> Vec<Answer<&'static str>> {
    start(pair, queue);
    let crypto = pair.crypto.clone();
    pair.act(false, |channel, _| {
        channel.pay(0, 0, Amount::from(1u64), &crypto)
    });
    pair.pump();
    follow(pair, queue)
}

#[test]
fn an_update_that_loses_a_race_is_retried_once_and_wins_its_retry() {
    let mut pair = Pair::active(vec![vec![10, 10]]);
    let mut queue = UpdateQueue::default();
    b_pays(&mut pair);
    queue.push(pay(1), "ours");
    // Version 2 goes to B (whose update lands at 3), so A's update loses and waits first in
    // line...
    assert_eq!(crate::protocol::channel::race_winner(2), 1);
    assert_eq!(race(&mut pair, &mut queue), vec![]);
    assert_eq!(pair.a.channel.latest().version, 3);
    assert_eq!(queue.waiting(), 1);
    // ...then starts again on top of B's state and becomes version 4.
    start(&mut pair, &mut queue);
    pair.pump();
    assert_eq!(follow(&mut pair, &mut queue), vec![Answer::Done("ours", 4)]);
}

#[test]
fn a_retried_update_that_loses_again_fails() {
    let mut pair = Pair::active(vec![vec![10, 10]]);
    let mut queue = UpdateQueue::default();
    b_pays(&mut pair);
    queue.push(pay(1), "unlucky");
    assert_eq!(race(&mut pair, &mut queue), vec![]);
    // B's update landed at 3; B moves the channel to version 5 alone; the retry then races
    // for version 6, which B wins again.
    let retry = queue.waiting();
    assert_eq!(retry, 1);
    b_pays(&mut pair);
    b_pays(&mut pair);
    assert_eq!(crate::protocol::channel::race_winner(6), 1);
    let answers = race(&mut pair, &mut queue);
    assert_eq!(
        answers,
        vec![Answer::Failed(
            "unlucky",
            UpdateFailure::Superseded { version: 6 }
        )]
    );
    assert_eq!(queue.waiting(), 0);
}

#[test]
fn draining_hands_back_the_update_in_flight_and_the_waiting_ones() {
    let mut pair = Pair::active(vec![vec![10, 10]]);
    let mut queue = UpdateQueue::default();
    queue.push(pay(1), "in flight");
    start(&mut pair, &mut queue);
    queue.push(pay(1), "waiting");
    let (in_flight, waiting) = queue.drain();
    let in_flight = in_flight.expect("one in flight");
    assert!(in_flight.sent);
    assert_eq!(in_flight.version, 1);
    assert_eq!(in_flight.into_replies().collect::<Vec<_>>(), ["in flight"]);
    assert_eq!(waiting, vec!["waiting"]);
    assert!(!queue.busy(&pair.b.channel));
}

#[test]
fn payments_queued_together_go_as_one_update_and_each_is_answered_with_its_version() {
    let (mut pair, mut queue) = queued(100, &[(1, "a"), (2, "b"), (3, "c")]);
    assert!(start(&mut pair, &mut queue).is_none());
    assert_eq!(queue.waiting(), 0, "all three in the one update");
    pair.pump();
    assert_eq!(
        follow(&mut pair, &mut queue),
        vec![
            Answer::Done("a", 1),
            Answer::Done("b", 1),
            Answer::Done("c", 1)
        ]
    );
    assert_eq!(balances(pair.a.channel.latest(), 0), vec![94, 106]);
}

#[test]
fn a_batch_takes_what_the_balance_covers_and_at_most_max_batch() {
    let (mut pair, mut queue) = queued(10, &[(4, "a"), (4, "b"), (4, "c")]);
    start(&mut pair, &mut queue);
    assert_eq!(queue.waiting(), 1, "the third would overdraw");
    pair.pump();
    assert_eq!(
        follow(&mut pair, &mut queue),
        vec![Answer::Done("a", 1), Answer::Done("b", 1)]
    );
    match start(&mut pair, &mut queue) {
        Some(Answer::Failed("c", UpdateFailure::Channel(_))) => {}
        other => panic!("expected the overdraft refused, got {other:?}"),
    }

    let (mut pair, mut queue) = queued(100, &[(1, "one"); MAX_BATCH + 3]);
    start(&mut pair, &mut queue);
    assert_eq!(queue.waiting(), 3);
    pair.pump();
    assert_eq!(follow(&mut pair, &mut queue).len(), MAX_BATCH);
    start(&mut pair, &mut queue);
    pair.pump();
    assert_eq!(follow(&mut pair, &mut queue).len(), 3);
    assert_eq!(pair.a.channel.latest().version, 2);
}

#[test]
fn a_rejected_batch_goes_again_one_payment_at_a_time() {
    let (mut pair, mut queue) = queued(10, &[(2, "a"), (2, "b")]);
    // B takes at most 12 in all: the batch of 2 + 2 is too much, the first 2 alone is not.
    pair.b.policy = |state| {
        if balances(state, 0)[1] > 12 {
            Err("too much".to_string())
        } else {
            Ok(())
        }
    };
    start(&mut pair, &mut queue);
    pair.pump();
    assert_eq!(follow(&mut pair, &mut queue), vec![], "no answer yet");
    assert_eq!(queue.waiting(), 2);
    start(&mut pair, &mut queue);
    assert_eq!(queue.waiting(), 1, "alone now");
    pair.pump();
    assert_eq!(follow(&mut pair, &mut queue), vec![Answer::Done("a", 2)]);
    start(&mut pair, &mut queue);
    pair.pump();
    match follow(&mut pair, &mut queue).as_slice() {
        [Answer::Failed("b", UpdateFailure::Rejected(RejectReason::Declined(reason)))] => {
            assert_eq!(reason, "too much")
        }
        other => panic!("expected b rejected, got {other:?}"),
    }
}

#[test]
fn a_batch_that_loses_a_race_is_retried_whole() {
    let (mut pair, mut queue) = queued(10, &[(1, "a"), (2, "b")]);
    b_pays(&mut pair);
    assert_eq!(race(&mut pair, &mut queue), vec![]);
    assert_eq!(queue.waiting(), 2);
    start(&mut pair, &mut queue);
    pair.pump();
    assert_eq!(
        follow(&mut pair, &mut queue),
        vec![Answer::Done("a", 4), Answer::Done("b", 4)]
    );
    assert_eq!(balances(pair.a.channel.latest(), 0), vec![9, 11]);
}
