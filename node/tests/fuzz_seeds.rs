//! The seed corpus of the fuzz targets in `fuzz/`: real encodings of every message kind, real
//! handshakes from both roles (signed, so the fuzzer starts past authentication), real
//! `node.toml` files and real JSON-RPC requests for every method.
//!
//! The seeds are committed under `fuzz/seeds/<target>/<name>` and this test checks that the
//! committed files are exactly what the generator makes, so a change to an encoding or to a
//! target's input layout cannot leave stale seeds behind. After such a change, rewrite them with
//!
//! ```sh
//! PARLEY_WRITE_FUZZ_SEEDS=1 cargo test -p parley-node --test fuzz_seeds
//! ```
//!
//! Inputs that once crashed a target are kept apart, in `fuzz/regressions/<target>/`, and are
//! not generated.

use parley_node::protocol::{
    ChannelMessage, ChannelProposal, FullySignedState, OpeningSig, ProposalAccept, ProposalId,
    ProposalReject, RejectReason, SyncReply, SyncRequest, UpdateAccept, UpdateProposal,
    UpdateReject,
};
use parley_node::wire::{
    auth_digest, encode_frame, Auth, Goodbye, GoodbyeReason, Hello, NodeId, NodeKey, Ping, Pong,
    Role, Session, SessionEvent, WireMessage, DEFAULT_MAX_FRAME_SIZE, PROTOCOL_VERSION,
};
use parley_plugin_api::codec::{Bytes, Encode};
use parley_plugin_api::model::{
    Address, Allocation, Amount, Asset, ChannelId, Params, Participant, Sig, SignedState, State,
    SubAlloc,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Seeds by target, then by file name.
type Corpus = BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>;

/// The fuzz targets, as named in `fuzz/Cargo.toml`.
const TARGETS: [&str; 7] = [
    "frame",
    "channel_message",
    "codec",
    "handshake",
    "config",
    "api_params",
    "api_request",
];

#[test]
fn committed_seeds_are_what_the_generator_makes() {
    let corpus = corpus();
    assert_eq!(
        corpus.keys().copied().collect::<Vec<_>>(),
        {
            let mut targets = TARGETS.to_vec();
            targets.sort_unstable();
            targets
        },
        "every target has seeds"
    );
    let root = seeds_dir();
    if std::env::var_os("PARLEY_WRITE_FUZZ_SEEDS").is_some() {
        write(&root, &corpus);
    }
    for (target, seeds) in &corpus {
        let dir = root.join(target);
        let committed = read_dir(&dir);
        let names = |files: &BTreeMap<String, Vec<u8>>| files.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            names(&committed),
            names(seeds),
            "the seeds in {} differ from the generator's; rewrite them with \
             PARLEY_WRITE_FUZZ_SEEDS=1 cargo test -p parley-node --test fuzz_seeds",
            dir.display()
        );
        for (name, bytes) in seeds {
            assert!(
                committed[name] == *bytes,
                "{} differs from the generator's; rewrite the seeds with \
                 PARLEY_WRITE_FUZZ_SEEDS=1 cargo test -p parley-node --test fuzz_seeds",
                dir.join(name).display()
            );
        }
    }
}

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
}

fn read_dir(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

fn write(root: &Path, corpus: &Corpus) {
    for (target, seeds) in corpus {
        let dir = root.join(target);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

fn corpus() -> Corpus {
    let mut corpus = Corpus::new();
    corpus.insert("channel_message", channel_message_seeds());
    corpus.insert("frame", frame_seeds());
    corpus.insert("codec", codec_seeds());
    corpus.insert("handshake", handshake_seeds());
    corpus.insert("config", config_seeds());
    corpus.insert("api_params", api_params_seeds());
    corpus.insert("api_request", api_request_seeds());
    corpus
}

// ---- The data model: values shaped as on a real chain (20-byte addresses, 65-byte sigs). ----

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
        challenge_duration: 600,
        nonce_share: [0x3c; 32],
        app: None,
        app_data: Bytes::default(),
    }
}

/// One message of every kind (and of every reject reason), by name.
fn channel_messages() -> Vec<(&'static str, ChannelMessage)> {
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
    ]
}

