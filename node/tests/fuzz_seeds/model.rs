//! The data model and the channel messages, shaped as on a real chain (20-byte addresses,
//! 65-byte signatures), and the seeds of the `channel_message` and `codec` targets.

use parley_node::protocol::{
    BatchedPayment, ChannelMessage, ChannelProposal, FullySignedState, OpeningSig, PaymentNote,
    ProposalAccept, ProposalId, ProposalReject, RejectReason, SyncReply, SyncRequest, UpdateAccept,
    UpdateProposal, UpdateReject, VirtualChild, VirtualProposal,
};
use parley_plugin_api::codec::{Bytes, Encode};
use parley_plugin_api::model::{
    Address, Allocation, Amount, Asset, ChannelId, Params, Participant, Sig, SignedState, State,
    SubAlloc,
};
use std::collections::BTreeMap;

fn address(tag: u8) -> Vec<u8> {
    (0..20)
        .map(|i| tag.wrapping_mul(31).wrapping_add(i))
        .collect()
}

fn participant(tag: u8) -> Participant {
    Participant(address(tag))
}

/// A signature of the form `r ‖ s ‖ v` (the chain backends' form; not a valid one).
fn sig(tag: u8) -> Sig {
    let mut bytes: Vec<u8> = (0..64u8).map(|i| tag ^ i.wrapping_mul(7)).collect();
    bytes.push(27 + tag % 2);
    Sig(bytes)
}

fn eth() -> Asset {
    Asset {
        chain_id: 1337,
        holder: Address(address(0xe7)),
    }
}

fn token() -> Asset {
    Asset {
        chain_id: 1337,
        holder: Address(address(0x70)),
    }
}

fn channel_id() -> ChannelId {
    ChannelId([0x5c; 32])
}

fn amount(value: u64) -> Amount {
    Amount::from(value)
}

fn allocation(mine: u64, theirs: u64) -> Allocation {
    Allocation {
        assets: vec![eth()],
        balances: vec![vec![amount(mine), amount(theirs)]],
        locked: vec![],
    }
}

fn two_asset_allocation() -> Allocation {
    Allocation {
        assets: vec![eth(), token()],
        balances: vec![
            vec![amount(1000), amount(500)],
            vec![Amount::from_u128(10u128.pow(24)), amount(0)],
        ],
        locked: vec![],
    }
}

fn locked_allocation() -> Allocation {
    Allocation {
        assets: vec![eth()],
        balances: vec![vec![amount(900), amount(400)]],
        locked: vec![SubAlloc {
            id: ChannelId([0xab; 32]),
            balances: vec![amount(200)],
            index_map: vec![1, 0],
        }],
    }
}

fn state(version: u64, mine: u64, theirs: u64) -> State {
    State {
        channel_id: channel_id(),
        version,
        allocation: allocation(mine, theirs),
        app_data: Bytes::default(),
        is_final: false,
    }
}

fn params() -> Params {
    Params {
        participants: vec![participant(1), participant(2)],
        challenge_duration: 600,
        nonce: [0x4e; 32],
        app: None,
        ledger_channel: true,
        virtual_channel: false,
    }
}

fn proposal(assets: Vec<Asset>, balances: Vec<Vec<Amount>>) -> ChannelProposal {
    ChannelProposal {
        proposal_id: ProposalId([0x9a; 32]),
        proposer: participant(1),
        assets,
        balances,
        locked: Vec::new(),
        challenge_duration: 600,
        nonce_share: [0x3c; 32],
        app: None,
        app_data: Bytes::default(),
        ledger_channel: true,
        virtual_channel: false,
        parent: None,
    }
}

