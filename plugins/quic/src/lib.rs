//! # parley-plugin-quic
//!
//! The QUIC transport of the Parley node, as a plugin (`quic`): connections between nodes over
//! UDP with quinn and rustls, carrying whole frames in order per connection.
//!
//! - Each side sends its frames on one unidirectional stream as a u32 big-endian length and
//!   the bytes. A length above `max_frame_size` closes that connection.
//! - Frame limits per connection (the `Transport` contract): a frame above the connection's
//!   current limit is held, and the reader reads nothing more until the node raises the limit.
//!   A connection that starts below `max_frame_size` (the node sets a few KiB until the peer
//!   is authenticated) also starts with a 64 KiB QUIC receive window, so a stranger can make it
//!   buffer little more than that, whatever length it announces.
//! - Each connection's outbox holds at most `max_outbox_bytes`; `send` refuses with
//!   `Unavailable` beyond it instead of queueing without bound.
//! - TLS 1.3 with ALPN `parley/1` gives confidentiality. Peer authentication is not done here:
//!   the node runs its own handshake over the first frames (DESIGN §5), so the client accepts
//!   any server certificate. Each node makes a self-signed certificate on first start and keeps
//!   it in `cert_dir` (`cert.der`, and `key.der` with mode 0600).
//! - The plugin runs its own tokio runtime (one named worker thread, `parley-quic-N`); `send`
//!   only queues, `listen` and `dial` wait on it through std channels with timeouts.
//!
//! What it is not: it knows nothing of Parley messages, peers or keys.
//!
//! ## Configuration (`[wire]` in `node.toml`, all optional)
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `max_frame_size` | 16777216 | largest frame in bytes (1 to 1 GiB); same on both nodes |
//! | `max_outbox_bytes` | 33554432, or `max_frame_size` if larger | most queued for one peer before `send` refuses; at least `max_frame_size` |
//! | `connect_timeout_ms` | 5000 | how long `dial` waits for the handshake |
//! | `idle_timeout_ms` | 30000 | a silent connection is closed after this |
//! | `keep_alive_ms` | 5000 | keep-alive interval, below `idle_timeout_ms`; 0 disables |
//! | `cert_dir` | `<data_dir>/quic` | where the certificate and key live |

mod cert;
mod config;
mod framing;
mod link;
mod tls;
mod transport;

#[cfg(test)]
mod tests;

pub use transport::QuicTransport;

parley_plugin_api::export_plugin! {
    kind: Transport,
    name: "quic",
    description: "QUIC transport (quinn, rustls): whole frames in order per connection",
    // A short connect timeout keeps the conformance check of an unreachable port quick.
    check_config: "connect_timeout_ms = 2000",
    new: QuicTransport::new,
}
