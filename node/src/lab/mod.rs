//! The lab: Parley nodes wired together on one machine, for `parley demo`, `parley bench
//! channels` and the integration tests in `node/tests/`. Nothing here runs in a node that holds
//! real funds: a lab's nodes share one simulated chain, listen on loopback, and accept each
//! other's channels on their own.
//!
//! A lab is a temporary [`Workspace`] (a directory per node holding its `node.toml` and data,
//! the shared sim-chain ledger, the logs) and the nodes started from it, either
//! - in this process ([`InProcess`]), driven through their [`crate::api::NodeApi`]: the channel
//!   bench and the integration tests; or
//! - as `parley run` child processes ([`Processes`]), driven through their JSON-RPC APIs as a
//!   user's program would: the demo.
//!
//! Every node's `node.toml` is written by [`config`] from a base config (which plugins, with
//! which settings) and the node's [`NodeSettings`] (whom it accepts channels from), and checked
//! by the node's own parser before it is written.
//!
//! - [`workspace`]: the temporary directory and where each node's files go in it.
//! - [`config`]: a lab node's `node.toml`.
//! - [`in_process`]: nodes in this process.
//! - [`processes`] and [`child`]: nodes as child processes that cannot outlive the lab.
//! - [`demo`]: the demo's story on two such processes, and its balance check.
//! - [`bench`]: the channel bench's runs on two nodes in this process, and what they measure.
//! - [`figures`]: rates and latency percentiles, computed one way for every figure.

pub mod bench;
pub mod child;
pub mod config;
pub mod demo;
pub mod figures;
pub mod in_process;
pub mod processes;
pub mod workspace;

pub use config::{AutoAccept, NodeSettings};
pub use in_process::InProcess;
pub use processes::{Processes, StartedNode};
pub use workspace::Workspace;

use crate::assembly::NodeError;
use std::path::PathBuf;
use thiserror::Error;

/// Why a lab could not do what it was asked.
#[derive(Debug, Error)]
pub enum LabError {
    /// A node did not start in this process.
    #[error("node {node} did not start: {source}")]
    Start {
        /// The node's name in the lab.
        node: String,
        /// Why (boxed: it is large, and rare).
        source: Box<NodeError>,
    },
    /// The base config's chain is not the sim chain, on which a lab's nodes fund their
    /// channels.
    #[error(
        "a lab's nodes fund their channels on one shared sim chain, but [chain] in {file} loads \
         {plugin}",
        file = .file.display()
    )]
    NotSimChain {
        /// The base config.
        file: PathBuf,
        /// The plugin it names instead, as the user wrote it.
        plugin: String,
    },
    /// Anything else that stopped the lab (a node died, a call failed, a check did not hold),
    /// in one sentence for a person.
    #[error("{0}")]
    Failed(String),
}

impl LabError {
    /// An error from its sentence.
    pub fn failed(message: impl std::fmt::Display) -> LabError {
        LabError::Failed(message.to_string())
    }
}