/// One message of every kind (and of every reject reason), by name.
pub fn channel_messages() -> Vec<(&'static str, ChannelMessage)> {
    let two = two_asset_allocation();
    let signed = FullySignedState {
        state: state(7, 930, 570),
        sigs: vec![sig(1), sig(2)],
    };
    let reject = |reason| UpdateReject {
        channel_id: channel_id(),
        version: 8,
        reason,
    };
    vec![
        (
            "proposal",
            ChannelMessage::Proposal(proposal(vec![eth()], vec![vec![amount(1000), amount(500)]])),
        ),
        (
            "proposal-two-assets",
            ChannelMessage::Proposal(proposal(two.assets, two.balances)),
        ),
        (
            "proposal-app",
            ChannelMessage::Proposal(ChannelProposal {
                app: Some(Address(address(0xa9))),
                app_data: Bytes(vec![1, 0, 2]),
                ..proposal(vec![eth()], vec![vec![amount(10), amount(10)]])
            }),
        ),
        (
            "proposal-virtual",
            ChannelMessage::Proposal(ChannelProposal {
                ledger_channel: false,
                virtual_channel: true,
                parent: None,
                ..proposal(vec![eth()], vec![vec![amount(10), amount(10)]])
            }),
        ),
        (
            "proposal-sub-channel",
            ChannelMessage::Proposal(ChannelProposal {
                ledger_channel: false,
                parent: Some(ChannelId([0x5c; 32])),
                ..proposal(vec![eth()], vec![vec![amount(3), amount(2)]])
            }),
        ),
        (
            "proposal_accept",
            ChannelMessage::ProposalAccept(ProposalAccept {
                proposal_id: ProposalId([0x9a; 32]),
                nonce_share: [0xc3; 32],
                participant: participant(2),
            }),
        ),
        (
            "proposal_reject",
            ChannelMessage::ProposalReject(ProposalReject {
                proposal_id: ProposalId([0x9a; 32]),
                reason: "declined by the user".into(),
            }),
        ),
        (
            "opening_sig",
            ChannelMessage::OpeningSig(OpeningSig {
                channel_id: channel_id(),
                sig: sig(2),
            }),
        ),
        (
            "update_proposal",
            ChannelMessage::UpdateProposal(UpdateProposal {
                channel_id: channel_id(),
                state: state(8, 920, 580),
                sig: sig(1),
                payment: None,
                batch: Vec::new(),
            }),
        ),
        (
            "update_proposal-invoice",
            ChannelMessage::UpdateProposal(UpdateProposal {
                channel_id: channel_id(),
                state: state(8, 920, 580),
                sig: sig(1),
                payment: Some(PaymentNote {
                    id: [0x1e; 16],
                    memo: "coffee".into(),
                }),
                batch: Vec::new(),
            }),
        ),
        (
            "update_proposal-batch",
            ChannelMessage::UpdateProposal(UpdateProposal {
                channel_id: channel_id(),
                state: state(8, 920, 580),
                sig: sig(1),
                payment: None,
                batch: vec![
                    BatchedPayment {
                        id: [0x1f; 16],
                        amount: Amount::from(30u64),
                        memo: String::new(),
                    },
                    BatchedPayment {
                        id: [0x20; 16],
                        amount: Amount::from(50u64),
                        memo: "tea".into(),
                    },
                ],
            }),
        ),
        (
            "update_proposal-final",
            ChannelMessage::UpdateProposal(UpdateProposal {
                channel_id: channel_id(),
                state: State {
                    is_final: true,
                    ..state(9, 920, 580)
                },
                sig: sig(1),
                payment: None,
                batch: Vec::new(),
            }),
        ),
        (
            "update_accept",
            ChannelMessage::UpdateAccept(UpdateAccept {
                channel_id: channel_id(),
                version: 8,
                sig: sig(2),
            }),
        ),
        (
            "update_reject-concurrent",
            ChannelMessage::UpdateReject(reject(RejectReason::Concurrent)),
        ),
        (
            "update_reject-invalid",
            ChannelMessage::UpdateReject(reject(RejectReason::Invalid(
                "the total of asset 0 changed".into(),
            ))),
        ),
        (
            "update_reject-declined",
            ChannelMessage::UpdateReject(reject(RejectReason::Declined(
                "the node declines payments it did not ask for".into(),
            ))),
        ),
        (
            "sync_request",
            ChannelMessage::SyncRequest(SyncRequest {
                channel_id: channel_id(),
                latest_version: 7,
                spent_version: 8,
            }),
        ),
        (
            "sync_reply",
            ChannelMessage::SyncReply(SyncReply {
                channel_id: channel_id(),
                latest: signed.clone(),
                pending: None,
            }),
        ),
        (
            "sync_reply-pending",
            ChannelMessage::SyncReply(SyncReply {
                channel_id: channel_id(),
                latest: signed,
                pending: Some((state(8, 920, 580), sig(1))),
            }),
        ),
        (
            "virtual_proposal",
            ChannelMessage::VirtualProposal(Box::new(VirtualProposal {
                proposal: ChannelProposal {
                    ledger_channel: false,
                    virtual_channel: true,
                    ..proposal(vec![eth()], vec![vec![amount(1000), amount(500)]])
                },
                parent: channel_id(),
                proposer_node: Bytes(vec![0x02; 33]),
                proposer_address: "127.0.0.1:9735".to_owned(),
                accepter_node: Bytes(vec![0x03; 33]),
                path: vec![Bytes(vec![0x02; 33])],
                fees: vec![amount(5), amount(3)],
            })),
        ),
        (
            "virtual_child",
            ChannelMessage::VirtualChild(VirtualChild {
                parent: channel_id(),
                child: SignedState {
                    params: Params {
                        ledger_channel: false,
                        virtual_channel: true,
                        ..params()
                    },
                    state: state(0, 1000, 500),
                    sigs: vec![sig(1), sig(2)],
                },
            }),
        ),
    ]
}

