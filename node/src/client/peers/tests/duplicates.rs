//! Two connections between the same two nodes: both sides keep the same one.

use super::*;

/// Which of the raw side's two connections a test expects `Peers` to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loser {
    Dialed,
    Accepted,
}

/// A (a `Peers`) dials the raw node R, then R dials A; both handshakes complete. Returns the
/// raw connection A closed, after checking A kept the other as R's route.
async fn cross_dial(a_key: u8, r_key: u8) -> Loser {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let mut a = node(&net, a_key, quick()).await;
    let mut raw = Raw::new(&net, r_key);
    raw.transport.listen("raw").unwrap();

    let connect = tokio::spawn({
        let peers = a.peers.clone();
        let r = raw.id();
        async move { peers.connect(r, "raw").await }
    });
    let accepted = raw.accept().await;
    let mut accepted_session = raw.handshake(accepted, Role::Listener, None).await;
    connect.await.unwrap().unwrap();
    assert_eq!(a.next().await, PeerEvent::Connected(raw.id()));

    let dialed = raw.dial(&a.addr).await;
    let mut dialed_session = raw.handshake(dialed, Role::Dialer, Some(a.id)).await;
    // A now holds two authenticated connections to R and closes one of them.
    let (loser, survivor) = match raw.next().await {
        TransportEvent::Frame { connection, frame } => {
            let message = decode_frame::<ChannelMessage>(&frame, DEFAULT_MAX_FRAME_SIZE).unwrap();
            assert!(
                matches!(message, WireMessage::Goodbye(ref bye) if bye.reason == GoodbyeReason::Shutdown),
                "{message:?}"
            );
            if connection == dialed {
                (Loser::Dialed, accepted)
            } else {
                assert_eq!(connection, accepted);
                (Loser::Accepted, dialed)
            }
        }
        other => panic!("expected a goodbye on the duplicate, got {other:?}"),
    };
    let closed = match loser {
        Loser::Dialed => dialed,
        Loser::Accepted => accepted,
    };
    assert!(matches!(
        raw.next().await,
        TransportEvent::Closed { connection, .. } if connection == closed
    ));
    let session = match loser {
        Loser::Dialed => &mut accepted_session,
        Loser::Accepted => &mut dialed_session,
    };
    match loser {
        // A kept the connection it had, and probes it in case R restarted: R answers.
        Loser::Dialed => {
            let frame = match raw.next().await {
                TransportEvent::Frame { connection, frame } if connection == survivor => frame,
                other => panic!("expected a probe on the survivor, got {other:?}"),
            };
            let Ok(SessionEvent::Send(pong)) = session.on_frame(&frame) else {
                panic!("expected a ping on the survivor");
            };
            for frame in pong {
                raw.send_bytes(survivor, &frame);
            }
        }
        // A's route moved to the newer connection: A reports R connected again.
        Loser::Accepted => assert_eq!(a.next().await, PeerEvent::Connected(raw.id())),
    }
    // The survivor is R's route on A, the duplicate was never a disconnect, an answered probe
    // keeps the connection for several graces, and messages go over the survivor in both
    // directions.
    assert_eq!(
        a.peers.connection_of(&raw.id()),
        net.far_end(raw.transport.endpoint(), survivor)
    );
    a.quiet(quick().suspect_grace * 3).await;
    a.peers.send(raw.id(), &message(3)).await.unwrap();
    let WireMessage::Channel(received) = raw.frame(survivor).await else {
        panic!("expected the channel message on the survivor");
    };
    assert_eq!(received, message(3));
    raw.send_bytes(survivor, &session.encode_channel(&message(4)).unwrap());
    assert_eq!(a.messages(raw.id(), 1).await, vec![4]);
    loser
}

#[tokio::test]
async fn a_simultaneous_dial_keeps_the_connection_dialed_by_the_lower_id() {
    // key(1) and key(2) in both roles: whichever id is lower, its dial survives.
    for (a_key, r_key) in [(1, 2), (2, 1)] {
        let a_id = key(a_key).node_id();
        let r_id = key(r_key).node_id();
        let expected = if a_id < r_id {
            Loser::Dialed // R's dial loses
        } else {
            Loser::Accepted // A's dial, which R accepted, loses
        };
        assert_eq!(cross_dial(a_key, r_key).await, expected, "a = key({a_key})");
    }
}

#[tokio::test]
async fn a_reconnect_by_the_same_dialer_replaces_the_old_connection() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let mut a = node(&net, 1, quick()).await;
    let mut raw = Raw::new(&net, 2);
    let old = raw.dial(&a.addr).await;
    raw.handshake(old, Role::Dialer, Some(a.id)).await;
    assert_eq!(a.next().await, PeerEvent::Connected(raw.id()));
    let new = raw.dial(&a.addr).await;
    let session = raw.handshake(new, Role::Dialer, Some(a.id)).await;
    assert_eq!(raw.goodbye_then_closed(old).await, GoodbyeReason::Shutdown);
    // Connected again, not disconnected: R may have restarted, so A's channels must resync.
    assert_eq!(a.next().await, PeerEvent::Connected(raw.id()));
    assert_eq!(
        a.peers.connection_of(&raw.id()),
        net.far_end(raw.transport.endpoint(), new)
    );
    raw.send_bytes(new, &session.encode_channel(&message(5)).unwrap());
    assert_eq!(a.messages(raw.id(), 1).await, vec![5]);
}

