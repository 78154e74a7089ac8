//! Connections after their handshake: the table that `send` and `close` look them up in, and
//! the two tasks that move one connection's frames.
//!
//! Each side sends its frames on one unidirectional QUIC stream that it opens itself, so the
//! two directions are independent and neither side waits for the other to speak first. A
//! stream is ordered and reliable, which gives whole, ordered frames per connection.
//!
//! Every connection ends exactly once, through [`Links::close`] (the host asked: no event) or
//! [`Links::end`] (anything else: one `Closed` event). Whoever removes the connection from the
//! table owns its end, so the two can race without a second event.
//!
//! What one connection can make us hold is bounded both ways. Incoming: the reader stops at a
//! frame above the connection's limit (see [`crate::framing`]) until the host raises it, and a
//! connection that starts limited also starts with a small QUIC receive window
//! ([`LIMITED_RECEIVE_WINDOW`]), so a peer held there cannot push more than that. Outgoing: the
//! outbox takes at most `max_outbox_bytes`; `send` refuses beyond it.

use crate::framing::{header, FrameDecoder, Next};
use parley_plugin_api::model::{ConnectionId, PluginEvent, TransportEvent};
use parley_plugin_api::{Host, PluginError, PluginResult};
use quinn::{ConnectionError, ReadError, VarInt, WriteError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};

/// QUIC application close codes this transport sends, for the peer's logs.
pub mod close_code {
    use quinn::VarInt;
    /// The host closed the connection, or the peer finished its stream.
    pub const NORMAL: VarInt = VarInt::from_u32(0);
    /// The peer announced a frame above our `max_frame_size`.
    pub const FRAME_TOO_LARGE: VarInt = VarInt::from_u32(1);
    /// The peer broke the stream discipline (reset or stopped a stream).
    pub const PROTOCOL: VarInt = VarInt::from_u32(2);
    /// The transport instance is being dropped.
    pub const SHUTDOWN: VarInt = VarInt::from_u32(3);
}

/// Frames written in one go when several are queued: big enough to fill packets, small enough
/// not to hold a large copy.
const BATCH_BYTES: usize = 64 * 1024;

/// Frames larger than this are written straight from their own buffer instead of being copied
/// into the batch.
const INLINE_BYTES: usize = 16 * 1024;

/// The QUIC receive window (bytes the peer may send beyond what we have read, over the whole
/// connection) of a connection that starts with a frame limit below `max_frame_size`. It only
/// needs to carry the handshake, and it is all a peer held at its limit can make us buffer in
/// quinn. Raising the connection's limit lifts it to quinn's default.
pub const LIMITED_RECEIVE_WINDOW: u32 = 64 * 1024;

/// The most the reader takes from quinn at once, so that a held connection never has more than
/// this beyond its limit in the decoder.
const READ_CHUNK: usize = 64 * 1024;

/// What a queued frame counts against the outbox besides its bytes (its allocation and queue
/// entry), so that a flood of empty frames is bounded too.
const FRAME_OVERHEAD: usize = 64;

/// What the writer task of a connection is asked to do, in order.
enum Outgoing {
    /// A frame and what it counts against the outbox.
    Frame(Vec<u8>, usize),
    /// Write everything queued before, finish the stream, then close the connection.
    Finish,
}

/// One open connection as `send` and `close` see it.
struct Link {
    connection: quinn::Connection,
    outbox: mpsc::UnboundedSender<Outgoing>,
    /// What the outbox holds (frame bytes plus [`FRAME_OVERHEAD`] each): at most
    /// `max_outbox_bytes`, checked by `send` before it queues.
    queued: AtomicUsize,
    /// The largest frame the reader takes in now; it waits on changes while a frame is held.
    limit: watch::Sender<usize>,
    /// Whether the host may still get this connection's frames. A frame is emitted while
    /// holding it and ending clears it first, so no frame follows `Closed` or `close`.
    open: Mutex<bool>,
}

/// All connections of one transport instance.
pub struct Links {
    host: Host,
    runtime: Handle,
    max_frame_size: usize,
    /// The most one connection's outbox holds.
    max_outbox_bytes: usize,
    /// The frame limit new connections start with (`max_frame_size` until the host sets it).
    initial_limit: AtomicUsize,
    /// Bounds the best-effort flush after a local `close`.
    flush_timeout: Duration,
    /// Ids start at 1 and are never reused.
    next_id: AtomicU64,
    table: Mutex<HashMap<ConnectionId, Arc<Link>>>,
}

