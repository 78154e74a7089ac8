//! Property tests of the message encoding: every message survives encode/decode unchanged, its
//! encoding is the only one, JSON round-trips too, and no input makes decoding panic.

use super::*;
use crate::protocol::test_support::strategies::{
    amount, asset, bytes, channel_id, sig, state, sub_alloc,
};
use parley_plugin_api::model::Params;
use proptest::collection::vec;
use proptest::prelude::*;

fn participant() -> impl Strategy<Value = Participant> {
    bytes(24).prop_map(Participant)
}

fn proposal() -> impl Strategy<Value = ChannelProposal> {
    (
        (
            any::<[u8; 32]>(),
            participant(),
            vec(asset(), 0..3),
            vec(vec(amount(), 0..3), 0..3),
            vec(sub_alloc(), 0..2),
        ),
        (
            any::<u64>(),
            any::<[u8; 32]>(),
            proptest::option::of(bytes(20).prop_map(Address)),
            bytes(16),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (id, proposer, assets, balances, locked),
                (challenge_duration, nonce_share, app, data, ledger_channel, virtual_channel),
            )| ChannelProposal {
                proposal_id: ProposalId(id),
                proposer,
                assets,
                balances,
                locked,
                challenge_duration,
                nonce_share,
                app,
                app_data: Bytes(data),
                ledger_channel,
                virtual_channel,
                parent: None,
            },
        )
}

fn reason() -> impl Strategy<Value = RejectReason> {
    prop_oneof![
        Just(RejectReason::Concurrent),
        ".{0,12}".prop_map(RejectReason::Invalid),
        ".{0,12}".prop_map(RejectReason::Declined),
    ]
}

fn message() -> impl Strategy<Value = ChannelMessage> {
    prop_oneof![
        proposal().prop_map(ChannelMessage::Proposal),
        (any::<[u8; 32]>(), any::<[u8; 32]>(), participant()).prop_map(|(id, share, p)| {
            ChannelMessage::ProposalAccept(ProposalAccept {
                proposal_id: ProposalId(id),
                nonce_share: share,
                participant: p,
            })
        }),
        (any::<[u8; 32]>(), ".{0,12}").prop_map(|(id, reason)| {
            ChannelMessage::ProposalReject(ProposalReject {
                proposal_id: ProposalId(id),
                reason,
            })
        }),
        (channel_id(), sig()).prop_map(|(channel_id, sig)| ChannelMessage::OpeningSig(
            OpeningSig { channel_id, sig }
        )),
        (
            channel_id(),
            state(),
            sig(),
            proptest::option::of((any::<[u8; 16]>(), ".{0,12}"))
        )
            .prop_map(|(channel_id, state, sig, note)| {
                ChannelMessage::UpdateProposal(UpdateProposal {
                    channel_id,
                    state,
                    sig,
                    payment: note.map(|(id, memo)| PaymentNote { id, memo }),
                    batch: Vec::new(),
                })
            }),
        (channel_id(), any::<u64>(), sig()).prop_map(|(channel_id, version, sig)| {
            ChannelMessage::UpdateAccept(UpdateAccept {
                channel_id,
                version,
                sig,
            })
        }),
        (channel_id(), any::<u64>(), reason()).prop_map(|(channel_id, version, reason)| {
            ChannelMessage::UpdateReject(UpdateReject {
                channel_id,
                version,
                reason,
            })
        }),
        (channel_id(), any::<u64>(), any::<u64>()).prop_map(
            |(channel_id, latest_version, spent_version)| {
                ChannelMessage::SyncRequest(SyncRequest {
                    channel_id,
                    latest_version,
                    spent_version,
                })
            }
        ),
        (
            channel_id(),
            state(),
            vec(sig(), 0..3),
            proptest::option::of((state(), sig()))
        )
            .prop_map(|(channel_id, state, sigs, pending)| {
                ChannelMessage::SyncReply(SyncReply {
                    channel_id,
                    latest: FullySignedState { state, sigs },
                    pending,
                })
            }),
        (
            proposal(),
            channel_id(),
            vec(any::<u8>(), 33),
            ".{0,12}",
            vec(any::<u8>(), 33),
            vec(vec(any::<u8>(), 33), 0..3),
            vec(any::<u64>().prop_map(Amount::from), 0..3)
        )
            .prop_map(|(proposal, parent, from, address, to, path, fees)| {
                ChannelMessage::VirtualProposal(Box::new(VirtualProposal {
                    proposal,
                    parent,
                    proposer_node: Bytes(from),
                    proposer_address: address,
                    accepter_node: Bytes(to),
                    path: path.into_iter().map(Bytes).collect(),
                    fees,
                }))
            }),
        (channel_id(), state(), vec(sig(), 0..3)).prop_map(|(parent, state, sigs)| {
            ChannelMessage::VirtualChild(VirtualChild {
                parent,
                child: SignedState {
                    params: Params {
                        participants: vec![Participant(vec![1; 20]), Participant(vec![2; 20])],
                        challenge_duration: 60,
                        nonce: [3; 32],
                        app: None,
                        ledger_channel: false,
                        virtual_channel: true,
                    },
                    state,
                    sigs,
                },
            })
        }),
    ]
}

