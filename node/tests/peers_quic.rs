//! The peer manager over the real QUIC transport plugin (`libparley_quic.so`, built by
//! `cargo build -p parley-plugin-quic` next to the test binaries): nodes on 127.0.0.1, each
//! with its own plugin instance and node key, authenticate each other and exchange channel
//! messages in order; a node that cannot prove the expected id is refused.
//!
//! Run with `--nocapture` to see the round-trip times of a small message (printed, never
//! asserted).

use parley_node::client::peers::{Intake, PeerError, PeerEvent, Peers, PeersConfig};
use parley_node::host::{
    instantiate, node_host_context, EventRoute, PluginHandle, PluginLibrary, SectionEvent,
};
use parley_node::protocol::{ChannelMessage, SyncRequest};
use parley_node::wire::{
    auth_digest, decode_frame, encode_frame, Auth, GoodbyeReason, Hello, NodeId, NodeKey,
    WireMessage, DEFAULT_MAX_FRAME_SIZE, PROTOCOL_VERSION,
};
use parley_plugin_api::model::{ChannelId, ConnectionId, PluginEvent, TransportEvent};
use parley_plugin_api::{PluginKind, Transport};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::time::timeout;

/// The longest any single wait lasts.
const WAIT: Duration = Duration::from_secs(10);

