//! What is refused: the wrong peer, garbage and impostors before authentication, silence.

use super::*;
use crate::wire::{auth_digest, Auth, Hello, PROTOCOL_VERSION};

#[tokio::test]
async fn connect_refuses_a_node_that_proves_another_id() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let mut a = node(&net, 1, quick()).await;
    let mut b = node(&net, 2, quick()).await;
    let expected = key(3).node_id();
    let error = a.peers.connect(expected, &b.addr).await.unwrap_err();
    assert_eq!(
        error,
        PeerError::UnexpectedPeer {
            expected,
            actual: b.id
        }
    );
    assert!(a.peers.connected().is_empty());
    assert_eq!(
        a.peers.send(b.id, &message(1)).await,
        Err(PeerError::NotConnected(b.id))
    );
    // B never authenticated A either: A refused before sending its proof.
    a.quiet(Duration::from_millis(100)).await;
    b.quiet(Duration::from_millis(100)).await;
    assert!(b.peers.connected().is_empty());
    assert_eq!(net.open_between(a.endpoint, b.endpoint), 0);
}

/// Opens a connection from a raw endpoint to `a`, sends `frames`, and returns the reason of
/// the goodbye `a` answered with before closing.
async fn refused(raw: &mut Raw, a: &Node, frames: &[Vec<u8>]) -> GoodbyeReason {
    let connection = raw.dial(&a.addr).await;
    for frame in frames {
        raw.send_bytes(connection, frame);
    }
    raw.goodbye_then_closed(connection).await
}

#[tokio::test]
async fn garbage_before_authentication_closes_the_connection_and_delivers_nothing() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let mut a = node(&net, 1, quick()).await;
    let mut raw = Raw::new(&net, 2);
    let hello = |raw: &Raw| {
        encode_frame(&Wire::Hello(Hello {
            node_id: raw.id(),
            nonce: [5; 32],
            protocol_version: PROTOCOL_VERSION,
            listen_address: String::new(),
        }))
    };
    let channel = encode_frame(&Wire::Channel(message(1)));
    let cases: Vec<(&str, Vec<Vec<u8>>, GoodbyeReason)> = vec![
        (
            "a truncated header",
            vec![vec![0]],
            GoodbyeReason::ProtocolViolation,
        ),
        (
            "an unknown kind",
            vec![[&PROTOCOL_VERSION.to_be_bytes()[..], &[99]].concat()],
            GoodbyeReason::ProtocolViolation,
        ),
        (
            "another protocol version",
            vec![vec![0xde, 0xad, 0xbe, 0xef]],
            GoodbyeReason::UnsupportedVersion,
        ),
        (
            "a channel message instead of a hello",
            vec![channel.clone()],
            GoodbyeReason::ProtocolViolation,
        ),
        (
            "a channel message between hello and auth",
            vec![hello(&raw), channel.clone()],
            GoodbyeReason::ProtocolViolation,
        ),
    ];
    for (what, frames, expected) in cases {
        assert_eq!(refused(&mut raw, &a, &frames).await, expected, "{what}");
    }
    a.quiet(Duration::from_millis(100)).await;
    assert!(a.peers.connected().is_empty());
}

#[tokio::test]
async fn an_impostor_claiming_another_nodes_id_is_refused() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let mut a = node(&net, 1, quick()).await;
    let victim = key(2).node_id();
    let mut impostor = Raw::new(&net, 3);
    let connection = impostor.dial(&a.addr).await;
    let nonce = [6; 32];
    let ours = Hello {
        node_id: victim,
        nonce,
        protocol_version: PROTOCOL_VERSION,
        listen_address: String::new(),
    };
    impostor.send(connection, &Wire::Hello(ours.clone()));
    let Wire::Hello(theirs) = impostor.frame(connection).await else {
        panic!("A speaks first with its hello");
    };
    // The impostor can sign the right transcript, but only with its own key.
    let digest = auth_digest(&ours, &theirs);
    impostor.send(
        connection,
        &Wire::Auth(Auth {
            sig: impostor.key.sign(&digest),
        }),
    );
    assert_eq!(
        impostor.goodbye_then_closed(connection).await,
        GoodbyeReason::AuthenticationFailed
    );
    a.quiet(Duration::from_millis(100)).await;
    assert!(a.peers.connected().is_empty());
}

#[tokio::test]
async fn a_silent_connection_is_closed_at_the_handshake_deadline() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let mut a = node(&net, 1, quick()).await;
    let mut raw = Raw::new(&net, 2);
    let started = std::time::Instant::now();
    let connection = raw.dial(&a.addr).await;
    assert_eq!(
        raw.goodbye_then_closed(connection).await,
        GoodbyeReason::Timeout
    );
    assert!(started.elapsed() >= quick().handshake_timeout);
    a.quiet(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn connect_to_a_silent_listener_times_out() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let a = node(&net, 1, quick()).await;
    let mut raw = Raw::new(&net, 2);
    raw.transport.listen("silent").unwrap();
    let error = a.peers.connect(raw.id(), "silent").await.unwrap_err();
    assert_eq!(
        error,
        PeerError::HandshakeTimeout {
            peer: raw.id(),
            after: quick().handshake_timeout
        }
    );
    let connection = raw.accept().await;
    assert_eq!(
        raw.goodbye_then_closed(connection).await,
        GoodbyeReason::Timeout
    );
}

#[tokio::test]
async fn connect_reports_a_failed_dial_and_refuses_the_own_id() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let a = node(&net, 1, quick()).await;
    let peer = key(2).node_id();
    let error = a.peers.connect(peer, "nowhere").await.unwrap_err();
    assert!(
        matches!(&error, PeerError::Dial { peer: p, addr, .. } if *p == peer && addr == "nowhere"),
        "{error}"
    );
    assert_eq!(
        a.peers.connect(a.id, &a.addr).await,
        Err(PeerError::OwnNodeId(a.id))
    );
}
