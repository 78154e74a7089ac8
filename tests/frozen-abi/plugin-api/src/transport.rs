//! The transport interface: connections that carry whole frames between nodes.

use crate::abi::ffi::{FfiTransport, FfiTransportBox, FfiTransport_TO};
use crate::abi::host::Host;
use crate::error::{PluginError, PluginResult};
use crate::model::ConnectionId;
use crate::panic::catch;
use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RResult, RSlice, RStr, RString},
};

/// A message transport between nodes. Frames are opaque bytes: the node does its own framing
/// of messages, authentication and encryption-independent checks above, so every transport gets
/// the same security. Incoming connections, frames and closes are reported as
/// [`TransportEvent`](crate::model::TransportEvent)s through the host's event sink.
///
/// Contract:
/// - **Frames are whole.** Every frame passed to `send` arrives as exactly one `Frame` event
///   with the same bytes, or the connection closes.
/// - **Ordered per connection.** Frames sent on one connection arrive in the order sent; there
///   is no order across connections.
/// - **Event order.** For each connection the transport emits `Connected` first, then its
///   `Frame`s, then at most one `Closed`. For a dialed connection `Connected` is emitted before
///   `dial` returns its id; for an inbound one before any of its frames. The connection is
///   usable (`send` works) from the moment `Connected` is emitted, so a node that answers the
///   event with a `send` finds it.
/// - **Non-blocking send.** `send` only queues the frame and returns; it is called on the hot
///   path. It fails at once with `NotFound` for a connection that is closed or was never
///   issued, and with `InvalidArgument` for a frame above `max_frame_size` (the connection
///   stays open).
/// - **Bounded outbox.** What `send` queues for one connection and has not yet handed to the
///   network is bounded by the transport's own setting, which is at least `max_frame_size`.
///   A `send` that would go above it fails at once with `Unavailable` and queues nothing: the
///   peer reads slower than we write. The connection stays open, earlier frames still arrive,
///   and a later `send` succeeds once the peer has caught up. (The node ends such a
///   connection: a message left out would break the order of the ones after it.)
/// - **Frame limits per connection.** Besides `max_frame_size`, every connection has a limit
///   on the frames it takes in from the peer: at first the initial limit (`max_frame_size`
///   unless the host called [`set_initial_frame_limit`](Transport::set_initial_frame_limit)),
///   then whatever [`set_frame_limit`](Transport::set_frame_limit) sets. The node keeps it at a
///   few KiB until the peer has proven who it is, so that a stranger cannot make it hold a
///   large frame. A frame announced above the connection's limit but within `max_frame_size`
///   is **held**: the transport delivers the frames before it, then reads nothing more from
///   that connection, so the peer is held back by the transport's flow control, until the
///   limit is raised (the frame and the rest follow, whole and in order) or the connection
///   closes. Memory a held connection takes is bounded by its limit plus a small, bounded
///   receive window. A frame announced above `max_frame_size` closes the connection.
/// - **Blocking setup.** `listen` and `dial` may block for the time it takes to bind or to
///   connect (bounded by the transport's own timeout).
/// - **Close.** After `close` (or a `Closed` event) no more frames arrive on the connection and
///   sends to it fail; frames queued before `close` are delivered on a best-effort basis.
///   Closing twice is not an error; closing an id that was never issued is `NotFound`. Both
///   sides get a `Closed` event for a connection that ends, except the side that called `close`.
/// - **Backpressure** is the `Unavailable` answer of the bounded outbox above: `send` never
///   blocks and never queues without bound; there is no separate flow-control call.
/// - **Threads.** Every method may be called from many threads at once.
/// - **Drop.** Dropping the instance ends all its connections promptly; peers get `Closed` at
///   once, not after an idle timeout. Once `drop` returns the instance emits no more events
///   (events emitted while it runs may still reach the node, which ignores them).
/// - **Configuration.** The `[wire]` table the constructor receives is the user's without
///   `listen`: that key is the node's, and the node calls [`listen`](Transport::listen) with
///   it.
/// - **Own runtime.** The transport runs its own threads or async runtime; it never needs the
///   node's.
pub trait Transport: Send + Sync + 'static {
    /// Starts accepting connections on `addr` (for example `127.0.0.1:0`) and returns the
    /// address actually bound. May be called more than once for several listeners.
    fn listen(&self, addr: &str) -> PluginResult<String>;

    /// Connects to a listener at `addr`; returns the new connection once it is usable. A
    /// `Connected` event with `inbound == false` is emitted too.
    ///
    /// `addr` is `host:port` (an IP address, IPv6 in brackets, or a host name, and a port from
    /// 1 to 65535): the node refuses a peer address of any other form before storing it.
    fn dial(&self, addr: &str) -> PluginResult<ConnectionId>;

    /// Queues `frame` for sending on `connection`.
    fn send(&self, connection: ConnectionId, frame: &[u8]) -> PluginResult<()>;

    /// Closes `connection`.
    fn close(&self, connection: ConnectionId) -> PluginResult<()>;

    /// The largest frame `send` accepts and the peer's transport delivers, in bytes.
    fn max_frame_size(&self) -> usize;

    /// Sets the limit every connection made after this call (inbound or dialed) starts with:
    /// frames from its peer above `max_frame` bytes are held until
    /// [`set_frame_limit`](Transport::set_frame_limit) raises it (see the contract). Called
    /// by the node once, before it listens or dials. `max_frame` is at least 1 and at most
    /// `max_frame_size`, else `InvalidArgument`.
    ///
    /// The default answers `Unsupported`, so that a transport written before frame limits
    /// still builds; the node then warns that an unauthenticated peer can make it buffer
    /// `max_frame_size` bytes per connection, and the conformance suite fails it. Every
    /// transport should implement both methods.
    fn set_initial_frame_limit(&self, max_frame: usize) -> PluginResult<()> {
        let _ = max_frame;
        Err(frame_limits_unsupported())
    }

    /// Sets `connection`'s limit on incoming frames to `max_frame` bytes (at least 1, at most
    /// `max_frame_size`, else `InvalidArgument`); a frame held for being above the old limit
    /// is read and delivered at once if it fits the new one. Never waits. `NotFound` for a
    /// connection that is closed or was never issued. The default answers `Unsupported`, see
    /// [`set_initial_frame_limit`](Transport::set_initial_frame_limit).
    fn set_frame_limit(&self, connection: ConnectionId, max_frame: usize) -> PluginResult<()> {
        let _ = (connection, max_frame);
        Err(frame_limits_unsupported())
    }
}

