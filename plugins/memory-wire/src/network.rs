//! This process's in-memory network: every endpoint (one per transport instance), the listen
//! addresses, and both ends of every connection, behind one lock.
//!
//! Every event is emitted while the lock is held, so events reach each node in the order the
//! calls that caused them were made: a dialer's `Connected` and the listener's come out
//! together, before any frame on the connection; a frame never follows its connection's
//! `Closed`. Emitting never blocks (the host's sink contract), so holding the lock for it is
//! short.

use crate::settings::WireSettings;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{ConnectionId, PluginEvent, TransportEvent};
use parley_plugin_api::{Host, PluginError, PluginResult};
use std::collections::{HashMap, VecDeque};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

/// An endpoint's number in the network.
pub type EndpointId = u64;

/// One transport instance.
struct Endpoint {
    host: Host,
    sizes: WireSettings,
    /// The frame limit its new connections start with.
    initial_limit: usize,
    /// The id its next connection gets; ids below it were issued.
    next_connection: ConnectionId,
}

/// One end of a connection: where its frames go, and what it holds back of the frames coming
/// to it.
struct End {
    far: (EndpointId, ConnectionId),
    /// Frames above it are held until the endpoint raises it.
    limit: usize,
    /// Frames for this end not yet delivered, in order; once one is held, every later one
    /// waits behind it.
    held: VecDeque<Vec<u8>>,
    held_bytes: usize,
}

struct Net {
    endpoints: HashMap<EndpointId, Endpoint>,
    next_endpoint: EndpointId,
    /// `host:port` → the endpoint listening there.
    listeners: HashMap<String, EndpointId>,
    ends: HashMap<(EndpointId, ConnectionId), End>,
    /// The port number `:0` tries next (never 0).
    next_port: u16,
}

static NET: LazyLock<Mutex<Net>> = LazyLock::new(|| {
    Mutex::new(Net {
        endpoints: HashMap::new(),
        next_endpoint: 0,
        listeners: HashMap::new(),
        ends: HashMap::new(),
        next_port: 1,
    })
});

fn lock() -> MutexGuard<'static, Net> {
    NET.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Net {
    fn emit(&self, endpoint: EndpointId, event: TransportEvent) {
        if let Some(endpoint) = self.endpoints.get(&endpoint) {
            endpoint.host.emit(&PluginEvent::Transport(event));
        }
    }

    fn endpoint_mut(&mut self, endpoint: EndpointId) -> PluginResult<&mut Endpoint> {
        self.endpoints
            .get_mut(&endpoint)
            .ok_or_else(|| PluginError::internal("this transport instance has been dropped"))
    }

    /// Removes both ends of the connection whose one end is `end` and tells the far end why.
    fn cut(&mut self, end: (EndpointId, ConnectionId), reason: &str) {
        if let Some(removed) = self.ends.remove(&end) {
            if self.ends.remove(&removed.far).is_some() {
                self.emit(
                    removed.far.0,
                    TransportEvent::Closed {
                        connection: removed.far.1,
                        reason: reason.to_string(),
                    },
                );
            }
        }
    }

    /// A free port number for `host`.
    fn free_port(&mut self, host: &str) -> PluginResult<u16> {
        for _ in 0..u16::MAX {
            let port = self.next_port;
            self.next_port = port.checked_add(1).unwrap_or(1);
            if !self.listeners.contains_key(&format!("{host}:{port}")) {
                return Ok(port);
            }
        }
        Err(PluginError::unavailable(format!(
            "every port of {host} is taken in this process's in-memory network"
        )))
    }
}

/// Splits `host:port`; the port is 0 to 65535.
fn split_addr(addr: &str) -> PluginResult<(&str, u16)> {
    let bad = || {
        PluginError::invalid(format!(
            "the address `{addr}` is not host:port (for example 127.0.0.1:0)"
        ))
    };
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host, port.parse().map_err(|_| bad())?))
}

/// A new endpoint whose events go to `host`.
pub fn join(host: Host, sizes: WireSettings) -> EndpointId {
    let mut net = lock();
    let id = net.next_endpoint;
    net.next_endpoint += 1;
    net.endpoints.insert(
        id,
        Endpoint {
            host,
            initial_limit: sizes.max_frame_size,
            sizes,
            next_connection: 1,
        },
    );
    id
}

/// Ends every connection of `endpoint` (the far ends get `Closed`) and frees its addresses.
pub fn leave(endpoint: EndpointId) {
    let mut net = lock();
    net.listeners.retain(|_, owner| *owner != endpoint);
    let mine: Vec<_> = net
        .ends
        .keys()
        .filter(|(owner, _)| *owner == endpoint)
        .copied()
        .collect();
    // Its own ends first, so that it is told nothing while it goes.
    net.endpoints.remove(&endpoint);
    for end in mine {
        net.cut(end, "the peer's transport stopped");
    }
}

