//! Handshake tests: honest runs in every interleaving, and each attack refused with its error.

use super::*;
use crate::wire::envelope::MAX_LISTEN_ADDRESS;
use crate::wire::envelope::{Ping, Pong};
use crate::wire::frame::{decode_frame, encode_frame, DEFAULT_MAX_FRAME_SIZE};
use crate::wire::identity::NodeSig;
use crate::wire::test_support::{key, TestBody};
use parley_plugin_api::codec::Encode;
use proptest::prelude::*;
use std::collections::VecDeque;

type Message = WireMessage<TestBody>;

/// Sends a handshake message through a real frame, as the driver would.
fn carry(message: HandshakeMessage) -> Message {
    let frame = encode_frame(&Message::from(message));
    decode_frame(&frame, DEFAULT_MAX_FRAME_SIZE).unwrap()
}

fn hello_of(messages: &[HandshakeMessage]) -> Hello {
    match messages {
        [HandshakeMessage::Hello(hello)] => hello.clone(),
        other => panic!("expected one hello, got {other:?}"),
    }
}

fn auth_of(step: HandshakeStep) -> Auth {
    match step {
        HandshakeStep::Send(messages) => match messages.as_slice() {
            [HandshakeMessage::Auth(auth)] => auth.clone(),
            other => panic!("expected one auth, got {other:?}"),
        },
        other => panic!("expected to send auth, got {other:?}"),
    }
}

/// Outcome of one side in a pumped run.
type Outcome = Result<NodeId, HandshakeError>;

/// Runs a dialer and a listener against each other. `schedule` picks, at each turn, which
/// side's queue delivers its next message (true: dialer → listener), so that every interleaving
/// the transport allows can be tried.
fn pump(
    dialer: (&NodeKey, [u8; 32], Option<NodeId>),
    listener: (&NodeKey, [u8; 32], Option<NodeId>),
    schedule: &[bool],
) -> (Outcome, Outcome) {
    let (mut d, d_out) = Handshake::new(Role::Dialer, dialer.0, dialer.1, dialer.2);
    let (mut l, l_out) = Handshake::new(Role::Listener, listener.0, listener.1, listener.2);
    let mut to_listener: VecDeque<_> = d_out.into();
    let mut to_dialer: VecDeque<_> = l_out.into();
    let (mut d_result, mut l_result) = (None, None);
    let mut turn = schedule.iter().copied().cycle();
    while !to_listener.is_empty() || !to_dialer.is_empty() {
        let forward = if to_dialer.is_empty() {
            true
        } else if to_listener.is_empty() {
            false
        } else {
            turn.next().unwrap_or(true)
        };
        let (side, message, outbox, result) = if forward {
            let m = to_listener.pop_front().unwrap();
            (&mut l, m, &mut to_dialer, &mut l_result)
        } else {
            let m = to_dialer.pop_front().unwrap();
            (&mut d, m, &mut to_listener, &mut d_result)
        };
        if result.is_some() {
            continue; // this side already finished or failed; the connection would be closed
        }
        match side.on_message(carry(message)) {
            Ok(HandshakeStep::Send(messages)) => outbox.extend(messages),
            Ok(HandshakeStep::Done { peer, send }) => {
                outbox.extend(send);
                *result = Some(Ok(peer));
            }
            Err(error) => *result = Some(Err(error)),
        }
    }
    (
        d_result.expect("dialer finished"),
        l_result.expect("listener finished"),
    )
}

#[test]
fn honest_sides_authenticate_each_other() {
    let (alice, bob) = (key(1), key(2));
    let (d, l) = pump(
        (&alice, [1; 32], Some(bob.node_id())),
        (&bob, [2; 32], None),
        &[true, false],
    );
    assert_eq!(d, Ok(bob.node_id()));
    assert_eq!(l, Ok(alice.node_id()));
}

