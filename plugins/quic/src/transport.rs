//! [`QuicTransport`]: the plugin's `Transport`, and the tokio runtime it owns.
//!
//! The node calls in from its own threads (and, loaded as a library, from a world with its own
//! copy of tokio), so nothing here may rely on the caller's runtime or block inside one. Work
//! that needs the runtime is spawned on the plugin's runtime and awaited through a std channel
//! with a timeout; `send` and `close` only touch the connection table and queues.

use crate::cert::NodeCertificate;
use crate::config::QuicSettings;
use crate::link::{close_code, describe_connection_error, Links};
use crate::tls;
use parley_plugin_api::logging::forward_tracing_to_host;
use parley_plugin_api::model::ConnectionId;
use parley_plugin_api::{Host, PluginError, PluginResult, Transport};
use quinn::Endpoint;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::runtime::{Handle, Runtime};

/// How long binding a listener may take before `listen` gives up.
const BIND_LIMIT: Duration = Duration::from_secs(5);

/// How long dropping an instance waits for its close packets to go out.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(250);

/// A QUIC transport instance: its runtime, endpoints and connections.
pub struct QuicTransport {
    settings: QuicSettings,
    /// `Some` until drop; taken there to shut it down explicitly.
    runtime: Option<Runtime>,
    links: Arc<Links>,
    /// The endpoint configurations; their QUIC settings change when the initial frame limit
    /// does (see `set_initial_frame_limit`).
    configs: Mutex<Configs>,
    /// Every listening endpoint, so that drop can close them.
    listeners: Mutex<Vec<Endpoint>>,
    /// The endpoints dials go out from, one per address family, made on first use: a node
    /// that only dials never needs to listen.
    dialers: Mutex<Dialers>,
}

struct Configs {
    server: quinn::ServerConfig,
    client: quinn::ClientConfig,
}

#[derive(Default)]
struct Dialers {
    v4: Option<Endpoint>,
    v6: Option<Endpoint>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl QuicTransport {
    /// Creates an instance from its `node.toml` table (see the crate docs for the keys). Makes
    /// the node's certificate on first start.
    pub fn new(table: &str, host: Host) -> PluginResult<Self> {
        forward_tracing_to_host(&host);
        let settings = QuicSettings::from_table(table, &host)?;
        let certificate = NodeCertificate::load_or_create(&settings.cert_dir)?;
        let transport = tls::transport_config(&settings, false)?;
        let server = tls::server_config(&certificate, transport.clone())?;
        let client = tls::client_config(transport)?;
        let runtime = build_runtime(&host)?;
        let links = Links::new(
            host,
            runtime.handle().clone(),
            settings.max_frame_size,
            settings.max_outbox_bytes,
            settings.connect_timeout,
        );
        Ok(QuicTransport {
            settings,
            runtime: Some(runtime),
            links,
            configs: Mutex::new(Configs { server, client }),
            listeners: Mutex::new(Vec::new()),
            dialers: Mutex::new(Dialers::default()),
        })
    }

    fn runtime(&self) -> &Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime lives until the transport is dropped")
    }

    /// Runs `task` on the plugin's runtime and waits for it on this thread, at most `limit`.
    fn run<T: Send + 'static>(
        &self,
        what: &str,
        limit: Duration,
        task: impl Future<Output = PluginResult<T>> + Send + 'static,
    ) -> PluginResult<T> {
        let (reply, result) = sync_channel(1);
        self.runtime().spawn(async move {
            let _ = reply.send(task.await);
        });
        match result.recv_timeout(limit) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(PluginError::timeout(format!(
                "QUIC {what} did not finish within {} ms",
                limit.as_millis()
            ))),
            Err(RecvTimeoutError::Disconnected) => Err(PluginError::internal(format!(
                "QUIC {what} was abandoned by the transport's runtime"
            ))),
        }
    }

    /// The endpoint to dial `target` from, made on first use.
    fn dialer(&self, target: SocketAddr) -> PluginResult<Endpoint> {
        let mut dialers = lock(&self.dialers);
        let (slot, bind): (_, SocketAddr) = if target.is_ipv6() {
            (&mut dialers.v6, (Ipv6Addr::UNSPECIFIED, 0).into())
        } else {
            (&mut dialers.v4, (Ipv4Addr::UNSPECIFIED, 0).into())
        };
        if let Some(endpoint) = slot {
            return Ok(endpoint.clone());
        }
        // quinn finds its runtime through the current tokio context; entering it does not
        // block, unlike `block_on`.
        let _context = self.runtime().enter();
        let endpoint = Endpoint::client(bind).map_err(|e| {
            PluginError::unavailable(format!("cannot open a UDP socket on {bind} to dial: {e}"))
        })?;
        *slot = Some(endpoint.clone());
        Ok(endpoint)
    }
}

/// One worker thread: the transport's work is short and I/O-bound, and on a small machine a
/// second worker measured no faster while adding cross-thread wake-ups to the tail latency.
/// Its threads are bound to `host`'s instance, so that quinn's log lines go to its section.
fn build_runtime(host: &Host) -> PluginResult<Runtime> {
    static THREADS: AtomicUsize = AtomicUsize::new(0);
    let bound = host.clone();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(move || bound.bind_current_thread())
        .thread_name_fn(|| format!("parley-quic-{}", THREADS.fetch_add(1, Ordering::Relaxed)))
        .enable_all()
        .build()
        .map_err(|e| PluginError::internal(format!("cannot start the QUIC runtime: {e}")))
}

