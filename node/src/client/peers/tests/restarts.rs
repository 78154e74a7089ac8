//! A peer killed without a word (`kill -9`) and started again with the same key and address,
//! while the survivor still holds the old connection, which died silently: the restarted peer
//! (a new incarnation in its handshake) replaces the dead connection at once, whoever dialed
//! it and whichever id is lower, and the survivor reports it connected so that channels
//! re-synchronise.

use super::*;

/// No periodic pings (as in [`quick`]), and a suspect probe that takes an hour: within these
/// tests only the restarted peer's new incarnation can show that the old connection is dead.
fn config() -> PeersConfig {
    PeersConfig {
        suspect_grace: Duration::from_secs(3600),
        ..quick()
    }
}

/// Keys 1 and 2, the one whose node id is lower first.
fn keys_by_id() -> (u8, u8) {
    if key(1).node_id() < key(2).node_id() {
        (1, 2)
    } else {
        (2, 1)
    }
}

/// Connects nodes `survivor` and `victim` (the survivor dials if `survivor_dials`, else the
/// victim), kills the victim's process and starts it again with the same key and address.
/// Returns the survivor, the restarted victim, and the survivor's old (now dead) connection.
async fn restart(
    net: &MemoryNetwork,
    survivor: u8,
    victim: u8,
    survivor_dials: bool,
) -> (Node, Node, ConnectionId) {
    let mut s = node(net, survivor, config()).await;
    let mut v = node(net, victim, config()).await;
    if survivor_dials {
        s.peers.connect(v.id, &v.addr).await.unwrap();
    } else {
        v.peers.connect(s.id, &s.addr).await.unwrap();
    }
    assert_eq!(s.next().await, PeerEvent::Connected(v.id));
    assert_eq!(v.next().await, PeerEvent::Connected(s.id));
    let old = s.peers.connection_of(&v.id).unwrap();
    net.kill(v.endpoint);
    drop(v);
    let restarted = node(net, victim, config()).await;
    (s, restarted, old)
}

/// The sequence number of the next message from `from`, skipping `from` connecting and
/// disconnecting.
async fn next_message(node: &mut Node, from: NodeId) -> u64 {
    loop {
        match node.next().await {
            PeerEvent::Connected(peer) | PeerEvent::Disconnected(peer, _) if peer == from => {}
            PeerEvent::Message {
                from: sender,
                message,
                ..
            } if sender == from => return seq_of(&message),
            other => panic!("unexpected event {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_restarted_peer_replaces_the_dead_connection_even_where_the_old_one_would_win() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    // The survivor has the lower id and dialed the old connection: by the simultaneous-dial
    // rule alone it beats any connection the victim dials (this is how restarts of a peer
    // with the higher id used to stall until the probe found the old one dead).
    let (low, high) = keys_by_id();
    let (mut s, mut v, old) = restart(&net, low, high, true).await;
    // The restarted node's first dial gets through and stays.
    v.peers.connect(s.id, &s.addr).await.unwrap();
    assert_eq!(v.next().await, PeerEvent::Connected(s.id));
    // Connected again, no `Disconnected` in between: the route moved to the new connection.
    assert_eq!(s.next().await, PeerEvent::Connected(v.id));
    let new = s
        .peers
        .connection_of(&v.id)
        .expect("a route to the restarted peer");
    assert_ne!(new, old);
    assert_eq!(net.far_end(s.endpoint, new), v.peers.connection_of(&s.id));
    s.peers.send(v.id, &message(1)).await.unwrap();
    assert_eq!(next_message(&mut v, s.id).await, 1);
    v.peers.send(s.id, &message(2)).await.unwrap();
    assert_eq!(s.messages(v.id, 1).await, vec![2]);
    v.quiet(Duration::from_millis(100)).await;
    s.quiet(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn a_route_moving_to_a_fresh_connection_is_reported_as_connected_again() {
    let (low, high) = keys_by_id();
    // Every way: either side dialed the old connection, either side has the lower id.
    let cases = [
        (low, high, false),
        (low, high, true),
        (high, low, false),
        (high, low, true),
    ];
    for (survivor, victim, survivor_dials) in cases {
        let case = format!("survivor key({survivor}), survivor dialed: {survivor_dials}");
        let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
        let (mut s, mut v, old) = restart(&net, survivor, victim, survivor_dials).await;
        v.peers.connect(s.id, &s.addr).await.unwrap();
        assert_eq!(v.next().await, PeerEvent::Connected(s.id), "{case}");
        // Again, with no `Disconnected` in between: the old connection's end is not one.
        assert_eq!(s.next().await, PeerEvent::Connected(v.id), "{case}");
        let new = s.peers.connection_of(&v.id).unwrap();
        assert_ne!(new, old, "{case}");
        assert_eq!(
            net.far_end(s.endpoint, new),
            v.peers.connection_of(&s.id),
            "{case}"
        );
        s.peers.send(v.id, &message(1)).await.unwrap();
        assert_eq!(v.messages(s.id, 1).await, vec![1], "{case}");
        v.peers.send(s.id, &message(2)).await.unwrap();
        assert_eq!(s.messages(v.id, 1).await, vec![2], "{case}");
        s.quiet(Duration::from_millis(50)).await;
    }
}
