//! Peer manager tests over the in-memory transport: whole `Peers` paired in one process, and
//! a hand-driven "raw" peer (a bare transport endpoint plus, where it plays fair, a wire
//! `Session`) for what a well-behaved node never does.

mod budgets;
mod duplicates;
mod exchange;
mod lifecycle;
mod refusals;
mod restarts;

use super::memory::{MemoryNetwork, MemoryTransport};
use super::*;
use crate::protocol::{ChannelMessage, SyncRequest};
use crate::wire::{
    decode_frame, encode_frame, GoodbyeReason, Incarnation, Role, Session, SessionEvent,
    WireMessage, DEFAULT_MAX_FRAME_SIZE,
};
use parley_plugin_api::model::{ChannelId, ConnectionId, TransportEvent};
use std::time::Duration;
use tokio::time::timeout;

/// The longest any single wait in these tests lasts.
const WAIT: Duration = Duration::from_secs(5);

/// A key from a fixed secret (`n` non-zero).
fn key(n: u8) -> NodeKey {
    NodeKey::from_secret_bytes(&[n; 32]).expect("a small repeated byte is a valid secret")
}

/// A small channel message carrying a sequence number.
fn message(seq: u64) -> ChannelMessage {
    ChannelMessage::SyncRequest(SyncRequest {
        channel_id: ChannelId([7; 32]),
        latest_version: seq,
        spent_version: seq,
    })
}

fn seq_of(message: &ChannelMessage) -> u64 {
    match message {
        ChannelMessage::SyncRequest(request) => request.latest_version,
        other => panic!("unexpected message {other:?}"),
    }
}

/// Short deadlines so that timeouts show up quickly; no pings unless a test asks.
fn quick() -> PeersConfig {
    PeersConfig {
        handshake_timeout: Duration::from_millis(500),
        ping_interval: None,
        suspect_grace: Duration::from_millis(100),
        ..PeersConfig::default()
    }
}

/// A `Peers` with its event stream, listening on `node-<n>`.
struct Node {
    peers: Peers,
    events: UnboundedReceiver<PeerEvent>,
    id: NodeId,
    addr: String,
    endpoint: usize,
}

async fn node(net: &MemoryNetwork, n: u8, config: PeersConfig) -> Node {
    let (intake, transport_events) = Intake::new(config.limits);
    let transport = net.endpoint_into(intake.clone());
    let endpoint = transport.endpoint();
    let (peers, events) = Peers::start(key(n), transport, (intake, transport_events), config);
    let addr = peers.listen(&format!("node-{n}")).await.unwrap();
    Node {
        id: peers.node_id(),
        peers,
        events,
        addr,
        endpoint,
    }
}

impl Node {
    async fn next(&mut self) -> PeerEvent {
        timeout(WAIT, self.events.recv())
            .await
            .expect("a peer event in time")
            .expect("the event stream is open")
    }

    /// Asserts that no event arrives for `time`.
    async fn quiet(&mut self, time: Duration) {
        if let Ok(Some(event)) = timeout(time, self.events.recv()).await {
            panic!("unexpected event {event:?}");
        }
    }

    /// Waits for `count` messages from `from` and returns their sequence numbers.
    async fn messages(&mut self, from: NodeId, count: usize) -> Vec<u64> {
        let mut seqs = Vec::with_capacity(count);
        while seqs.len() < count {
            match self.next().await {
                PeerEvent::Message {
                    from: sender,
                    message,
                    ..
                } => {
                    assert_eq!(sender, from);
                    seqs.push(seq_of(&message));
                }
                other => panic!("expected a message, got {other:?}"),
            }
        }
        seqs
    }
}

/// Two connected nodes (1 dialed 2), their `Connected` events consumed.
async fn pair(net: &MemoryNetwork, config: PeersConfig) -> (Node, Node) {
    let mut a = node(net, 1, config.clone()).await;
    let mut b = node(net, 2, config).await;
    a.peers.connect(b.id, &b.addr).await.unwrap();
    assert_eq!(a.next().await, PeerEvent::Connected(b.id));
    assert_eq!(b.next().await, PeerEvent::Connected(a.id));
    (a, b)
}

/// A bare endpoint the test drives by hand: one run of a node's process (one incarnation).
struct Raw {
    transport: Arc<MemoryTransport>,
    events: UnboundedReceiver<TransportEvent>,
    key: NodeKey,
    incarnation: Incarnation,
}

