//! `parley hostile`: a TEST tool that plays a hostile peer against a running node, for the
//! scenarios that check the node's limits. Hidden from `--help`. It loads the QUIC transport
//! plugin through the node's own host, in this process, with a throwaway certificate:
//!
//! - `flood`: authenticates with a fresh node key (as any stranger can) and sends valid-looking
//!   channel messages as fast as the connection takes them, reconnecting whenever it is cut,
//!   for a given time; prints what it sent and why each connection ended.
//! - `unauthenticated`: opens connections, never says hello, and sends one large frame on
//!   each; prints how they ended.
//!
//! Neither touches a node's data: it needs no node.toml, only the plugin directory.

mod flood;
mod unauthenticated;

use super::{CliError, CliResult};
use crate::config::PluginRef;
use crate::host::{instantiate, node_host_context, open, EventRoute, PluginHandle};
use clap::{Args, Subcommand};
use parley_plugin_api::{PluginKind, Transport};
use std::sync::Arc;
use tempfile::TempDir;

/// Arguments of `parley hostile`.
#[derive(Debug, Args)]
pub struct HostileArgs {
    #[command(subcommand)]
    command: HostileCommand,
}

#[derive(Debug, Subcommand)]
enum HostileCommand {
    /// Authenticate to the node at ADDR and flood it with valid-looking channel messages.
    Flood(flood::FloodArgs),
    /// Open connections to the node at ADDR without a handshake and send a large frame on each.
    Unauthenticated(unauthenticated::UnauthenticatedArgs),
}

/// Runs `parley hostile ...`.
pub fn run(args: HostileArgs, verbose: bool) -> CliResult {
    crate::logging::init("warn", crate::config::LogFormat::Text).map_err(CliError::new)?;
    match args.command {
        HostileCommand::Flood(args) => flood::run(args, verbose),
        HostileCommand::Unauthenticated(args) => unauthenticated::run(args, verbose),
    }
}

/// A QUIC transport instance of this process, its plugin table `table`, its events going to
/// `events`; the directory holds its certificate and must outlive it.
fn quic(
    table: &str,
    events: impl EventRoute,
    verbose: bool,
) -> Result<(Arc<dyn Transport>, TempDir), CliError> {
    let dir = tempfile::Builder::new()
        .prefix("parley-hostile-")
        .tempdir()
        .map_err(|e| CliError::new(format!("cannot create a temporary directory: {e}")))?;
    let library = open(&PluginRef::Name("quic".into())).map_err(|e| CliError::load(e, verbose))?;
    let context = node_host_context("wire", dir.path(), dir.path(), events);
    match instantiate(&library, "wire", PluginKind::Transport, table, context) {
        Ok(PluginHandle::Transport(transport)) => {
            // The instance uses the library's code until the process exits.
            std::mem::forget(library);
            Ok((transport, dir))
        }
        Ok(_) => Err(CliError::new("the quic plugin is not a transport")),
        Err(error) => Err(CliError::load(error, verbose)),
    }
}