fn channel_message_seeds() -> BTreeMap<String, Vec<u8>> {
    channel_messages()
        .into_iter()
        .map(|(name, message)| (name.to_owned(), message.encode()))
        .collect()
}

// ---- The wire: frames and handshakes. ----

type Frame = WireMessage<ChannelMessage>;

fn key(tag: u8) -> NodeKey {
    NodeKey::from_secret_bytes(&[tag; 32]).unwrap()
}

fn hello(key: &NodeKey, nonce: [u8; 32]) -> Frame {
    WireMessage::Hello(Hello {
        node_id: key.node_id(),
        nonce,
        protocol_version: PROTOCOL_VERSION,
    })
}

fn frame_seeds() -> BTreeMap<String, Vec<u8>> {
    let mut seeds = BTreeMap::new();
    let mut add = |name: String, message: Frame| {
        seeds.insert(name, encode_frame(&message));
    };
    add("hello".into(), hello(&key(2), [0x22; 32]));
    add(
        "auth".into(),
        WireMessage::Auth(Auth {
            sig: key(2).sign(&[0x33; 32]),
        }),
    );
    add("ping".into(), WireMessage::Ping(Ping { nonce: 41 }));
    add("pong".into(), WireMessage::Pong(Pong { nonce: 41 }));
    for (name, reason) in [
        ("shutdown", GoodbyeReason::Shutdown),
        ("protocol_violation", GoodbyeReason::ProtocolViolation),
        ("unsupported_version", GoodbyeReason::UnsupportedVersion),
        ("authentication_failed", GoodbyeReason::AuthenticationFailed),
        ("frame_too_large", GoodbyeReason::FrameTooLarge),
        ("timeout", GoodbyeReason::Timeout),
    ] {
        add(
            format!("goodbye-{name}"),
            WireMessage::Goodbye(Goodbye::new(reason, format!("closing: {reason}"))),
        );
    }
    for (name, message) in channel_messages() {
        add(format!("channel-{name}"), WireMessage::Channel(message));
    }
    seeds
}

/// Our side of the connection in every handshake seed.
const OUR_SECRET: [u8; 32] = [0x11; 32];
const OUR_NONCE: [u8; 32] = [0xa1; 32];
/// The peer's side.
const PEER_SECRET: [u8; 32] = [0x22; 32];
const PEER_NONCE: [u8; 32] = [0xb2; 32];

/// One handshake input: `flags ‖ our secret ‖ our nonce ‖ [expected id] ‖ (u16 len ‖ frame)*`,
/// the layout `fuzz/fuzz_targets/handshake.rs` reads.
fn handshake_input(listener: bool, expected: Option<NodeId>, frames: &[Frame]) -> Vec<u8> {
    let flags = u8::from(listener) | if expected.is_some() { 2 } else { 0 };
    let mut input = vec![flags];
    input.extend_from_slice(&OUR_SECRET);
    input.extend_from_slice(&OUR_NONCE);
    if let Some(id) = expected {
        input.extend_from_slice(id.as_bytes());
    }
    for frame in frames {
        let bytes = encode_frame(frame);
        input.extend_from_slice(&u16::try_from(bytes.len()).unwrap().to_be_bytes());
        input.extend_from_slice(&bytes);
    }
    input
}

/// The peer's `Auth` for this connection: its signature over the transcript in which the
/// dialer is `us` (when we dial) or the peer (when we listen).
fn peer_auth(we_listen: bool) -> Frame {
    let (us, peer) = (key(OUR_SECRET[0]), key(PEER_SECRET[0]));
    let digest = if we_listen {
        auth_digest(&PEER_NONCE, &OUR_NONCE, &peer.node_id(), &us.node_id())
    } else {
        auth_digest(&OUR_NONCE, &PEER_NONCE, &us.node_id(), &peer.node_id())
    };
    WireMessage::Auth(Auth {
        sig: peer.sign(&digest),
    })
}

