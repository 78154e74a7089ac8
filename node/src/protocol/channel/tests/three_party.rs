//! Three participants in one channel: the update flow collects every signature before an
//! update completes, keeps write-ahead on every side, refuses messages from anyone who may not
//! send them, and restores a three-party record. The proposal messages open only two-party
//! channels, so the bench builds the channel's version 0 itself and restores each side from it.

use super::harness::{accept_all, asset, balances, Node};
use crate::protocol::channel::{Channel, ChannelError};
use crate::protocol::effect::ChannelEvent;
use crate::protocol::funding::Funding;
use crate::protocol::messages::{ChannelMessage, UpdateAccept};
use crate::protocol::phase::Phase;
use crate::protocol::record::{ChannelRecord, ChannelSnapshot, PersistRecord, SignedRecord};
use crate::protocol::signer::ChannelIdFn;
use crate::protocol::test_support::FakeCrypto;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Allocation, Amount, Params, Sig, State};

/// A, B and C: participants 0, 1 and 2, each with its own store.
struct Group {
    crypto: FakeCrypto,
    nodes: Vec<Node>,
}

impl Group {
    /// An active channel of three, at a fully signed version 0 with `funds` of one asset,
    /// every side restored from its own durable records.
    fn active(funds: [u64; 3]) -> Group {
        Group::restored(funds, Phase::Active, |_, sig| Some(sig))
    }

    /// Every side restored in `phase` at version 0 with `funds`. Each keeps its own signature;
    /// `keep(holder, sig)` says what participant `holder` holds in another's slot.
    fn restored(funds: [u64; 3], phase: Phase, keep: impl Fn(usize, Sig) -> Option<Sig>) -> Group {
        let crypto = FakeCrypto::new(3);
        let params = Params {
            participants: (0..3).map(|i| crypto.participant(i)).collect(),
            challenge_duration: 3600,
            nonce: [7; 32],
            app: None,
            ledger_channel: true,
            virtual_channel: false,
        };
        let channel_id = crypto.derive_channel_id(&params).unwrap();
        let state = State {
            channel_id,
            version: 0,
            allocation: Allocation {
                assets: vec![asset(0)],
                balances: vec![funds.iter().map(|&f| Amount::from(f)).collect()],
                locked: Vec::new(),
            },
            app_data: Bytes::default(),
            is_final: false,
        };
        let sigs: Vec<_> = (0..3).map(|i| crypto.sign_as(i, &state)).collect();
        let nodes = (0..3u16)
            .map(|my_index| {
                let holder = usize::from(my_index);
                let sigs = sigs
                    .iter()
                    .enumerate()
                    .map(|(signer, sig)| {
                        if signer == holder {
                            Some(sig.clone())
                        } else {
                            keep(holder, sig.clone())
                        }
                    })
                    .collect();
                let snapshot = ChannelSnapshot {
                    channel: ChannelRecord {
                        params: params.clone(),
                        channel_id,
                        my_index,
                    },
                    phase,
                    latest: SignedRecord {
                        state: state.clone(),
                        sigs,
                    },
                    pending: None,
                    funding: Funding::Ledger,
                    spent: 0,
                };
                let store = snapshot.to_records();
                let mut channel = Channel::restore_from_records(&store).unwrap();
                // A channel just opened: a restart would spend version 1 (a proposal may have
                // left before its record was durable), an opening has proposed nothing.
                channel.spent = 0;
                let mut node = Node::new(channel);
                node.store = store;
                node
            })
            .collect();
        Group { crypto, nodes }
    }

    /// Delivers the oldest message from `from` to `to`; false if none was queued.
    fn deliver(&mut self, from: usize, to: usize) -> bool {
        let Some(message) = self.nodes[from].outboxes[to].pop_front() else {
            return false;
        };
        let crypto = self.crypto.clone();
        self.nodes[to].receive_from(from, &crypto, message);
        true
    }

    /// Delivers until every queue is empty.
    fn pump(&mut self) {
        let mut moved = true;
        while moved {
            moved = false;
            for from in 0..3 {
                for to in 0..3 {
                    moved |= from != to && self.deliver(from, to);
                }
            }
        }
    }

    /// Participant `who` pays `amount` to participant `to`.
    fn pay(&mut self, who: usize, to: usize, amount: u64) {
        let crypto = self.crypto.clone();
        let node = &mut self.nodes[who];
        let effects = node
            .channel
            .pay(0, to, Amount::from(amount), &crypto)
            .expect("pay");
        node.run(&crypto, effects);
    }

    fn version(&self, who: usize) -> u64 {
        self.nodes[who].channel.latest().version
    }

