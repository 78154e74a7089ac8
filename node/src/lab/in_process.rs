//! Lab nodes in this process: each a [`Node::start`] of its lab config, with its own data
//! directory, store and QUIC endpoint on loopback, driven through its [`NodeApi`] (the code the
//! JSON-RPC server calls, without HTTP). The channel bench and the integration tests use them.

use super::{LabError, NodeSettings, Workspace};
use crate::api::types::{PeerAddRequest, PeerInfo};
use crate::api::NodeApi;
use crate::assembly::{Node, NodeHandle};
use crate::config::NodeConfig;
use crate::store::CommitStats;
use std::sync::Arc;

/// The nodes of one lab, running in this process.
pub struct InProcess {
    base: NodeConfig,
    /// In the order they were first started. Declared before the workspace: a node still
    /// running when the lab is dropped goes before its files.
    nodes: Vec<LabNode>,
    workspace: Workspace,
}

/// One node: its config, and its handle while it runs.
struct LabNode {
    name: String,
    config: NodeConfig,
    running: Option<NodeHandle>,
}

impl InProcess {
    /// A lab in `workspace` whose nodes load the plugins of `base` (its chain must be the sim
    /// chain).
    pub fn new(base: NodeConfig, workspace: Workspace) -> Result<InProcess, LabError> {
        super::config::require_sim_chain(&base)?;
        Ok(InProcess {
            base,
            nodes: Vec::new(),
            workspace,
        })
    }

    /// The lab's directory.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// Writes the config of a new node `name` with `settings` and starts it; returns its API.
    pub async fn start(
        &mut self,
        name: &str,
        settings: &NodeSettings,
    ) -> Result<Arc<dyn NodeApi>, LabError> {
        if self.nodes.iter().any(|node| node.name == name) {
            return Err(LabError::failed(format!(
                "the lab has a node {name} already"
            )));
        }
        let config = self.workspace.write_config(name, &self.base, settings)?;
        let handle = start_node(name, &config).await?;
        let api = handle.service();
        self.nodes.push(LabNode {
            name: name.to_owned(),
            config,
            running: Some(handle),
        });
        Ok(api)
    }

    /// Starts node `name` again on its config and data, after [`InProcess::stop`]; returns its
    /// API.
    pub async fn restart(&mut self, name: &str) -> Result<Arc<dyn NodeApi>, LabError> {
        let node = self.node_mut(name);
        if node.running.is_some() {
            return Err(LabError::failed(format!("node {name} is running already")));
        }
        let handle = start_node(name, &node.config).await?;
        let api = handle.service();
        node.running = Some(handle);
        Ok(api)
    }

    /// Stops node `name` cleanly (its store finishes what was queued); its data stays.
    pub async fn stop(&mut self, name: &str) {
        if let Some(handle) = self.node_mut(name).running.take() {
            handle.shutdown().await;
        }
    }

    /// Stops every node still running, in the order they were started.
    pub async fn shutdown(&mut self) {
        for node in &mut self.nodes {
            if let Some(handle) = node.running.take() {
                handle.shutdown().await;
            }
        }
    }

    /// Makes node `to` a peer of node `from`, under the alias `to`. Returns the peer as `from`
    /// knows it.
    pub async fn introduce(&self, from: &str, to: &str) -> Result<PeerInfo, LabError> {
        let info = self
            .api(to)
            .node_info()
            .await
            .map_err(|e| LabError::failed(format!("node {to}: node_info failed: {e}")))?;
        let added = self
            .api(from)
            .peer_add(PeerAddRequest {
                alias: to.to_owned(),
                node_id: info.node_id,
                transport_address: Some(info.listen_address),
            })
            .await
            .map_err(|e| LabError::failed(format!("node {from}: cannot add peer {to}: {e}")))?;
        tracing::debug!(node = from, peer = ?added.alias, "peer added");
        Ok(added)
    }

    /// The API of the running node `name`.
    ///
    /// Panics if the lab has no such node, or it is stopped: a mistake in the caller.
    pub fn api(&self, name: &str) -> Arc<dyn NodeApi> {
        self.handle(name).service()
    }

    /// The store committer's counters of the running node `name` (panics like
    /// [`InProcess::api`]).
    pub fn store_stats(&self, name: &str) -> CommitStats {
        self.handle(name).store_stats()
    }

    /// How many channels of the running node `name` have not re-synchronised with their peer
    /// since it started (panics like [`InProcess::api`]).
    pub async fn unsynced_channels(&self, name: &str) -> usize {
        self.handle(name).unsynced_channels().await
    }

    /// The config node `name` runs on (panics if the lab has no such node).
    pub fn config(&self, name: &str) -> &NodeConfig {
        &self.node(name).config
    }

    fn handle(&self, name: &str) -> &NodeHandle {
        self.node(name)
            .running
            .as_ref()
            .unwrap_or_else(|| panic!("lab node {name} is stopped"))
    }

    fn node(&self, name: &str) -> &LabNode {
        self.nodes
            .iter()
            .find(|node| node.name == name)
            .unwrap_or_else(|| panic!("the lab has no node {name}"))
    }

    fn node_mut(&mut self, name: &str) -> &mut LabNode {
        self.nodes
            .iter_mut()
            .find(|node| node.name == name)
            .unwrap_or_else(|| panic!("the lab has no node {name}"))
    }
}

async fn start_node(name: &str, config: &NodeConfig) -> Result<NodeHandle, LabError> {
    Node::start(config).await.map_err(|source| LabError::Start {
        node: name.to_owned(),
        source: Box::new(source),
    })
}