/// One connection as the handshake target replays it.
struct HandshakeCase {
    name: String,
    listener: bool,
    expected: Option<NodeId>,
    frames: Vec<Frame>,
    /// Whether the peer gets authenticated (the seed reaches the open session).
    authenticates: bool,
}

fn handshake_cases() -> Vec<HandshakeCase> {
    let peer = key(PEER_SECRET[0]);
    let peer_hello = hello(&peer, PEER_NONCE);
    let after_auth = |messages: &[(&str, ChannelMessage)]| -> Vec<Frame> {
        let mut frames = vec![WireMessage::Ping(Ping { nonce: 7 })];
        frames.extend(
            messages
                .iter()
                .map(|(_, message)| WireMessage::Channel(message.clone())),
        );
        frames.push(WireMessage::Pong(Pong { nonce: 7 }));
        frames.push(WireMessage::Goodbye(Goodbye::new(
            GoodbyeReason::Shutdown,
            "done",
        )));
        frames
    };
    let messages = channel_messages();
    let mut cases = Vec::new();
    let mut case = |name: String, listener, expected, frames: Vec<Frame>, authenticates| {
        cases.push(HandshakeCase {
            name,
            listener,
            expected,
            frames,
            authenticates,
        })
    };
    for (role, listener) in [("dialer", false), ("listener", true)] {
        let honest = vec![peer_hello.clone(), peer_auth(listener)];
        let mut session = honest.clone();
        session.extend(after_auth(&messages[..3]));
        case(format!("{role}-honest"), listener, None, honest, true);
        case(format!("{role}-session"), listener, None, session, true);
        case(
            format!("{role}-auth-before-hello"),
            listener,
            None,
            vec![peer_auth(listener), peer_hello.clone()],
            false,
        );
        case(
            format!("{role}-wrong-transcript"),
            listener,
            None,
            vec![peer_hello.clone(), peer_auth(!listener)],
            false,
        );
        case(
            format!("{role}-channel-before-auth"),
            listener,
            None,
            vec![
                peer_hello.clone(),
                WireMessage::Channel(messages[6].1.clone()),
            ],
            false,
        );
        case(
            format!("{role}-reflected-hello"),
            listener,
            None,
            vec![hello(&key(OUR_SECRET[0]), OUR_NONCE)],
            false,
        );
    }
    let mut later = vec![peer_hello.clone(), peer_auth(false)];
    later.extend(after_auth(&messages[6..]));
    case(
        "dialer-expected-peer".into(),
        false,
        Some(peer.node_id()),
        later,
        true,
    );
    case(
        "dialer-unexpected-peer".into(),
        false,
        Some(key(0x33).node_id()),
        vec![peer_hello.clone(), peer_auth(false)],
        false,
    );
    case(
        "listener-duplicate-hello".into(),
        true,
        None,
        vec![peer_hello.clone(), peer_hello.clone()],
        false,
    );
    case(
        "listener-other-version".into(),
        true,
        None,
        vec![WireMessage::Hello(Hello {
            node_id: peer.node_id(),
            nonce: PEER_NONCE,
            protocol_version: PROTOCOL_VERSION + 1,
        })],
        false,
    );
    cases
}

fn handshake_seeds() -> BTreeMap<String, Vec<u8>> {
    handshake_cases()
        .into_iter()
        .map(|case| {
            let input = handshake_input(case.listener, case.expected, &case.frames);
            (case.name, input)
        })
        .collect()
}