    /// Every side holds the same fully signed newest state and nothing is in flight.
    fn assert_agree(&self) {
        let first = self.nodes[0].channel.fully_signed().expect("fully signed");
        for node in &self.nodes {
            assert_eq!(node.channel.fully_signed().as_ref(), Some(&first));
            assert!(node.channel.pending().is_none());
            assert!(node.channel.awaiting_decision().is_none());
            // The pending slot is empty or keeps a withdrawn update (its version spent).
            if let Some(kept) = node.durable().pending {
                assert!(kept.state.version > first.state.version);
            }
            assert!(node.outboxes.iter().all(|queue| queue.is_empty()));
        }
    }
}

#[test]
fn an_update_completes_only_once_every_other_participant_signed_it() {
    let mut group = Group::active([10, 10, 10]);
    group.pay(0, 1, 4);
    // The proposal goes to B and to C.
    assert_eq!(group.nodes[0].outboxes[1].len(), 1);
    assert_eq!(group.nodes[0].outboxes[2].len(), 1);

    // B accepts: its accept goes to A and to C, its signature waits in its pending slot.
    assert!(group.deliver(0, 1));
    assert_eq!(group.version(1), 0, "B lacks C's signature");
    assert_eq!(group.nodes[1].durable().pending.unwrap().state.version, 1);
    assert!(matches!(
        group.nodes[1].outboxes[0].front(),
        Some(ChannelMessage::UpdateAccept(_))
    ));
    assert!(matches!(
        group.nodes[1].outboxes[2].front(),
        Some(ChannelMessage::UpdateAccept(_))
    ));

    // A with B's accept only: still pending.
    assert!(group.deliver(1, 0));
    assert_eq!(group.version(0), 0, "A lacks C's signature");
    assert!(group.nodes[0].channel.pending().is_some());
    assert!(!group.nodes[0]
        .take_events()
        .iter()
        .any(|e| matches!(e, ChannelEvent::UpdateAccepted { .. })));

    // C gets the proposal and accepts; with B's accept it completes at once.
    assert!(group.deliver(0, 2));
    assert_eq!(group.version(2), 0);
    assert!(group.deliver(1, 2));
    assert_eq!(group.version(2), 1, "C holds all three signatures");

    // C's accept completes A's update (announced) and B's.
    assert!(group.deliver(2, 0));
    assert_eq!(group.version(0), 1);
    assert!(group.nodes[0]
        .take_events()
        .contains(&ChannelEvent::UpdateAccepted { version: 1 }));
    assert!(group.deliver(2, 1));
    assert_eq!(group.version(1), 1);
    group.pump();
    group.assert_agree();
    assert_eq!(
        balances(group.nodes[2].channel.latest(), 0),
        vec![6, 14, 10]
    );
    for node in &group.nodes {
        assert!(node.errors.is_empty(), "{:?}", node.errors);
    }
}

#[test]
fn an_accept_that_overtakes_its_proposal_is_kept_until_the_proposal_arrives() {
    let mut group = Group::active([10, 10, 10]);
    group.pay(0, 2, 3);
    assert!(group.deliver(0, 1));
    // B's accept reaches C before A's proposal does.
    assert!(group.deliver(1, 2));
    assert_eq!(group.version(2), 0);
    assert!(group.nodes[2].errors.is_empty());
    assert!(group.deliver(0, 2));
    assert_eq!(
        group.version(2),
        1,
        "C accepted and already held B's signature"
    );
    group.pump();
    group.assert_agree();
    assert_eq!(
        balances(group.nodes[0].channel.latest(), 0),
        vec![7, 10, 13]
    );
}

#[test]
fn one_decline_ends_the_update_for_every_participant() {
    let mut group = Group::active([10, 10, 10]);
    group.nodes[2].policy = |_| Err("not today".to_string());
    group.pay(0, 1, 4);
    // B accepts first and holds its signature durably; then C declines to everyone.
    assert!(group.deliver(0, 1));
    assert!(group.nodes[1].durable().pending.is_some());
    assert!(group.deliver(0, 2));
    group.pump();
    let a_events = group.nodes[0].take_events();
    assert!(
        a_events
            .iter()
            .any(|e| matches!(e, ChannelEvent::UpdateRejected { version: 1, .. })),
        "{a_events:?}"
    );
    assert!(group.nodes[1]
        .take_events()
        .contains(&ChannelEvent::UpdateDiscarded { version: 1 }));
    for node in &group.nodes {
        assert_eq!(node.channel.latest().version, 0);
    }
    group.assert_agree();
    // The channel goes on: the next update completes, above the spent version 1.
    group.nodes[2].policy = accept_all;
    group.pay(1, 2, 1);
    group.pump();
    group.assert_agree();
    assert_eq!(group.version(0), 2);
}

