//! `parley eth ...`: Ethereum tooling that needs no running node and no plugin.
//!
//! `parley eth deploy` puts the project's contracts (the artifacts of `contracts/`, compiled
//! into this binary) on a chain and prints the `[chain]` table that makes the Ethereum plugin
//! use them, and the `[[apps]]` entries that name the app contracts for the App plugins. It works where no plugin is installed: it links the plugin's library,
//! `parley-ethereum`, and sends through its connection and transaction path (the one the
//! plugin's own transactions take), with the same key file format:
//!
//! - [`artifacts`]: the embedded artifacts and creation code.
//! - [`deploy`]: one creation through the library, and the operator's error sentences.
//! - [`table`]: what is printed.

mod artifacts;
mod deploy;
mod table;

use super::{CliError, CliResult};
use artifacts::{ADJUDICATOR, APPS, ASSET_HOLDER_ERC20, ASSET_HOLDER_ETH, PERUN_TOKEN};
use clap::{Args, Subcommand};
use deploy::{Deployed, Deployer};
use ethers_core::abi::Token;
use ethers_core::types::{H160, U256};
use parley_ethereum::crypto::read_key_file;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use table::{address, AppEntry, ChainTable, Erc20};

/// Arguments of `parley eth`.
#[derive(Debug, Args)]
pub struct EthArgs {
    #[command(subcommand)]
    command: EthCommand,
}

#[derive(Debug, Subcommand)]
enum EthCommand {
    /// Deploy the Adjudicator, the asset holders, a test token and the app contracts; print
    /// node.toml's `[chain]` and `[[apps]]`.
    ///
    /// Deploys, from the account of --key and in this order: Adjudicator,
    /// AssetHolderETH(adjudicator), PerunToken (a test ERC20 that mints --token-amount to the
    /// deployer and to every --token-supply-to address), AssetHolderERC20(adjudicator, token),
    /// and the app contracts TicTacToeApp and HashLockApp. Each creation is estimated, priced
    /// (EIP-1559 where the chain has a base fee, else legacy), signed locally, and awaited
    /// until it has --confirmations; its status and the code at the new address are checked.
    /// Progress goes to stderr, one line per contract; stdout gets only the `[chain]` table
    /// followed by one `[[apps]]` entry per app contract (plugin "tictactoe" and "hashlock",
    /// each with its address under the chain id), or, with --json, one JSON document.
    #[command(after_help = "\
Example (a local anvil; its first dev account deploys, its second is alice's):
  (umask 077; echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 > deployer.key)
  parley eth deploy --rpc http://127.0.0.1:8545 --key deployer.key --token-name TOK \\
      --token-supply-to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --node-key-file eth.key \\
      > chain.toml

Put the table in alice/node.toml in place of its [chain] section, and the [[apps]] entries
after it in place of any [[apps]] there (keep them after [chain]'s keys and sub-tables). Its
`key_file` is the node's own account key (64 hex digits, mode 0600; relative paths are taken
from node.toml's directory), usually not the deployer's: without --node-key-file a
placeholder is printed there, to be replaced.")]
    #[command(next_display_order = 10)]
    Deploy(DeployArgs),
}

/// Arguments of `parley eth deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The chain's JSON-RPC endpoint (plain http://).
    #[arg(long, value_name = "URL")]
    rpc: String,
    /// The deployer's secret key: a file with 64 hex digits, readable by its owner only
    /// (mode 0600). The account pays for the deployments.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The token's asset name in Parley (what `--asset` and `--with` take).
    #[arg(long, value_name = "NAME", default_value = "PRN", value_parser = token_name)]
    token_name: String,
    /// One more account that gets --token-amount tokens (repeatable); the deployer always
    /// gets them.
    #[arg(long, value_name = "ADDRESS", value_parser = eth_address)]
    token_supply_to: Vec<H160>,
    /// Tokens each account gets, in base units (10^-18 tokens); default one million tokens.
    #[arg(long, value_name = "AMOUNT", default_value = "1000000000000000000000000", value_parser = token_amount)]
    token_amount: U256,
    /// Blocks each creation's block must have on top of it (itself included) before the next
    /// one is sent; also written into the table. Keep 1 on a dev chain that mines on demand.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    confirmations: u64,
    /// How long to wait for each creation's confirmations, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    tx_timeout: u64,
    /// The `key_file` to write into the table: the node's own account key (default: a
    /// placeholder to replace).
    #[arg(long, value_name = "FILE")]
    node_key_file: Option<PathBuf>,
    /// Print one JSON document (the table under `chain`, the app contracts under `apps` with
    /// name, plugin and address, the deployer, each contract's address, transaction and gas,
    /// the token supply) instead of the TOML.
    #[arg(long)]
    json: bool,
}

/// Runs `parley eth ...`.
pub fn run(args: EthArgs) -> CliResult {
    match args.command {
        EthCommand::Deploy(args) => deploy_command(args),
    }
}

fn deploy_command(args: DeployArgs) -> CliResult {
    // The key is checked before anything is sent.
    let key = read_key_file(&args.key).map_err(|why| CliError::new(format!("--key {why}")))?;
    let deployer = Deployer::connect(
        args.rpc.trim(),
        key,
        args.confirmations,
        Duration::from_secs(args.tx_timeout),
    )
    .map_err(CliError::new)?;
    match deploy_all(&deployer, &args)? {
        Output::Toml(text) => print!("{text}"),
        Output::Json(value) => println!("{value:#}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// What is printed on stdout.
enum Output {
    Toml(String),
    Json(serde_json::Value),
}

fn deploy_all(deployer: &Deployer, args: &DeployArgs) -> Result<Output, CliError> {
    let from = deployer.from;
    let chain_id = deployer.chain_id();
    eprintln!(
        "deploying from {} to chain {chain_id} at {} ({})",
        address(from),
        deployer.url(),
        deployer.pricing
    );

    let mut supplied = vec![from];
    for account in &args.token_supply_to {
        if !supplied.contains(account) {
            supplied.push(*account);
        }
    }
    let mut done: Vec<Deployed> = Vec::new();

    let adjudicator = record(deployer.deploy(&ADJUDICATOR, &[]), &mut done)?;
    let eth_holder = record(
        deployer.deploy(&ASSET_HOLDER_ETH, &[Token::Address(adjudicator)]),
        &mut done,
    )?;
    let token_args = [
        Token::Array(supplied.iter().map(|a| Token::Address(*a)).collect()),
        Token::Uint(args.token_amount),
    ];
    let token = record(deployer.deploy(&PERUN_TOKEN, &token_args), &mut done)?;
    let token_holder = record(
        deployer.deploy(
            &ASSET_HOLDER_ERC20,
            &[Token::Address(adjudicator), Token::Address(token)],
        ),
        &mut done,
    )?;
    let mut apps = Vec::new();
    for app in APPS {
        apps.push(AppEntry {
            contract: app.artifact.name,
            plugin: app.plugin,
            address: record(deployer.deploy(&app.artifact, &[]), &mut done)?,
        });
    }

    let table = ChainTable {
        rpc_url: deployer.url().to_owned(),
        chain_id,
        adjudicator,
        eth_holder,
        key_file: args.node_key_file.clone(),
        confirmations: args.confirmations,
        erc20: Erc20 {
            name: args.token_name.clone(),
            token,
            holder: token_holder,
            decimals: artifacts::PERUN_TOKEN_DECIMALS,
        },
    };
    Ok(if args.json {
        Output::Json(table::report_json(
            &table,
            &apps,
            from,
            &done,
            &supplied,
            args.token_amount,
        ))
    } else {
        Output::Toml(table::to_toml(&table, &apps))
    })
}

/// Reports one creation on stderr and keeps it; a failure becomes the command's error.
fn record(result: Result<Deployed, String>, done: &mut Vec<Deployed>) -> Result<H160, CliError> {
    let deployed = result.map_err(|why| CliError::new(with_progress(why, done)))?;
    eprintln!(
        "{:<16} {}  gas used {:>8}  (block {}, tx {:?})",
        deployed.name,
        address(deployed.address),
        deployed.gas_used,
        deployed.block,
        deployed.transaction
    );
    let address = deployed.address;
    done.push(deployed);
    Ok(address)
}

/// `why`, and what is on chain already (so a failure half-way leaves no mystery).
fn with_progress(why: String, done: &[Deployed]) -> String {
    if done.is_empty() {
        return format!("{why}; nothing was deployed");
    }
    let list: Vec<String> = done
        .iter()
        .map(|d| format!("{} at {}", d.name, address(d.address)))
        .collect();
    format!(
        "{why}; deployed before the failure (unused now): {}",
        list.join(", ")
    )
}

/// An address argument: `0x` and 40 hex digits.
fn eth_address(text: &str) -> Result<H160, String> {
    let digits = text.strip_prefix("0x").ok_or_else(|| {
        format!("`{text}` is not an address: expected 0x followed by 40 hex digits")
    })?;
    if digits.len() != 40 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "`{text}` is not an address: expected 0x followed by 40 hex digits (it has {} \
             characters after 0x)",
            digits.len()
        ));
    }
    text.parse()
        .map_err(|_| format!("`{text}` is not an address"))
}

/// A token amount: a whole decimal number of base units.
fn token_amount(text: &str) -> Result<U256, String> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "`{text}` is not an amount: expected a whole number of base units, digits only"
        ));
    }
    U256::from_dec_str(text).map_err(|_| format!("`{text}` does not fit in 256 bits"))
}

