//! The commands that talk to a running node through its JSON-RPC API: `info`, `peer`,
//! `channel`, `proposal`, `balance` and `events`.
//!
//! Each command checks its arguments locally first (clap value parsers in [`args`]), so bad
//! input never reaches the node; then it finds the node through its config (the data
//! directory holds `api.addr`, written by the running node, and `api.token`), makes one call on
//! a current-thread runtime, and prints the result.
//!
//! Output contract, for people and scripts:
//! - By default, short aligned text on stdout.
//! - With `--json`, exactly one JSON document on stdout: the API result as-is, pretty-printed.
//! - Errors go to stderr as one sentence, `error: <category> (<code>): <message>` when the node
//!   refused the call; stdout stays empty, with or without `--json`.
//! - Exit status: 0 on success, 1 when the call failed or could not be made, 2 when the command
//!   line itself is wrong (clap's convention; nothing was sent).

pub(super) mod args;
mod balance;
mod channel;
mod channel_ref;
mod events;
mod failure;
mod info;
mod invoice;
mod misbehave;
mod output;
mod pay;
mod payment;
mod peer;
mod progress;
mod proposal;
mod spinner;
mod stop;

pub use balance::BalanceArgs;
pub use channel::ChannelArgs;
pub use events::EventsArgs;
pub use info::InfoArgs;
pub use invoice::InvoiceArgs;
pub use misbehave::MisbehaveArgs;
pub use pay::PayArgs;
pub use payment::{PaymentArgs, PaymentsArgs};
pub use peer::PeerArgs;
pub use proposal::ProposalArgs;
pub use stop::StopArgs;

