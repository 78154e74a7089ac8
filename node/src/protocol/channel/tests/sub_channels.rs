//! Sub-channels, sans-IO: a child opened under a parent, its funds locked by one update of the
//! parent, payments in the parent beside it, its final outcome merged back; and every way a
//! lock or merge the node cannot stand behind is refused.

use super::harness::{accept, balances, proposal, Node, Pair};
use crate::protocol::channel::{Channel, ChannelError};
use crate::protocol::effect::ChannelEvent;
use crate::protocol::phase::Phase;
use crate::protocol::transition::TransitionError;
use parley_plugin_api::model::{Allocation, Amount, ChannelId, Params, Sig, SignedState, State};

/// A child of `parent` opened by both sides with `balances` (one asset): both in `Funding`.
fn child_of(parent: &Pair, balances: [u64; 2], nonce: u8) -> Pair {
    let crypto = parent.crypto.clone();
    let mut proposal = proposal(&crypto, vec![balances.to_vec()]);
    proposal.proposal_id.0 = [nonce; 32];
    proposal.nonce_share = [nonce; 32];
    proposal.ledger_channel = false;
    proposal.parent = Some(parent.a.channel.id());
    let mut accept = accept(&crypto);
    accept.proposal_id = proposal.proposal_id;
    let open = |me: usize| {
        Channel::open(
            &proposal,
            &accept,
            &crypto.participant(me),
            &crypto,
            &crypto,
        )
        .unwrap()
    };
    let ((a, a_fx), (b, b_fx)) = (open(0), open(1));
    let mut child = Pair {
        a: Node::new(a),
        b: Node::new(b),
        crypto,
    };
    child.b.run(&child.crypto, b_fx);
    child.a.run(&child.crypto, a_fx);
    child.pump();
    assert_eq!(child.a.channel.phase(), Phase::Funding);
    assert_eq!(child.b.channel.phase(), Phase::Funding);
    child
}

/// Both parents learn the child's newest fully signed state.
fn tell_parents(parent: &mut Pair, child: &Pair) {
    let signed = child.a.channel.signed_state().unwrap();
    parent.a.channel.know_child(signed.clone());
    parent.b.channel.know_child(signed);
}

fn lock(parent: &mut Pair, child: ChannelId) {
    parent.act(true, |channel, crypto| channel.lock_child(child, crypto));
    parent.pump();
}

#[test]
fn a_child_is_funded_by_one_parent_update_and_merged_back_at_its_final_outcome() {
    let mut parent = Pair::active(vec![vec![10, 10]]);
    let mut child = child_of(&parent, [3, 2], 7);
    let id = child.a.channel.id();
    assert_eq!(
        *child.a.channel.funding(),
        crate::protocol::Funding::SubChannel {
            parent: parent.a.channel.id()
        }
    );
    tell_parents(&mut parent, &child);
    lock(&mut parent, id);
    parent.assert_agree();
    let state = parent.a.channel.latest().clone();
    assert_eq!(state.version, 1);
    assert_eq!(balances(&state, 0), vec![7, 8]);
    assert_eq!(parent.a.channel.locked_children(), vec![id]);
    // The lock is durable on both sides with the fully signed state.
    assert_eq!(parent.b.durable().latest.state, state);

    // Payments in the parent go on beside the child; the lock stays as it is.
    parent.act(false, |channel, crypto| {
        channel.pay(0, 0, Amount::from(1u64), crypto)
    });
    parent.pump();
    parent.assert_agree();
    assert_eq!(balances(parent.a.channel.latest(), 0), vec![8, 7]);

    // The child runs, then closes with A holding 4 and B 1.
    for side in [true, false] {
        child.act(side, |channel, _| channel.funded());
    }
    child.act(false, |channel, crypto| {
        channel.pay(0, 0, Amount::from(1u64), crypto)
    });
    child.pump();
    child.act(true, |channel, crypto| channel.propose_final(crypto));
    child.pump();
    child.assert_agree();
    assert!(child.a.channel.latest().is_final);

    tell_parents(&mut parent, &child);
    parent.act(false, |channel, crypto| channel.merge_child(id, crypto));
    parent.pump();
    parent.assert_agree();
    let merged = parent.a.channel.latest();
    assert_eq!(balances(merged, 0), vec![12, 8]);
    assert!(merged.allocation.locked.is_empty());
    // Conservation across the whole life: 20 in, 20 out.
    assert_eq!(
        merged.allocation.totals().unwrap(),
        vec![Amount::from(20u64)]
    );
}