pub fn channel_message_seeds() -> BTreeMap<String, Vec<u8>> {
    channel_messages()
        .into_iter()
        .map(|(name, message)| (name.to_owned(), message.encode()))
        .collect()
}

// The `codec` target: one selector byte, then the encoding.

/// The selector bytes of `fuzz/fuzz_targets/codec.rs`.
const STATE: u8 = 0;
const PARAMS: u8 = 1;
const ALLOCATION: u8 = 2;
const SUB_ALLOC: u8 = 3;
const SIGNED_STATE: u8 = 4;

pub fn codec_seeds() -> BTreeMap<String, Vec<u8>> {
    let tagged = |selector: u8, value: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = vec![selector];
        value(&mut bytes);
        bytes
    };
    let opening = state(0, 1000, 500);
    let final_state = State {
        is_final: true,
        ..state(12, 700, 800)
    };
    let signed = SignedState {
        params: params(),
        state: state(7, 930, 570),
        sigs: vec![sig(1), sig(2)],
    };
    let app_params = Params {
        app: Some(Address(address(0xa9))),
        ..params()
    };
    let seeds: [(&str, Vec<u8>); 10] = [
        (
            "state-opening",
            tagged(STATE, &|out| opening.encode_to(out)),
        ),
        (
            "state-final",
            tagged(STATE, &|out| final_state.encode_to(out)),
        ),
        ("params", tagged(PARAMS, &|out| params().encode_to(out))),
        (
            "params-app",
            tagged(PARAMS, &|out| app_params.encode_to(out)),
        ),
        (
            "allocation",
            tagged(ALLOCATION, &|out| allocation(1000, 500).encode_to(out)),
        ),
        (
            "allocation-two-assets",
            tagged(ALLOCATION, &|out| two_asset_allocation().encode_to(out)),
        ),
        (
            "allocation-locked",
            tagged(ALLOCATION, &|out| locked_allocation().encode_to(out)),
        ),
        (
            "sub_alloc",
            tagged(SUB_ALLOC, &|out| {
                locked_allocation().locked[0].encode_to(out)
            }),
        ),
        (
            "signed_state",
            tagged(SIGNED_STATE, &|out| signed.encode_to(out)),
        ),
        (
            "signed_state-max-amounts",
            tagged(SIGNED_STATE, &|out| {
                let max = Amount::from_be_bytes([0xff; 32]);
                let mut signed = signed.clone();
                signed.state.allocation.balances = vec![vec![max, Amount::ZERO]];
                signed.encode_to(out)
            }),
        ),
    ];
    seeds
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), bytes))
        .collect()
}
