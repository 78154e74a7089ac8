//! The node assembled (DESIGN §1): key, API token, plugins, the channel store and its
//! restored channels, peers over the transport, the peer-event dispatcher, the chain-side
//! lifecycle, and the JSON-RPC API served over all of it.
//!
//! `wiring` makes the driver's services and hands each part the ones it works with;
//! `restore` reads what the store holds and resumes the stored channels.

mod restore;
mod wiring;

use crate::api::client::api_addr_path;
use crate::api::service::events::ApiEvents;
use crate::api::service::NodeService;
use crate::api::{
    load_or_create_token, token_path, ApiServer, ApiServerError, EventBus, NodeApi, TokenError,
};
use crate::client::apps::Apps;
use crate::client::chain::ChainAccess;
use crate::client::dispatch::spawn_dispatcher;
use crate::client::driver::Driver;
use crate::client::onchain::{spawn_chain_side, ChainSide};
use crate::client::peers::{
    route_plugin_events, Intake, PeerError, PeerLimits, Peers, PeersConfig,
};
use crate::config::{LimitsSection, NodeConfig};
use crate::data_dir_lock::{DataDirLock, LockError};
use crate::host::{LoadError, NodePlugins, PluginLibrary};
use crate::store::{ChannelStore, StoreError};
use crate::wire::{KeyError, NodeId, NodeKey};
use parley_plugin_api::{ChainSigner, LoadedChain, PluginError, Store, Transport};
use restore::{read_book, read_members, restore_channels, resume_channels};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;
use tokio::task::JoinHandle;
use wiring::{wire, Identity, Ledger, Wired};