#[test]
fn a_lock_of_a_child_the_node_does_not_hold_is_refused_with_the_reason() {
    let mut parent = Pair::active(vec![vec![10, 10]]);
    let child = child_of(&parent, [3, 2], 7);
    let id = child.a.channel.id();
    // Only A knows the child.
    parent
        .a
        .channel
        .know_child(child.a.channel.signed_state().unwrap());
    lock(&mut parent, id);
    let refused = parent.b.take_events().into_iter().find_map(|e| match e {
        ChannelEvent::UpdateRefused { error, .. } => Some(error.to_string()),
        _ => None,
    });
    let refused = refused.expect("B refuses the lock");
    assert!(
        refused.contains("holds no fully signed opening state"),
        "{refused}"
    );
    assert_eq!(parent.b.channel.latest().version, 0);
    assert!(parent.b.channel.latest().allocation.locked.is_empty());
}

#[test]
fn a_lock_the_parent_cannot_cover_is_refused_before_anything_is_signed() {
    let mut parent = Pair::active(vec![vec![2, 10]]);
    let child = child_of(&parent, [3, 2], 7);
    let id = child.a.channel.id();
    tell_parents(&mut parent, &child);
    let error = parent.a.channel.lock_child(id, &parent.crypto).unwrap_err();
    assert!(
        matches!(&error, ChannelError::Child { reason, .. } if reason.contains("has 2")),
        "{error}"
    );
    assert!(parent.a.channel.pending().is_none());
}

#[test]
fn a_merge_needs_the_final_state_and_a_parent_with_locks_cannot_be_finalised() {
    let mut parent = Pair::active(vec![vec![10, 10]]);
    let mut child = child_of(&parent, [3, 2], 7);
    let id = child.a.channel.id();
    tell_parents(&mut parent, &child);
    lock(&mut parent, id);
    let error = parent.a.channel.propose_final(&parent.crypto).unwrap_err();
    assert_eq!(error, ChannelError::ChildrenOpen { count: 1 });
    // Not final yet: no merge.
    for side in [true, false] {
        child.act(side, |channel, _| channel.funded());
    }
    tell_parents(&mut parent, &child);
    let error = parent
        .a
        .channel
        .merge_child(id, &parent.crypto)
        .unwrap_err();
    assert!(
        matches!(&error, ChannelError::Child { reason, .. } if reason.contains("final")),
        "{error}"
    );
}

#[test]
fn a_parent_update_that_moves_locked_funds_otherwise_is_refused() {
    let mut parent = Pair::active(vec![vec![10, 10]]);
    let child = child_of(&parent, [3, 2], 7);
    let id = child.a.channel.id();
    tell_parents(&mut parent, &child);
    lock(&mut parent, id);
    // A tries to take the child's funds back without its final state.
    let mut stolen = parent.a.channel.latest().clone();
    stolen.version += 1;
    stolen.allocation.locked.clear();
    stolen.allocation.balances[0][0] = Amount::from(12u64);
    stolen.allocation.balances[0][1] = Amount::from(8u64);
    let error = parent
        .a
        .channel
        .propose_update(stolen.clone(), &parent.crypto)
        .unwrap_err();
    assert!(
        matches!(error, ChannelError::Transition(TransitionError::TreeChange { child, .. }) if child == id),
        "{error}"
    );
    // A final state with a lock is refused too.
    let mut final_with_lock = parent.a.channel.latest().clone();
    final_with_lock.version += 1;
    final_with_lock.is_final = true;
    let error = parent
        .a
        .channel
        .propose_update(final_with_lock, &parent.crypto)
        .unwrap_err();
    assert_eq!(
        error,
        ChannelError::Transition(TransitionError::FinalWithLocks { count: 1 })
    );
}