/// The seeds are only worth their bytes if the honest ones really open a session (so the
/// fuzzer starts past authentication) and the attacks really are refused.
#[test]
fn handshake_seeds_authenticate_exactly_when_honest() {
    for case in handshake_cases() {
        let role = if case.listener {
            Role::Listener
        } else {
            Role::Dialer
        };
        let (mut session, _) = Session::<ChannelMessage>::new(
            role,
            &key(OUR_SECRET[0]),
            OUR_NONCE,
            case.expected,
            DEFAULT_MAX_FRAME_SIZE,
        );
        let mut authenticated = false;
        let mut channel_messages = 0;
        for frame in &case.frames {
            match session.on_frame(&encode_frame(frame)) {
                Ok(SessionEvent::Authenticated { peer, .. }) => {
                    assert_eq!(peer, key(PEER_SECRET[0]).node_id(), "{}", case.name);
                    authenticated = true;
                }
                Ok(SessionEvent::Channel { .. }) => channel_messages += 1,
                Ok(_) => {}
                Err(error) => {
                    assert!(!case.authenticates, "{}: {error}", case.name);
                    break;
                }
            }
        }
        assert_eq!(authenticated, case.authenticates, "{}", case.name);
        let sent = case
            .frames
            .iter()
            .filter(|frame| matches!(frame, WireMessage::Channel(_)))
            .count();
        if case.authenticates {
            assert_eq!(
                channel_messages, sent,
                "{}: every channel message arrives",
                case.name
            );
        }
    }
}

// ---- The data model's codec: one selector byte, then the encoding. ----

/// The selector bytes of `fuzz/fuzz_targets/codec.rs`.
const STATE: u8 = 0;
const PARAMS: u8 = 1;
const ALLOCATION: u8 = 2;
const SUB_ALLOC: u8 = 3;
const SIGNED_STATE: u8 = 4;

