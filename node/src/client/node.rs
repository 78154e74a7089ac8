//! The node assembled (DESIGN §1): key, API token, plugins, restored channels, peers over the
//! transport, and the JSON-RPC API served over all of it.
//!
//! This is the first slice: the node answers `node_info`, `balance`, `peer_add`, `peer_list`,
//! `channel_list` and `channel_get`. Opening, paying and settling channels are not wired yet;
//! those methods fail with an explicit `unavailable` error ([`NOT_YET`]) rather than
//! pretending to succeed.

use crate::api::client::api_addr_path;
use crate::api::types::{
    BalanceRequest, ChannelInfo, ChannelOpenRequest, ChannelPayRequest, NodeInfo, OnChainBalance,
    PeerAddRequest, PeerInfo, ProposalInfo, ProposalRejectRequest,
};
use crate::api::{
    load_or_create_token, token_path, ApiError, ApiFuture, ApiServer, ApiServerError,
    ErrorCategory, EventBus, NodeApi, TokenError,
};
use crate::client::peers::{split_transport_events, PeerError, Peers, PeersConfig};
use crate::config::NodeConfig;
use crate::host::{LoadError, NodePlugins, PluginLibrary};
use crate::protocol::{ChannelSnapshot, ProposalId};
use crate::store::{ChannelStore, StoreError};
use crate::wire::{KeyError, NodeId, NodeKey};
use parley_plugin_api::model::{ChainInfo, ChannelId, Participant};
use parley_plugin_api::{ChainBackend, PluginError, Store, Transport};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use thiserror::Error;
use tokio::task::JoinHandle;

/// The message of every channel method that is not wired to channel tasks yet.
pub const NOT_YET: &str = "not available yet: channels arrive in the next step of #3";

/// Why the node did not start.
#[derive(Debug, Error)]
pub enum NodeError {
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

/// A peer the user named with `peer_add`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct KnownPeer {
    node_id: NodeId,
    transport_address: String,
}

/// The peers known by alias. Invariant: one alias per node id, one node id per alias.
#[derive(Debug, Default)]
struct PeerBook {
    by_alias: BTreeMap<String, KnownPeer>,
}

impl PeerBook {
    /// Adds or updates `alias`. Refuses our own id, an alias held by another node, and a node
    /// already known under another alias; nothing changes when it refuses.
    fn add(&mut self, own: NodeId, request: &PeerAddRequest) -> Result<(), ApiError> {
        if request.node_id == own {
            return Err(ApiError::invalid_param(
                "node_id",
                "that is this node's own id; a node cannot be its own peer",
            ));
        }
        if let Some(existing) = self.by_alias.get(&request.alias) {
            if existing.node_id != request.node_id {
                return Err(ApiError::new(
                    ErrorCategory::Conflict,
                    format!(
                        "the alias `{}` already names node {}; pick another alias",
                        request.alias, existing.node_id
                    ),
                ));
            }
        } else if let Some((alias, _)) = self
            .by_alias
            .iter()
            .find(|(_, peer)| peer.node_id == request.node_id)
        {
            return Err(ApiError::new(
                ErrorCategory::Conflict,
                format!("node {} is already known as `{alias}`", request.node_id),
            ));
        }
        self.by_alias.insert(
            request.alias.clone(),
            KnownPeer {
                node_id: request.node_id,
                transport_address: request.transport_address.clone(),
            },
        );
        Ok(())
    }
}

/// What the API methods read; shared between the server's connections.
struct NodeState {
    node_id: NodeId,
    chain_info: ChainInfo,
    listen_address: String,
    chain: Arc<dyn ChainBackend>,
    /// The first account of the chain backend, if it has any: whose balance `balance` shows.
    account: Option<Participant>,
    peers: Peers,
    book: Mutex<PeerBook>,
    /// The channels restored from the store, by id.
    channels: BTreeMap<ChannelId, ChannelSnapshot>,
}

/// The node: what the API methods are served by. Start one with [`Node::start`].
pub struct Node {
    state: Arc<NodeState>,
}