use super::{default_config, CliError, CliResult};
use crate::api::client::ApiClient;
use crate::api::types::{ChannelInfo, ChannelListRequest, NodeInfo, ProposalInfo};
use crate::config::NodeConfig;
use channel_ref::{ChannelIdArg, IdArg, ProposalIdArg};
use clap::Args;
use parley_plugin_api::model::{AssetInfo, ChannelId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;

/// The options every node command takes.
#[derive(Clone, Debug, Args)]
pub struct NodeOptions {
    /// The node's config file; the CLI finds the running node through its data directory.
    // Listed after each command's own options (display_order), which are what the reader of
    // `--help` looks for first.
    #[arg(long, short, value_name = "FILE", env = "PARLEY_CONFIG", default_value_os_t = default_config(), global = true, display_order = 900)]
    config: PathBuf,
    /// Print the API result as one JSON document on stdout (errors still go to stderr, and
    /// stdout stays empty then).
    #[arg(long, global = true, display_order = 901)]
    json: bool,
}

/// One API call a command makes.
#[derive(Debug, PartialEq)]
struct Call {
    method: &'static str,
    params: Value,
    /// Shown next to a spinner while waiting, for calls that wait on the chain.
    wait: Option<String>,
    /// The channel whose settlement progress is drawn while waiting (instead of a spinner).
    progress: Option<parley_plugin_api::model::ChannelId>,
}

impl Call {
    /// A call without parameters.
    fn bare(method: &'static str) -> Call {
        Call {
            method,
            params: Value::Null,
            wait: None,
            progress: None,
        }
    }

    /// A call whose parameters are the API's own request type, so they have the names and
    /// forms the server parses (`api/params.rs`).
    fn with(method: &'static str, request: &impl Serialize) -> Result<Call, CliError> {
        let params = serde_json::to_value(request)
            .map_err(|e| CliError::new(format!("cannot encode the {method} request: {e}")))?;
        Ok(Call {
            method,
            params,
            wait: None,
            progress: None,
        })
    }

    /// The same call, drawing the settlement progress of channel `id` while it waits.
    fn settling(mut self, id: parley_plugin_api::model::ChannelId) -> Call {
        self.progress = Some(id);
        self
    }

    /// The same call, with a spinner labelled `label` while it waits.
    fn waiting(mut self, label: String) -> Call {
        self.wait = Some(label);
        self
    }
}

impl NodeOptions {
    /// Makes `call` to the node and prints the result: as-is with `--json`, else `human(result)`.
    fn run<T: DeserializeOwned>(&self, call: Call, human: impl FnOnce(T) -> String) -> CliResult {
        let config = NodeConfig::load(&self.config)?;
        let method = call.method;
        let result = call_node(&config, call)?;
        print_result(self.json, method, result, human)
    }

    /// [`run`](Self::run) for a command with amounts: it first asks the node for its chain's
    /// assets, which say what an amount's unit means (`1.5ETH`) and how to show the amounts of
    /// the result (in whole units, with each asset's decimals), then makes `call(assets)`.
    fn run_with_assets<T: DeserializeOwned>(
        &self,
        call: impl FnOnce(&[AssetInfo]) -> Result<Call, CliError>,
        human: impl FnOnce(T, &[AssetInfo]) -> String,
    ) -> CliResult {
        let config = NodeConfig::load(&self.config)?;
        let info = call_node(&config, Call::bare("node_info"))?;
        let info: NodeInfo = typed("node_info", info)?;
        let assets = info.chain.assets;
        let call = call(&assets)?;
        let method = call.method;
        let result = call_node(&config, call)?;
        print_result(self.json, method, result, |result| human(result, &assets))
    }
}

impl NodeOptions {
    /// Completes a proposal id given by its first digits among the waiting proposals.
    fn complete_proposal_id(&self, id: &mut ProposalIdArg) -> Result<(), CliError> {
        if matches!(id, IdArg::Whole(_)) {
            return Ok(());
        }
        let config = NodeConfig::load(&self.config)?;
        let waiting: Vec<ProposalInfo> = typed(
            "proposal_list",
            call_node(&config, Call::bare("proposal_list"))?,
        )?;
        let ids: Vec<_> = waiting.into_iter().map(|p| p.id).collect();
        id.complete(&ids, || Ok(Vec::new()))
    }

    /// Completes the channel id prefixes among `ids` (`0x9f86`) to whole ids, asking the node
    /// for its channels only when there is one; a prefix no channel or several start with is
    /// refused with those it matched.
    fn complete_channel_ids(&self, ids: Vec<&mut ChannelIdArg>) -> Result<(), CliError> {
        if ids.iter().all(|id| matches!(id, ChannelIdArg::Whole(_))) {
            return Ok(());
        }
        let config = NodeConfig::load(&self.config)?;
        let list = |closed: bool| -> Result<Vec<ChannelId>, CliError> {
            let call = Call::with("channel_list", &ChannelListRequest { closed })?;
            let channels: Vec<ChannelInfo> = typed("channel_list", call_node(&config, call)?)?;
            Ok(channels.into_iter().map(|channel| channel.id).collect())
        };
        let open = list(false)?;
        for id in ids {
            id.complete(&open, || list(true))?;
        }
        Ok(())
    }
}

/// Prints `result`: as-is with `json`, else `human(result)`.
fn print_result<T: DeserializeOwned>(
    json: bool,
    method: &str,
    result: Value,
    human: impl FnOnce(T) -> String,
) -> CliResult {
    if json {
        println!("{}", output::json(&result));
    } else {
        println!("{}", human(typed(method, result)?));
    }
    Ok(ExitCode::SUCCESS)
}

/// The node's answer to `method` as the type this CLI expects.
fn typed<T: DeserializeOwned>(method: &str, result: Value) -> Result<T, CliError> {
    serde_json::from_value(result).map_err(|e| {
        CliError::new(format!(
            "the node's answer to {method} does not have the expected shape ({e}); are the \
             node and this CLI the same version? (this CLI is {})",
            env!("CARGO_PKG_VERSION")
        ))
    })
}

/// Calls the node `config` describes and returns the raw result.
fn call_node(config: &NodeConfig, call: Call) -> Result<Value, CliError> {
    let client = ApiClient::from_config(config).map_err(|e| failure::client_error(e, config))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(async {
        let request = client.call::<Value>(call.method, call.params);
        match (&call.progress, &call.wait) {
            (Some(id), _) => progress::while_settling(&client, *id, request).await,
            (None, Some(label)) => spinner::while_waiting(label, request).await,
            (None, None) => request.await,
        }
    });
    result.map_err(|e| failure::client_error(e, config))
}

/// `0xab12cd34…`: an id cut short for a spinner line, which must fit on one terminal line.
/// Anything that is not a `0x` id (an alias) is kept whole.
fn short_id(id: &impl std::fmt::Display) -> String {
    let text = id.to_string();
    match text.get(..10) {
        Some(head) if text.starts_with("0x") && text.len() > 12 => format!("{head}…"),
        _ => text,
    }
}

#[cfg(test)]
mod tests;
