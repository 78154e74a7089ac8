//! An in-memory transport for tests: endpoints of one [`MemoryNetwork`] dial each other by
//! name, and frames are delivered through each endpoint's event channel (or a peer manager's
//! intake), whole and in order, as the `Transport` contract asks. Every event is emitted while
//! the network is locked, so the order of events matches the order of calls. It has no frame
//! limits (the driver's own checks then apply), and a test can make an outbox full.

use super::intake::Intake;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{ConnectionId, TransportEvent};
use parley_plugin_api::{PluginError, PluginResult, Transport};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// Where a connection's frames go: the other endpoint and its id for the connection.
#[derive(Clone, Copy)]
struct Far {
    endpoint: usize,
    connection: ConnectionId,
}

/// Where an endpoint's events go.
enum Sink {
    /// A test reads them.
    Raw(UnboundedSender<TransportEvent>),
    /// A peer manager admits them.
    Intake(Intake),
}

struct Net {
    events: Vec<Sink>,
    /// Connections (endpoint, id) whose outbox a test made full: sends on them fail.
    full: HashSet<(usize, ConnectionId)>,
    listeners: HashMap<String, usize>,
    links: HashMap<(usize, ConnectionId), Far>,
    /// Ids are unique across the whole network, so a mix-up between the two ends of a
    /// connection cannot go unnoticed.
    next_connection: ConnectionId,
    max_frame_size: usize,
}

impl Net {
    fn emit(&self, endpoint: usize, event: TransportEvent) {
        match &self.events[endpoint] {
            // A dropped receiver is an endpoint nobody drives any more.
            Sink::Raw(sender) => {
                let _ = sender.send(event);
            }
            Sink::Intake(intake) => intake.admit(event),
        }
    }

    /// Removes both ends of the connection `(endpoint, connection)` and tells the far end.
    fn cut(&mut self, endpoint: usize, connection: ConnectionId, reason: &str) -> bool {
        let Some(far) = self.links.remove(&(endpoint, connection)) else {
            return false;
        };
        self.links.remove(&(far.endpoint, far.connection));
        self.emit(
            far.endpoint,
            TransportEvent::Closed {
                connection: far.connection,
                reason: reason.to_string(),
            },
        );
        true
    }
}

/// A set of endpoints that can reach each other.
#[derive(Clone)]
pub(crate) struct MemoryNetwork {
    net: Arc<Mutex<Net>>,
}

fn lock(net: &Mutex<Net>) -> MutexGuard<'_, Net> {
    net.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryNetwork {
    /// A network whose transports accept frames up to `max_frame_size` bytes.
    pub fn new(max_frame_size: usize) -> MemoryNetwork {
        MemoryNetwork {
            net: Arc::new(Mutex::new(Net {
                events: vec![],
                full: HashSet::new(),
                listeners: HashMap::new(),
                links: HashMap::new(),
                next_connection: 1,
                max_frame_size,
            })),
        }
    }

    /// A new endpoint: its transport and the receiver of its events.
    pub fn endpoint(&self) -> (Arc<MemoryTransport>, UnboundedReceiver<TransportEvent>) {
        let (sender, receiver) = unbounded_channel();
        (self.add(Sink::Raw(sender)), receiver)
    }

    /// A new endpoint whose events go to `intake`.
    pub fn endpoint_into(&self, intake: Intake) -> Arc<MemoryTransport> {
        self.add(Sink::Intake(intake))
    }

    fn add(&self, sink: Sink) -> Arc<MemoryTransport> {
        let mut net = lock(&self.net);
        net.events.push(sink);
        Arc::new(MemoryTransport {
            net: self.net.clone(),
            endpoint: net.events.len() - 1,
        })
    }

    /// Makes `endpoint`'s outbox on `connection` full: its sends fail with `Unavailable`.
    pub fn fill_outbox(&self, endpoint: usize, connection: ConnectionId) {
        lock(&self.net).full.insert((endpoint, connection));
    }

    /// Undoes [`MemoryNetwork::fill_outbox`]: the peer has caught up.
    pub fn empty_outbox(&self, endpoint: usize, connection: ConnectionId) {
        lock(&self.net).full.remove(&(endpoint, connection));
    }

    /// The far end's id of `endpoint`'s open connection, if it is open.
    pub fn far_end(&self, endpoint: usize, connection: ConnectionId) -> Option<ConnectionId> {
        lock(&self.net)
            .links
            .get(&(endpoint, connection))
            .map(|far| far.connection)
    }

    /// How many connections are open between `a` and `b`.
    pub fn open_between(&self, a: usize, b: usize) -> usize {
        lock(&self.net)
            .links
            .iter()
            .filter(|((from, _), far)| *from == a && far.endpoint == b)
            .count()
    }

    /// Kills `endpoint` the way `kill -9` kills a process: its connections vanish on its side
    /// without a word to the far ends, which can still send into them (nothing arrives) until
    /// they close them themselves; its listen addresses are free for a new endpoint; it gets
    /// no more events.
    pub fn kill(&self, endpoint: usize) {
        let mut net = lock(&self.net);
        net.links.retain(|(from, _), _| *from != endpoint);
        net.listeners.retain(|_, owner| *owner != endpoint);
        // A sender whose receiver is gone: whatever is emitted to the dead process is lost.
        net.events[endpoint] = Sink::Raw(unbounded_channel().0);
    }

    /// Breaks a connection as a network failure would: both ends get `Closed`.
    pub fn break_connection(&self, endpoint: usize, connection: ConnectionId) {
        let mut net = lock(&self.net);
        if net.cut(endpoint, connection, "link broken by the test") {
            net.emit(
                endpoint,
                TransportEvent::Closed {
                    connection,
                    reason: "link broken by the test".into(),
                },
            );
        }
    }
}

