//! Every limit on a peer ends in a disconnect that names it: a large frame before the
//! handshake, too many frames per second, too many frames not yet handled, and an outbox the
//! peer does not empty.

use super::*;
use crate::client::peers::budget::{Overdraft, PeerLimits};
use crate::wire::Goodbye;

fn limits(change: impl FnOnce(&mut PeerLimits)) -> PeersConfig {
    let mut config = quick();
    change(&mut config.limits);
    config
}

/// Waits for `peer`'s `Disconnected`, skipping its messages; returns the reason.
async fn disconnected(node: &mut Node, peer: NodeId) -> DisconnectReason {
    loop {
        match node.next().await {
            PeerEvent::Disconnected(from, reason) if from == peer => return reason,
            PeerEvent::Message { from, .. } if from == peer => {}
            other => panic!("unexpected event {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_frame_above_the_handshake_limit_closes_an_unauthenticated_connection() {
    // The in-memory transport has no frame limits of its own, so this is the driver's check.
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let a = node(&net, 1, limits(|l| l.handshake_frame = 1024)).await;
    let mut raw = Raw::new(&net, 2);
    let connection = raw.dial(&a.addr).await;
    raw.send_bytes(connection, &vec![7; 1025]);
    assert_eq!(
        raw.goodbye_then_closed(connection).await,
        GoodbyeReason::FrameTooLarge
    );
    // A frame of exactly the limit is judged by what it says, as before (its first two
    // bytes name protocol version 0x0707).
    let connection = raw.dial(&a.addr).await;
    raw.send_bytes(connection, &vec![7; 1024]);
    assert_eq!(
        raw.goodbye_then_closed(connection).await,
        GoodbyeReason::UnsupportedVersion
    );
}

#[tokio::test]
async fn a_peer_over_its_frame_rate_is_disconnected_and_told_why() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let config = limits(|l| l.frames_per_second = 50);
    let (mut a, mut b) = pair(&net, config).await;
    // Far more than 50 in well under a second.
    for seq in 0..200 {
        if a.peers.send(b.id, &message(seq)).await.is_err() {
            break;
        }
    }
    assert_eq!(
        disconnected(&mut b, a.id).await,
        DisconnectReason::OverBudget(Overdraft::Rate { per_second: 50 })
    );
    match disconnected(&mut a, b.id).await {
        DisconnectReason::PeerGoodbye(Goodbye { reason, detail }) => {
            assert_eq!(reason, GoodbyeReason::ProtocolViolation);
            assert!(detail.contains("frames_per_second"), "{detail}");
        }
        other => panic!("expected the peer's goodbye, got {other:?}"),
    }
}

#[tokio::test]
async fn a_steady_peer_under_its_rate_stays_connected() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let config = limits(|l| l.frames_per_second = 1000);
    let (a, mut b) = pair(&net, config).await;
    for seq in 0..300 {
        a.peers.send(b.id, &message(seq)).await.unwrap();
    }
    assert_eq!(b.messages(a.id, 300).await, (0..300).collect::<Vec<_>>());
    b.quiet(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn frames_the_node_has_not_handled_are_bounded_per_peer() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let config = limits(|l| l.frames_in_flight = 20);
    let (mut a, mut b) = pair(&net, config).await;
    // B does not handle its events yet: every message holds its place in A's budget.
    for seq in 0..30 {
        if a.peers.send(b.id, &message(seq)).await.is_err() {
            break;
        }
    }
    match disconnected(&mut a, b.id).await {
        DisconnectReason::PeerGoodbye(Goodbye { detail, .. }) => {
            assert!(detail.contains("frames_in_flight"), "{detail}")
        }
        other => panic!("expected the peer's goodbye, got {other:?}"),
    }
    // B got the 20 that fit, in order, then the end; none after.
    assert_eq!(b.messages(a.id, 20).await, (0..20).collect::<Vec<_>>());
    match b.next().await {
        PeerEvent::Disconnected(peer, DisconnectReason::OverBudget(overdraft)) => {
            assert_eq!(peer, a.id);
            assert!(
                matches!(overdraft, Overdraft::InFlight { frames: 21, .. }),
                "{overdraft:?}"
            );
        }
        other => panic!("expected the over-budget end, got {other:?}"),
    }
}

#[tokio::test]
async fn handled_frames_give_their_room_back() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let config = limits(|l| l.frames_in_flight = 20);
    let (a, mut b) = pair(&net, config).await;
    // Ten rounds of 15: each round fits once the one before is handled.
    for round in 0..10u64 {
        for seq in round * 15..(round + 1) * 15 {
            a.peers.send(b.id, &message(seq)).await.unwrap();
        }
        let expected: Vec<u64> = (round * 15..(round + 1) * 15).collect();
        assert_eq!(b.messages(a.id, 15).await, expected);
    }
    b.quiet(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn a_full_outbox_ends_the_connection_instead_of_dropping_a_message() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let (mut a, mut b) = pair(&net, quick()).await;
    let connection = a.peers.connection_of(&b.id).unwrap();
    a.peers.send(b.id, &message(1)).await.unwrap();
    net.fill_outbox(a.endpoint, connection);
    match a.peers.send(b.id, &message(2)).await {
        Err(PeerError::Send { peer, error }) => {
            assert_eq!(peer, b.id);
            assert_eq!(error.kind, parley_plugin_api::ErrorKind::Unavailable);
        }
        other => panic!("expected the transport's refusal, got {other:?}"),
    }
    // The outbox has room again before the connection has ended: still nothing more may go
    // out on it, or B would get message 3 without message 2.
    net.empty_outbox(a.endpoint, connection);
    assert_eq!(
        a.peers.send(b.id, &message(3)).await,
        Err(PeerError::NotConnected(b.id))
    );
    match disconnected(&mut a, b.id).await {
        DisconnectReason::SendFailed(error) => assert!(error.message().contains("full")),
        other => panic!("expected the refused send as the reason, got {other:?}"),
    }
    assert_eq!(b.messages(a.id, 1).await, vec![1]);
    assert!(matches!(
        b.next().await,
        PeerEvent::Disconnected(peer, DisconnectReason::TransportClosed(_)) if peer == a.id
    ));
    // The peers can connect again (and re-synchronise).
    a.peers.connect(b.id, &b.addr).await.unwrap();
    assert_eq!(a.next().await, PeerEvent::Connected(b.id));
    assert_eq!(b.next().await, PeerEvent::Connected(a.id));
}

#[tokio::test]
async fn connections_beyond_the_pending_handshakes_are_closed_at_once() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let a = node(&net, 1, limits(|l| l.pending_handshakes = 2)).await;
    let mut raw = Raw::new(&net, 2);
    // Two connections that never answer the node's hello hold both places.
    let first = raw.dial(&a.addr).await;
    assert!(matches!(raw.frame(first).await, Wire::Hello(_)));
    let second = raw.dial(&a.addr).await;
    assert!(matches!(raw.frame(second).await, Wire::Hello(_)));
    // A third is told why and closed, without a hello: nothing of it is held.
    let third = raw.dial(&a.addr).await;
    match raw.frame(third).await {
        Wire::Goodbye(Goodbye { reason, detail }) => {
            assert_eq!(reason, GoodbyeReason::Shutdown);
            assert!(detail.contains("pending_handshakes"), "{detail}");
        }
        other => panic!("expected a goodbye, got {other:?}"),
    }
    match raw.next().await {
        TransportEvent::Closed { connection, .. } => assert_eq!(connection, third),
        other => panic!("expected the close, got {other:?}"),
    }
    // Once one of the first ends, a place is free again.
    raw.transport.close(first).unwrap();
    let fourth = raw.dial(&a.addr).await;
    assert!(matches!(raw.frame(fourth).await, Wire::Hello(_)));
}
