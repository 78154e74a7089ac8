//! A peer killed without a word (`kill -9`) and started again with the same key and address,
//! while the survivor still holds the old connection, which died silently: the restarted peer
//! gets through quickly, and the survivor reports it connected so that channels re-synchronise.

use super::*;

/// No periodic pings (as in [`quick`]), so that only the probe of a suspect connection can
/// find the dead one.
fn config() -> PeersConfig {
    quick()
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
async fn a_restarted_peer_gets_through_once_the_silently_dead_connection_fails_its_probe() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    // The survivor has the lower id and dialed the old connection: by `dedupe`, it beats any
    // connection the victim dials, so only finding the old one dead lets the victim in.
    let (low, high) = keys_by_id();
    let (mut s, mut v, old) = restart(&net, low, high, true).await;
    // The restarted node redials until it is in, as the node's client does.
    let redial = tokio::spawn({
        let peers = v.peers.clone();
        let (to, addr) = (s.id, s.addr.clone());
        async move {
            loop {
                let _ = peers.connect(to, &addr).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    assert_eq!(
        s.next().await,
        PeerEvent::Disconnected(
            v.id,
            DisconnectReason::SuspectTimeout(config().suspect_grace)
        )
    );
    assert_eq!(s.next().await, PeerEvent::Connected(v.id));
    redial.abort();
    let new = s
        .peers
        .connection_of(&v.id)
        .expect("a route to the restarted peer");
    assert_ne!(new, old);
    s.peers.send(v.id, &message(1)).await.unwrap();
    assert_eq!(next_message(&mut v, s.id).await, 1);
    v.peers.send(s.id, &message(2)).await.unwrap();
    assert_eq!(s.messages(v.id, 1).await, vec![2]);
}

#[tokio::test]
async fn a_route_moving_to_a_fresh_connection_is_reported_as_connected_again() {
    let (low, high) = keys_by_id();
    // Every way the restarted node's new connection replaces the old one by `dedupe`: the
    // victim had dialed the old one too (a reconnect by the same dialer), or the survivor had,
    // but the survivor has the higher id.
    let cases = [(low, high, false), (high, low, false), (high, low, true)];
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