/// One endpoint's transport.
pub(crate) struct MemoryTransport {
    net: Arc<Mutex<Net>>,
    endpoint: usize,
}

impl MemoryTransport {
    /// This endpoint's number in its network.
    pub fn endpoint(&self) -> usize {
        self.endpoint
    }
}

impl Transport for MemoryTransport {
    fn listen(&self, addr: &str) -> PluginResult<String> {
        let mut net = lock(&self.net);
        if net.listeners.contains_key(addr) {
            return Err(PluginError::unavailable(format!("{addr} is taken")));
        }
        net.listeners.insert(addr.to_string(), self.endpoint);
        Ok(addr.to_string())
    }

    fn dial(&self, addr: &str) -> PluginResult<ConnectionId> {
        let mut net = lock(&self.net);
        let listener = *net
            .listeners
            .get(addr)
            .ok_or_else(|| PluginError::unavailable(format!("nobody listens on {addr}")))?;
        let (near, far) = (net.next_connection, net.next_connection + 1);
        net.next_connection += 2;
        net.links.insert(
            (self.endpoint, near),
            Far {
                endpoint: listener,
                connection: far,
            },
        );
        net.links.insert(
            (listener, far),
            Far {
                endpoint: self.endpoint,
                connection: near,
            },
        );
        net.emit(
            listener,
            TransportEvent::Connected {
                connection: far,
                remote: format!("endpoint-{}", self.endpoint),
                inbound: true,
            },
        );
        // Like the QUIC plugin: the dialer's `Connected` is emitted before `dial` returns.
        net.emit(
            self.endpoint,
            TransportEvent::Connected {
                connection: near,
                remote: addr.to_string(),
                inbound: false,
            },
        );
        Ok(near)
    }

    fn send(&self, connection: ConnectionId, frame: &[u8]) -> PluginResult<()> {
        let net = lock(&self.net);
        if frame.len() > net.max_frame_size {
            return Err(PluginError::invalid("frame too large"));
        }
        let far = net
            .links
            .get(&(self.endpoint, connection))
            .copied()
            .ok_or_else(|| PluginError::not_found(format!("no connection {connection}")))?;
        if net.full.contains(&(self.endpoint, connection)) {
            return Err(PluginError::unavailable(format!(
                "the outbox of connection {connection} is full"
            )));
        }
        net.emit(
            far.endpoint,
            TransportEvent::Frame {
                connection: far.connection,
                frame: Bytes(frame.to_vec()),
            },
        );
        Ok(())
    }

    fn close(&self, connection: ConnectionId) -> PluginResult<()> {
        let mut net = lock(&self.net);
        if connection >= net.next_connection {
            return Err(PluginError::not_found(format!(
                "no connection {connection}"
            )));
        }
        net.cut(self.endpoint, connection, "closed by the peer");
        Ok(())
    }

    fn max_frame_size(&self) -> usize {
        lock(&self.net).max_frame_size
    }
}

impl Drop for MemoryTransport {
    fn drop(&mut self) {
        let mut net = lock(&self.net);
        let mine: Vec<ConnectionId> = net
            .links
            .keys()
            .filter(|(endpoint, _)| *endpoint == self.endpoint)
            .map(|(_, connection)| *connection)
            .collect();
        for connection in mine {
            net.cut(
                self.endpoint,
                connection,
                "the peer's transport was dropped",
            );
        }
        let endpoint = self.endpoint;
        net.listeners.retain(|_, owner| *owner != endpoint);
    }
}
