//! Authenticated peers exchange messages: both ways, in order, with the right sender.

use super::*;
use crate::protocol::{ProposalId, ProposalReject};

#[tokio::test]
async fn handshake_then_messages_flow_both_ways() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let (mut a, mut b) = pair(&net, quick()).await;
    assert_eq!(a.peers.connected(), vec![b.id]);
    assert_eq!(b.peers.connected(), vec![a.id]);
    assert!(a.peers.is_connected(&b.id) && b.peers.is_connected(&a.id));

    a.peers.send(b.id, &message(1)).await.unwrap();
    assert_eq!(
        b.next().await,
        PeerEvent::Message {
            from: a.id,
            message: message(1),
            ticket: Ticket::untracked(),
        }
    );
    b.peers.send(a.id, &message(2)).await.unwrap();
    assert_eq!(
        a.next().await,
        PeerEvent::Message {
            from: b.id,
            message: message(2),
            ticket: Ticket::untracked(),
        }
    );

    // Connecting again is a no-op: no new connection, no new events.
    a.peers.connect(b.id, &b.addr).await.unwrap();
    b.peers.connect(a.id, &a.addr).await.unwrap();
    assert_eq!(net.open_between(a.endpoint, b.endpoint), 1);
    a.quiet(Duration::from_millis(50)).await;
    b.quiet(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn a_thousand_messages_each_way_arrive_in_order() {
    const COUNT: u64 = 1_000;
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let (mut a, mut b) = pair(&net, quick()).await;
    let send_all = |from: Peers, to: NodeId| {
        tokio::spawn(async move {
            for seq in 0..COUNT {
                from.send(to, &message(seq)).await.unwrap();
            }
        })
    };
    let a_sends = send_all(a.peers.clone(), b.id);
    let b_sends = send_all(b.peers.clone(), a.id);
    let expected: Vec<u64> = (0..COUNT).collect();
    assert_eq!(b.messages(a.id, COUNT as usize).await, expected);
    assert_eq!(a.messages(b.id, COUNT as usize).await, expected);
    a_sends.await.unwrap();
    b_sends.await.unwrap();
}

#[tokio::test]
async fn a_message_over_the_frame_limit_is_refused_and_the_connection_stays() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let config = PeersConfig {
        max_frame_size: 256,
        ..quick()
    };
    let (a, mut b) = pair(&net, config).await;
    let large = ChannelMessage::ProposalReject(ProposalReject {
        proposal_id: ProposalId([1; 32]),
        reason: "x".repeat(500),
    });
    let error = a.peers.send(b.id, &large).await.unwrap_err();
    assert!(
        matches!(error, PeerError::MessageTooLarge { max: 256, size } if size > 500),
        "{error}"
    );
    a.peers.send(b.id, &message(9)).await.unwrap();
    assert_eq!(b.messages(a.id, 1).await, vec![9]);
}

#[tokio::test]
async fn concurrent_connects_to_one_peer_share_one_connection() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let mut a = node(&net, 1, quick()).await;
    let mut b = node(&net, 2, quick()).await;
    let (first, second) = tokio::join!(
        a.peers.connect(b.id, &b.addr),
        a.peers.connect(b.id, &b.addr)
    );
    first.unwrap();
    second.unwrap();
    assert_eq!(a.next().await, PeerEvent::Connected(b.id));
    assert_eq!(b.next().await, PeerEvent::Connected(a.id));
    assert_eq!(net.open_between(a.endpoint, b.endpoint), 1);
    a.quiet(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn sending_to_a_peer_that_is_not_connected_fails() {
    let net = MemoryNetwork::new(DEFAULT_MAX_FRAME_SIZE);
    let a = node(&net, 1, quick()).await;
    let stranger = key(9).node_id();
    assert_eq!(
        a.peers.send(stranger, &message(1)).await,
        Err(PeerError::NotConnected(stranger))
    );
}