proptest! {
    #[test]
    fn messages_round_trip_canonically(message in message()) {
        let bytes = message.encode();
        let decoded = ChannelMessage::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &message);
        prop_assert_eq!(decoded.encode(), bytes);
    }

    #[test]
    fn messages_round_trip_through_json(message in message()) {
        let json = serde_json::to_string(&message).unwrap();
        let back: ChannelMessage = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, message);
    }

    #[test]
    fn truncated_or_extended_encodings_are_refused(message in message(), extra in 1u8..) {
        let bytes = message.encode();
        prop_assert!(ChannelMessage::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(extra);
        prop_assert!(ChannelMessage::decode(&longer).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in vec(any::<u8>(), 0..256)) {
        let _ = ChannelMessage::decode(&input);
    }
}

#[test]
fn unknown_tags_are_refused() {
    assert_eq!(
        ChannelMessage::decode(&[14]),
        Err(DecodeError::InvalidTag {
            what: "channel message",
            tag: 14
        })
    );
    let reject = UpdateReject {
        channel_id: ChannelId([1; 32]),
        version: 3,
        reason: RejectReason::Concurrent,
    };
    let mut bytes = ChannelMessage::UpdateReject(reject).encode();
    *bytes.last_mut().unwrap() = 7;
    assert!(matches!(
        ChannelMessage::decode(&bytes),
        Err(DecodeError::InvalidTag {
            what: "reject reason",
            tag: 7
        })
    ));
}

#[test]
fn tags_are_stable() {
    let request = ChannelMessage::SyncRequest(SyncRequest {
        channel_id: ChannelId([0xab; 32]),
        latest_version: 5,
        spent_version: 6,
    });
    let bytes = request.encode();
    assert_eq!(bytes[0], 7);
    assert_eq!(&bytes[1..33], &[0xab; 32]);
    assert_eq!(&bytes[33..41], &5u64.to_be_bytes());
    assert_eq!(&bytes[41..], &6u64.to_be_bytes());
    assert_eq!(request.channel_id(), Some(ChannelId([0xab; 32])));
    assert_eq!(request.proposal_id(), None);
}

#[test]
fn ids_show_as_hex_in_json() {
    let accept = ProposalAccept {
        proposal_id: ProposalId([1; 32]),
        nonce_share: [2; 32],
        participant: Participant(vec![3; 20]),
    };
    let json = serde_json::to_value(&accept).unwrap();
    assert_eq!(json["proposal_id"], format!("0x{}", "01".repeat(32)));
    assert_eq!(json["nonce_share"], format!("0x{}", "02".repeat(32)));
    assert_eq!(
        "0x0101".parse::<ProposalId>().unwrap_err(),
        "a proposal id has 32 bytes, `0x0101` has 2"
    );
}

#[test]
fn a_sub_channel_proposal_carries_its_parent_under_its_own_tag() {
    let base = ChannelProposal {
        proposal_id: ProposalId([1; 32]),
        proposer: Participant(vec![1; 20]),
        assets: Vec::new(),
        balances: Vec::new(),
        locked: Vec::new(),
        challenge_duration: 60,
        nonce_share: [2; 32],
        app: None,
        app_data: Bytes::default(),
        ledger_channel: true,
        virtual_channel: false,
        parent: None,
    };
    let ledger = ChannelMessage::Proposal(base.clone()).encode();
    assert_eq!(
        ledger[0], 0,
        "a proposal without a parent keeps tag 0 and its bytes"
    );
    let sub = ChannelMessage::Proposal(ChannelProposal {
        ledger_channel: false,
        parent: Some(ChannelId([9; 32])),
        ..base
    });
    let bytes = sub.encode();
    assert_eq!(bytes[0], 9);
    assert_eq!(bytes.len(), ledger.len() + 32);
    assert_eq!(ChannelMessage::decode(&bytes), Ok(sub));
}

/// An update proposal that names no payment.
fn plain_proposal() -> UpdateProposal {
    UpdateProposal {
        channel_id: ChannelId([1; 32]),
        state: State {
            channel_id: ChannelId([1; 32]),
            version: 3,
            allocation: parley_plugin_api::model::Allocation::default(),
            app_data: Bytes::default(),
            is_final: false,
        },
        sig: Sig(vec![3; 65]),
        payment: None,
        batch: Vec::new(),
    }
}

#[test]
fn an_invoice_payment_carries_its_note_under_its_own_tag() {
    let plain = plain_proposal();
    let bytes = ChannelMessage::UpdateProposal(plain.clone()).encode();
    assert_eq!(bytes[0], 4, "a plain payment keeps tag 4 and its bytes");
    let noted = ChannelMessage::UpdateProposal(UpdateProposal {
        payment: Some(PaymentNote {
            id: [7; 16],
            memo: "tea".into(),
        }),
        ..plain
    });
    let noted_bytes = noted.encode();
    assert_eq!(noted_bytes[0], 10);
    assert_eq!(&noted_bytes[1..bytes.len()], &bytes[1..]);
    assert_eq!(ChannelMessage::decode(&noted_bytes), Ok(noted));
}

#[test]
fn a_batch_of_payments_goes_under_its_own_tag_with_two_to_max_batch_payments() {
    let plain = plain_proposal();
    let plain_bytes = ChannelMessage::UpdateProposal(plain.clone()).encode();
    let payments = |n: usize| -> Vec<BatchedPayment> {
        (0..n)
            .map(|i| BatchedPayment {
                id: [i as u8; 16],
                amount: Amount::from(i as u64 + 1),
                memo: if i == 0 { "tea".into() } else { String::new() },
            })
            .collect()
    };
    let batched = ChannelMessage::UpdateProposal(UpdateProposal {
        batch: payments(3),
        ..plain.clone()
    });
    let bytes = batched.encode();
    assert_eq!(bytes[0], 13);
    assert_eq!(&bytes[1..plain_bytes.len()], &plain_bytes[1..]);
    assert_eq!(ChannelMessage::decode(&bytes), Ok(batched));

    // One payment is no batch, and more than MAX_BATCH are refused: the note bounds a frame.
    for n in [1, MAX_BATCH + 1] {
        let mut bytes = plain_bytes.clone();
        bytes[0] = 13;
        payments(n).encode_to(&mut bytes);
        assert!(
            matches!(
                ChannelMessage::decode(&bytes),
                Err(DecodeError::Invalid {
                    what: "payment batch",
                    ..
                })
            ),
            "{n} payments"
        );
    }
}
