//! `parley balance`: what the node's own account holds on chain, per asset.

use super::{args, output, Call, CliError, CliResult, NodeOptions};
use crate::api::types::{BalanceRequest, OnChainBalance};
use clap::Args;

/// Arguments of `parley balance`.
#[derive(Debug, Args)]
#[command(
    next_display_order = 10,
    after_help = "\
Amounts are in whole units of each asset (its decimals as the chain gives them); --json gives
base units (wei for ETH).

Example:
  parley balance --config alice/node.toml
  parley balance --asset ETH --config alice/node.toml --json"
)]
pub struct BalanceArgs {
    #[command(flatten)]
    pub(super) options: NodeOptions,
    /// Only this asset, by name (e.g. ETH); every asset of the chain when absent.
    #[arg(long, value_name = "NAME", value_parser = args::text)]
    asset: Option<String>,
}

impl BalanceArgs {
    /// The `balance` call these arguments make.
    pub(super) fn call(&self) -> Result<Call, CliError> {
        Call::with(
            "balance",
            &BalanceRequest {
                asset: self.asset.clone(),
            },
        )
    }

    /// Asks the node for its on-chain balances and prints them.
    pub fn run(self) -> CliResult {
        let call = self.call()?;
        self.options.run_with_assets(
            |_| Ok(call),
            |list: Vec<OnChainBalance>, assets| output::balances(&list, assets),
        )
    }
}
