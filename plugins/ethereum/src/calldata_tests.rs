//! Call data built by the plugin's own encoders (checked word by word in `abi_tests.rs`) read
//! back to the very states, and the state on record picked by the record's hash only.

use super::*;
use crate::abi::{call_data, params_token, signed_state_token, state_token};
use parley_plugin_api::model::{Params, Participant, Sig, SignedState};

fn params() -> Params {
    Params {
        participants: vec![Participant(vec![0x11; 20]), Participant(vec![0x22; 20])],
        challenge_duration: 60,
        nonce: [7; 32],
        app: Some(Address(vec![0x44; 20])),
        ledger_channel: true,
        virtual_channel: false,
    }
}

fn state(version: u64, cell: u8) -> State {
    State {
        channel_id: ChannelId([0xaa; 32]),
        version,
        allocation: Allocation {
            assets: vec![Asset {
                chain_id: 31337,
                holder: Address(vec![0x33; 20]),
            }],
            balances: vec![vec![Amount::from(5u64), Amount::from(6u64)]],
            locked: vec![SubAlloc {
                id: ChannelId([0xbb; 32]),
                balances: vec![Amount::from(4u64)],
                index_map: vec![1, 0],
            }],
        },
        app_data: Bytes(vec![0, cell, 0xde, 0xad]),
        is_final: version % 2 == 1,
    }
}

fn signed(state: State) -> SignedState {
    SignedState {
        params: params(),
        state,
        sigs: vec![Sig(vec![1; 65]), Sig(vec![2; 65])],
    }
}

fn hash(state: &State) -> [u8; 32] {
    abi::state_hash(state).unwrap()
}

#[test]
fn a_register_call_names_the_channels_state_and_its_sub_channels() {
    let mut sub = state(2, 9);
    sub.channel_id = ChannelId([0xbb; 32]);
    sub.allocation.locked.clear();
    let data = call_data(
        &functions::register(),
        &[
            signed_state_token(&signed(state(4, 1))).unwrap(),
            Token::Array(vec![signed_state_token(&signed(sub.clone())).unwrap()]),
        ],
    );
    assert_eq!(
        states_in_call(&data).unwrap(),
        vec![state(4, 1), sub.clone()]
    );
    let channel = ChannelId([0xaa; 32]);
    assert_eq!(
        state_on_record(&data, &channel, &hash(&state(4, 1))).unwrap(),
        Some(state(4, 1))
    );
    assert_eq!(
        state_on_record(&data, &ChannelId([0xbb; 32]), &hash(&sub)).unwrap(),
        Some(sub)
    );
}

#[test]
fn a_progress_call_names_the_new_state_only() {
    let (from, to) = (state(4, 1), state(5, 2));
    let data = call_data(
        &functions::progress(),
        &[
            params_token(&params()).unwrap(),
            state_token(&from).unwrap(),
            state_token(&to).unwrap(),
            Token::Uint(U256::from(1)),
            Token::Bytes(vec![3; 65]),
        ],
    );
    assert_eq!(states_in_call(&data).unwrap(), vec![to.clone()]);
    let channel = ChannelId([0xaa; 32]);
    assert_eq!(
        state_on_record(&data, &channel, &hash(&to)).unwrap(),
        Some(to)
    );
    // The old state is in the call too, but it is not what the record now commits to.
    assert_eq!(
        state_on_record(&data, &channel, &hash(&from)).unwrap(),
        None
    );
}

