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

/// The answer of a Perun v1.0.0 Adjudicator's `disputes(bytes32)`, written word by word in
/// the order of its `Dispute` struct: timeout, challengeDuration, version, phase, stateHash,
/// hasApp.
fn v1_disputes_answer(phase: u64, has_app: bool) -> Vec<u8> {
    hex::decode(
        [
            word(1000),               // uint64 timeout
            word(60),                 // uint64 challengeDuration
            word(4),                  // uint64 version
            word(phase),              // uint8 phase
            "09".repeat(32),          // bytes32 stateHash
            word(u64::from(has_app)), // bool hasApp
        ]
        .concat(),
    )
    .unwrap()
}

#[test]
fn a_dispute_record_decodes_in_perun_v1_field_order() {
    let record = DisputeRecord::decode(&v1_disputes_answer(2, true)).unwrap();
    assert_eq!(
        record,
        DisputeRecord {
            timeout: 1000,
            challenge_duration: 60,
            version: 4,
            phase: 2,
            state_hash: [9; 32],
            has_app: true,
        }
    );
    assert!(record.exists());
    let dispute = DisputeRecord::decode(&v1_disputes_answer(0, false)).unwrap();
    assert_eq!((dispute.phase, dispute.has_app), (0, false));
    let empty = DisputeRecord::decode(&[0; 192]).unwrap();
    assert!(!empty.exists());
}

#[test]
fn a_record_in_the_pre_v1_order_is_an_error_not_a_misread() {
    // Before 2022-11 the getter returned hasApp before phase: (timeout, challengeDuration,
    // version, hasApp, phase, stateHash). Read as v1.0.0, the state hash lands in hasApp.
    let old = hex::decode(
        [
            word(1000),
            word(60),
            word(4),
            word(1),
            word(2),
            "09".repeat(32),
        ]
        .concat(),
    )
    .unwrap();
    let error = DisputeRecord::decode(&old).unwrap_err();
    assert!(error.message().contains("hasApp"), "{error}");
    // A phase that does not fit uint8, a short answer: errors too.
    let mut wide_phase = v1_disputes_answer(0, false);
    wide_phase[3 * 32 + 30] = 1;
    assert!(DisputeRecord::decode(&wide_phase).is_err());
    assert!(DisputeRecord::decode(&[0; 160]).is_err());
}

#[test]
fn the_selectors_are_perun_v1s() {
    // Each selector computed here from its signature string, written out by hand, and
    // compared with what the plugin sends (and, for setOutcome, what the Adjudicator sends).
    let pinned = [
        (functions::DISPUTES.to_string(), "disputes(bytes32)", "11be1997"),
        (
            functions::set_outcome(),
            "setOutcome(bytes32,(address,bytes)[],uint256[])",
            "295482ce",
        ),
        (
            functions::register(),
            "register(((uint256,uint256,(address,bytes)[],address,bool,bool),(bytes32,uint64,((uint256,address,bytes)[],uint256[],uint256[][],(bytes32,uint256[],uint16[])[]),bytes,bool),bytes[]),((uint256,uint256,(address,bytes)[],address,bool,bool),(bytes32,uint64,((uint256,address,bytes)[],uint256[],uint256[][],(bytes32,uint256[],uint16[])[]),bytes,bool),bytes[])[])",
            "e9aa7e02",
        ),
        (
            functions::progress(),
            "progress((uint256,uint256,(address,bytes)[],address,bool,bool),(bytes32,uint64,((uint256,address,bytes)[],uint256[],uint256[][],(bytes32,uint256[],uint16[])[]),bytes,bool),(bytes32,uint64,((uint256,address,bytes)[],uint256[],uint256[][],(bytes32,uint256[],uint16[])[]),bytes,bool),uint256,bytes)",
            "4c8a2c90",
        ),
        (
            functions::conclude(),
            "conclude((uint256,uint256,(address,bytes)[],address,bool,bool),(bytes32,uint64,((uint256,address,bytes)[],uint256[],uint256[][],(bytes32,uint256[],uint16[])[]),bytes,bool),(bytes32,uint64,((uint256,address,bytes)[],uint256[],uint256[][],(bytes32,uint256[],uint16[])[]),bytes,bool)[])",
            "e7c01d05",
        ),
        (
            functions::conclude_final(),
            "concludeFinal((uint256,uint256,(address,bytes)[],address,bool,bool),(bytes32,uint64,((uint256,address,bytes)[],uint256[],uint256[][],(bytes32,uint256[],uint16[])[]),bytes,bool),bytes[])",
            "75a87223",
        ),
        (
            functions::withdraw(),
            "withdraw((bytes32,(address,bytes),address,uint256),bytes)",
            "fca0f778",
        ),
        (functions::DEPOSIT.to_string(), "deposit(bytes32,uint256)", "1de26e16"),
        (functions::HOLDINGS.to_string(), "holdings(bytes32)", "ae9ee18c"),
    ];
    for (ours, signature, hex_selector) in pinned {
        assert_eq!(ours, signature);
        assert_eq!(hex::encode(selector(&ours)), hex_selector, "{signature}");
    }
    // The pre-v1.0.0 setOutcome that a v1.0.0 Adjudicator cannot call.
    assert_eq!(
        hex::encode(selector("setOutcome(bytes32,address[],uint256[])")),
        "fc79a66d"
    );
}

