//! Tests of the whole transport: the conformance suite in-process, behaviour the suite does
//! not cover (restarts, hostile peers, flushing on close, idle timeouts), and timing figures.

mod conformance;
mod hostile_peer;
mod latency;
mod lifecycle;

use crate::QuicTransport;
use parley_plugin_api::conformance::TestHost;
use parley_plugin_api::model::{ConnectionId, PluginEvent, TransportEvent};
use parley_plugin_api::{Host, PluginResult, Transport};
use std::time::{Duration, Instant};

/// The longest a test waits for one event.
pub const WAIT: Duration = Duration::from_secs(10);

/// A transport and the host that receives its events. The transport is declared first so
/// that it is dropped before the host's temporary directory goes.
pub struct Node {
    pub transport: QuicTransport,
    pub host: TestHost,
}

impl Node {
    pub fn start(table: &str) -> PluginResult<Node> {
        let host = TestHost::new("wire");
        let transport = QuicTransport::new(table, Host::new(host.context()))?;
        Ok(Node { transport, host })
    }

    /// The next transport event, or a panic after [`WAIT`].
    pub fn event(&self) -> TransportEvent {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.host.next_event(left) {
                Some(PluginEvent::Transport(event)) => return event,
                Some(_) => {}
                None => panic!("no transport event within {WAIT:?}"),
            }
        }
    }

    pub fn connected(&self) -> (ConnectionId, bool) {
        match self.event() {
            TransportEvent::Connected {
                connection,
                inbound,
                ..
            } => (connection, inbound),
            other => panic!("expected Connected, got {other:?}"),
        }
    }

    pub fn frame(&self) -> (ConnectionId, Vec<u8>) {
        match self.event() {
            TransportEvent::Frame { connection, frame } => (connection, frame.0),
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    pub fn closed(&self) -> (ConnectionId, String) {
        match self.event() {
            TransportEvent::Closed { connection, reason } => (connection, reason),
            other => panic!("expected Closed, got {other:?}"),
        }
    }
}

/// Two nodes with tables `table`, B listening and A connected to it: `(a, b, a's id, b's id)`.
pub fn connected_pair(table: &str) -> (Node, Node, ConnectionId, ConnectionId) {
    let a = Node::start(table).unwrap();
    let b = Node::start(table).unwrap();
    let addr = b.transport.listen("127.0.0.1:0").unwrap();
    let a_id = a.transport.dial(&addr).unwrap();
    assert_eq!(a.connected(), (a_id, false));
    let (b_id, inbound) = b.connected();
    assert!(inbound);
    (a, b, a_id, b_id)
}