#[test]
fn three_levels_lock_and_merge_bottom_up() {
    let mut root = Pair::active(vec![vec![10, 10]]);
    let mut middle = child_of(&root, [6, 6], 7);
    tell_parents(&mut root, &middle);
    lock(&mut root, middle.a.channel.id());
    for side in [true, false] {
        middle.act(side, |channel, _| channel.funded());
    }
    let leaf = child_of(&middle, [2, 1], 8);
    tell_parents(&mut middle, &leaf);
    lock(&mut middle, leaf.a.channel.id());
    middle.assert_agree();
    assert_eq!(balances(middle.a.channel.latest(), 0), vec![4, 5]);
    // The middle cannot be finalised while it locks the leaf.
    assert_eq!(
        middle.a.channel.propose_final(&middle.crypto).unwrap_err(),
        ChannelError::ChildrenOpen { count: 1 }
    );
    assert_eq!(balances(root.a.channel.latest(), 0), vec![4, 4]);
    assert_eq!(
        root.a.channel.latest().allocation.totals().unwrap(),
        vec![Amount::from(20u64)]
    );
}

/// A virtual child of the parent's participant 0 and a party outside the parent (`outsider`):
/// its opening state, as both of its participants signed it (the signatures are not checked
/// by a lock).
fn virtual_child(parent: &Pair, outsider: parley_plugin_api::model::Participant) -> SignedState {
    let params = Params {
        participants: vec![parent.crypto.participant(0), outsider],
        challenge_duration: 60,
        nonce: [9; 32],
        app: None,
        ledger_channel: false,
        virtual_channel: true,
    };
    let assets = parent.a.channel.latest().allocation.assets.clone();
    SignedState {
        params,
        state: State {
            channel_id: ChannelId([0x77; 32]),
            version: 0,
            allocation: Allocation {
                assets,
                balances: vec![vec![Amount::from(4u64), Amount::from(3u64)]],
                locked: Vec::new(),
            },
            app_data: Default::default(),
            is_final: false,
        },
        sigs: vec![Sig(vec![1; 65]), Sig(vec![2; 65])],
    }
}

#[test]
fn a_virtual_child_is_locked_with_the_other_participant_standing_in_for_the_outsider() {
    // The parent is the channel of an end (participant 0) with the intermediary (1).
    let mut parent = Pair::active(vec![vec![10, 10]]);
    let outsider = parley_plugin_api::model::Participant(vec![0xee; 20]);
    let child = virtual_child(&parent, outsider);
    let id = child.state.channel_id;
    parent.a.channel.know_child(child.clone());
    parent.b.channel.know_child(child.clone());
    // What the end proposes: its own share from its balance, the outsider's from the
    // intermediary's, under the index map [0, 1].
    let next = crate::protocol::tree::lock_virtual(
        &parent.a.channel.record.params,
        parent.a.channel.latest(),
        &child.params,
        &child.state,
        vec![0, 1],
    )
    .unwrap();
    assert_eq!(balances(&next, 0), vec![6, 7]);
    // The intermediary is not in the child: it must hold the lock for its twin; the end is.
    assert_eq!(parent.b.channel.virtual_lock_to_match(&next), Some(id));
    assert_eq!(parent.a.channel.virtual_lock_to_match(&next), None);
    // A sub-channel's lock (both participants in the child) is never held.
    assert_eq!(
        parent
            .b
            .channel
            .virtual_lock_to_match(parent.a.channel.latest()),
        None
    );
    lock(&mut parent, id);
    parent.assert_agree();
    let locked = parent.b.channel.latest();
    assert_eq!(*locked, next);
    assert_eq!(locked.allocation.locked[0].index_map, vec![0, 1]);

    // A final state of a child the channel does not lock is not kept; one it locks is, and
    // merges its outcome back the way the index map says.
    let mut other = child.clone();
    other.state.channel_id = ChannelId([0x78; 32]);
    other.state.is_final = true;
    parent.b.channel.know_child(other);
    assert!(!parent
        .b
        .channel
        .children
        .contains_key(&ChannelId([0x78; 32])));
    let mut last = child;
    last.state.version = 9;
    last.state.is_final = true;
    last.state.allocation.balances = vec![vec![Amount::from(1u64), Amount::from(6u64)]];
    parent.a.channel.know_child(last.clone());
    parent.b.channel.know_child(last);
    parent.act(true, |channel, crypto| channel.merge_child(id, crypto));
    parent.pump();
    parent.assert_agree();
    // The end gets 1 back, the intermediary the outsider's 6: 20 in, 20 out.
    assert_eq!(balances(parent.a.channel.latest(), 0), vec![7, 13]);
}