/// Locks, ignoring poisoning: every critical section here leaves the data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Links {
    /// An empty table whose tasks run on `runtime`.
    pub fn new(
        host: Host,
        runtime: Handle,
        max_frame_size: usize,
        max_outbox_bytes: usize,
        flush_timeout: Duration,
    ) -> Arc<Self> {
        Arc::new(Links {
            host,
            runtime,
            max_frame_size,
            max_outbox_bytes,
            initial_limit: AtomicUsize::new(max_frame_size),
            flush_timeout,
            next_id: AtomicU64::new(1),
            table: Mutex::new(HashMap::new()),
        })
    }

    /// Takes over a connection whose handshake finished: numbers it, reports `Connected`,
    /// and starts its writer and reader.
    pub fn start(self: &Arc<Self>, connection: quinn::Connection, inbound: bool) -> ConnectionId {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (outbox, queue) = mpsc::unbounded_channel();
        let remote = connection.remote_address().to_string();
        let (limit, _) = watch::channel(self.initial_limit.load(Ordering::Relaxed));
        let link = Arc::new(Link {
            connection: connection.clone(),
            outbox,
            queued: AtomicUsize::new(0),
            limit,
            open: Mutex::new(true),
        });
        // In the table before the event, so that a host answering `Connected` with a send
        // finds the connection.
        lock(&self.table).insert(id, link.clone());
        tracing::debug!(connection = id, %remote, inbound, "QUIC connection up");
        self.host
            .emit(&PluginEvent::Transport(TransportEvent::Connected {
                connection: id,
                remote,
                inbound,
            }));
        self.runtime
            .spawn(write_frames(self.clone(), id, link.clone(), queue));
        self.runtime.spawn(read_frames(self.clone(), id, link));
        id
    }

    /// Whether new connections start limited below `max_frame_size`, and so with the small
    /// receive window.
    /// Connections open now.
    pub fn count(&self) -> usize {
        lock(&self.table).len()
    }

    pub fn starts_limited(&self) -> bool {
        self.initial_limit.load(Ordering::Relaxed) < self.max_frame_size
    }

    /// Sets the limit connections made from now on start with.
    pub fn set_initial_limit(&self, max_frame: usize) -> PluginResult<()> {
        self.check_limit(max_frame)?;
        self.initial_limit.store(max_frame, Ordering::Relaxed);
        Ok(())
    }

    /// Sets one connection's limit; a held frame that fits it is read at once.
    pub fn set_limit(&self, id: ConnectionId, max_frame: usize) -> PluginResult<()> {
        self.check_limit(max_frame)?;
        let link = lock(&self.table).get(&id).cloned();
        let Some(link) = link else {
            return Err(self.gone(id));
        };
        link.limit.send_replace(max_frame);
        if max_frame > self.initial_limit.load(Ordering::Relaxed) {
            // The peer may now send whole frames of this size: quinn's default window again.
            link.connection.set_receive_window(VarInt::MAX);
        }
        Ok(())
    }

    fn check_limit(&self, max_frame: usize) -> PluginResult<()> {
        if max_frame == 0 || max_frame > self.max_frame_size {
            return Err(PluginError::invalid(format!(
                "a frame limit of {max_frame} bytes is outside 1 to max_frame_size ({} bytes) \
                 of this QUIC transport",
                self.max_frame_size
            )));
        }
        Ok(())
    }

    /// Queues a frame; never waits. Refuses with `Unavailable` when the connection's outbox
    /// would go above `max_outbox_bytes`.
    pub fn send(&self, id: ConnectionId, frame: &[u8]) -> PluginResult<()> {
        if frame.len() > self.max_frame_size {
            return Err(PluginError::invalid(format!(
                "a frame of {} bytes is above max_frame_size ({} bytes) of this QUIC transport; \
                 send smaller frames or raise max_frame_size on both nodes",
                frame.len(),
                self.max_frame_size
            )));
        }
        let link = lock(&self.table).get(&id).cloned();
        let Some(link) = link else {
            return Err(self.gone(id));
        };
        let cost = frame.len() + FRAME_OVERHEAD;
        let max = self.max_outbox_bytes;
        let reserved = link
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                (queued + cost <= max).then_some(queued + cost)
            });
        if let Err(queued) = reserved {
            return Err(PluginError::unavailable(format!(
                "the outbox of QUIC connection {id} is full: {queued} bytes wait for a peer that \
                 reads slower than we send (max_outbox_bytes = {max}); the frame was not queued"
            )));
        }
        if link
            .outbox
            .send(Outgoing::Frame(frame.to_vec(), cost))
            .is_err()
        {
            return Err(self.gone(id));
        }
        Ok(())
    }

    /// Closes a connection for the host: no `Closed` event; frames queued before are written
    /// first, within the flush timeout. Closing an id that already ended is fine.
    pub fn close(&self, id: ConnectionId) -> PluginResult<()> {
        let Some(link) = lock(&self.table).remove(&id) else {
            return if self.was_issued(id) {
                Ok(())
            } else {
                Err(self.gone(id))
            };
        };
        *lock(&link.open) = false;
        tracing::debug!(connection = id, "closing the QUIC connection");
        if link.outbox.send(Outgoing::Finish).is_err() {
            link.connection.close(close_code::NORMAL, b"closed");
            return Ok(());
        }
        // A peer that stops reading must not keep the connection alive forever.
        let connection = link.connection.clone();
        let limit = self.flush_timeout;
        self.runtime.spawn(async move {
            if tokio::time::timeout(limit, connection.closed())
                .await
                .is_err()
            {
                connection.close(close_code::NORMAL, b"closed");
            }
        });
        Ok(())
    }

    /// Ends a connection for a reason other than the host's `close`: reports `Closed` with
    /// `reason` (once) and releases the connection.
    fn end(&self, id: ConnectionId, reason: &str) {
        let Some(link) = lock(&self.table).remove(&id) else {
            return;
        };
        {
            let mut open = lock(&link.open);
            *open = false;
            tracing::debug!(connection = id, reason, "QUIC connection closed");
            self.host
                .emit(&PluginEvent::Transport(TransportEvent::Closed {
                    connection: id,
                    reason: reason.to_string(),
                }));
        }
        link.connection.close(close_code::NORMAL, b"closed");
    }

    /// Hands a frame to the host unless the connection ended meanwhile.
    fn deliver(&self, id: ConnectionId, link: &Link, frame: Vec<u8>) {
        let open = lock(&link.open);
        if *open {
            self.host
                .emit(&PluginEvent::Transport(TransportEvent::Frame {
                    connection: id,
                    frame: frame.into(),
                }));
        }
    }

    /// Closes every connection without events, for shutdown.
    pub fn shut_down(&self) {
        let links: Vec<_> = lock(&self.table).drain().map(|(_, link)| link).collect();
        for link in links {
            *lock(&link.open) = false;
            link.connection
                .close(close_code::SHUTDOWN, b"transport shutting down");
        }
    }

    fn was_issued(&self, id: ConnectionId) -> bool {
        id > 0 && id < self.next_id.load(Ordering::Relaxed)
    }

    fn gone(&self, id: ConnectionId) -> PluginError {
        if self.was_issued(id) {
            PluginError::not_found(format!("QUIC connection {id} is closed"))
        } else {
            PluginError::not_found(format!("there is no QUIC connection {id}"))
        }
    }
}