fn quic_library() -> PluginLibrary {
    let dir = Path::new(env!("CARGO_BIN_EXE_parley"))
        .parent()
        .expect("the binary has a directory")
        .to_path_buf();
    let path: PathBuf = dir.join("libparley_quic.so");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p parley-plugin-quic` before this test",
        path.display()
    );
    PluginLibrary::open(&path, None).unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh QUIC transport instance whose certificate lives in `dir`, its events going to
/// `events`.
fn quic_transport(
    library: &PluginLibrary,
    dir: &Path,
    events: impl EventRoute,
) -> Arc<dyn Transport> {
    let context = node_host_context("wire", dir, dir, events);
    match instantiate(library, "wire", PluginKind::Transport, "", context) {
        Ok(PluginHandle::Transport(transport)) => transport,
        Ok(_) => panic!("libparley_quic.so is not a transport"),
        Err(e) => panic!("{e}"),
    }
}

/// A node: its peer manager on its own QUIC instance, listening on 127.0.0.1.
struct QuicNode {
    peers: Peers,
    events: UnboundedReceiver<PeerEvent>,
    id: NodeId,
    addr: String,
    _dir: TempDir,
}

async fn start(library: &PluginLibrary) -> QuicNode {
    let dir = tempfile::tempdir().unwrap();
    let config = PeersConfig::default();
    let (intake, transport_events) = Intake::new(config.limits);
    let transport = quic_transport(library, dir.path(), intake.clone());
    let key = NodeKey::generate().unwrap();
    let (peers, events) = Peers::start(key, transport, (intake, transport_events), config);
    let addr = peers.listen("127.0.0.1:0").await.unwrap();
    QuicNode {
        id: peers.node_id(),
        peers,
        events,
        addr,
        _dir: dir,
    }
}

impl QuicNode {
    async fn next(&mut self) -> PeerEvent {
        timeout(WAIT, self.events.recv())
            .await
            .expect("a peer event in time")
            .expect("the event stream is open")
    }

    async fn quiet(&mut self, time: Duration) {
        if let Ok(Some(event)) = timeout(time, self.events.recv()).await {
            panic!("unexpected event {event:?}");
        }
    }

    /// The sequence numbers of the next `count` messages, all of which must come from `from`.
    async fn messages(&mut self, from: NodeId, count: usize) -> Vec<u64> {
        let mut seqs = Vec::with_capacity(count);
        while seqs.len() < count {
            match self.next().await {
                PeerEvent::Message {
                    from: sender,
                    message: ChannelMessage::SyncRequest(request),
                    ..
                } => {
                    assert_eq!(sender, from);
                    seqs.push(request.latest_version);
                }
                other => panic!("expected a message, got {other:?}"),
            }
        }
        seqs
    }
}

fn message(seq: u64) -> ChannelMessage {
    ChannelMessage::SyncRequest(SyncRequest {
        channel_id: ChannelId([3; 32]),
        latest_version: seq,
        spent_version: seq,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_exchange_messages_in_order_and_see_the_disconnect() {
    const COUNT: u64 = 1_000;
    let library = quic_library();
    let mut a = start(&library).await;
    let mut b = start(&library).await;

    b.peers.connect(a.id, &a.addr).await.unwrap();
    assert_eq!(b.next().await, PeerEvent::Connected(a.id));
    assert_eq!(a.next().await, PeerEvent::Connected(b.id));
    assert_eq!(a.peers.connected(), vec![b.id]);

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

    // Round trips of one small message, A → B → A, one at a time.
    let mut rtts = Vec::new();
    for seq in 0..500 {
        let started = Instant::now();
        a.peers.send(b.id, &message(seq)).await.unwrap();
        assert_eq!(b.messages(a.id, 1).await, vec![seq]);
        b.peers.send(a.id, &message(seq)).await.unwrap();
        assert_eq!(a.messages(b.id, 1).await, vec![seq]);
        rtts.push(started.elapsed());
    }
    rtts.sort();
    println!(
        "peers over QUIC, small message round trip ({} samples): p50 {} us, p99 {} us",
        rtts.len(),
        percentile(&rtts, 0.50).as_micros(),
        percentile(&rtts, 0.99).as_micros()
    );

    a.peers.disconnect(b.id).await.unwrap();
    assert!(matches!(a.next().await, PeerEvent::Disconnected(peer, _) if peer == b.id));
    assert!(matches!(b.next().await, PeerEvent::Disconnected(peer, _) if peer == a.id));
    assert!(a.peers.connected().is_empty() && b.peers.connected().is_empty());
    assert_eq!(
        b.peers.send(a.id, &message(0)).await,
        Err(PeerError::NotConnected(a.id))
    );
}

/// A bare QUIC endpoint that speaks the wire protocol by hand.
struct Raw {
    transport: Arc<dyn Transport>,
    events: UnboundedReceiver<SectionEvent>,
    _dir: TempDir,
}

impl Raw {
    fn new(library: &PluginLibrary) -> Raw {
        let dir = tempfile::tempdir().unwrap();
        let (sender, events) = unbounded_channel();
        let transport = quic_transport(library, dir.path(), sender);
        Raw {
            transport,
            events,
            _dir: dir,
        }
    }

    async fn dial(&self, addr: &str) -> ConnectionId {
        let transport = self.transport.clone();
        let addr = addr.to_string();
        tokio::task::spawn_blocking(move || transport.dial(&addr))
            .await
            .unwrap()
            .unwrap()
    }

    async fn next(&mut self) -> TransportEvent {
        let event = timeout(WAIT, self.events.recv())
            .await
            .expect("a transport event in time")
            .expect("the event stream is open");
        match event.event {
            PluginEvent::Transport(event) => event,
            other => panic!("unexpected plugin event {other:?}"),
        }
    }

    /// The next message on `connection` (skipping its `Connected`), or `None` once it closed.
    async fn receive(&mut self, connection: ConnectionId) -> Option<WireMessage<ChannelMessage>> {
        loop {
            match self.next().await {
                TransportEvent::Connected { .. } => {}
                TransportEvent::Frame {
                    connection: on,
                    frame,
                } if on == connection => {
                    return Some(decode_frame(&frame, DEFAULT_MAX_FRAME_SIZE).unwrap());
                }
                TransportEvent::Closed { connection: on, .. } if on == connection => return None,
                other => panic!("unexpected event {other:?}"),
            }
        }
    }

    fn send(&self, connection: ConnectionId, message: &WireMessage<ChannelMessage>) {
        self.transport
            .send(connection, &encode_frame(message))
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_cannot_prove_the_expected_id_is_refused() {
    let library = quic_library();
    let mut a = start(&library).await;
    let mut c = start(&library).await;

    // C dials A's address expecting someone else: A's handshake proves A, so C refuses.
    let expected = NodeKey::generate().unwrap().node_id();
    assert_eq!(
        c.peers.connect(expected, &a.addr).await,
        Err(PeerError::UnexpectedPeer {
            expected,
            actual: a.id
        })
    );
    assert!(c.peers.connected().is_empty());

    // An impostor claims C's id towards A but can only sign with its own key.
    let impostor_key = NodeKey::generate().unwrap();
    let mut impostor = Raw::new(&library);
    let connection = impostor.dial(&a.addr).await;
    let nonce = [9; 32];
    let ours = Hello {
        node_id: c.id,
        nonce,
        protocol_version: PROTOCOL_VERSION,
        listen_address: String::new(),
    };
    impostor.send(connection, &WireMessage::Hello(ours.clone()));
    let Some(WireMessage::Hello(theirs)) = impostor.receive(connection).await else {
        panic!("A starts with its hello");
    };
    let digest = auth_digest(&ours, &theirs);
    impostor.send(
        connection,
        &WireMessage::Auth(Auth {
            sig: impostor_key.sign(&digest),
        }),
    );
    let mut goodbye = None;
    while let Some(message) = impostor.receive(connection).await {
        match message {
            WireMessage::Auth(_) => {} // A's own proof, sent on our hello
            WireMessage::Goodbye(bye) => goodbye = Some(bye.reason),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(goodbye, Some(GoodbyeReason::AuthenticationFailed));

    // A never reported either of them.
    a.quiet(Duration::from_millis(300)).await;
    c.quiet(Duration::from_millis(10)).await;
    assert!(a.peers.connected().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_above_the_message_limit_from_an_authenticated_peer_is_refused_at_once() {
    use parley_node::protocol::{ProposalId, ProposalReject};
    let library = quic_library();
    let mut a = start(&library).await;
    let key = NodeKey::generate().unwrap();
    let mut raw = Raw::new(&library);
    let connection = raw.dial(&a.addr).await;
    let nonce = [7; 32];
    let ours = Hello {
        node_id: key.node_id(),
        nonce,
        protocol_version: PROTOCOL_VERSION,
        listen_address: String::new(),
    };
    raw.send(connection, &WireMessage::Hello(ours.clone()));
    let Some(WireMessage::Hello(theirs)) = raw.receive(connection).await else {
        panic!("A starts with its hello");
    };
    let digest = auth_digest(&ours, &theirs);
    raw.send(
        connection,
        &WireMessage::Auth(Auth {
            sig: key.sign(&digest),
        }),
    );
    assert_eq!(a.next().await, PeerEvent::Connected(key.node_id()));
    // Above the node's message limit (1 MiB), within the transport's (16 MiB): once the peer
    // is authenticated the transport reads it, and the node refuses it with a goodbye instead
    // of leaving the connection stalled behind a held frame.
    let large = ChannelMessage::ProposalReject(ProposalReject {
        proposal_id: ProposalId([1; 32]),
        reason: "x".repeat(2 << 20),
    });
    raw.send(connection, &WireMessage::Channel(large));
    let mut goodbye = None;
    while let Some(message) = raw.receive(connection).await {
        match message {
            WireMessage::Auth(_) => {}
            WireMessage::Goodbye(bye) => goodbye = Some(bye.reason),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(goodbye, Some(GoodbyeReason::FrameTooLarge));
}