/// What a transport without per-connection frame limits answers when asked for them.
fn frame_limits_unsupported() -> PluginError {
    PluginError::unsupported("this transport does not implement per-connection frame limits")
}

/// Wraps a plugin's transport for export (used by `export_plugin!`); every call runs with
/// `host` bound to the thread.
pub fn export_transport<T: Transport>(transport: T, host: Host) -> FfiTransportBox {
    FfiTransport_TO::from_value(ExportedTransport { transport, host }, TD_Opaque)
}

struct ExportedTransport<T> {
    transport: T,
    host: Host,
}

impl<T> ExportedTransport<T> {
    /// Runs one exported call with the instance bound and panics caught.
    fn serve<R>(&self, what: &str, call: impl FnOnce(&T) -> PluginResult<R>) -> PluginResult<R> {
        self.host.scope(|| catch(what, || call(&self.transport)))
    }
}

impl<T: Transport> FfiTransport for ExportedTransport<T> {
    fn listen(&self, addr: RStr<'_>) -> RResult<RString, PluginError> {
        self.serve("transport.listen", |t| {
            t.listen(addr.as_str()).map(RString::from)
        })
        .into()
    }

    fn dial(&self, addr: RStr<'_>) -> RResult<u64, PluginError> {
        self.serve("transport.dial", |t| t.dial(addr.as_str()))
            .into()
    }

    fn send(&self, connection: u64, frame: RSlice<'_, u8>) -> RResult<(), PluginError> {
        self.serve("transport.send", |t| t.send(connection, frame.as_slice()))
            .into()
    }

    fn close(&self, connection: u64) -> RResult<(), PluginError> {
        self.serve("transport.close", |t| t.close(connection))
            .into()
    }

    fn max_frame_size(&self) -> u64 {
        self.serve(
            "transport.max_frame_size",
            |t| Ok(t.max_frame_size() as u64),
        )
        .unwrap_or(0)
    }

    fn set_initial_frame_limit(&self, max_frame: u64) -> RResult<(), PluginError> {
        self.serve("transport.set_initial_frame_limit", |t| {
            t.set_initial_frame_limit(frame_size(max_frame))
        })
        .into()
    }

    fn set_frame_limit(&self, connection: u64, max_frame: u64) -> RResult<(), PluginError> {
        self.serve("transport.set_frame_limit", |t| {
            t.set_frame_limit(connection, frame_size(max_frame))
        })
        .into()
    }
}

/// A size from the boundary; one that does not fit this platform is above any limit.
fn frame_size(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// A transport loaded from a plugin library, usable as a [`Transport`].
pub struct LoadedTransport(FfiTransportBox);

impl LoadedTransport {
    /// Wraps the instance a plugin's constructor returned.
    pub fn new(inner: FfiTransportBox) -> Self {
        LoadedTransport(inner)
    }
}

impl Transport for LoadedTransport {
    fn listen(&self, addr: &str) -> PluginResult<String> {
        self.0
            .listen(addr.into())
            .into_result()
            .map(RString::into_string)
    }

    fn dial(&self, addr: &str) -> PluginResult<ConnectionId> {
        self.0.dial(addr.into()).into_result()
    }

    fn send(&self, connection: ConnectionId, frame: &[u8]) -> PluginResult<()> {
        self.0.send(connection, frame.into()).into_result()
    }

    fn close(&self, connection: ConnectionId) -> PluginResult<()> {
        self.0.close(connection).into_result()
    }

    fn max_frame_size(&self) -> usize {
        usize::try_from(self.0.max_frame_size()).unwrap_or(usize::MAX)
    }

    fn set_initial_frame_limit(&self, max_frame: usize) -> PluginResult<()> {
        self.0
            .set_initial_frame_limit(max_frame as u64)
            .into_result()
    }

    fn set_frame_limit(&self, connection: ConnectionId, max_frame: usize) -> PluginResult<()> {
        self.0
            .set_frame_limit(connection, max_frame as u64)
            .into_result()
    }
}