/// Resolves `host:port`; a name may take a DNS lookup, which `listen` and `dial` may do.
fn resolve(addr: &str, what: &str) -> PluginResult<SocketAddr> {
    let bad = |detail: String| {
        PluginError::invalid(format!(
            "cannot {what} on `{addr}`: {detail}; expected host:port, like 127.0.0.1:7000"
        ))
    };
    addr.to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("the name has no address".into()))
}

impl Transport for QuicTransport {
    fn listen(&self, addr: &str) -> PluginResult<String> {
        let socket = resolve(addr, "listen")?;
        let server = lock(&self.configs).server.clone();
        let links = self.links.clone();
        let max_connections = self.settings.max_connections;
        let endpoint = self.run("listen", BIND_LIMIT, async move {
            let endpoint = Endpoint::server(server, socket).map_err(|e| {
                PluginError::unavailable(format!("cannot listen for QUIC on {socket}: {e}"))
            })?;
            tokio::spawn(accept_connections(endpoint.clone(), links, max_connections));
            Ok(endpoint)
        })?;
        let bound = endpoint
            .local_addr()
            .map_err(|e| PluginError::internal(format!("cannot read the bound address: {e}")))?;
        lock(&self.listeners).push(endpoint);
        tracing::info!("listening for QUIC on {bound}");
        Ok(bound.to_string())
    }

    fn dial(&self, addr: &str) -> PluginResult<ConnectionId> {
        let target = resolve(addr, "dial")?;
        let endpoint = self.dialer(target)?;
        let config = lock(&self.configs).client.clone();
        let links = self.links.clone();
        let limit = self.settings.connect_timeout;
        // The task has its own deadline; the margin only covers scheduling.
        self.run("dial", limit + Duration::from_secs(1), async move {
            let connecting = endpoint
                .connect_with(config, target, tls::DIAL_SERVER_NAME)
                .map_err(|e| PluginError::invalid(format!("cannot dial {target}: {e}")))?;
            match tokio::time::timeout(limit, connecting).await {
                Ok(Ok(connection)) => Ok(links.start(connection, false)),
                Ok(Err(e)) => Err(PluginError::unavailable(format!(
                    "the QUIC handshake with {target} failed: {}",
                    describe_connection_error(&e)
                ))),
                Err(_) => Err(PluginError::timeout(format!(
                    "no QUIC listener answered at {target} within {} ms (connect_timeout_ms)",
                    limit.as_millis()
                ))),
            }
        })
    }

    fn send(&self, connection: ConnectionId, frame: &[u8]) -> PluginResult<()> {
        self.links.send(connection, frame)
    }

    fn close(&self, connection: ConnectionId) -> PluginResult<()> {
        self.links.close(connection)
    }

    fn max_frame_size(&self) -> usize {
        self.settings.max_frame_size
    }

    fn set_initial_frame_limit(&self, max_frame: usize) -> PluginResult<()> {
        self.links.set_initial_limit(max_frame)?;
        let transport = tls::transport_config(&self.settings, self.links.starts_limited())?;
        let mut configs = lock(&self.configs);
        configs.server.transport_config(transport.clone());
        configs.client.transport_config(transport);
        for endpoint in lock(&self.listeners).iter() {
            endpoint.set_server_config(Some(configs.server.clone()));
        }
        Ok(())
    }

    fn set_frame_limit(&self, connection: ConnectionId, max_frame: usize) -> PluginResult<()> {
        self.links.set_limit(connection, max_frame)
    }
}

/// Accepts connections on a listener until it is closed. Each handshake runs on its own, so
/// a slow or hostile client does not hold up the others; quinn bounds it by the idle timeout.
/// Beyond `max_connections` (open ones and handshakes under way) a new one is refused before
/// its handshake, so that however many a client opens, they cost no more than that many.
async fn accept_connections(endpoint: Endpoint, links: Arc<Links>, max_connections: usize) {
    let handshakes = Arc::new(AtomicUsize::new(0));
    while let Some(incoming) = endpoint.accept().await {
        if links.count() + handshakes.load(Ordering::Relaxed) >= max_connections {
            tracing::debug!(
                remote = %incoming.remote_address(),
                "refused an incoming QUIC connection: {max_connections} are open already \
                 (max_connections)"
            );
            incoming.refuse();
            continue;
        }
        handshakes.fetch_add(1, Ordering::Relaxed);
        let handshakes = handshakes.clone();
        let links = links.clone();
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            match incoming.await {
                Ok(connection) => {
                    links.start(connection, true);
                }
                Err(e) => tracing::debug!(
                    %remote,
                    "an incoming QUIC handshake failed: {}",
                    describe_connection_error(&e)
                ),
            }
            // After `start`, so that the connection is counted by one of the two throughout.
            handshakes.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

impl Drop for QuicTransport {
    fn drop(&mut self) {
        self.links.shut_down();
        let mut endpoints: Vec<Endpoint> = lock(&self.listeners).drain(..).collect();
        let mut dialers = lock(&self.dialers);
        endpoints.extend(dialers.v4.take());
        endpoints.extend(dialers.v6.take());
        drop(dialers);
        for endpoint in &endpoints {
            endpoint.close(close_code::SHUTDOWN, b"transport shutting down");
        }
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        // Let the close packets go out, so that peers learn now rather than after their idle
        // timeout.
        let (done, idle) = sync_channel(1);
        runtime.spawn(async move {
            for endpoint in endpoints {
                endpoint.wait_idle().await;
            }
            let _ = done.send(());
        });
        let _ = idle.recv_timeout(SHUTDOWN_GRACE);
        // Waiting for the workers is not allowed on a thread that runs async code.
        if Handle::try_current().is_ok() {
            runtime.shutdown_background();
        } else {
            runtime.shutdown_timeout(SHUTDOWN_GRACE);
        }
    }
}
