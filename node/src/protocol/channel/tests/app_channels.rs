//! App channels, sans-IO: the app's rules on opening and on every update either way, moves
//! from JSON, and what a channel without its app's rules may still do.
//!
//! The app here is a race to 3: app data is one byte, the count; participants take turns
//! (participant `count % 2` moves) adding one; the move that reaches 3 is final and gives the
//! mover both balances. Enough rules to be refused in every way a real app refuses.

use super::harness::{accept, proposal, Node, Pair};
use crate::protocol::app_rules::AppLookup;
use crate::protocol::channel::{Channel, ChannelError, OpenError};
use crate::protocol::effect::ChannelEvent;
use crate::protocol::messages::{ChannelMessage, RejectReason};
use crate::protocol::phase::Phase;
use crate::protocol::proposal::ProposalError;
use crate::protocol::test_support::FakeCrypto;
use crate::protocol::transition::TransitionError;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Address, Amount, Params, State};
use parley_plugin_api::{App, AppSamples, PluginError, PluginResult};
use std::sync::Arc;

struct RaceTo3;

const GOAL: u8 = 3;

impl App for RaceTo3 {
    fn init(&self, _: &Params, _: &str) -> PluginResult<Vec<u8>> {
        Ok(vec![0])
    }

    fn valid_init(&self, _: &Params, state: &State) -> PluginResult<()> {
        if state.app_data.0 == [0] {
            Ok(())
        } else {
            Err(PluginError::rejected("the count starts at 0"))
        }
    }

    fn valid_transition(
        &self,
        _: &Params,
        from: &State,
        to: &State,
        actor: u16,
    ) -> PluginResult<()> {
        let count = from.app_data.0[0];
        if usize::from(actor) != usize::from(count % 2) {
            return Err(PluginError::rejected("not the actor's turn"));
        }
        if to.app_data.0 != [count + 1] {
            return Err(PluginError::rejected("a move adds one"));
        }
        let won = count + 1 == GOAL;
        if to.is_final != won {
            return Err(PluginError::rejected(
                "final exactly when the goal is reached",
            ));
        }
        let expected = if won {
            let pot = from.allocation.balances[0][0]
                .checked_add(from.allocation.balances[0][1])
                .unwrap();
            let mut row = vec![Amount::ZERO; 2];
            row[usize::from(actor)] = pot;
            vec![row]
        } else {
            from.allocation.balances.clone()
        };
        if to.allocation.balances != expected {
            return Err(PluginError::rejected("only the winner takes the pot"));
        }
        Ok(())
    }

    fn describe(&self, _: &Params, state: &State) -> PluginResult<String> {
        Ok(format!("{{\"count\":{}}}", state.app_data.0[0]))
    }

    fn apply(
        &self,
        params: &Params,
        state: &State,
        action: &str,
        actor: u16,
    ) -> PluginResult<State> {
        if action != "{\"add\":1}" {
            return Err(PluginError::invalid("the move is {\"add\":1}"));
        }
        let count = state.app_data.0[0];
        let mut next = state.clone();
        next.version += 1;
        next.app_data = Bytes(vec![count + 1]);
        if count + 1 == GOAL {
            next.is_final = true;
            let pot = state.allocation.balances[0][0]
                .checked_add(state.allocation.balances[0][1])
                .unwrap();
            next.allocation.balances = vec![vec![Amount::ZERO; 2]];
            next.allocation.balances[0][usize::from(actor)] = pot;
        }
        self.valid_transition(params, state, &next, actor)?;
        Ok(next)
    }

    fn samples(&self) -> PluginResult<AppSamples> {
        Err(PluginError::unsupported("not used here"))
    }
}

fn app_address() -> Address {
    Address(vec![0xa9; 20])
}

/// A node that has the race app.
struct WithRace;

impl AppLookup for WithRace {
    fn rules(&self, address: &Address) -> Option<Arc<dyn App>> {
        (*address == app_address()).then(|| Arc::new(RaceTo3) as Arc<dyn App>)
    }
}