proptest! {
    #[test]
    fn every_interleaving_authenticates(
        schedule in proptest::collection::vec(any::<bool>(), 1..8),
        d_nonce in any::<[u8; 32]>(),
        l_nonce in any::<[u8; 32]>(),
    ) {
        prop_assume!(d_nonce != l_nonce);
        let (alice, bob) = (key(1), key(2));
        let (d, l) = pump(
            (&alice, d_nonce, Some(bob.node_id())),
            (&bob, l_nonce, Some(alice.node_id())),
            &schedule,
        );
        prop_assert_eq!(d, Ok(bob.node_id()));
        prop_assert_eq!(l, Ok(alice.node_id()));
    }

    #[test]
    fn arbitrary_auth_signatures_are_refused(sig in proptest::collection::vec(any::<u8>(), 64)) {
        let (alice, bob) = (key(1), key(2));
        let (mut d, _) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
        let (_, bob_out) = Handshake::new(Role::Listener, &bob, [2; 32], None);
        d.on_message(carry(bob_out[0].clone())).unwrap();
        let forged = NodeSig(sig.try_into().unwrap());
        prop_assert_eq!(
            d.on_message::<TestBody>(WireMessage::Auth(Auth { sig: forged })),
            Err(HandshakeError::BadSignature { peer: bob.node_id() })
        );
    }
}

#[test]
fn peer_is_known_only_when_done() {
    let (alice, bob) = (key(1), key(2));
    let (mut d, _) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    let (mut l, l_out) = Handshake::new(Role::Listener, &bob, [2; 32], None);
    assert_eq!(d.role(), Role::Dialer);
    assert_eq!(d.peer(), None);
    let d_auth = auth_of(d.on_message(carry(l_out[0].clone())).unwrap());
    assert_eq!(d.peer(), None, "a hello alone authenticates nobody");
    let (_, d_out) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    let l_auth = auth_of(l.on_message(carry(d_out[0].clone())).unwrap());
    let done = l.on_message::<TestBody>(WireMessage::Auth(d_auth)).unwrap();
    assert_eq!(
        done,
        HandshakeStep::Done {
            peer: alice.node_id(),
            send: vec![]
        }
    );
    assert_eq!(l.peer(), Some(alice.node_id()));
    d.on_message::<TestBody>(WireMessage::Auth(l_auth)).unwrap();
    assert_eq!(d.peer(), Some(bob.node_id()));
}

#[test]
fn tampered_signature_is_refused() {
    let (alice, bob) = (key(1), key(2));
    let (mut d, d_out) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    let (mut l, l_out) = Handshake::new(Role::Listener, &bob, [2; 32], None);
    d.on_message(carry(l_out[0].clone())).unwrap();
    let mut l_auth = auth_of(l.on_message(carry(d_out[0].clone())).unwrap());
    l_auth.sig.0[40] ^= 0x01;
    assert_eq!(
        d.on_message::<TestBody>(WireMessage::Auth(l_auth)),
        Err(HandshakeError::BadSignature {
            peer: bob.node_id()
        })
    );
    assert_eq!(d.peer(), None);
}

#[test]
fn another_node_answering_a_dial_is_refused_before_signing() {
    let (alice, bob, carol) = (key(1), key(2), key(3));
    let (mut d, _) = Handshake::new(Role::Dialer, &alice, [1; 32], Some(carol.node_id()));
    let (_, bob_out) = Handshake::new(Role::Listener, &bob, [2; 32], None);
    let result = d.on_message(carry(bob_out[0].clone()));
    assert_eq!(
        result,
        Err(HandshakeError::UnexpectedPeer {
            expected: carol.node_id(),
            actual: bob.node_id()
        })
    );
    let text = result.unwrap_err().to_string();
    assert!(text.contains(&carol.node_id().to_string()), "{text}");
}

#[test]
fn auth_replayed_from_another_session_is_refused() {
    let (alice, bob) = (key(1), key(2));
    // Session 1, honest: record bob's hello and auth.
    let (_, d_out) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    let (mut l, l_out) = Handshake::new(Role::Listener, &bob, [2; 32], None);
    let old_hello = l_out[0].clone();
    let old_auth = auth_of(l.on_message(carry(d_out[0].clone())).unwrap());

    // Session 2: alice dials bob with a fresh nonce; mallory answers with bob's old messages.
    let (mut d, _) = Handshake::new(Role::Dialer, &alice, [3; 32], Some(bob.node_id()));
    d.on_message(carry(old_hello)).unwrap();
    assert_eq!(
        d.on_message::<TestBody>(WireMessage::Auth(old_auth.clone())),
        Err(HandshakeError::BadSignature {
            peer: bob.node_id()
        })
    );

    // Same with a fresh nonce of mallory's choosing in the replayed hello.
    let (mut d, _) = Handshake::new(Role::Dialer, &alice, [3; 32], Some(bob.node_id()));
    d.on_message::<TestBody>(WireMessage::Hello(Hello {
        node_id: bob.node_id(),
        nonce: [4; 32],
        protocol_version: PROTOCOL_VERSION,
        listen_address: String::new(),
    }))
    .unwrap();
    assert_eq!(
        d.on_message::<TestBody>(WireMessage::Auth(old_auth)),
        Err(HandshakeError::BadSignature {
            peer: bob.node_id()
        })
    );
}

