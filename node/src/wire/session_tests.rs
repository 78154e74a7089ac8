//! Session tests: handshake over frames, then channel messages with the peer as sender.

use super::*;
use crate::wire::envelope::{Hello, MessageKind, PROTOCOL_VERSION};
use crate::wire::frame::DEFAULT_MAX_FRAME_SIZE;
use crate::wire::test_support::{arb_message, key, TestBody};
use parley_plugin_api::codec::Bytes;
use proptest::prelude::*;

type TestSession = Session<TestBody>;

fn body(seq: u64) -> TestBody {
    TestBody {
        seq,
        payload: Bytes(vec![seq as u8; 3]),
    }
}

/// Delivers every frame in `frames` to `to`, collecting what it sends back and whether it
/// authenticated.
fn deliver(
    to: &mut TestSession,
    frames: Vec<Vec<u8>>,
    authenticated: &mut Option<NodeId>,
) -> Vec<Vec<u8>> {
    let mut replies = vec![];
    for frame in frames {
        match to.on_frame(&frame).unwrap() {
            SessionEvent::Send(more) => replies.extend(more),
            SessionEvent::Authenticated { peer, send } => {
                *authenticated = Some(peer);
                replies.extend(send);
            }
            other => panic!("unexpected event during the handshake: {other:?}"),
        }
    }
    replies
}

/// Two sessions (alice dials bob) pumped until both are authenticated.
fn connected(max: usize) -> (TestSession, TestSession) {
    let (alice, bob) = (key(1), key(2));
    let (mut a, mut to_b) =
        TestSession::new(Role::Dialer, &alice, [1; 32], Some(bob.node_id()), max);
    let (mut b, mut to_a) = TestSession::new(Role::Listener, &bob, [2; 32], None, max);
    let (mut a_peer, mut b_peer) = (None, None);
    while !to_a.is_empty() || !to_b.is_empty() {
        let next_to_b = deliver(&mut a, std::mem::take(&mut to_a), &mut a_peer);
        let next_to_a = deliver(&mut b, std::mem::take(&mut to_b), &mut b_peer);
        to_b = next_to_b;
        to_a = next_to_a;
    }
    assert_eq!(a_peer, Some(bob.node_id()));
    assert_eq!(b_peer, Some(alice.node_id()));
    (a, b)
}

#[test]
fn authenticated_session_carries_channel_messages_from_the_peer() {
    let (mut a, mut b) = connected(DEFAULT_MAX_FRAME_SIZE);
    assert_eq!(a.peer(), Some(key(2).node_id()));
    assert_eq!(b.peer(), Some(key(1).node_id()));
    for seq in 0..3 {
        let frame = a.encode_channel(&body(seq)).unwrap();
        assert_eq!(
            b.on_frame(&frame),
            Ok(SessionEvent::Channel {
                from: key(1).node_id(),
                message: body(seq)
            })
        );
        let frame = b.encode_channel(&body(seq + 10)).unwrap();
        assert_eq!(
            a.on_frame(&frame),
            Ok(SessionEvent::Channel {
                from: key(2).node_id(),
                message: body(seq + 10)
            })
        );
    }
}

#[test]
fn ping_is_answered_with_a_matching_pong() {
    let (mut a, mut b) = connected(DEFAULT_MAX_FRAME_SIZE);
    let ping = a.encode_ping(42).unwrap();
    let SessionEvent::Send(pong) = b.on_frame(&ping).unwrap() else {
        panic!("a ping must be answered");
    };
    assert_eq!(pong.len(), 1);
    assert_eq!(a.on_frame(&pong[0]), Ok(SessionEvent::Pong { nonce: 42 }));
}

#[test]
fn channel_message_before_authentication_closes_the_session() {
    let (alice, bob) = (key(1), key(2));
    let (mut listener, _) = TestSession::new(Role::Listener, &bob, [2; 32], None, 1024);
    let (_, hello) = TestSession::new(Role::Dialer, &alice, [1; 32], None, 1024);
    let SessionEvent::Send(_) = listener.on_frame(&hello[0]).unwrap() else {
        panic!("hello must be answered with auth");
    };
    // Alice's hello is in, but no auth: a channel message must not get through.
    let sneaked = encode_frame(&WireMessage::Channel(body(1)));
    let err = listener.on_frame(&sneaked).unwrap_err();
    assert_eq!(
        err,
        SessionError::Handshake(HandshakeError::UnexpectedMessage {
            kind: MessageKind::Channel
        })
    );
    assert_eq!(
        err.goodbye().unwrap().reason,
        GoodbyeReason::ProtocolViolation
    );
    assert!(listener.is_closed());
    assert_eq!(listener.peer(), None);
    assert_eq!(listener.on_frame(&sneaked), Err(SessionError::Closed));
}