#[test]
fn a_message_from_ourselves_a_non_member_or_the_wrong_participant_is_refused() {
    let mut group = Group::active([10, 10, 10]);
    group.pay(0, 1, 4);
    let proposal = group.nodes[0].outboxes[1].front().cloned().unwrap();
    let crypto = group.crypto.clone();
    let b = &mut group.nodes[1];
    let before = b.channel.clone();
    for from in [1, 3] {
        assert_eq!(
            b.channel.on_message(from, proposal.clone(), &crypto),
            Err(ChannelError::UnexpectedSender { from })
        );
    }
    assert_eq!(b.channel, before, "a refused message changes nothing");

    // A's proposal claimed by C: A's signature is not C's, so B refuses it to everyone.
    b.receive_from(2, &crypto, proposal);
    assert!(b.channel.awaiting_decision().is_none());
    assert!(b
        .take_events()
        .iter()
        .any(|e| matches!(e, ChannelEvent::UpdateRefused { version: 1, .. })));

    // An accept signed by C but sent by B does not count as B's.
    let pending = group.nodes[0].channel.pending().unwrap().state.clone();
    let forged = ChannelMessage::UpdateAccept(UpdateAccept {
        channel_id: pending.channel_id,
        version: 1,
        sig: crypto.sign_as(2, &pending),
    });
    let a = &mut group.nodes[0];
    assert_eq!(
        a.channel.on_message(1, forged, &crypto),
        Err(ChannelError::BadSignature {
            participant: 1,
            version: 1
        })
    );
    assert_eq!(a.channel.latest().version, 0);
}

#[test]
fn a_three_party_record_restores_and_a_crash_after_accepting_keeps_our_signature() {
    let mut group = Group::active([10, 10, 10]);
    group.pay(0, 1, 4);
    assert!(group.deliver(0, 1));
    let signed = group.nodes[1]
        .durable()
        .pending
        .expect("B's signature is durable");

    // B restarts before any other signature reached it: what it signed comes back.
    group.nodes[1].crash_and_restore();
    let b = &group.nodes[1].channel;
    assert_eq!(b.participants(), 3);
    assert_eq!(b.my_index(), 1);
    assert_eq!(b.latest().version, 0);
    assert_eq!(b.pending(), Some(&signed));
    assert_eq!(b.snapshot(), group.nodes[1].durable());

    // A three-party record needs one signature slot per participant; C's own records
    // rebuild C's channel.
    let mut short = group.nodes[2].durable();
    short.latest.sigs.pop();
    assert!(Channel::restore(short).is_err());
    let records: Vec<PersistRecord> = group.nodes[2].store.clone();
    let restored = Channel::restore_from_records(&records).unwrap();
    assert_eq!(restored.snapshot(), group.nodes[2].channel.snapshot());
    // The restart spends the version above what C signed (its records hold version 0 only).
    assert_eq!(restored.spent, 1);
}

#[test]
fn an_opening_completes_only_with_every_participants_signature() {
    // Each side holds only its own signature on version 0, as right after opening.
    let mut group = Group::restored([5, 5, 5], Phase::Opening, |_, _| None);
    let crypto = group.crypto.clone();
    let state = group.nodes[0].channel.latest().clone();
    let opening_sig = |signer: usize| {
        ChannelMessage::OpeningSig(crate::protocol::messages::OpeningSig {
            channel_id: state.channel_id,
            sig: crypto.sign_as(signer, &state),
        })
    };
    let a = &mut group.nodes[0];
    a.receive_from(1, &crypto, opening_sig(1));
    assert_eq!(a.channel.phase(), Phase::Opening, "C has not signed yet");
    assert!(a.channel.fully_signed().is_none());
    assert_eq!(
        a.durable().latest.sigs[1],
        Some(crypto.sign_as(1, &state)),
        "each signature is kept as it arrives"
    );
    // C's signature sent by B is not B's: refused, nothing changes.
    a.receive_from(1, &crypto, opening_sig(2));
    assert!(matches!(
        a.errors.pop(),
        Some(ChannelError::BadSignature { participant: 1, .. })
    ));
    a.receive_from(2, &crypto, opening_sig(2));
    assert_eq!(a.channel.phase(), Phase::Funding);
    assert!(a.channel.fully_signed().is_some());
    assert!(a.errors.is_empty(), "{:?}", a.errors);
}
