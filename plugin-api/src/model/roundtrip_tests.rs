//! Property tests: every model value survives encode/decode unchanged, its encoding is the only
//! one (re-encoding the decoded value gives the same bytes), and no input makes decoding panic.

use super::*;
use crate::codec::{Bytes, Decode, Encode};
use proptest::collection::vec;
use proptest::prelude::*;

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        any::<u64>().prop_map(Amount::from),
        any::<[u8; 32]>().prop_map(Amount::from_be_bytes),
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

fn asset() -> impl Strategy<Value = Asset> {
    (any::<u64>(), bytes(32)).prop_map(|(chain_id, holder)| Asset {
        chain_id,
        holder: Address(holder),
    })
}

fn channel_id() -> impl Strategy<Value = ChannelId> {
    any::<[u8; 32]>().prop_map(ChannelId)
}

fn participant() -> impl Strategy<Value = Participant> {
    bytes(40).prop_map(Participant)
}

fn params() -> impl Strategy<Value = Params> {
    (
        vec(participant(), 2..5),
        any::<u64>(),
        any::<[u8; 32]>(),
        proptest::option::of(bytes(20).prop_map(Address)),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(participants, challenge_duration, nonce, app, ledger_channel, virtual_channel)| {
                Params {
                    participants,
                    challenge_duration,
                    nonce,
                    app,
                    ledger_channel,
                    virtual_channel,
                }
            },
        )
}

fn sub_alloc() -> impl Strategy<Value = SubAlloc> {
    (channel_id(), vec(amount(), 0..3), vec(any::<u16>(), 0..3)).prop_map(
        |(id, balances, index_map)| SubAlloc {
            id,
            balances,
            index_map,
        },
    )
}

fn allocation() -> impl Strategy<Value = Allocation> {
    (
        vec(asset(), 0..3),
        vec(vec(amount(), 0..3), 0..3),
        vec(sub_alloc(), 0..2),
    )
        .prop_map(|(assets, balances, locked)| Allocation {
            assets,
            balances,
            locked,
        })
}

fn state() -> impl Strategy<Value = State> {
    (
        channel_id(),
        any::<u64>(),
        allocation(),
        bytes(64),
        any::<bool>(),
    )
        .prop_map(
            |(channel_id, version, allocation, app_data, is_final)| State {
                channel_id,
                version,
                allocation,
                app_data: Bytes(app_data),
                is_final,
            },
        )
}

fn signed_state() -> impl Strategy<Value = SignedState> {
    (params(), state(), vec(bytes(65).prop_map(Sig), 0..3)).prop_map(|(params, state, sigs)| {
        SignedState {
            params,
            state,
            sigs,
        }
    })
}

fn dispute() -> impl Strategy<Value = Dispute> {
    (
        channel_id(),
        any::<u64>(),
        prop_oneof![
            Just(DisputePhase::Dispute),
            Just(DisputePhase::ForceExec),
            Just(DisputePhase::Concluded)
        ],
        any::<u64>(),
    )
        .prop_map(|(channel_id, version, phase, timeout)| Dispute {
            channel_id,
            version,
            phase,
            timeout,
        })
}

fn plugin_event() -> impl Strategy<Value = PluginEvent> {
    prop_oneof![
        dispute().prop_map(|d| PluginEvent::Chain(ChainEvent::Disputed(d))),
        (channel_id(), participant(), asset(), amount()).prop_map(
            |(channel_id, participant, asset, total)| {
                PluginEvent::Chain(ChainEvent::Deposited {
                    channel_id,
                    participant,
                    asset,
                    total,
                })
            }
        ),
        (any::<u64>(), ".{0,20}", any::<bool>()).prop_map(|(connection, remote, inbound)| {
            PluginEvent::Transport(TransportEvent::Connected {
                connection,
                remote,
                inbound,
            })
        }),
        (any::<u64>(), bytes(100)).prop_map(|(connection, frame)| PluginEvent::Transport(
            TransportEvent::Frame {
                connection,
                frame: Bytes(frame),
            }
        )),
        (any::<u64>(), ".{0,20}").prop_map(|(connection, reason)| PluginEvent::Transport(
            TransportEvent::Closed { connection, reason }
        )),
    ]
}

fn write_ops() -> impl Strategy<Value = Vec<WriteOp>> {
    vec(
        prop_oneof![
            (bytes(16), bytes(32)).prop_map(|(k, v)| WriteOp::put(k, v)),
            bytes(16).prop_map(WriteOp::delete),
        ],
        0..8,
    )
}

/// Round trip plus uniqueness: decode(encode(x)) == x and encode(decode(bytes)) == bytes.
fn assert_canonical<T: Encode + Decode + PartialEq + std::fmt::Debug>(
    value: &T,
) -> Result<(), TestCaseError> {
    let encoded = value.encode();
    let decoded = T::decode(&encoded).map_err(|e| TestCaseError::fail(format!("{e}")))?;
    prop_assert_eq!(&decoded, value);
    prop_assert_eq!(decoded.encode(), encoded.clone());
    // Any strict prefix is incomplete and must be refused, never misread.
    if !encoded.is_empty() {
        prop_assert!(T::decode(&encoded[..encoded.len() - 1]).is_err());
    }
    Ok(())
}

proptest! {
    #[test]
    fn params_are_canonical(value in params()) { assert_canonical(&value)?; }

    #[test]
    fn states_are_canonical(value in state()) { assert_canonical(&value)?; }

    #[test]
    fn signed_states_are_canonical(value in signed_state()) { assert_canonical(&value)?; }

    #[test]
    fn events_are_canonical(value in plugin_event()) { assert_canonical(&value)?; }

    #[test]
    fn write_batches_are_canonical(value in write_ops()) { assert_canonical(&value)?; }

    #[test]
    fn funding_outcomes_are_canonical(missing in vec((any::<u16>(), any::<u16>()), 0..4), funded in any::<bool>()) {
        let value = if funded { FundingOutcome::Funded } else { FundingOutcome::TimedOut { missing } };
        assert_canonical(&value)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(input in bytes(256)) {
        let _ = State::decode(&input);
        let _ = SignedState::decode(&input);
        let _ = PluginEvent::decode(&input);
        let _ = Vec::<WriteOp>::decode(&input);
    }

    #[test]
    fn json_round_trips(value in state()) {
        let text = serde_json::to_string(&value).unwrap();
        let back: State = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, value);
    }
}

#[test]
fn allocation_shape_and_totals() {
    let eth = Asset {
        chain_id: 1,
        holder: Address(vec![1; 20]),
    };
    let allocation = Allocation {
        assets: vec![eth.clone()],
        balances: vec![vec![Amount::from(3u64), Amount::from(4u64)]],
        locked: vec![SubAlloc {
            id: ChannelId([9; 32]),
            balances: vec![Amount::from(5u64)],
            index_map: vec![1, 0],
        }],
    };
    allocation.check_shape(2).unwrap();
    assert_eq!(allocation.totals().unwrap(), vec![Amount::from(12u64)]);
    assert!(matches!(
        allocation.check_shape(3),
        Err(AllocationError::ColumnCount { .. })
    ));
    let mut duplicate = allocation.clone();
    duplicate.assets.push(eth);
    duplicate.balances.push(vec![Amount::ZERO; 2]);
    duplicate.locked.clear();
    assert_eq!(
        duplicate.check_shape(2),
        Err(AllocationError::DuplicateAsset(1))
    );
}