/// The writer: drains the connection's queue onto its outgoing stream. Frames already queued
/// are written together, so a burst costs few stream writes.
async fn write_frames(
    links: Arc<Links>,
    id: ConnectionId,
    link: Arc<Link>,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    if let Err(reason) = pump(&link, &mut queue).await {
        links.end(id, &reason);
    }
}

async fn pump(link: &Link, queue: &mut mpsc::UnboundedReceiver<Outgoing>) -> Result<(), String> {
    let connection = &link.connection;
    let mut stream = connection
        .open_uni()
        .await
        .map_err(|e| describe_connection_error(&e))?;
    let mut batch = Vec::with_capacity(BATCH_BYTES);
    // `None` once the connection left the table and its reader is gone: nothing more to send.
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        let mut finish = false;
        // What the frames in `batch` count against the outbox, released once written.
        let mut batched = 0;
        while let Some(item) = next {
            match item {
                Outgoing::Frame(frame, cost) => {
                    batch.extend_from_slice(&header(frame.len()));
                    if frame.len() > INLINE_BYTES {
                        write(&mut stream, &batch).await?;
                        batch.clear();
                        write(&mut stream, &frame).await?;
                        link.queued.fetch_sub(cost, Ordering::AcqRel);
                    } else {
                        batch.extend_from_slice(&frame);
                        batched += cost;
                    }
                }
                Outgoing::Finish => {
                    finish = true;
                    break;
                }
            }
            next = if batch.len() < BATCH_BYTES {
                queue.try_recv().ok()
            } else {
                None
            };
        }
        if !batch.is_empty() {
            write(&mut stream, &batch).await?;
            batch.clear();
        }
        link.queued.fetch_sub(batched, Ordering::AcqRel);
        if finish {
            // The peer closes the connection once it has read our last frame. Closing first
            // could discard frames it has received but not yet read; `Links::close` bounds
            // the wait for a peer that never closes.
            let _ = stream.finish();
            let _ = connection.closed().await;
            return Ok(());
        }
    }
    Ok(())
}

