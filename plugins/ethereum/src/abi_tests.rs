//! The encoding checked word by word against the ABI specification, and the struct type strings
//! checked against the tokens they describe.

use super::*;
use ethers_core::abi::HumanReadableParser;
use parley_plugin_api::codec::Bytes;

fn word(value: u64) -> String {
    format!("{value:064x}")
}

fn address_word(byte: u8) -> String {
    format!("{}{}", "00".repeat(12), format!("{byte:02x}").repeat(20))
}

fn params() -> Params {
    let mut nonce = [0u8; 32];
    nonce[31] = 7;
    Params {
        participants: vec![Participant(vec![0x11; 20]), Participant(vec![0x22; 20])],
        challenge_duration: 60,
        nonce,
        app: None,
        ledger_channel: true,
        virtual_channel: false,
    }
}

fn state() -> State {
    State {
        channel_id: ChannelId([0xaa; 32]),
        version: 3,
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
        app_data: Bytes(vec![0xde, 0xad]),
        is_final: true,
    }
}

#[test]
fn params_encode_word_by_word_as_solidity_does() {
    let encoded = hex::encode(abi::encode(&[params_token(&params()).unwrap()]));
    let expected = [
        word(0x20), // offset of the (dynamic) Params tuple
        word(60),   // challengeDuration
        word(7),    // nonce
        word(0xc0), // offset of participants, from the tuple's start
        word(0),    // app = address(0)
        word(1),    // ledgerChannel
        word(0),    // virtualChannel
        word(2),    // participants.length
        word(0x40), // offset of participants[0], from after the length
        word(0xa0), // offset of participants[1]
        address_word(0x11),
        word(0x40), // offset of ccAddress within participants[0]
        word(0),    // ccAddress.length
        address_word(0x22),
        word(0x40),
        word(0),
    ]
    .concat();
    assert_eq!(encoded, expected);
    assert_eq!(
        channel_id(&params()).unwrap().0,
        keccak256(&[&hex::decode(expected).unwrap()])
    );
}

#[test]
fn the_type_strings_describe_the_tokens() {
    // Decoding the encoding with the parsed type strings gives the tokens back: the strings
    // used for selectors and the tokens used for encoding describe the same structs.
    for (type_string, token) in [
        (PARAMS, params_token(&params()).unwrap()),
        (STATE, state_token(&state()).unwrap()),
    ] {
        let kind = HumanReadableParser::parse_type(type_string).unwrap();
        let encoded = abi::encode(std::slice::from_ref(&token));
        assert_eq!(abi::decode(&[kind], &encoded).unwrap(), vec![token]);
    }
}

#[test]
fn state_fields_land_where_solidity_puts_them() {
    let encoded = abi::encode(&[state_token(&state()).unwrap()]);
    let words: Vec<String> = encoded.chunks(32).map(hex::encode).collect();
    assert_eq!(words[0], word(0x20));
    assert_eq!(words[1], "aa".repeat(32)); // channelID
    assert_eq!(words[2], word(3)); // version
    assert_eq!(words[3], word(0xa0)); // offset of outcome
    assert_eq!(words[5], word(1)); // isFinal
                                   // appData sits behind the outcome: its length and bytes are the last two words.
    assert_eq!(words[words.len() - 2], word(2));
    assert_eq!(words[words.len() - 1], format!("dead{}", "00".repeat(30)));
    // The backends array holds one ETHEREUM_BACKEND per asset.
    let kind = HumanReadableParser::parse_type(STATE).unwrap();
    let decoded = abi::decode(&[kind], &encoded).unwrap();
    let Token::Tuple(fields) = &decoded[0] else {
        panic!("not a tuple")
    };
    let Token::Tuple(outcome) = &fields[2] else {
        panic!("no outcome")
    };
    assert_eq!(
        outcome[1],
        Token::Array(vec![Token::Uint(U256::from(ETHEREUM_BACKEND))])
    );
}

#[test]
fn funding_id_hashes_the_channel_and_the_padded_address() {
    let channel = ChannelId([0x42; 32]);
    let participant = Participant(vec![0x11; 20]);
    let mut preimage = vec![0x42; 32];
    preimage.extend_from_slice(&[0; 12]);
    preimage.extend_from_slice(&[0x11; 20]);
    assert_eq!(
        funding_id(&channel, &participant).unwrap(),
        keccak256(&[&preimage])
    );
}

#[test]
fn selectors_match_known_values() {
    assert_eq!(
        hex::encode(selector("transfer(address,uint256)")),
        "a9059cbb"
    );
    assert_eq!(hex::encode(selector(functions::APPROVE)), "095ea7b3");
    assert_eq!(hex::encode(selector("Error(string)")), "08c379a0");
}

#[test]
fn a_wrong_length_address_is_an_invalid_argument() {
    let mut bad = params();
    bad.participants[1] = Participant(vec![1; 19]);
    let error = channel_id(&bad).unwrap_err();
    assert_eq!(error.kind, parley_plugin_api::ErrorKind::InvalidArgument);
    assert!(error.message().contains("19"), "{error}");
}

#[test]
fn revert_reasons_are_decoded() {
    let data = call_data("Error(string)", &[Token::String("too early".into())]);
    assert_eq!(revert_reason(&data).as_deref(), Some("too early"));
    let panic = call_data("Panic(uint256)", &[Token::Uint(U256::from(0x11))]);
    assert_eq!(revert_reason(&panic).as_deref(), Some("panic 0x11"));
    assert_eq!(revert_reason(&[1, 2]), None);
}

#[test]
fn a_dispute_record_decodes_in_perun_field_order() {
    let data = abi::encode(&[
        Token::Uint(U256::from(1000)),
        Token::Uint(U256::from(60)),
        Token::Uint(U256::from(4)),
        Token::Bool(true),
        Token::Uint(U256::from(2)),
        Token::FixedBytes(vec![9; 32]),
    ]);
    let record = DisputeRecord::decode(&data).unwrap();
    assert_eq!(
        record,
        DisputeRecord {
            timeout: 1000,
            challenge_duration: 60,
            version: 4,
            has_app: true,
            phase: 2,
            state_hash: [9; 32],
        }
    );
    assert!(record.exists());
    let empty = DisputeRecord::decode(&[0; 192]).unwrap();
    assert!(!empty.exists());
}