/// A running node; stop it with [`NodeHandle::shutdown`].
pub struct NodeHandle {
    api: ApiServer,
    addr_file: PathBuf,
    state: Arc<NodeState>,
    drain: JoinHandle<()>,
    channel_store: ChannelStore,
    transport: Arc<dyn Transport>,
    chain: Arc<dyn ChainBackend>,
    store: Arc<dyn Store>,
    libraries: Vec<(&'static str, PluginLibrary)>,
}

impl Node {
    /// Starts the node of `config`: see the module doc. Must run inside a tokio runtime.
    pub async fn start(config: &NodeConfig) -> Result<NodeHandle, NodeError> {
        let key =
            NodeKey::load_or_create(&config.node.key_file).map_err(|source| NodeError::Key {
                path: config.node.key_file.clone(),
                config: config.file.clone(),
                source,
            })?;
        let node_id = key.node_id();
        tracing::info!(node_id = %node_id, "node identity");
        let token = load_or_create_token(&token_path(&config.node.data_dir))?;

        let plugins = NodePlugins::load(config)?;
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
            libraries,
            events,
        } = plugins;
        let chain_info = chain.info().map_err(NodeError::ChainInfo)?;
        let assets: Vec<&str> = chain_info.assets.iter().map(|a| a.name.as_str()).collect();
        tracing::info!(chain_id = chain_info.chain_id, backend = %chain_info.backend, assets = ?assets, "chain ready");
        let account = match chain.accounts() {
            Ok(accounts) => accounts.into_iter().next(),
            Err(error) => {
                tracing::warn!(%error, "the chain backend cannot list its accounts; `balance` will fail");
                None
            }
        };

        let channel_store = ChannelStore::open(store.clone()).map_err(NodeError::Store)?;
        let channels = restore_channels(&channel_store).map_err(NodeError::Store)?;

        let (transport_events, other_events) =
            split_transport_events(events, config.wire.plugin.section);
        let (peers, mut peer_events) = Peers::start(
            key,
            transport.clone(),
            transport_events,
            PeersConfig::default(),
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
        // Until channel tasks exist, nothing consumes these; drain them so the senders never
        // pile up, and log them for debugging.
        let mut other_events = other_events;
        let drain = tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(event) = peer_events.recv() => tracing::debug!(?event, "peer event"),
                    Some(event) = other_events.recv() => tracing::debug!(section = event.section, event = ?event.event, "plugin event"),
                    else => return,
                }
            }
        });

        let state = Arc::new(NodeState {
            node_id,
            chain_info,
            listen_address,
            chain: chain.clone(),
            account,
            peers,
            book: Mutex::new(PeerBook::default()),
            channels,
        });
        let node: Arc<dyn NodeApi> = Arc::new(Node {
            state: state.clone(),
        });
        let api =
            ApiServer::start(&config.api.server_config(), token, node, EventBus::new()).await?;
        let addr_file = api_addr_path(&config.node.data_dir);
        let handle = NodeHandle {
            api,
            addr_file,
            state,
            drain,
            channel_store,
            transport,
            chain,
            store,
            libraries,
        };
        if let Err(source) =
            write_atomically(&handle.addr_file, &handle.api.local_addr().to_string())
        {
            let path = handle.addr_file.clone();
            handle.shutdown().await;
            return Err(NodeError::AddrFile { path, source });
        }
        tracing::info!(address = %handle.api.local_addr(), "API listening");
        Ok(handle)
    }
}

/// Restores every stored channel; broken ones are logged and skipped.
fn restore_channels(
    store: &ChannelStore,
) -> Result<BTreeMap<ChannelId, ChannelSnapshot>, StoreError> {
    let restored = store.restore_all()?;
    for broken in &restored.broken {
        tracing::error!(channel = %broken.channel_id, error = %broken.error, "cannot restore a stored channel; skipping it");
    }
    for key in &restored.stray_keys {
        tracing::warn!(key, "a stored key names no channel; ignoring it");
    }
    tracing::info!(
        channels = restored.channels.len(),
        broken = restored.broken.len(),
        "channels restored"
    );
    Ok(restored
        .channels
        .into_iter()
        .map(|snapshot| (snapshot.channel.channel_id, snapshot))
        .collect())
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

impl NodeHandle {
    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.state.node_id
    }

    /// The bound API address.
    pub fn api_addr(&self) -> std::net::SocketAddr {
        self.api.local_addr()
    }

    /// Stops the API (and removes the address file), then the peers, then drops the
    /// plugins: transport, chain, store, and last the libraries they came from.
    pub async fn shutdown(self) {
        self.api.stop();
        self.api.stopped().await;
        if let Err(error) = std::fs::remove_file(&self.addr_file) {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %self.addr_file.display(), %error, "cannot remove the API address file");
            }
        }
        self.state.peers.shutdown().await;
        self.drain.abort();
        let _ = self.drain.await;
        drop(self.state);
        // The committer thread finishes queued writes before the store goes.
        drop(self.channel_store);
        drop(self.transport);
        drop(self.chain);
        drop(self.store);
        drop(self.libraries);
    }
}