#[test]
fn the_event_topics_are_perun_v1s() {
    for (signature, topic) in [
        (
            events::CHANNEL_UPDATE,
            "895ef5a5fc3efd313a300b006d6ce97ff0670dfe04f6eea90417edf924fa786b",
        ),
        (
            events::DEPOSITED,
            "cd2fe07293de5928c5df9505b65a8d6506f8668dfe81af09090920687edc48a9",
        ),
    ] {
        assert_eq!(
            hex::encode(keccak256(&[signature.as_bytes()])),
            topic,
            "{signature}"
        );
    }
}

#[test]
fn state_hash_and_withdrawal_auth_hash_are_keccak_of_the_abi_encoding() {
    // The state hash covers abi.encode(State) as one tuple argument.
    let encoded = abi::encode(&[state_token(&state()).unwrap()]);
    assert_eq!(state_hash(&state()).unwrap(), keccak256(&[&encoded]));
    // WithdrawalAuth(bytes32 channelID, Participant participant, address receiver, uint256
    // amount), word by word.
    let auth = withdrawal_auth_token(
        &ChannelId([0x42; 32]),
        &Participant(vec![0x11; 20]),
        &Participant(vec![0x22; 20]),
        &Amount::from(5u64),
    )
    .unwrap();
    let expected = [
        word(0x20),         // offset of the (dynamic) tuple
        "42".repeat(32),    // channelID
        word(0x80),         // offset of participant, from the tuple's start
        address_word(0x22), // receiver
        word(5),            // amount
        address_word(0x11), // participant.ethAddress
        word(0x40),         // offset of ccAddress within participant
        word(0),            // ccAddress.length
    ]
    .concat();
    assert_eq!(
        hex::encode(abi::encode(std::slice::from_ref(&auth))),
        expected
    );
    assert_eq!(
        withdrawal_auth_hash(&auth),
        keccak256(&[&hex::decode(expected).unwrap()])
    );
}

#[test]
fn a_pushed_selector_is_found_only_as_an_instruction() {
    let selector = [0x29, 0x54, 0x82, 0xce];
    // PUSH1 0x80, PUSH4 selector, EQ.
    assert!(pushes_selector(
        &[0x60, 0x80, 0x63, 0x29, 0x54, 0x82, 0xce, 0x14],
        selector
    ));
    // The same bytes inside a PUSH32's data are not an instruction.
    let mut inside = vec![0x7f];
    inside.extend([0x63, 0x29, 0x54, 0x82, 0xce]);
    inside.extend([0; 27]);
    assert!(!pushes_selector(&inside, selector));
    // Another selector, a truncated push.
    assert!(!pushes_selector(&[0x63, 0xfc, 0x79, 0xa6, 0x6d], selector));
    assert!(!pushes_selector(&[0x63, 0x29, 0x54], selector));
}