#[test]
fn reflected_hello_is_refused() {
    let alice = key(1);
    let (mut d, d_out) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    assert_eq!(
        d.on_message(carry(d_out[0].clone())),
        Err(HandshakeError::ReflectedIdentity)
    );
    // Another identity, but our own nonce echoed back.
    let (mut d, d_out) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    let mut echoed = hello_of(&d_out);
    echoed.node_id = key(2).node_id();
    assert_eq!(
        d.on_message::<TestBody>(WireMessage::Hello(echoed)),
        Err(HandshakeError::ReflectedNonce)
    );
}

#[test]
fn reflected_auth_is_refused() {
    let (alice, bob) = (key(1), key(2));
    // Mallory claims to be bob and bounces alice's own auth back to her.
    let (mut d, _) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    let (_, bob_out) = Handshake::new(Role::Listener, &bob, [2; 32], None);
    let alice_auth = auth_of(d.on_message(carry(bob_out[0].clone())).unwrap());
    assert_eq!(
        d.on_message::<TestBody>(WireMessage::Auth(alice_auth)),
        Err(HandshakeError::BadSignature {
            peer: bob.node_id()
        })
    );
}

#[test]
fn roles_are_bound_into_the_signature() {
    // Two sides that both believe they are the listener sign different transcripts.
    let (alice, bob) = (key(1), key(2));
    let (mut a, a_out) = Handshake::new(Role::Listener, &alice, [1; 32], None);
    let (mut b, b_out) = Handshake::new(Role::Listener, &bob, [2; 32], None);
    let a_auth = auth_of(a.on_message(carry(b_out[0].clone())).unwrap());
    b.on_message(carry(a_out[0].clone())).unwrap();
    assert_eq!(
        b.on_message::<TestBody>(WireMessage::Auth(a_auth)),
        Err(HandshakeError::BadSignature {
            peer: alice.node_id()
        })
    );
}

#[test]
fn messages_out_of_order_are_refused() {
    let (alice, bob) = (key(1), key(2));
    let (_, bob_out) = Handshake::new(Role::Listener, &bob, [2; 32], None);

    let (mut d, _) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    let auth = Auth {
        sig: NodeSig([1; 64]),
    };
    assert_eq!(
        d.on_message::<TestBody>(WireMessage::Auth(auth)),
        Err(HandshakeError::AuthBeforeHello)
    );
    // Once failed, always failed, even for a message that would have been fine.
    assert_eq!(
        d.on_message(carry(bob_out[0].clone())),
        Err(HandshakeError::AlreadyFailed)
    );

    let (mut d, _) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    d.on_message(carry(bob_out[0].clone())).unwrap();
    assert_eq!(
        d.on_message(carry(bob_out[0].clone())),
        Err(HandshakeError::DuplicateHello)
    );

    for early in [
        Message::Channel(TestBody {
            seq: 1,
            payload: vec![1].into(),
        }),
        Message::Ping(Ping { nonce: 1 }),
        Message::Pong(Pong { nonce: 1 }),
    ] {
        let kind = early.kind();
        let (mut d, _) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
        assert_eq!(
            d.on_message(early.clone()),
            Err(HandshakeError::UnexpectedMessage { kind })
        );
        // Also after the peer's hello, before its auth.
        let (mut d, _) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
        d.on_message(carry(bob_out[0].clone())).unwrap();
        assert_eq!(
            d.on_message(early),
            Err(HandshakeError::UnexpectedMessage { kind })
        );
    }
}