fn not_yet<T>() -> Result<T, ApiError> {
    Err(ApiError::new(ErrorCategory::Unavailable, NOT_YET))
}

impl NodeState {
    fn peer_info(&self, alias: &str, peer: &KnownPeer) -> PeerInfo {
        PeerInfo {
            alias: alias.to_string(),
            node_id: peer.node_id,
            transport_address: peer.transport_address.clone(),
            connected: self.peers.is_connected(&peer.node_id),
        }
    }

    /// A restored channel as the API shows it. The store does not record the peer's node id
    /// yet, so a channel can only be shown once its peer is known by it.
    fn channel_info(&self, snapshot: &ChannelSnapshot) -> Result<ChannelInfo, ApiError> {
        let id = snapshot.channel.channel_id;
        Err(ApiError::new(
            ErrorCategory::Unavailable,
            format!(
                "channel {id} is stored, but showing it needs its peer's node id, which the \
                 store does not record yet ({NOT_YET}); it is in phase {:?} at version {}",
                snapshot.phase, snapshot.latest.state.version
            ),
        ))
    }

    fn balances(&self, request: &BalanceRequest) -> Result<Vec<OnChainBalance>, ApiError> {
        let account = self.account.as_ref().ok_or_else(|| {
            ApiError::new(
                ErrorCategory::Unavailable,
                "the chain backend has no account to show the balance of",
            )
        })?;
        let assets: Vec<_> = match &request.asset {
            None => self.chain_info.assets.iter().collect(),
            Some(name) => {
                let found = self.chain_info.assets.iter().find(|a| &a.name == name);
                match found {
                    Some(asset) => vec![asset],
                    None => {
                        let known: Vec<&str> = self
                            .chain_info
                            .assets
                            .iter()
                            .map(|a| a.name.as_str())
                            .collect();
                        return Err(ApiError::invalid_param(
                            "asset",
                            format!(
                                "unknown asset `{name}`; this chain has {}",
                                known.join(", ")
                            ),
                        ));
                    }
                }
            }
        };
        assets
            .into_iter()
            .map(|asset| {
                let amount = self.chain.balance(account, &asset.asset).map_err(|error| {
                    ApiError::new(
                        ErrorCategory::Unavailable,
                        format!(
                            "cannot read the {} balance from the chain: {error}",
                            asset.name
                        ),
                    )
                })?;
                Ok(OnChainBalance {
                    asset: asset.name.clone(),
                    amount,
                })
            })
            .collect()
    }
}