/// Why the node did not start.
#[derive(Debug, Error)]
pub enum NodeError {
    /// Another node runs on the same data directory, or it cannot be locked.
    #[error(transparent)]
    DataDir(#[from] LockError),
    /// The node key could not be read or created.
    #[error("cannot use the node key {path} ([node] key_file in {config}): {source}", path = .path.display(), config = .config.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// The config file naming it.
        config: PathBuf,
        /// Why.
        source: KeyError,
    },
    /// The API token could not be read or created.
    #[error("cannot use the API token: {0}")]
    Token(#[from] TokenError),
    /// A plugin did not load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The chain backend could not describe itself.
    #[error("the chain backend cannot describe itself: {0}")]
    ChainInfo(PluginError),
    /// The store is not usable (wrong schema, unreadable).
    #[error("cannot open the channel store: {0}")]
    Store(StoreError),
    /// The transport could not listen.
    #[error("cannot listen on {addr} ([wire] listen in {config}): {source}", config = .config.display())]
    Listen {
        /// The configured address.
        addr: String,
        /// The config file.
        config: PathBuf,
        /// Why.
        source: PeerError,
    },
    /// The API server did not start.
    #[error(transparent)]
    Api(#[from] ApiServerError),
    /// The API address file could not be written.
    #[error("cannot write the API address file {path}: {source}", path = .path.display())]
    AddrFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The node: start one with [`Node::start`].
pub struct Node;

/// A running node; stop it with [`NodeHandle::shutdown`].
pub struct NodeHandle {
    api: ApiServer,
    addr_file: PathBuf,
    service: Arc<dyn NodeApi>,
    driver: Arc<Driver>,
    chain_side: Arc<ChainSide>,
    tasks: Vec<JoinHandle<()>>,
    transport: Arc<dyn Transport>,
    chain: Arc<LoadedChain>,
    store: Arc<dyn Store>,
    libraries: Vec<(String, PluginLibrary)>,
    data_dir_lock: DataDirLock,
}

impl Node {
    /// Starts the node of `config`: see the module doc. Must run inside a tokio runtime.
    pub async fn start(config: &NodeConfig) -> Result<NodeHandle, NodeError> {
        // Before anything is written (key, token, store, api.addr): a second node on this
        // data directory must leave everything of the first as it is.
        let data_dir_lock = DataDirLock::acquire(&config.node.data_dir)?;
        let key =
            NodeKey::load_or_create(&config.node.key_file).map_err(|source| NodeError::Key {
                path: config.node.key_file.clone(),
                config: config.file.clone(),
                source,
            })?;
        let node_id = key.node_id();
        tracing::info!(node_id = %node_id, "node identity");
        let token = load_or_create_token(&token_path(&config.node.data_dir))?;
        config.testing.announce();

        let peers_config = peers_config(&config.limits);
        let (intake, transport_events) = Intake::new(peers_config.limits);
        let (route, other_events) = route_plugin_events(config.wire.plugin.section, intake.clone());
        let plugins = NodePlugins::load(config, route)?;
        for (section, library) in &plugins.libraries {
            tracing::info!(
                section,
                plugin = %library.name,
                version = %library.version,
                path = %library.path.display(),
                "loaded {} plugin `{}` {}",
                library.kind,
                library.name,
                library.version
            );
        }
        let NodePlugins {
            chain,
            transport,
            store,
            apps,
            libraries,
            offered_apps,
        } = plugins;
        let chain_info = chain.info().map_err(NodeError::ChainInfo)?;
        let apps = Apps::new(
            apps.into_iter().map(|a| (a.name, a.addresses, a.app)),
            chain_info.chain_id,
        );
        // From here the plugins' hosts offer the apps with an address on this chain: the
        // chain backend enforces an app channel's moves by the app the node runs (`progress`).
        offered_apps.fill(
            apps.all()
                .iter()
                .filter_map(|app| Some((app.address.clone()?, app.app.clone()))),
        );
        for app in apps.all() {
            match &app.address {
                Some(address) => tracing::info!(app = %app.name, %address, "app ready"),
                None => tracing::info!(app = %app.name, "app loaded (no address on this chain)"),
            }
        }
        let assets: Vec<&str> = chain_info.assets.iter().map(|a| a.name.as_str()).collect();
        tracing::info!(chain_id = chain_info.chain_id, backend = %chain_info.backend, assets = ?assets, "chain ready");
        let account = match chain.accounts() {
            Ok(accounts) => accounts.into_iter().next(),
            Err(error) => {
                tracing::warn!(%error, "the chain backend cannot list its accounts; `balance` will fail");
                None
            }
        };

        let channel_store = Arc::new(ChannelStore::open(store.clone()).map_err(NodeError::Store)?);
        match channel_store.prune_payments(crate::store::payments::KEPT_PAYMENTS) {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "deleted the oldest payment records"),
            Err(error) => tracing::warn!("could not prune the payment history: {error}"),
        }
        let (snapshots, damaged) = restore_channels(&channel_store).map_err(NodeError::Store)?;
        let members = read_members(&channel_store).map_err(NodeError::Store)?;
        let book = read_book(&channel_store, node_id).map_err(NodeError::Store)?;

        let (peers, peer_events) = Peers::start(
            key.clone(),
            transport.clone(),
            (intake, transport_events),
            PeersConfig {
                names: book.names(),
                ..peers_config
            },
        );
        let listen_address =
            peers
                .listen(&config.wire.listen)
                .await
                .map_err(|source| NodeError::Listen {
                    addr: config.wire.listen.clone(),
                    config: config.file.clone(),
                    source,
                })?;
        tracing::info!(address = %listen_address, "listening");

        let events = EventBus::new();
        let chain_access = ChainAccess {
            signer: chain.clone(),
            ledger: chain.clone(),
            info: chain_info,
            account,
        };
        let sink = Arc::new(ApiEvents::new(
            events.clone(),
            chain_access.info.clone(),
            book.names(),
        ));
        let Wired {
            driver,
            chain_side,
            dispatcher,
            starter,
            reports: reports_rx,
            moves,
        } = wire(
            config,
            Identity {
                node_id,
                listen_address,
                key,
            },
            Ledger {
                chain: chain_access,
                apps,
            },
            peers,
            channel_store.clone(),
            book,
            sink,
        );
        let mut tasks = vec![spawn_chain_side(
            Arc::downgrade(&chain_side),
            reports_rx,
            other_events,
            moves,
        )];
        let redial = resume_channels(
            &starter,
            &chain_side,
            &channel_store,
            snapshots,
            damaged,
            &members,
        )
        .await;
        tasks.push(spawn_dispatcher(dispatcher, peer_events, redial));

        let node_service = NodeService::new(driver.clone());
        let api_address = node_service.api_address_cell();
        let service: Arc<dyn NodeApi> = Arc::new(node_service);
        let api =
            ApiServer::start(&config.api.server_config(), token, service.clone(), events).await?;
        let _ = api_address.set(api.local_addr().to_string());
        let addr_file = api_addr_path(&config.node.data_dir);
        let handle = NodeHandle {
            api,
            addr_file,
            service,
            driver,
            chain_side,
            tasks,
            transport,
            chain,
            store,
            libraries,
            data_dir_lock,
        };
        if let Err(source) =
            write_atomically(&handle.addr_file, &handle.api.local_addr().to_string())
        {
            let path = handle.addr_file.clone();
            handle.shutdown().await;
            return Err(NodeError::AddrFile { path, source });
        }
        tracing::info!(address = %handle.api.local_addr(), "API listening");
        let driver = &handle.driver;
        let account = driver
            .chain
            .account()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "none".to_string());
        tracing::info!(
            node = %format!("{}@{}", driver.node_id, driver.listen_address),
            chain = %driver.chain.info.backend,
            chain_id = driver.chain.info.chain_id,
            account = %account,
            api = %handle.api.local_addr(),
            channels = driver.registry.all().len(),
            apps = driver.apps.all().len(),
            "ready"
        );
        Ok(handle)
    }
}

/// The peer manager's settings: the defaults, with `[limits]` on what one peer may do.
fn peers_config(limits: &LimitsSection) -> PeersConfig {
    PeersConfig {
        limits: PeerLimits {
            handshake_frame: limits.handshake_frame_bytes,
            frames_per_second: limits.frames_per_second,
            frames_in_flight: limits.frames_in_flight,
            bytes_in_flight: limits.bytes_in_flight,
            pending_handshakes: limits.pending_handshakes,
        },
        ..PeersConfig::default()
    }
}

impl NodeHandle {
    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.driver.node_id
    }

