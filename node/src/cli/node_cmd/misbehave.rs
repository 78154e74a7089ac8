//! `parley misbehave register`: make a TEST node cheat, so that scenarios can play the
//! dishonest peer. The node refuses unless its node.toml has `[testing] allow_misbehaviour =
//! true`, which `parley init` never writes.

use super::{args, output, Call, CliError, CliResult, NodeOptions};
use crate::api::types::{ChannelInfo, MisbehaveRegisterRequest};
use clap::{Args, Subcommand};
use parley_plugin_api::model::ChannelId;

/// Arguments of `parley misbehave`.
#[derive(Debug, Args)]
pub struct MisbehaveArgs {
    #[command(flatten)]
    pub(super) options: NodeOptions,
    #[command(subcommand)]
    command: MisbehaveCommand,
}

#[derive(Debug, Subcommand)]
enum MisbehaveCommand {
    /// Register an OLD fully signed state of a channel on chain, as a cheating peer would, and
    /// keep this node from refuting it.
    ///
    /// For tests of the watchtower: the honest peer must refute it with its newest state.
    /// Needs `allow_misbehaviour = true` in a [testing] section of this node's node.toml (never
    /// on a node with real funds); the node keeps the versions signed since it started.
    #[command(after_help = "\
Example:
  parley misbehave register 0x9f86...(64 hex digits) --version 3 --config mallory/node.toml")]
    // `--version` names the state's version here, not the program's.
    #[command(next_display_order = 10, disable_version_flag = true)]
    Register {
        /// The channel id: 0x and 64 hex digits.
        #[arg(value_parser = args::channel_id)]
        id: ChannelId,
        /// The old version to register.
        #[arg(long)]
        version: u64,
    },
}

impl MisbehaveArgs {
    /// The call these arguments make.
    pub(super) fn call(&self) -> Result<Call, CliError> {
        match &self.command {
            MisbehaveCommand::Register { id, version } => Call::with(
                "misbehave_register",
                &MisbehaveRegisterRequest {
                    id: *id,
                    version: *version,
                },
            ),
        }
    }

    /// Runs `parley misbehave ...`.
    pub fn run(self) -> CliResult {
        let call = self.call()?;
        let MisbehaveCommand::Register { version, .. } = &self.command;
        let title = format!("registered the old version {version} on chain (cheating)");
        self.options.run_with_assets(
            |_| Ok(call),
            |channel: ChannelInfo, assets| output::channel(&title, &channel, assets),
        )
    }
}