/// The token's asset name: not empty, printable, and not `ETH` (the ether asset's name).
fn token_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() || name.chars().any(char::is_control) || name.len() > 32 {
        return Err(format!(
            "`{text}` is not a usable asset name: expected 1 to 32 printable characters (e.g. TOK)"
        ));
    }
    if name.eq_ignore_ascii_case("ETH") {
        return Err("ETH is the ether asset's name; pick another for the token (e.g. TOK)".into());
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_locally() {
        assert!(eth_address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8").is_ok());
        assert!(eth_address("70997970C51812dc3A010C7d01b50e0d17dc79C8")
            .unwrap_err()
            .contains("0x followed by 40"));
        assert!(eth_address("0x7099").unwrap_err().contains("has 4"));
        assert_eq!(token_amount("1000").unwrap(), U256::from(1000));
        assert!(token_amount("-1").is_err());
        assert!(token_amount(&"9".repeat(80))
            .unwrap_err()
            .contains("256 bits"));
        assert_eq!(token_name(" TOK ").unwrap(), "TOK");
        assert!(token_name("eth").unwrap_err().contains("ether asset"));
        assert!(token_name("").is_err());
    }

    #[test]
    fn a_failure_says_what_is_already_on_chain() {
        assert_eq!(
            with_progress("boom".into(), &[]),
            "boom; nothing was deployed"
        );
        let done = [Deployed {
            name: "Adjudicator",
            address: H160::repeat_byte(1),
            transaction: Default::default(),
            block: 1,
            gas_used: 5,
        }];
        let text = with_progress("boom".into(), &done);
        assert!(
            text.contains("Adjudicator at 0x0101010101010101010101010101010101010101"),
            "{text}"
        );
    }
}
