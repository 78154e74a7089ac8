//! Frames of every kind and whole connections for the handshake target, from both roles.

use super::model::channel_messages;
use parley_node::protocol::ChannelMessage;
use parley_node::wire::{
    auth_digest, encode_frame, Auth, Goodbye, GoodbyeReason, Hello, NodeId, NodeKey, Ping, Pong,
    Role, Session, SessionEvent, WireMessage, DEFAULT_MAX_FRAME_SIZE, PROTOCOL_VERSION,
};
use std::collections::BTreeMap;

type Frame = WireMessage<ChannelMessage>;

pub fn key(tag: u8) -> NodeKey {
    NodeKey::from_secret_bytes(&[tag; 32]).unwrap()
}

/// The hello of `key`; the fuzz target's own side announces no listen address, the peer
/// announces one.
fn hello_of(key: &NodeKey, nonce: [u8; 32]) -> Hello {
    let listen_address = if key.node_id() == self::key(OUR_SECRET[0]).node_id() {
        String::new()
    } else {
        "127.0.0.1:9741".into()
    };
    Hello {
        node_id: key.node_id(),
        nonce,
        protocol_version: PROTOCOL_VERSION,
        listen_address,
    }
}

fn hello(key: &NodeKey, nonce: [u8; 32]) -> Frame {
    WireMessage::Hello(hello_of(key, nonce))
}

pub fn frame_seeds() -> BTreeMap<String, Vec<u8>> {
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
pub const PEER_SECRET: [u8; 32] = [0x22; 32];
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
    let (ours, theirs) = (hello_of(&us, OUR_NONCE), hello_of(&peer, PEER_NONCE));
    let digest = if we_listen {
        auth_digest(&theirs, &ours)
    } else {
        auth_digest(&ours, &theirs)
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
            protocol_version: PROTOCOL_VERSION + 1,
            ..hello_of(&peer, PEER_NONCE)
        })],
        false,
    );
    cases
}

pub fn handshake_seeds() -> BTreeMap<String, Vec<u8>> {
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