#[test]
fn messages_after_done_are_refused_without_losing_the_peer() {
    let (alice, bob) = (key(1), key(2));
    let (mut d, d_out) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    let (mut l, l_out) = Handshake::new(Role::Listener, &bob, [2; 32], None);
    d.on_message(carry(l_out[0].clone())).unwrap();
    let l_auth = auth_of(l.on_message(carry(d_out[0].clone())).unwrap());
    d.on_message::<TestBody>(WireMessage::Auth(l_auth.clone()))
        .unwrap();
    assert_eq!(
        d.on_message::<TestBody>(WireMessage::Auth(l_auth)),
        Err(HandshakeError::AlreadyAuthenticated)
    );
    assert_eq!(d.peer(), Some(bob.node_id()));
}

#[test]
fn version_mismatch_is_refused_with_both_versions() {
    let (alice, bob) = (key(1), key(2));
    let (mut d, _) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    let result = d.on_message::<TestBody>(WireMessage::Hello(Hello {
        node_id: bob.node_id(),
        nonce: [2; 32],
        protocol_version: 8,
        listen_address: String::new(),
    }));
    assert_eq!(
        result,
        Err(HandshakeError::VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs: 8
        })
    );
    assert_eq!(
        result.unwrap_err().goodbye().unwrap().reason,
        GoodbyeReason::UnsupportedVersion
    );
}

#[test]
fn peer_goodbye_ends_the_handshake_without_a_reply() {
    let alice = key(1);
    let (mut d, _) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    let err = d
        .on_message::<TestBody>(WireMessage::Goodbye(Goodbye::new(
            GoodbyeReason::Timeout,
            "too slow",
        )))
        .unwrap_err();
    assert_eq!(
        err,
        HandshakeError::PeerClosed {
            reason: GoodbyeReason::Timeout,
            detail: "too slow".into()
        }
    );
    assert_eq!(err.goodbye(), None);
}

#[test]
fn authentication_failures_say_so_in_the_goodbye() {
    let peer = key(2).node_id();
    for error in [
        HandshakeError::ReflectedIdentity,
        HandshakeError::ReflectedNonce,
        HandshakeError::BadSignature { peer },
        HandshakeError::UnexpectedPeer {
            expected: key(3).node_id(),
            actual: peer,
        },
    ] {
        let goodbye = error.goodbye().unwrap();
        assert_eq!(goodbye.reason, GoodbyeReason::AuthenticationFailed);
        assert_eq!(goodbye.detail, error.to_string());
    }
    assert_eq!(
        HandshakeError::DuplicateHello.goodbye().unwrap().reason,
        GoodbyeReason::ProtocolViolation
    );
}

fn plain_hello(n: u8, nonce: u8) -> Hello {
    Hello {
        node_id: key(n).node_id(),
        nonce: [nonce; 32],
        protocol_version: PROTOCOL_VERSION,
        listen_address: String::new(),
    }
}

#[test]
fn transcript_binds_every_input() {
    let (a, b) = (plain_hello(1, 1), plain_hello(2, 2));
    let base = auth_digest(&a, &b);
    assert_ne!(base, auth_digest(&b, &a), "which side dialed");
    let changed = [
        Hello {
            nonce: [3; 32],
            ..a.clone()
        },
        Hello {
            node_id: key(3).node_id(),
            ..a.clone()
        },
        Hello {
            protocol_version: 9,
            ..a.clone()
        },
        Hello {
            listen_address: "127.0.0.1:9740".into(),
            ..a.clone()
        },
    ];
    for hello in changed {
        assert_ne!(base, auth_digest(&hello, &b), "dialer's {hello:?}");
        let theirs = Hello {
            node_id: b.node_id,
            ..hello
        };
        assert_ne!(base, auth_digest(&a, &theirs), "listener's {theirs:?}");
    }
    let mut tagged = Vec::from(HANDSHAKE_DOMAIN);
    tagged.extend_from_slice(&a.encode());
    tagged.extend_from_slice(&b.encode());
    assert_eq!(base, keccak256(&[&tagged]));
}