/// Both sides open a race channel (5 / 7) with the app and fund it.
fn race() -> Pair {
    let crypto = FakeCrypto::new(2);
    let mut proposal = proposal(&crypto, vec![vec![5, 7]]);
    proposal.app = Some(app_address());
    proposal.app_data = Bytes(vec![0]);
    let accept = accept(&crypto);
    let open = |me: usize| {
        Channel::open_with_apps(
            &proposal,
            &accept,
            &crypto.participant(me),
            &crypto,
            &crypto,
            &WithRace,
        )
        .unwrap()
    };
    let ((a, a_fx), (b, b_fx)) = (open(0), open(1));
    let mut pair = Pair {
        a: Node::new(a),
        b: Node::new(b),
        crypto,
    };
    pair.b.run(&pair.crypto, b_fx);
    pair.a.run(&pair.crypto, a_fx);
    pair.pump();
    for a in [true, false] {
        pair.act(a, |channel, _| channel.funded());
        pair.node(a).take_events();
    }
    assert_eq!(pair.a.channel.phase(), Phase::Active);
    pair
}

/// `on_a` moves; the update is pumped to completion.
fn add(pair: &mut Pair, on_a: bool) {
    pair.act(on_a, |channel, crypto| {
        channel.app_move("{\"add\":1}", crypto)
    });
    pair.pump();
}

#[test]
fn a_node_without_the_app_refuses_the_proposal_and_an_app_may_refuse_the_opening() {
    let crypto = FakeCrypto::new(2);
    let mut proposal = proposal(&crypto, vec![vec![5, 7]]);
    proposal.app = Some(app_address());
    proposal.app_data = Bytes(vec![0]);
    let accept = accept(&crypto);
    let without = Channel::open(&proposal, &accept, &crypto.participant(1), &crypto, &crypto);
    assert!(
        matches!(without, Err(OpenError::Proposal(ProposalError::App { .. }))),
        "{without:?}"
    );
    proposal.app_data = Bytes(vec![2]);
    let refused = Channel::open_with_apps(
        &proposal,
        &accept,
        &crypto.participant(1),
        &crypto,
        &crypto,
        &WithRace,
    );
    match refused {
        Err(OpenError::AppInit { reason, .. }) => assert!(reason.contains("starts at 0")),
        other => panic!("expected the app's refusal, got {other:?}"),
    }
}

#[test]
fn moves_alternate_and_the_winning_move_is_final_with_the_pot() {
    let mut pair = race();
    add(&mut pair, true);
    add(&mut pair, false);
    assert_eq!(pair.b.channel.latest().app_data.0, [2]);
    assert_eq!(
        pair.a.channel.describe_app(),
        Some(Ok("{\"count\":2}".into()))
    );
    add(&mut pair, true);
    for node in [&pair.a, &pair.b] {
        let latest = node.channel.latest();
        assert!(latest.is_final);
        assert_eq!(latest.version, 3);
        assert_eq!(
            latest.allocation.balances,
            [[Amount::from(12u64), Amount::ZERO]]
        );
        assert_eq!(node.channel.phase(), Phase::Closing);
    }
}

#[test]
fn our_move_out_of_turn_is_refused_before_anything_is_signed() {
    let mut pair = race();
    let refused = pair.b.channel.app_move("{\"add\":1}", &pair.crypto.clone());
    match refused {
        Err(ChannelError::MoveRefused { reason }) => assert!(reason.contains("turn")),
        other => panic!("expected the app's refusal, got {other:?}"),
    }
    let bad = pair.a.channel.app_move("{\"sub\":1}", &pair.crypto.clone());
    assert!(
        matches!(bad, Err(ChannelError::MoveRefused { .. })),
        "{bad:?}"
    );
    assert!(pair.a.channel.pending().is_none() && pair.b.channel.pending().is_none());
}