    /// The bound API address.
    pub fn api_addr(&self) -> std::net::SocketAddr {
        self.api.local_addr()
    }

    /// The store committer's counters since the node started (batches persisted, store
    /// commits, the largest group): how far group commit shares the disk's syncs, for
    /// benchmarks and status.
    pub fn store_stats(&self) -> crate::store::CommitStats {
        self.driver.store.stats()
    }

    /// How many of the running channels have not re-synchronised with their peer since the
    /// node started (benchmarks: the end of the re-synchronisation after a restart).
    pub async fn unsynced_channels(&self) -> usize {
        let mut unsynced = 0;
        for (handle, _) in self.driver.registry.all() {
            if handle.snapshot().await.is_ok_and(|view| !view.synced) {
                unsynced += 1;
            }
        }
        unsynced
    }

    /// The API methods, for callers in the same process (benchmarks, tests): the same code
    /// the JSON-RPC server calls, without HTTP.
    pub fn service(&self) -> Arc<dyn NodeApi> {
        self.service.clone()
    }

    /// Stops the API (and removes the address file), then the peers and the node's tasks,
    /// lets the channel tasks finish what they queued, then drops the plugins: transport,
    /// chain, store, and the libraries they came from; last it releases the data directory.
    pub async fn shutdown(self) {
        let NodeHandle {
            api,
            addr_file,
            service,
            driver,
            chain_side,
            tasks,
            transport,
            chain,
            store,
            libraries,
            data_dir_lock,
        } = self;
        api.stop();
        api.stopped().await;
        drop(service);
        if let Err(error) = std::fs::remove_file(&addr_file) {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %addr_file.display(), %error, "cannot remove the API address file");
            }
        }
        driver.peers.shutdown().await;
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
        // Every channel writes what it still holds (a payer's copy of the last accept waits
        // to share a commit with its next write): a node that stops keeps every state it
        // signed or was given.
        driver.flush_channels().await;
        driver.registry.clear();
        // Requests and chain-side steps still running hold the driver or the chain side; give
        // them a moment to end (the channel tasks end once their handles are gone). The
        // committer thread finishes queued writes before the store goes, when the last
        // reference to the channel store is dropped.
        for _ in 0..100 {
            if Arc::strong_count(&driver) == 1 && Arc::strong_count(&chain_side) == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        drop(driver);
        drop(chain_side);
        // A chain call still running on a blocking thread (a deposit waiting for the peer's)
        // keeps its own reference; unloading the library under it would crash the process, so
        // the libraries then stay loaded until the process exits.
        let in_use = Arc::strong_count(&chain) > 1 || Arc::strong_count(&store) > 1;
        drop(transport);
        drop(chain);
        drop(store);
        if in_use {
            tracing::debug!("a plugin call is still running; leaving the plugin libraries loaded");
            std::mem::forget(libraries);
        } else {
            drop(libraries);
        }
        // Last: until here this node may still write to the data directory.
        drop(data_dir_lock);
    }
}

/// Writes `text` to `path` through a temporary file and a rename, so that a reader sees either
/// no file or the whole address.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    std::fs::write(&temp, format!("{text}\n"))?;
    std::fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_file_is_replaced_whole() {
        let dir = std::env::temp_dir().join(format!("parley-node-addr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("api.addr");
        write_atomically(&path, "127.0.0.1:1").unwrap();
        write_atomically(&path, "127.0.0.1:2").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "127.0.0.1:2\n");
        assert!(!dir.join("api.addr.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
