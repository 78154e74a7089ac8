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
    /// Remember a peer under an alias and connect to it now; says whether that worked (the
    /// peer is remembered either way, and the node dials it again when a channel needs it).
    ///
    /// Re-adding an alias with the same node id updates its transport address; an alias
    /// already used for another node is refused.
    #[command(after_help = "\
Example (the address is what the peer's `parley info` prints as `address`):
  parley peer add bob 0x02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5@127.0.0.1:9740 \\
      --config alice/node.toml
The node id and the transport address may also come apart:
  parley peer add bob 0x02c6…9ee5 127.0.0.1:9740 --config alice/node.toml
A peer that connected in told its address; naming it needs only its node id:
  parley peer add alice 0x03d8…74f8 --config bob/node.toml")]
    Add {
        /// A short name for the peer, used by `parley channel open` (one word, not starting
        /// with 0x).
        #[arg(value_parser = args::alias)]
        alias: String,
        /// The peer's `<node id>@<host:port>` as its `parley info` prints it under `address`,
        /// or its node id alone (0x and 66 hex digits) followed by the transport address.
        #[arg(value_parser = args::node_address)]
        node_address: (NodeId, Option<String>),
        /// Where the peer accepts connections, as its `parley info` prints it under
        /// `transport`: host:port (e.g. 127.0.0.1:9740). Only without `@` in the node address;
        /// without either, the address the peer announced when it connected in.
        #[arg(value_parser = args::transport_address)]
        transport_address: Option<String>,
    },
    /// List the peers the node knows and every peer connected now (added or not, whoever
    /// dialed): alias, node id, where it is dialed, whether it is connected and who dialed.
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
                node_address: (node_id, in_address),
                transport_address,
            } => {
                let transport_address = match (in_address, transport_address) {
                    (Some(address), None) | (None, Some(address)) => Some(address.clone()),
                    (Some(_), Some(_)) => {
                        return Err(CliError::new(
                            "the transport address is given twice: after `@` in the node \
                             address and on its own; give it once",
                        ))
                    }
                    // The node may know it: the peer announced it when it connected in.
                    (None, None) => None,
                };
                Call::with(
                    "peer_add",
                    &PeerAddRequest {
                        alias: alias.clone(),
                        node_id: *node_id,
                        transport_address,
                    },
                )
            }
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