#[test]
fn a_peer_update_the_app_refuses_is_rejected_with_the_reason_and_never_signed() {
    let mut pair = race();
    // A's node is broken: it signs a state in which it takes the pot at once.
    let mut cheat = pair.a.channel.latest().clone();
    cheat.version += 1;
    cheat.app_data = Bytes(vec![1]);
    cheat.allocation.balances = vec![vec![Amount::from(12u64), Amount::ZERO]];
    let sig = pair.crypto.sign_as(0, &cheat);
    let message = ChannelMessage::UpdateProposal(crate::protocol::messages::UpdateProposal {
        channel_id: cheat.channel_id,
        state: cheat,
        sig,
        payment: None,
        batch: Vec::new(),
    });
    pair.b.receive(&pair.crypto.clone(), message);
    let refused = pair.b.take_events().into_iter().find_map(|e| match e {
        ChannelEvent::UpdateRefused { error, .. } => Some(error.to_string()),
        _ => None,
    });
    assert!(refused.unwrap().contains("only the winner takes the pot"));
    match pair.b.outbox.pop_front() {
        Some(ChannelMessage::UpdateReject(reject)) => assert!(matches!(
            reject.reason,
            RejectReason::Invalid(reason) if reason.contains("only the winner")
        )),
        other => panic!("expected a reject, got {other:?}"),
    }
    assert_eq!(pair.b.channel.latest().version, 0);
}

#[test]
fn a_payment_is_refused_in_an_app_channel() {
    let mut pair = race();
    let paid = pair
        .a
        .channel
        .pay(0, 1, Amount::from(1u64), &pair.crypto.clone());
    assert!(
        matches!(paid, Err(ChannelError::PaymentInAppChannel { .. })),
        "{paid:?}"
    );
}

#[test]
fn without_its_app_a_restored_channel_takes_no_move_but_closes_as_it_stands() {
    let mut pair = race();
    add(&mut pair, true);
    // B restarts on a node whose apps no longer include the race: nothing attaches it.
    pair.b.crash_and_restore();
    let refused = pair.b.channel.app_move("{\"add\":1}", &pair.crypto.clone());
    assert!(
        matches!(refused, Err(ChannelError::AppUnavailable { .. })),
        "{refused:?}"
    );
    assert_eq!(pair.b.channel.describe_app(), None);
    // A's move reaches B, who cannot check it: refused as an app channel it has no rules for.
    pair.b
        .channel
        .attach_app(&crate::protocol::app_rules::NoApps);
    pair.act(false, |channel, crypto| channel.propose_final(crypto));
    pair.pump();
    for node in [&pair.a, &pair.b] {
        assert!(node.channel.latest().is_final);
        assert_eq!(node.channel.latest().app_data.0, [1]);
        assert_eq!(
            node.channel.latest().allocation.balances,
            [[Amount::from(5u64), Amount::from(7u64)]]
        );
    }
    // Re-attached, the rules are back.
    pair.a.channel.attach_app(&WithRace);
    assert!(pair.a.channel.describe_app().is_some());
}

#[test]
fn re_synchronisation_takes_a_newer_app_state_both_signed_by_its_totals_not_its_moves() {
    let mut pair = race();
    add(&mut pair, true);
    add(&mut pair, false);
    let agreed = pair.a.channel.latest().clone();
    // The agreed check ignores the app data (both signed every move) but keeps the totals.
    let mut base = pair.a.channel.latest().clone();
    base.version -= 2;
    base.app_data = Bytes(vec![0]);
    let mut one_behind = base.clone();
    one_behind.version = agreed.version - 1;
    assert_eq!(
        crate::protocol::check_agreed_transition(pair.a.channel.params(), &one_behind, &agreed),
        Ok(())
    );
    let mut richer = agreed.clone();
    richer.allocation.balances[0][0] = Amount::from(100u64);
    assert!(matches!(
        crate::protocol::check_agreed_transition(pair.a.channel.params(), &one_behind, &richer),
        Err(TransitionError::TotalChanged { .. })
    ));
}