/// Locks the peer book; a panic while holding it cannot leave it half-changed (every change
/// is one insert), so a poisoned lock is still usable.
fn book(state: &NodeState) -> std::sync::MutexGuard<'_, PeerBook> {
    state
        .book
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl NodeApi for Node {
    fn node_info(&self) -> ApiFuture<'_, NodeInfo> {
        let state = &self.state;
        Box::pin(async move {
            Ok(NodeInfo {
                node_id: state.node_id,
                version: env!("CARGO_PKG_VERSION").to_string(),
                chain: state.chain_info.clone(),
                listen_address: state.listen_address.clone(),
            })
        })
    }

    fn peer_add(&self, request: PeerAddRequest) -> ApiFuture<'_, PeerInfo> {
        Box::pin(async move {
            let mut book = book(&self.state);
            book.add(self.state.node_id, &request)?;
            let peer = &book.by_alias[&request.alias];
            Ok(self.state.peer_info(&request.alias, peer))
        })
    }

    fn peer_list(&self) -> ApiFuture<'_, Vec<PeerInfo>> {
        Box::pin(async move {
            let book = book(&self.state);
            Ok(book
                .by_alias
                .iter()
                .map(|(alias, peer)| self.state.peer_info(alias, peer))
                .collect())
        })
    }

    fn channel_open(&self, _request: ChannelOpenRequest) -> ApiFuture<'_, ChannelInfo> {
        Box::pin(async { not_yet() })
    }

    fn proposal_list(&self) -> ApiFuture<'_, Vec<ProposalInfo>> {
        Box::pin(async { not_yet() })
    }

    fn proposal_accept(&self, _id: ProposalId) -> ApiFuture<'_, ChannelInfo> {
        Box::pin(async { not_yet() })
    }

    fn proposal_reject(&self, _request: ProposalRejectRequest) -> ApiFuture<'_, ()> {
        Box::pin(async { not_yet() })
    }

    fn channel_list(&self) -> ApiFuture<'_, Vec<ChannelInfo>> {
        Box::pin(async move {
            self.state
                .channels
                .values()
                .map(|snapshot| self.state.channel_info(snapshot))
                .collect()
        })
    }

    fn channel_get(&self, id: ChannelId) -> ApiFuture<'_, ChannelInfo> {
        Box::pin(async move {
            match self.state.channels.get(&id) {
                Some(snapshot) => self.state.channel_info(snapshot),
                None => Err(ApiError::not_found("channel", id)),
            }
        })
    }

    fn channel_pay(&self, _request: ChannelPayRequest) -> ApiFuture<'_, ChannelInfo> {
        Box::pin(async { not_yet() })
    }

    fn channel_settle(&self, _id: ChannelId) -> ApiFuture<'_, ChannelInfo> {
        Box::pin(async { not_yet() })
    }

    fn balance(&self, request: BalanceRequest) -> ApiFuture<'_, Vec<OnChainBalance>> {
        let state = self.state.clone();
        Box::pin(async move {
            // The chain backend's balance call may wait on a remote node.
            tokio::task::spawn_blocking(move || state.balances(&request))
                .await
                .map_err(|error| ApiError::internal(format!("the balance query failed: {error}")))?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> NodeId {
        NodeKey::generate().unwrap().node_id()
    }

    fn request(alias: &str, node_id: NodeId, addr: &str) -> PeerAddRequest {
        PeerAddRequest {
            alias: alias.into(),
            node_id,
            transport_address: addr.into(),
        }
    }

    #[test]
    fn adding_a_peer_makes_it_known_and_re_adding_updates_the_address() {
        let (own, bob) = (id(), id());
        let mut book = PeerBook::default();
        book.add(own, &request("bob", bob, "127.0.0.1:1")).unwrap();
        book.add(own, &request("bob", bob, "127.0.0.1:2")).unwrap();
        assert_eq!(book.by_alias.len(), 1);
        assert_eq!(book.by_alias["bob"].node_id, bob);
        assert_eq!(book.by_alias["bob"].transport_address, "127.0.0.1:2");
    }

    #[test]
    fn an_alias_of_another_node_is_a_conflict_and_changes_nothing() {
        let (own, bob, carol) = (id(), id(), id());
        let mut book = PeerBook::default();
        book.add(own, &request("bob", bob, "127.0.0.1:1")).unwrap();
        let error = book
            .add(own, &request("bob", carol, "127.0.0.1:3"))
            .unwrap_err();
        assert_eq!(error.category, ErrorCategory::Conflict);
        assert_eq!(book.by_alias["bob"].node_id, bob);
        assert_eq!(book.by_alias["bob"].transport_address, "127.0.0.1:1");
    }

    #[test]
    fn a_node_under_a_second_alias_is_a_conflict() {
        let (own, bob) = (id(), id());
        let mut book = PeerBook::default();
        book.add(own, &request("bob", bob, "127.0.0.1:1")).unwrap();
        let error = book
            .add(own, &request("robert", bob, "127.0.0.1:1"))
            .unwrap_err();
        assert_eq!(error.category, ErrorCategory::Conflict);
        assert!(!book.by_alias.contains_key("robert"));
    }

    #[test]
    fn our_own_id_is_not_a_peer() {
        let own = id();
        let mut book = PeerBook::default();
        let error = book
            .add(own, &request("me", own, "127.0.0.1:1"))
            .unwrap_err();
        assert_eq!(error.category, ErrorCategory::InvalidArgument);
        assert!(book.by_alias.is_empty());
    }

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
