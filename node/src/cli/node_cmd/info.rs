//! `parley info`: who the running node is.

use super::{output, Call, CliResult, NodeOptions};
use crate::api::types::NodeInfo;
use clap::Args;

/// Arguments of `parley info`.
#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  parley info --config alice/node.toml
  parley info --config alice/node.toml --json

Give a peer the `address` line (`<node id>@<host:port>`): it is what its
`parley peer add <alias> <address>` takes.")]
pub struct InfoArgs {
    #[command(flatten)]
    pub(super) options: NodeOptions,
}

impl InfoArgs {
    /// Asks the node for `node_info` and prints it.
    pub fn run(self) -> CliResult {
        self.options.run(Call::bare("node_info"), |info: NodeInfo| {
            output::node_info(&info)
        })
    }
}