type Wire = WireMessage<ChannelMessage>;

impl Raw {
    fn new(net: &MemoryNetwork, n: u8) -> Raw {
        let (transport, events) = net.endpoint();
        Raw {
            transport,
            events,
            key: key(n),
            incarnation: Incarnation::random().unwrap(),
        }
    }

    fn id(&self) -> NodeId {
        self.key.node_id()
    }

    async fn next(&mut self) -> TransportEvent {
        timeout(WAIT, self.events.recv())
            .await
            .expect("a transport event in time")
            .expect("the event stream is open")
    }

    /// Dials `addr` and consumes the dialer's `Connected` event.
    async fn dial(&mut self, addr: &str) -> ConnectionId {
        let id = self.transport.dial(addr).unwrap();
        match self.next().await {
            TransportEvent::Connected {
                connection,
                inbound: false,
                ..
            } if connection == id => id,
            other => panic!("expected our Connected, got {other:?}"),
        }
    }

    /// Waits for an inbound connection.
    async fn accept(&mut self) -> ConnectionId {
        match self.next().await {
            TransportEvent::Connected {
                connection,
                inbound: true,
                ..
            } => connection,
            other => panic!("expected an inbound Connected, got {other:?}"),
        }
    }

    fn send(&self, connection: ConnectionId, message: &Wire) {
        self.send_bytes(connection, &encode_frame(message));
    }

    fn send_bytes(&self, connection: ConnectionId, frame: &[u8]) {
        self.transport.send(connection, frame).unwrap();
    }

    /// The next frame, which must be on `connection`, decoded.
    async fn frame(&mut self, connection: ConnectionId) -> Wire {
        match self.next().await {
            TransportEvent::Frame {
                connection: on,
                frame,
            } if on == connection => decode_frame(&frame, DEFAULT_MAX_FRAME_SIZE).unwrap(),
            other => panic!("expected a frame on {connection}, got {other:?}"),
        }
    }

    /// Reads `connection` until it closes, skipping handshake messages and pings; returns the reason of
    /// the goodbye that came first. Fails on anything else, on any other connection.
    async fn goodbye_then_closed(&mut self, connection: ConnectionId) -> GoodbyeReason {
        let mut goodbye = None;
        loop {
            match self.next().await {
                TransportEvent::Frame {
                    connection: on,
                    frame,
                } if on == connection => {
                    match decode_frame::<ChannelMessage>(&frame, DEFAULT_MAX_FRAME_SIZE).unwrap() {
                        WireMessage::Hello(_) | WireMessage::Auth(_) | WireMessage::Ping(_) => {}
                        WireMessage::Goodbye(bye) if goodbye.is_none() => {
                            goodbye = Some(bye.reason)
                        }
                        other => panic!("unexpected {other:?} before the close"),
                    }
                }
                TransportEvent::Closed { connection: on, .. } if on == connection => {
                    return goodbye.expect("a goodbye before the close");
                }
                other => panic!("unexpected event {other:?} while waiting for a close"),
            }
        }
    }

    /// Runs a fair handshake on `connection` and returns the authenticated session.
    async fn handshake(
        &mut self,
        connection: ConnectionId,
        role: Role,
        expected: Option<NodeId>,
    ) -> Session<ChannelMessage> {
        let (mut session, hello) = Session::new(
            role,
            &self.key,
            self.incarnation.nonce().unwrap(),
            expected,
            DEFAULT_MAX_FRAME_SIZE,
        );
        for frame in hello {
            self.send_bytes(connection, &frame);
        }
        loop {
            let frame = match self.next().await {
                TransportEvent::Frame {
                    connection: on,
                    frame,
                } if on == connection => frame,
                other => panic!("unexpected event {other:?} during the handshake"),
            };
            match session.on_frame(&frame).unwrap() {
                SessionEvent::Send(frames) => {
                    for frame in frames {
                        self.send_bytes(connection, &frame);
                    }
                }
                SessionEvent::Authenticated { send, .. } => {
                    for frame in send {
                        self.send_bytes(connection, &frame);
                    }
                    return session;
                }
                other => panic!("unexpected {other:?} during the handshake"),
            }
        }
    }
}