#[test]
fn each_side_learns_the_listen_address_the_other_signed() {
    let (alice, bob) = (key(1), key(2));
    let (mut d, d_out) =
        Handshake::announcing(Role::Dialer, &alice, [1; 32], None, "10.0.0.1:9740".into());
    let (mut l, l_out) =
        Handshake::announcing(Role::Listener, &bob, [2; 32], None, "10.0.0.2:9740".into());
    let d_auth = auth_of(d.on_message(carry(l_out[0].clone())).unwrap());
    let l_auth = auth_of(l.on_message(carry(d_out[0].clone())).unwrap());
    assert_eq!(
        l.peer_listen_address(),
        None,
        "not before the peer proved who it is"
    );
    d.on_message(carry(HandshakeMessage::Auth(l_auth))).unwrap();
    l.on_message(carry(HandshakeMessage::Auth(d_auth))).unwrap();
    assert_eq!(d.peer_listen_address(), Some("10.0.0.2:9740"));
    assert_eq!(l.peer_listen_address(), Some("10.0.0.1:9740"));
}

#[test]
fn an_address_changed_on_the_way_fails_the_handshake() {
    let (alice, bob) = (key(1), key(2));
    let (mut d, d_out) =
        Handshake::announcing(Role::Dialer, &alice, [1; 32], None, "10.0.0.1:9740".into());
    let (mut l, l_out) = Handshake::new(Role::Listener, &bob, [2; 32], None);
    let mut forged = hello_of(&d_out);
    forged.listen_address = "10.6.6.6:9740".into();
    let l_auth = auth_of(
        l.on_message(carry(HandshakeMessage::Hello(forged)))
            .unwrap(),
    );
    let d_auth = auth_of(d.on_message(carry(l_out[0].clone())).unwrap());
    assert_eq!(
        l.on_message(carry(HandshakeMessage::Auth(d_auth))),
        Err(HandshakeError::BadSignature {
            peer: alice.node_id()
        })
    );
    assert!(matches!(
        d.on_message(carry(HandshakeMessage::Auth(l_auth))),
        Err(HandshakeError::BadSignature { .. })
    ));
}

#[test]
fn an_overlong_listen_address_is_refused() {
    let (alice, bob) = (key(1), key(2));
    let (mut d, _) = Handshake::new(Role::Dialer, &alice, [1; 32], None);
    let (_, l_out) = Handshake::announcing(
        Role::Listener,
        &bob,
        [2; 32],
        None,
        "x".repeat(MAX_LISTEN_ADDRESS + 1),
    );
    let error = d.on_message(carry(l_out[0].clone())).unwrap_err();
    assert_eq!(
        error,
        HandshakeError::ListenAddressTooLong {
            len: MAX_LISTEN_ADDRESS + 1
        }
    );
    assert_eq!(
        error.goodbye().unwrap().reason,
        GoodbyeReason::ProtocolViolation
    );
}

#[test]
fn each_side_learns_the_incarnation_the_other_signed_over() {
    let (alice, bob) = (key(1), key(2));
    let (alice_run, bob_run) = (Incarnation([0xa1; 16]), Incarnation([0xb2; 16]));
    let (a_nonce, b_nonce) = (alice_run.nonce().unwrap(), bob_run.nonce().unwrap());
    // Two nonces of one incarnation share the first half and never the whole.
    let again = alice_run.nonce().unwrap();
    assert_eq!(Incarnation::of_nonce(&again), alice_run);
    assert_ne!(again, a_nonce);
    let (mut d, d_out) = Handshake::new(Role::Dialer, &alice, a_nonce, Some(bob.node_id()));
    let (mut l, l_out) = Handshake::new(Role::Listener, &bob, b_nonce, None);
    assert_eq!(d.peer_incarnation(), None);
    let d_auth = auth_of(d.on_message(carry(l_out[0].clone())).unwrap());
    let l_auth = auth_of(l.on_message(carry(d_out[0].clone())).unwrap());
    assert_eq!(
        l.peer_incarnation(),
        None,
        "not before the peer proved who it is"
    );
    assert!(matches!(
        d.on_message(carry(HandshakeMessage::Auth(l_auth))),
        Ok(HandshakeStep::Done { .. })
    ));
    assert!(matches!(
        l.on_message(carry(HandshakeMessage::Auth(d_auth))),
        Ok(HandshakeStep::Done { .. })
    ));
    assert_eq!(d.peer_incarnation(), Some(bob_run));
    assert_eq!(l.peer_incarnation(), Some(alice_run));
}