fn codec_seeds() -> BTreeMap<String, Vec<u8>> {
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

// ---- node.toml. ----

fn config_seeds() -> BTreeMap<String, Vec<u8>> {
    let repository_copy = include_str!("../../node.toml");
    let scenario = "[node]\ndata_dir = \"alice/data\"\nlog_level = \"info\"\n\n\
                    [chain]\nplugin = \"sim-chain\"\nblock_time = 0\n\n\
                    [wire]\nplugin = \"quic\"\nlisten = \"127.0.0.1:0\"\n\n\
                    [store]\nplugin = \"lmdb\"\n";
    let everything = "[node]\ndata_dir = \"/var/lib/parley\"\nkey_file = \"keys/node.key\"\n\
                      log_level = \"parley=debug,warn\"\nlog_format = \"json\"\n\n\
                      [api]\nlisten = \"[::1]:7150\"\nallow_non_loopback = false\n\n\
                      [policy]\nauto_accept_from = [\"bob\", \"*\"]\nmax_auto_deposit = \"1_000\"\n\
                      proposal_timeout_seconds = 60\nchallenge_seconds = 3600\n\
                      funding_timeout_seconds = 120\nupdate_timeout_seconds = 10\n\n\
                      [testing]\nallow_misbehaviour = true\nwithhold_deposits = true\n\n\
                      [chain]\nplugin = \"sim-chain\"\nchain_id = 1337\nassets = [\"ETH\", \"TOK\"]\n\
                      prefund = [\"1000000\", \"5000\"]\nledger = \"../ledger\"\n\n\
                      [wire]\nplugin = \"./plugins/libparley_quic.so\"\nlisten = \"127.0.0.1:4100\"\n\
                      max_frame_size = 1048576\n\n\
                      [store]\nplugin = \"lmdb\"\nmap_size_mib = 64\ndurable = false\n";
    let ethereum = "[node]\ndata_dir = \"data\"\n\n\
                    [chain]\nplugin = \"ethereum\"\nrpc_url = \"http://127.0.0.1:8545\"\n\
                    chain_id = 31337\n\
                    adjudicator = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\n\
                    eth_holder = \"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512\"\n\
                    key_file = \"data/eth.key\"\nconfirmations = 1\n\
                    [[chain.erc20]]\nname = \"PRN\"\n\
                    token = \"0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0\"\n\
                    holder = \"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9\"\ndecimals = 18\n";
    let seeds = [
        ("repository-node-toml", repository_copy),
        ("scenario-node-toml", scenario),
        ("every-section", everything),
        ("ethereum-chain", ethereum),
        ("empty", ""),
    ];
    seeds
        .into_iter()
        .map(|(name, text)| (name.to_owned(), text.as_bytes().to_vec()))
        .collect()
}

// ---- JSON-RPC. ----

/// Every method with real parameters: `(method, params)`, `None` for a call without params.
fn api_calls() -> Vec<(&'static str, &'static str, Option<String>)> {
    let channel = format!("0x{}", "5c".repeat(32));
    let proposal = format!("0x{}", "9a".repeat(32));
    let node_id = key(PEER_SECRET[0]).node_id().to_string();
    vec![
        ("node_info", "node_info", None),
        ("peer_list", "peer_list", Some("[]".into())),
        ("proposal_list", "proposal_list", None),
        ("channel_list", "channel_list", Some("{}".into())),
        ("subscribe_events", "subscribe_events", None),
        (
            "peer_add",
            "peer_add",
            Some(format!(
                r#"{{"alias":"bob","node_id":"{node_id}","transport_address":"127.0.0.1:40123"}}"#
            )),
        ),
        (
            "peer_add-positional",
            "peer_add",
            Some(format!(r#"["bob","{node_id}","127.0.0.1:40123"]"#)),
        ),
        (
            "channel_open",
            "channel_open",
            Some(r#"{"peer":"bob","mine":"1000","theirs":"500"}"#.into()),
        ),
        (
            "channel_open-every-param",
            "channel_open",
            Some(format!(
                r#"{{"peer":"{node_id}","mine":"1000","theirs":"0","asset":"ETH","challenge_seconds":600,"more_assets":[{{"asset":"TOK","mine":"5","theirs":"7"}}]}}"#
            )),
        ),
        (
            "proposal_accept",
            "proposal_accept",
            Some(format!(r#"{{"id":"{proposal}"}}"#)),
        ),
        (
            "proposal_reject",
            "proposal_reject",
            Some(format!(r#"["{proposal}","too much"]"#)),
        ),
        (
            "channel_get",
            "channel_get",
            Some(format!(r#"{{"id":"{channel}"}}"#)),
        ),
        (
            "channel_pay",
            "channel_pay",
            Some(format!(
                r#"{{"id":"{channel}","amount":"30","asset":"ETH"}}"#
            )),
        ),
        (
            "channel_settle",
            "channel_settle",
            Some(format!(r#"{{"id":"{channel}","force":true}}"#)),
        ),
        (
            "misbehave_register",
            "misbehave_register",
            Some(format!(r#"{{"id":"{channel}","version":3}}"#)),
        ),
        ("balance", "balance", Some(r#"{"asset":"ETH"}"#.into())),
    ]
}

fn api_params_seeds() -> BTreeMap<String, Vec<u8>> {
    api_calls()
        .into_iter()
        .map(|(name, method, params)| {
            let input = match params {
                Some(params) => format!("{method}\n{params}"),
                None => method.to_owned(),
            };
            (name.to_owned(), input.into_bytes())
        })
        .collect()
}

fn api_request_seeds() -> BTreeMap<String, Vec<u8>> {
    let mut seeds: BTreeMap<String, Vec<u8>> = api_calls()
        .into_iter()
        .enumerate()
        .map(|(id, (name, method, params))| {
            let params = params
                .map(|p| format!(r#","params":{p}"#))
                .unwrap_or_default();
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}"{params}}}"#);
            (name.to_owned(), body.into_bytes())
        })
        .collect();
    seeds.insert(
        "unknown-method".into(),
        br#"{"jsonrpc":"2.0","id":"a","method":"channel_burn","params":[]}"#.to_vec(),
    );
    seeds.insert(
        "unsubscribe_events".into(),
        br#"{"jsonrpc":"2.0","id":9,"method":"unsubscribe_events","params":["1234"]}"#.to_vec(),
    );
    seeds
}
