//! The funding kinds, their encoding, and the funding plan of each.

use super::*;
use crate::protocol::record::{ChannelRecord, SignedRecord};
use crate::protocol::test_support::strategies::channel_id;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Address, Allocation, Amount, Asset, Sig, State};
use proptest::prelude::*;

fn party(i: u8) -> Participant {
    Participant(vec![i; 20])
}

fn funding_snapshot(funding: Funding) -> ChannelSnapshot {
    let params = Params {
        participants: vec![party(1), party(2)],
        challenge_duration: 60,
        nonce: [3; 32],
        app: None,
        ledger_channel: funding == Funding::Ledger,
        virtual_channel: matches!(funding, Funding::Virtual { .. }),
    };
    let channel_id = ChannelId([4; 32]);
    ChannelSnapshot {
        channel: ChannelRecord {
            params,
            channel_id,
            my_index: 1,
        },
        phase: Phase::Funding,
        latest: SignedRecord {
            state: State {
                channel_id,
                version: 0,
                allocation: Allocation {
                    assets: vec![Asset {
                        chain_id: 1,
                        holder: Address(vec![9; 20]),
                    }],
                    balances: vec![vec![Amount::from(5u64), Amount::from(7u64)]],
                    locked: Vec::new(),
                },
                app_data: Bytes::default(),
                is_final: false,
            },
            sigs: vec![Some(Sig(vec![1; 65])), Some(Sig(vec![2; 65]))],
        },
        pending: None,
        funding,
        spent: 0,
    }
}

fn funding() -> impl Strategy<Value = Funding> {
    prop_oneof![
        Just(Funding::Ledger),
        channel_id().prop_map(|parent| Funding::SubChannel { parent }),
        proptest::collection::vec(channel_id(), 0..3)
            .prop_map(|parents| Funding::Virtual { parents }),
    ]
}

proptest! {
    #[test]
    fn funding_round_trips_canonically(funding in funding()) {
        let bytes = funding.encode();
        let decoded = Funding::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &funding);
        prop_assert_eq!(decoded.encode(), bytes);
    }
}

#[test]
fn an_unknown_funding_tag_is_refused() {
    assert_eq!(
        Funding::decode(&[3]),
        Err(DecodeError::InvalidTag {
            what: "funding",
            tag: 3
        })
    );
}

#[test]
fn ledger_funding_deposits_our_share_of_the_opening_state_from_our_account() {
    let snapshot = funding_snapshot(Funding::Ledger);
    let step = plan(&snapshot, &party(2), 30).unwrap();
    assert_eq!(
        step,
        FundingStep::Deposit(FundingRequest {
            params: snapshot.channel.params.clone(),
            state: snapshot.latest.state.clone(),
            index: 1,
            from: party(2),
            timeout_secs: 30,
        })
    );
    // The backend's own consistency check accepts what the builder makes.
    let FundingStep::Deposit(request) = step;
    request
        .check_consistent(&snapshot.channel.channel_id)
        .unwrap();
}

#[test]
fn sub_channel_and_virtual_funding_are_refused_until_they_exist() {
    let parent = ChannelId([8; 32]);
    let sub = plan(
        &funding_snapshot(Funding::SubChannel { parent }),
        &party(2),
        30,
    );
    let error = sub.unwrap_err();
    assert_eq!(
        error,
        FundingError::SubChannelNotYet {
            channel: ChannelId([4; 32]),
            parent
        }
    );
    assert!(error.to_string().contains("#12"), "{error}");
    let virtual_funding = Funding::Virtual {
        parents: vec![parent],
    };
    let error = plan(&funding_snapshot(virtual_funding), &party(2), 30).unwrap_err();
    assert!(matches!(error, FundingError::VirtualNotYet { .. }));
    assert!(error.to_string().contains("#14"), "{error}");
}

#[test]
fn funding_is_planned_only_for_a_funding_channel_at_version_0_from_our_account() {
    let mut active = funding_snapshot(Funding::Ledger);
    active.phase = Phase::Active;
    assert!(matches!(
        plan(&active, &party(2), 30),
        Err(FundingError::NotFunding {
            phase: Phase::Active,
            ..
        })
    ));
    let mut updated = funding_snapshot(Funding::Ledger);
    updated.latest.state.version = 1;
    assert!(matches!(
        plan(&updated, &party(2), 30),
        Err(FundingError::NotOpeningState { version: 1, .. })
    ));
    assert!(matches!(
        plan(&funding_snapshot(Funding::Ledger), &party(1), 30),
        Err(FundingError::AccountMismatch { .. })
    ));
    let mut stranger = funding_snapshot(Funding::Ledger);
    stranger.channel.my_index = 2;
    assert!(matches!(
        plan(&stranger, &party(2), 30),
        Err(FundingError::NotAParticipant { index: 2, .. })
    ));
}

#[test]
fn funding_that_contradicts_the_parameters_is_refused() {
    let mut snapshot = funding_snapshot(Funding::Ledger);
    snapshot.funding = Funding::SubChannel {
        parent: ChannelId([8; 32]),
    };
    assert!(matches!(
        plan(&snapshot, &party(2), 30),
        Err(FundingError::ParamsDisagree {
            funding: "sub-channel",
            ledger_channel: true,
            ..
        })
    ));
    let ledger = funding_snapshot(Funding::Ledger);
    let mut params = ledger.channel.params.clone();
    Funding::Ledger.check_params(&params).unwrap();
    params.virtual_channel = true;
    assert!(Funding::Ledger.check_params(&params).is_err());
    let no_parents = Funding::Virtual { parents: vec![] };
    params.ledger_channel = false;
    assert!(no_parents.check_params(&params).is_err());
}
