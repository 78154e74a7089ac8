//! `parley chain ...`: the configured chain backend, used directly from the command line
//! (without a running node): accounts, balances, deposits, chain time.

use super::{default_config, CliError, CliResult};
use crate::config::NodeConfig;
use crate::host::{load_section, PluginHandle};
use crate::units::{show, AmountText};
use clap::{Args, Subcommand};
use parley_plugin_api::model::{AssetInfo, ChannelId, DepositRequest, Participant};
use parley_plugin_api::ChainBackend;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `parley chain`.
#[derive(Debug, Args)]
pub struct ChainArgs {
    /// The node's config file (its `[chain]` section is used).
    #[arg(long, short, env = "PARLEY_CONFIG", default_value_os_t = default_config(), global = true)]
    config: PathBuf,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: ChainCommand,
}

#[derive(Debug, Subcommand)]
enum ChainCommand {
    /// The chain id, backend and assets.
    Info,
    /// Our wallet accounts and their balances.
    Accounts,
    /// What an address holds of an asset outside channels.
    Balance {
        /// The address (default: our first account).
        #[arg(long)]
        address: Option<Participant>,
        /// The asset's name.
        #[arg(long, default_value = "ETH")]
        asset: String,
    },
    /// Deposit into a channel's funding (for tests and recovery; channels fund themselves).
    Deposit {
        /// The channel id (32 bytes hex).
        #[arg(long)]
        channel: ChannelId,
        /// The amount: whole units with the asset's name (`0.5ETH`), or base units (`1000`,
        /// `1000base`, `1000wei`).
        #[arg(long, value_parser = crate::cli::node_cmd::args::amount)]
        amount: AmountText,
        /// The asset's name (default: the one the amount's unit names, else ETH).
        #[arg(long)]
        asset: Option<String>,
        /// Which of our accounts pays (index into `parley chain accounts`).
        #[arg(long, default_value_t = 0)]
        account: usize,
    },
    /// What the asset holder keeps for a participant of a channel.
    Holdings {
        /// The channel id (32 bytes hex).
        #[arg(long)]
        channel: ChannelId,
        /// The participant's address.
        #[arg(long)]
        participant: Participant,
        /// The asset's name.
        #[arg(long, default_value = "ETH")]
        asset: String,
    },
    /// The channel's on-chain record (registered version, phase, timeout).
    Dispute {
        /// The channel id (32 bytes hex).
        #[arg(long)]
        channel: ChannelId,
    },
    /// The chain's current time (Unix seconds).
    Now,
    /// Move chain time forward (test ledgers only: the sim chain, anvil).
    Advance {
        /// Seconds to add.
        seconds: u64,
    },
}

pub fn run(args: ChainArgs, verbose: bool) -> CliResult {
    let config = NodeConfig::load(&args.config)?;
    crate::logging::init("warn", crate::config::LogFormat::Text).map_err(CliError::new)?;
    super::run::create_private_dir(&config.node.data_dir)?;
    let (sender, _events) = tokio::sync::mpsc::unbounded_channel();
    let (_, handle) =
        load_section(&config, &config.chain, sender).map_err(|e| CliError::load(e, verbose))?;
    let PluginHandle::Chain(chain) = handle else {
        return Err(CliError::new("[chain] did not yield a chain backend"));
    };
    let out = Output { json: args.json };
    execute(&chain, args.command, &out)?;
    Ok(ExitCode::SUCCESS)
}

struct Output {
    json: bool,
}

impl Output {
    fn print(&self, value: serde_json::Value, text: impl FnOnce() -> String) {
        if self.json {
            println!("{value}");
        } else {
            println!("{}", text());
        }
    }
}

fn chain_error(what: &str) -> impl Fn(parley_plugin_api::PluginError) -> CliError + '_ {
    move |e| CliError::new(format!("{what}: {e}"))
}

fn find_asset(chain: &Arc<impl ChainBackend + ?Sized>, name: &str) -> Result<AssetInfo, CliError> {
    let info = chain.info().map_err(chain_error("chain info"))?;
    let names: Vec<String> = info.assets.iter().map(|a| a.name.clone()).collect();
    info.assets
        .into_iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            CliError::new(format!(
                "unknown asset `{name}`; this chain has {}",
                names.join(", ")
            ))
        })
}

fn our_account(
    chain: &Arc<impl ChainBackend + ?Sized>,
    index: usize,
) -> Result<Participant, CliError> {
    let accounts = chain.accounts().map_err(chain_error("listing accounts"))?;
    let count = accounts.len();
    accounts.into_iter().nth(index).ok_or_else(|| {
        CliError::new(format!(
            "there is no account {index}; this wallet has {count} (0-based)"
        ))
    })
}