#[tokio::test]
async fn simultaneous_connects_between_two_nodes_settle_on_one_shared_connection() {
    for round in 0..20 {
        let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
        let mut a = node(&net, 1, quick()).await;
        let mut b = node(&net, 2, quick()).await;
        let (to_b, to_a) = tokio::join!(
            a.peers.connect(b.id, &b.addr),
            b.peers.connect(a.id, &a.addr)
        );
        to_b.unwrap();
        to_a.unwrap();
        assert_eq!(a.next().await, PeerEvent::Connected(b.id), "round {round}");
        assert_eq!(b.next().await, PeerEvent::Connected(a.id), "round {round}");
        // Let every duplicate finish its handshake and be closed.
        let settled = timeout(WAIT, async {
            loop {
                if net.open_between(a.endpoint, b.endpoint) == 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(settled.is_ok(), "round {round}: duplicates never settled");
        // A side whose route moved to the kept connection reports the peer connected once
        // more; nothing else happens.
        let (a_id, b_id) = (a.id, b.id);
        for (node, peer) in [(&mut a, b_id), (&mut b, a_id)] {
            let mut repeats = 0;
            while let Ok(Some(event)) = timeout(Duration::from_millis(30), node.events.recv()).await
            {
                assert_eq!(event, PeerEvent::Connected(peer), "round {round}");
                repeats += 1;
            }
            assert!(repeats <= 1, "round {round}: {repeats} repeated Connected");
        }
        let on_a = a.peers.connection_of(&b.id).expect("A keeps a route to B");
        let on_b = b.peers.connection_of(&a.id).expect("B keeps a route to A");
        assert_eq!(net.far_end(a.endpoint, on_a), Some(on_b), "round {round}");
        a.peers.send(b.id, &message(round)).await.unwrap();
        assert_eq!(b.messages(a.id, 1).await, vec![round]);
    }
}

#[tokio::test]
async fn a_kept_connection_that_does_not_answer_its_probe_gives_way() {
    // A (a `Peers`) has the lower id and dials R; then R, the same process (one incarnation),
    // dials A again as if it had lost the first connection without a word. The first one wins
    // by the simultaneous-dial rule, so A probes it; R never answers there (that connection is
    // dead to R), so A ends it after the grace and R's next dial gets through.
    let (a_key, r_key) = if key(1).node_id() < key(2).node_id() {
        (1, 2)
    } else {
        (2, 1)
    };
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let mut a = node(&net, a_key, quick()).await;
    let mut raw = Raw::new(&net, r_key);
    raw.transport.listen("raw").unwrap();
    let connect = tokio::spawn({
        let peers = a.peers.clone();
        let r = raw.id();
        async move { peers.connect(r, "raw").await }
    });
    let silent = raw.accept().await;
    raw.handshake(silent, Role::Listener, None).await;
    connect.await.unwrap().unwrap();
    assert_eq!(a.next().await, PeerEvent::Connected(raw.id()));

    let refused = raw.dial(&a.addr).await;
    raw.handshake(refused, Role::Dialer, Some(a.id)).await;
    // A refuses the newcomer and probes the connection it kept; R does not answer the ping.
    let mut probed = false;
    let mut refused_closed = false;
    while !(probed && refused_closed) {
        match raw.next().await {
            TransportEvent::Frame { connection, frame } if connection == silent => {
                let message =
                    decode_frame::<ChannelMessage>(&frame, DEFAULT_MAX_FRAME_SIZE).unwrap();
                assert!(matches!(message, WireMessage::Ping(_)), "{message:?}");
                probed = true;
            }
            TransportEvent::Frame { connection, .. } if connection == refused => {}
            TransportEvent::Closed { connection, .. } if connection == refused => {
                refused_closed = true
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        a.next().await,
        PeerEvent::Disconnected(
            raw.id(),
            DisconnectReason::SuspectTimeout(quick().suspect_grace)
        )
    );
    assert_eq!(
        raw.goodbye_then_closed(silent).await,
        GoodbyeReason::Timeout
    );
    let again = raw.dial(&a.addr).await;
    let session = raw.handshake(again, Role::Dialer, Some(a.id)).await;
    assert_eq!(a.next().await, PeerEvent::Connected(raw.id()));
    assert_eq!(
        a.peers.connection_of(&raw.id()),
        net.far_end(raw.transport.endpoint(), again)
    );
    raw.send_bytes(again, &session.encode_channel(&message(6)).unwrap());
    assert_eq!(a.messages(raw.id(), 1).await, vec![6]);
}