pub fn listen(endpoint: EndpointId, addr: &str) -> PluginResult<String> {
    let (host, port) = split_addr(addr)?;
    let mut net = lock();
    net.endpoint_mut(endpoint)?;
    let port = match port {
        0 => net.free_port(host)?,
        port => port,
    };
    let bound = format!("{host}:{port}");
    if net.listeners.contains_key(&bound) {
        return Err(PluginError::unavailable(format!(
            "{bound} is taken in this process's in-memory network; listen on {host}:0 for a \
             free port"
        )));
    }
    net.listeners.insert(bound.clone(), endpoint);
    Ok(bound)
}

pub fn dial(endpoint: EndpointId, addr: &str) -> PluginResult<ConnectionId> {
    split_addr(addr)?;
    let mut net = lock();
    let target = *net.listeners.get(addr).ok_or_else(|| {
        PluginError::unavailable(format!(
            "nobody listens on {addr} in this process's in-memory network (the memory-wire \
             transport only reaches nodes in the same process)"
        ))
    })?;
    let near = {
        let me = net.endpoint_mut(endpoint)?;
        me.next_connection += 1;
        (endpoint, me.next_connection - 1, me.initial_limit)
    };
    let far = {
        let them = net.endpoint_mut(target)?;
        them.next_connection += 1;
        (target, them.next_connection - 1, them.initial_limit)
    };
    for (this, other) in [(near, far), (far, near)] {
        net.ends.insert(
            (this.0, this.1),
            End {
                far: (other.0, other.1),
                limit: this.2,
                held: VecDeque::new(),
                held_bytes: 0,
            },
        );
    }
    net.emit(
        endpoint,
        TransportEvent::Connected {
            connection: near.1,
            remote: addr.to_string(),
            inbound: false,
        },
    );
    net.emit(
        target,
        TransportEvent::Connected {
            connection: far.1,
            remote: format!("memory:endpoint-{endpoint}"),
            inbound: true,
        },
    );
    Ok(near.1)
}

pub fn send(endpoint: EndpointId, connection: ConnectionId, frame: &[u8]) -> PluginResult<()> {
    let mut net = lock();
    let sizes = net.endpoint_mut(endpoint)?.sizes;
    if frame.len() > sizes.max_frame_size {
        return Err(PluginError::invalid(format!(
            "a frame of {} bytes is above max_frame_size ({})",
            frame.len(),
            sizes.max_frame_size
        )));
    }
    let far = net
        .ends
        .get(&(endpoint, connection))
        .map(|end| end.far)
        .ok_or_else(|| PluginError::not_found(format!("no open connection {connection}")))?;
    let far_max = net
        .endpoints
        .get(&far.0)
        .map_or(0, |e| e.sizes.max_frame_size);
    if frame.len() > far_max {
        // As a peer would: a frame announced above its max_frame_size ends the connection.
        net.cut(far, "the peer sent a frame above max_frame_size");
        net.emit(
            far.0,
            TransportEvent::Closed {
                connection: far.1,
                reason: "the peer sent a frame above max_frame_size".into(),
            },
        );
        return Ok(());
    }
    let end = net
        .ends
        .get_mut(&far)
        .ok_or_else(|| PluginError::not_found(format!("no open connection {connection}")))?;
    if end.held.is_empty() && frame.len() <= end.limit {
        net.emit(
            far.0,
            TransportEvent::Frame {
                connection: far.1,
                frame: Bytes(frame.to_vec()),
            },
        );
        return Ok(());
    }
    if end.held_bytes + frame.len() > sizes.max_outbox_bytes {
        return Err(PluginError::unavailable(format!(
            "the outbox of connection {connection} is full ({} bytes held back by the peer's \
             frame limit); try again once it has caught up",
            end.held_bytes
        )));
    }
    end.held_bytes += frame.len();
    end.held.push_back(frame.to_vec());
    Ok(())
}

pub fn close(endpoint: EndpointId, connection: ConnectionId) -> PluginResult<()> {
    let mut net = lock();
    if !net.ends.contains_key(&(endpoint, connection)) {
        let issued = net.endpoint_mut(endpoint)?.next_connection;
        return if connection > 0 && connection < issued {
            Ok(())
        } else {
            Err(PluginError::not_found(format!(
                "connection {connection} was never opened"
            )))
        };
    }
    net.cut((endpoint, connection), "closed by the peer");
    Ok(())
}

pub fn set_initial_frame_limit(endpoint: EndpointId, max_frame: usize) {
    if let Ok(me) = lock().endpoint_mut(endpoint) {
        me.initial_limit = max_frame;
    }
}

pub fn set_frame_limit(
    endpoint: EndpointId,
    connection: ConnectionId,
    max_frame: usize,
) -> PluginResult<()> {
    let mut net = lock();
    let end = net
        .ends
        .get_mut(&(endpoint, connection))
        .ok_or_else(|| PluginError::not_found(format!("no open connection {connection}")))?;
    end.limit = max_frame;
    let mut ready = Vec::new();
    while end
        .held
        .front()
        .is_some_and(|frame| frame.len() <= max_frame)
    {
        let frame = end.held.pop_front().unwrap_or_default();
        end.held_bytes -= frame.len();
        ready.push(frame);
    }
    for frame in ready {
        net.emit(
            endpoint,
            TransportEvent::Frame {
                connection,
                frame: Bytes(frame),
            },
        );
    }
    Ok(())
}
