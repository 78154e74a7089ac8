//! Connections ending: asked for, broken, gone silent, shut down.

use super::*;

#[tokio::test]
async fn disconnect_is_reported_on_both_sides_and_a_reconnect_works() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let (mut a, mut b) = pair(&net, quick()).await;
    a.peers.disconnect(b.id).await.unwrap();
    assert!(
        a.peers.connected().is_empty(),
        "gone when disconnect returns"
    );
    assert_eq!(
        a.next().await,
        PeerEvent::Disconnected(b.id, DisconnectReason::Local)
    );
    match b.next().await {
        PeerEvent::Disconnected(peer, DisconnectReason::PeerGoodbye(goodbye)) => {
            assert_eq!(peer, a.id);
            assert_eq!(goodbye.reason, GoodbyeReason::Shutdown);
        }
        other => panic!("expected A's goodbye, got {other:?}"),
    }
    assert!(b.peers.connected().is_empty());
    assert_eq!(
        b.peers.send(a.id, &message(1)).await,
        Err(PeerError::NotConnected(a.id))
    );
    // Disconnecting a peer that is not connected changes nothing.
    a.peers.disconnect(b.id).await.unwrap();
    a.quiet(Duration::from_millis(30)).await;

    b.peers.connect(a.id, &a.addr).await.unwrap();
    assert_eq!(b.next().await, PeerEvent::Connected(a.id));
    assert_eq!(a.next().await, PeerEvent::Connected(b.id));
    b.peers.send(a.id, &message(2)).await.unwrap();
    assert_eq!(a.messages(b.id, 1).await, vec![2]);
}

#[tokio::test]
async fn a_broken_link_is_reported_as_disconnected_on_both_sides() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let (mut a, mut b) = pair(&net, quick()).await;
    let connection = a.peers.connection_of(&b.id).unwrap();
    net.break_connection(a.endpoint, connection);
    let (a_id, b_id) = (a.id, b.id);
    for (node, peer) in [(&mut a, b_id), (&mut b, a_id)] {
        match node.next().await {
            PeerEvent::Disconnected(from, DisconnectReason::TransportClosed(_)) => {
                assert_eq!(from, peer)
            }
            other => panic!("expected a transport close, got {other:?}"),
        }
        assert!(node.peers.connected().is_empty());
    }
}

#[tokio::test]
async fn answered_pings_keep_a_connection_and_unanswered_ones_end_it() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let config = PeersConfig {
        ping_interval: Some(Duration::from_millis(50)),
        max_missed_pongs: 3,
        ..quick()
    };
    // Two fair nodes answer each other's pings: nothing happens for many intervals (three
    // misses in a row would take a scheduling delay of 150 ms).
    let (mut a, mut b) = pair(&net, config.clone()).await;
    a.quiet(Duration::from_millis(400)).await;
    b.quiet(Duration::from_millis(10)).await;
    assert_eq!(a.peers.connected(), vec![b.id]);

    // A raw peer that never answers is dropped after three missed pings.
    let mut raw = Raw::new(&net, 3);
    let connection = raw.dial(&a.addr).await;
    raw.handshake(connection, Role::Dialer, Some(a.id)).await;
    assert_eq!(a.next().await, PeerEvent::Connected(raw.id()));
    let mut pings = 0;
    loop {
        match raw.frame(connection).await {
            WireMessage::Ping(_) => pings += 1,
            WireMessage::Goodbye(goodbye) => {
                assert_eq!(goodbye.reason, GoodbyeReason::Timeout);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(pings, 3, "one ping per interval until three are missed");
    assert_eq!(
        a.next().await,
        PeerEvent::Disconnected(raw.id(), DisconnectReason::LivenessTimeout { missed: 3 })
    );
    assert_eq!(a.peers.connected(), vec![b.id]);
}

#[tokio::test]
async fn shutdown_says_goodbye_to_every_peer_and_stops() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let (mut a, mut b) = pair(&net, quick()).await;
    a.peers.shutdown().await;
    assert_eq!(
        a.next().await,
        PeerEvent::Disconnected(b.id, DisconnectReason::Shutdown)
    );
    assert!(
        timeout(WAIT, a.events.recv()).await.unwrap().is_none(),
        "the event stream ends with the driver"
    );
    assert!(matches!(
        b.next().await,
        PeerEvent::Disconnected(peer, DisconnectReason::PeerGoodbye(_)) if peer == a.id
    ));
    assert_eq!(
        a.peers.connect(b.id, &b.addr).await,
        Err(PeerError::Stopped)
    );
    assert_eq!(a.peers.disconnect(b.id).await, Err(PeerError::Stopped));
}

#[tokio::test]
async fn dropping_every_handle_closes_the_connections() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let (a, mut b) = pair(&net, quick()).await;
    let a_id = a.id;
    drop(a);
    assert!(matches!(
        b.next().await,
        PeerEvent::Disconnected(peer, _) if peer == a_id
    ));
}