async fn write(stream: &mut quinn::SendStream, bytes: &[u8]) -> Result<(), String> {
    stream.write_all(bytes).await.map_err(|e| match e {
        WriteError::ConnectionLost(e) => describe_connection_error(&e),
        WriteError::Stopped(code) => format!("the peer stopped reading our frames (code {code})"),
        other => format!("cannot send on the QUIC stream: {other}"),
    })
}

/// The reader: turns the peer's stream into `Frame` events until the connection ends.
async fn read_frames(links: Arc<Links>, id: ConnectionId, link: Arc<Link>) {
    let reason = receive(&links, id, &link).await;
    links.end(id, &reason);
}

/// Returns why the connection ended.
async fn receive(links: &Links, id: ConnectionId, link: &Link) -> String {
    let connection = &link.connection;
    let mut stream = match connection.accept_uni().await {
        Ok(stream) => stream,
        Err(e) => return describe_connection_error(&e),
    };
    let mut limit = link.limit.subscribe();
    let mut decoder = FrameDecoder::new(links.max_frame_size, *limit.borrow_and_update());
    loop {
        if limit.has_changed().unwrap_or(false) {
            decoder.set_limit(*limit.borrow_and_update());
        }
        match decoder.next_frame() {
            // After a local close the stream is still read (and dropped) rather than
            // stopped: stopping it would make the peer drop the frames we still owe it.
            Ok(Next::Frame(frame)) => links.deliver(id, link, frame),
            Ok(Next::Bytes) => {
                let chunk = match stream.read_chunk(READ_CHUNK, true).await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) if decoder.pending() > 0 => {
                        connection.close(close_code::PROTOCOL, b"stream ended inside a frame");
                        return "the peer ended its stream in the middle of a frame".into();
                    }
                    Ok(None) => return "closed by the peer".into(),
                    Err(ReadError::ConnectionLost(e)) => return describe_connection_error(&e),
                    Err(ReadError::Reset(code)) => {
                        connection.close(close_code::PROTOCOL, b"stream reset");
                        return format!("the peer abandoned its stream (code {code})");
                    }
                    Err(other) => return format!("cannot read the QUIC stream: {other}"),
                };
                decoder.push(&chunk.bytes);
            }
            Ok(Next::Held { announced }) => {
                tracing::debug!(
                    connection = id,
                    "holding a frame of {announced} bytes, above this connection's limit, until \
                     the node raises it"
                );
                // Nothing more is read, so quinn's flow control holds the peer back.
                tokio::select! {
                    changed = limit.changed() => match changed {
                        Ok(()) => decoder.set_limit(*limit.borrow_and_update()),
                        // The link (which owns the sender) outlives its reader; never here.
                        Err(_) => return describe_connection_error(&connection.closed().await),
                    },
                    error = connection.closed() => return describe_connection_error(&error),
                }
            }
            Err(too_large) => {
                tracing::warn!(
                    connection = id,
                    remote = %connection.remote_address(),
                    "the peer announced a frame of {} bytes, above max_frame_size ({} \
                     bytes); closing the connection",
                    too_large.announced,
                    too_large.max
                );
                connection.close(close_code::FRAME_TOO_LARGE, b"frame too large");
                return format!(
                    "the peer sent a frame of {} bytes, above max_frame_size ({} bytes)",
                    too_large.announced, too_large.max
                );
            }
        }
    }
}

/// A reason for the log and the `Closed` event. The peer's own close reason is untrusted
/// text, so it is shortened and escaped.
pub fn describe_connection_error(error: &ConnectionError) -> String {
    match error {
        ConnectionError::ApplicationClosed(close) => {
            let text: String = String::from_utf8_lossy(&close.reason)
                .chars()
                .take(120)
                .collect();
            format!(
                "closed by the peer (code {}: {})",
                close.error_code,
                text.escape_debug()
            )
        }
        ConnectionError::TimedOut => {
            "timed out: nothing heard from the peer within idle_timeout_ms".into()
        }
        ConnectionError::Reset => "reset by the peer".into(),
        ConnectionError::LocallyClosed => "closed locally".into(),
        other => format!("connection lost: {other}"),
    }
}

/// The close code the other end of a connection that ended with `error` used, if any.
#[cfg(test)]
pub fn peer_close_code(error: &ConnectionError) -> Option<quinn::VarInt> {
    match error {
        ConnectionError::ApplicationClosed(close) => Some(close.error_code),
        _ => None,
    }
}
