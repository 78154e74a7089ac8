//! The transport interface: connections that carry whole frames between nodes.

use crate::abi::ffi::{FfiTransport, FfiTransportBox, FfiTransport_TO};
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
/// - **Non-blocking send.** `send` only queues the frame and returns; it is called on the hot
///   path. It fails at once for an unknown or closed connection or an oversized frame.
/// - **Blocking setup.** `listen` and `dial` may block for the time it takes to bind or to
///   connect (bounded by the transport's own timeout).
/// - **Close.** After `close` (or a `Closed` event) no more frames arrive on the connection and
///   sends to it fail; frames queued before `close` are delivered on a best-effort basis.
///   Closing twice is not an error; closing an id that was never issued is `NotFound`. Both
///   sides get a `Closed` event for a connection that ends, except the side that called `close`.
/// - **Drop.** Dropping the instance ends all its connections promptly; peers get `Closed` at
///   once, not after an idle timeout.
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
}

/// Wraps a plugin's transport for export (used by `export_plugin!`).
pub fn export_transport<T: Transport>(transport: T) -> FfiTransportBox {
    FfiTransport_TO::from_value(ExportedTransport(transport), TD_Opaque)
}

struct ExportedTransport<T>(T);

impl<T: Transport> FfiTransport for ExportedTransport<T> {
    fn listen(&self, addr: RStr<'_>) -> RResult<RString, PluginError> {
        catch("transport.listen", || {
            self.0.listen(addr.as_str()).map(RString::from)
        })
        .into()
    }

    fn dial(&self, addr: RStr<'_>) -> RResult<u64, PluginError> {
        catch("transport.dial", || self.0.dial(addr.as_str())).into()
    }

    fn send(&self, connection: u64, frame: RSlice<'_, u8>) -> RResult<(), PluginError> {
        catch("transport.send", || {
            self.0.send(connection, frame.as_slice())
        })
        .into()
    }

    fn close(&self, connection: u64) -> RResult<(), PluginError> {
        catch("transport.close", || self.0.close(connection)).into()
    }

    fn max_frame_size(&self) -> u64 {
        catch("transport.max_frame_size", || {
            Ok(self.0.max_frame_size() as u64)
        })
        .unwrap_or(0)
    }
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
}