#[test]
fn nothing_can_be_sent_before_authentication() {
    let (mut a, _) = TestSession::new(Role::Dialer, &key(1), [1; 32], None, 1024);
    assert_eq!(
        a.encode_channel(&body(1)),
        Err(SessionError::NotAuthenticated {
            what: "channel message"
        })
    );
    assert_eq!(
        a.encode_ping(1),
        Err(SessionError::NotAuthenticated { what: "ping" })
    );
    assert!(
        !a.is_closed(),
        "a local refusal leaves the connection usable"
    );
    let goodbye = a.close(GoodbyeReason::Shutdown, "bye");
    assert!(a.is_closed());
    assert_eq!(
        decode_frame::<TestBody>(&goodbye, 1024),
        Ok(WireMessage::Goodbye(Goodbye::new(
            GoodbyeReason::Shutdown,
            "bye"
        )))
    );
}

#[test]
fn frame_limits_apply_both_ways() {
    let (a, mut b) = connected(200);
    let big = TestBody {
        seq: 1,
        payload: Bytes(vec![0; 300]),
    };
    let err = a.encode_channel(&big).unwrap_err();
    assert!(matches!(
        err,
        SessionError::OutgoingTooLarge { max: 200, .. }
    ));
    assert!(!err.is_fatal() && err.goodbye().is_none());
    let frame = encode_frame(&WireMessage::Channel(big));
    let err = b.on_frame(&frame).unwrap_err();
    assert!(matches!(
        err,
        SessionError::Frame(WireError::FrameTooLarge { max: 200, .. })
    ));
    assert_eq!(err.goodbye().unwrap().reason, GoodbyeReason::FrameTooLarge);
    assert!(b.is_closed());
}

#[test]
fn garbage_during_the_handshake_closes_the_session() {
    let (mut a, _) = TestSession::new(Role::Dialer, &key(1), [1; 32], None, 1024);
    let err = a.on_frame(b"GET / HTTP/1.1\r\n").unwrap_err();
    assert!(matches!(err, SessionError::Frame(_)));
    assert!(err.goodbye().is_some());
    assert!(a.is_closed());
}

#[test]
fn handshake_messages_after_authentication_are_refused() {
    let (mut a, _) = connected(DEFAULT_MAX_FRAME_SIZE);
    let hello = encode_frame(&WireMessage::<TestBody>::Hello(Hello {
        node_id: key(3).node_id(),
        nonce: [3; 32],
        protocol_version: PROTOCOL_VERSION,
        listen_address: String::new(),
    }));
    assert_eq!(
        a.on_frame(&hello),
        Err(SessionError::Handshake(
            HandshakeError::AlreadyAuthenticated
        ))
    );
    assert!(a.is_closed());
    assert_eq!(a.peer(), None);
}

#[test]
fn peer_goodbye_closes_without_a_reply() {
    let (mut a, mut b) = connected(DEFAULT_MAX_FRAME_SIZE);
    let goodbye = b.close(GoodbyeReason::Shutdown, "restarting");
    assert_eq!(
        a.on_frame(&goodbye),
        Ok(SessionEvent::PeerClosed(Goodbye::new(
            GoodbyeReason::Shutdown,
            "restarting"
        )))
    );
    assert!(a.is_closed());
    assert_eq!(a.on_frame(&goodbye), Err(SessionError::Closed));
}

proptest! {
    /// An attacker without alice's or bob's key, sending any sequence of well-formed frames,
    /// never gets authenticated and never gets a channel message delivered.
    #[test]
    fn forged_frames_never_authenticate_or_deliver(
        messages in proptest::collection::vec(arb_message(), 1..6),
        role_is_dialer in any::<bool>(),
    ) {
        let role = if role_is_dialer { Role::Dialer } else { Role::Listener };
        let (mut session, _) = TestSession::new(role, &key(250), [7; 32], None, 4096);
        for message in messages {
            match session.on_frame(&encode_frame(&message)) {
                Ok(SessionEvent::Authenticated { .. }) | Ok(SessionEvent::Channel { .. }) => {
                    prop_assert!(false, "forged frames got through: {:?}", message);
                }
                Ok(_) => prop_assert!(!session.is_closed() || matches!(message, WireMessage::Goodbye(_))),
                Err(error) => {
                    prop_assert!(error.is_fatal());
                    prop_assert!(session.is_closed());
                }
            }
        }
        prop_assert_eq!(session.peer(), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_session(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 1..5),
    ) {
        let (mut a, _) = connected(DEFAULT_MAX_FRAME_SIZE);
        for frame in frames {
            let _ = a.on_frame(&frame);
        }
    }
}