#[test]
fn conclude_calls_name_the_state_concluded_with() {
    let data = call_data(
        &functions::conclude(),
        &[
            params_token(&params()).unwrap(),
            state_token(&state(6, 3)).unwrap(),
            Token::Array(vec![]),
        ],
    );
    assert_eq!(states_in_call(&data).unwrap(), vec![state(6, 3)]);
    // A conclusion with sub-channels names their states too: a virtual channel concluded
    // through one parent has its newest update (and the state on record) in that call.
    let mut sub = state(2, 9);
    sub.channel_id = ChannelId([0xbb; 32]);
    sub.allocation.locked.clear();
    let data = call_data(
        &functions::conclude(),
        &[
            params_token(&params()).unwrap(),
            state_token(&state(6, 3)).unwrap(),
            Token::Array(vec![state_token(&sub).unwrap()]),
        ],
    );
    assert_eq!(
        states_in_call(&data).unwrap(),
        vec![state(6, 3), sub.clone()]
    );
    assert_eq!(
        state_on_record(&data, &ChannelId([0xbb; 32]), &hash(&sub)).unwrap(),
        Some(sub)
    );
    let data = call_data(
        &functions::conclude_final(),
        &[
            params_token(&params()).unwrap(),
            state_token(&state(7, 4)).unwrap(),
            Token::Array(vec![Token::Bytes(vec![1; 65])]),
        ],
    );
    assert_eq!(states_in_call(&data).unwrap(), vec![state(7, 4)]);
}

#[test]
fn a_hash_of_another_state_or_another_call_gives_nothing() {
    let data = call_data(
        &functions::register(),
        &[
            signed_state_token(&signed(state(4, 1))).unwrap(),
            Token::Array(vec![]),
        ],
    );
    let channel = ChannelId([0xaa; 32]);
    assert_eq!(
        state_on_record(&data, &channel, &hash(&state(4, 2))).unwrap(),
        None
    );
    assert_eq!(
        state_on_record(&data, &ChannelId([0xcc; 32]), &hash(&state(4, 1))).unwrap(),
        None
    );
    let deposit = call_data(
        functions::DEPOSIT,
        &[Token::FixedBytes(vec![1; 32]), Token::Uint(U256::from(5))],
    );
    assert_eq!(states_in_call(&deposit).unwrap(), Vec::<State>::new());
    assert_eq!(states_in_call(&[]).unwrap(), Vec::<State>::new());
    // A register call cut short is an error, not a state.
    assert!(states_in_call(&data[..data.len() - 40]).is_err());
}

#[test]
fn a_known_progress_call_reads_back_word_for_word() {
    // `progress` of a minimal channel, written out by hand from the ABI specification: a
    // state with no assets and empty app data, version 1, final.
    let word = |v: u64| format!("{v:064x}");
    let state_words = |version: u64, is_final: u64| {
        [
            "aa".repeat(32), // channelID
            word(version),   // version
            word(0xa0),      // offset of the outcome (5 head words)
            word(0x160),     // offset of appData: 0xa0 + the outcome's 6 words
            word(is_final),  // isFinal
            // outcome: four offsets, then four empty arrays
            word(0x80),
            word(0xa0),
            word(0xc0),
            word(0xe0),
            word(0),
            word(0),
            word(0),
            word(0),
            word(0), // appData: empty
        ]
        .concat()
    };
    let mut params = params();
    params.participants.clear();
    params.app = None;
    let params_hex = hex::encode(ethers_core::abi::encode(&[params_token(&params).unwrap()]));
    // The params tuple encodes as its offset word then its body.
    let params_body = &params_hex[64..];
    let from = state_words(0, 0);
    let to = state_words(1, 1);
    let params_len = params_body.len() as u64 / 2;
    let from_len = from.len() as u64 / 2;
    let to_len = to.len() as u64 / 2;
    let head = [
        word(0xa0),                                  // offset of params (5 head words)
        word(0xa0 + params_len),                     // offset of stateOld
        word(0xa0 + params_len + from_len),          // offset of state
        word(0),                                     // actorIdx
        word(0xa0 + params_len + from_len + to_len), // offset of sig
    ]
    .concat();
    let sig = [word(0)].concat();
    let body = format!("{head}{params_body}{from}{to}{sig}");
    let mut data = selector(&functions::progress()).to_vec();
    data.extend(hex::decode(body).unwrap());
    let expected = State {
        channel_id: ChannelId([0xaa; 32]),
        version: 1,
        allocation: Allocation {
            assets: vec![],
            balances: vec![],
            locked: vec![],
        },
        app_data: Bytes(vec![]),
        is_final: true,
    };
    assert_eq!(states_in_call(&data).unwrap(), vec![expected]);
}