fn execute(
    chain: &Arc<impl ChainBackend + ?Sized>,
    command: ChainCommand,
    out: &Output,
) -> Result<(), CliError> {
    match command {
        ChainCommand::Info => {
            let info = chain.info().map_err(chain_error("chain info"))?;
            out.print(serde_json::to_value(&info).unwrap_or_default(), || {
                let assets: Vec<String> = info
                    .assets
                    .iter()
                    .map(|a| format!("{} ({})", a.name, a.asset))
                    .collect();
                format!(
                    "chain {} ({})\nassets: {}",
                    info.chain_id,
                    info.backend,
                    assets.join(", ")
                )
            });
        }
        ChainCommand::Accounts => {
            let info = chain.info().map_err(chain_error("chain info"))?;
            let accounts = chain.accounts().map_err(chain_error("listing accounts"))?;
            let mut rows = Vec::new();
            // Per row, each asset's balance as people read it (`1000 ETH`).
            let mut shown = Vec::new();
            for account in &accounts {
                let mut balances = serde_json::Map::new();
                for asset in &info.assets {
                    let amount = chain
                        .balance(account, &asset.asset)
                        .map_err(chain_error("balance"))?;
                    balances.insert(asset.name.clone(), json!(amount));
                    shown.push((rows.len(), show(&amount, asset)));
                }
                rows.push(json!({ "address": account, "balances": balances }));
            }
            out.print(json!(rows), || {
                rows.iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let balances: Vec<&str> = shown
                            .iter()
                            .filter(|(row, _)| *row == i)
                            .map(|(_, text)| text.as_str())
                            .collect();
                        format!(
                            "{i}  {}  {}",
                            r["address"].as_str().unwrap_or(""),
                            balances.join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        ChainCommand::Balance { address, asset } => {
            let asset = find_asset(chain, &asset)?;
            let address = match address {
                Some(a) => a,
                None => our_account(chain, 0)?,
            };
            let amount = chain
                .balance(&address, &asset.asset)
                .map_err(chain_error("balance"))?;
            out.print(
                json!({ "address": address, "asset": asset.name, "amount": amount }),
                || show(&amount, &asset),
            );
        }
        ChainCommand::Deposit {
            channel,
            amount,
            asset,
            account,
        } => {
            let assets = chain.info().map_err(chain_error("chain info"))?.assets;
            let resolved = amount.resolve(&assets).map_err(CliError::usage)?;
            let named = crate::cli::node_cmd::args::one_asset(
                asset.as_deref(),
                &[(format!("--amount {amount}"), resolved.asset)],
            )
            .map_err(CliError::usage)?;
            let asset = find_asset(chain, named.as_deref().unwrap_or("ETH"))?;
            let amount = resolved.amount;
            let from = our_account(chain, account)?;
            let request = DepositRequest {
                from: from.clone(),
                channel_id: channel,
                participant: from.clone(),
                asset: asset.asset.clone(),
                amount,
            };
            chain.deposit(&request).map_err(chain_error("deposit"))?;
            let total = chain
                .holdings(&channel, &from, &asset.asset)
                .map_err(chain_error("holdings"))?;
            out.print(
                json!({ "channel": channel, "participant": from, "asset": asset.name, "deposited": amount, "holdings": total }),
                || {
                    format!(
                        "deposited {} for {from} in {channel}; holdings now {}",
                        show(&amount, &asset),
                        show(&total, &asset)
                    )
                },
            );
        }
        ChainCommand::Holdings {
            channel,
            participant,
            asset,
        } => {
            let asset = find_asset(chain, &asset)?;
            let amount = chain
                .holdings(&channel, &participant, &asset.asset)
                .map_err(chain_error("holdings"))?;
            out.print(json!({ "channel": channel, "participant": participant, "asset": asset.name, "amount": amount }), || show(&amount, &asset));
        }
        ChainCommand::Dispute { channel } => {
            let dispute = chain.dispute(&channel).map_err(chain_error("dispute"))?;
            out.print(
                serde_json::to_value(&dispute).unwrap_or_default(),
                || match &dispute {
                    None => format!("{channel}: nothing registered"),
                    Some(d) => format!(
                        "{channel}: version {} phase {:?} timeout {}",
                        d.version, d.phase, d.timeout
                    ),
                },
            );
        }
        ChainCommand::Now => {
            let now = chain.now().map_err(chain_error("chain time"))?;
            out.print(json!({ "now": now }), || now.to_string());
        }
        ChainCommand::Advance { seconds } => {
            let clock = chain.test_clock().ok_or_else(|| {
                CliError::new(
                    "advancing chain time: this chain backend has no test clock; only test \
                     ledgers (the sim chain, anvil) can move time",
                )
            })?;
            let now = clock
                .advance_time(seconds)
                .map_err(chain_error("advancing chain time"))?;
            out.print(json!({ "now": now }), || now.to_string());
        }
    }
    Ok(())
}
