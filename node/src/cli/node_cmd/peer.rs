//! `parley peer add|list`: the peers the node knows, by alias.

use super::{args, output, Call, CliError, CliResult, NodeOptions};
use crate::api::types::{PeerAddRequest, PeerInfo};
use crate::wire::NodeId;
use clap::{Args, Subcommand};

/// Arguments of `parley peer`.
#[derive(Debug, Args)]
pub struct PeerArgs {
    #[command(flatten)]
    pub(super) options: NodeOptions,
    #[command(subcommand)]
    command: PeerCommand,
}

#[derive(Debug, Subcommand)]
enum PeerCommand {
    /// Remember a peer under an alias; the node connects to it when a channel needs it.
    ///
    /// Re-adding an alias with the same node id updates its transport address; an alias
    /// already used for another node is refused.
    #[command(after_help = "\
Example (the node id and address are what the peer's `parley info` prints):
  parley peer add bob 0x02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5 \\
      127.0.0.1:4000 --config alice/node.toml")]
    Add {
        /// A short name for the peer, used by `parley channel open` (one word, not starting
        /// with 0x).
        #[arg(value_parser = args::alias)]
        alias: String,
        /// The peer's node id as its `parley info` prints it: 0x and 66 hex digits.
        #[arg(value_parser = args::node_id)]
        node_address: NodeId,
        /// Where the peer accepts connections, as its `parley info` prints it under
        /// `transport`: host:port (e.g. 127.0.0.1:4000).
        #[arg(value_parser = args::transport_address)]
        transport_address: String,
    },
    /// List the known peers and whether each is connected now.
    #[command(after_help = "\
Example:
  parley peer list --config alice/node.toml
  parley peer list --config alice/node.toml --json")]
    List,
}

impl PeerArgs {
    /// The call these arguments make.
    pub(super) fn call(&self) -> Result<Call, CliError> {
        match &self.command {
            PeerCommand::Add {
                alias,
                node_address,
                transport_address,
            } => Call::with(
                "peer_add",
                &PeerAddRequest {
                    alias: alias.clone(),
                    node_id: *node_address,
                    transport_address: transport_address.clone(),
                },
            ),
            PeerCommand::List => Ok(Call::bare("peer_list")),
        }
    }

    /// Runs `parley peer ...`.
    pub fn run(self) -> CliResult {
        let call = self.call()?;
        match self.command {
            PeerCommand::Add { .. } => self
                .options
                .run(call, |peer: PeerInfo| output::peer_added(&peer)),
            PeerCommand::List => self
                .options
                .run(call, |list: Vec<PeerInfo>| output::peers(&list)),
        }
    }
}
