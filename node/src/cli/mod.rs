//! The `parley` command line.

mod bench;
mod chain;
mod demo;
mod eth;
mod hostile;
mod init;
mod node_cmd;
mod plugin;
mod run;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Parley: a state channel node whose chains, transports and stores are plugins.
#[derive(Debug, Parser)]
#[command(name = "parley", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Show long diagnostics (for example abi_stable's layout report when a plugin does not
    /// match this node).
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run two nodes on a simulated chain: open a channel, pay both ways, settle, check.
    Demo(demo::DemoArgs),
    /// Create a node directory: a commented node.toml, the data dir, the node key and API token.
    Init(init::InitArgs),
    /// Run a node: load the plugins named in the config and serve until SIGINT or SIGTERM.
    Run(run::RunArgs),
    /// Inspect and check plugin libraries.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Talk to the configured chain backend directly (balances, deposits, chain time).
    Chain(chain::ChainArgs),
    /// Ethereum tools that need no running node: deploy the contracts and print the `[chain]`
    /// table for them.
    #[command(subcommand_required = true)]
    Eth(eth::EthArgs),
    /// Measure plugin-call overhead and store commit rates, or with `channels` payments per
    /// second and latency through two nodes; prints figures.
    Bench(bench::BenchArgs),
    /// Show the running node's id, version, chain and transport address.
    Info(node_cmd::InfoArgs),
    /// Add and list the running node's peers.
    Peer(node_cmd::PeerArgs),
    /// Open, list, show, pay and settle the running node's channels.
    Channel(node_cmd::ChannelArgs),
    /// List, accept and reject the channels peers propose to the running node.
    Proposal(node_cmd::ProposalArgs),
    /// Show the on-chain balance of the running node's account, per asset.
    Balance(node_cmd::BalanceArgs),
    /// List the running node's payments, newest first (sent and received, with their status).
    Payments(node_cmd::PaymentsArgs),
    /// Show one payment by id, also one whose `channel pay` call timed out.
    Payment(node_cmd::PaymentArgs),
    /// Ask to be paid (create an invoice), pay an invoice, list the invoices issued.
    Invoice(node_cmd::InvoiceArgs),
    /// Pay a node (not a channel): through a channel with it, or a virtual channel the node
    /// opens through a hub.
    Pay(node_cmd::PayArgs),
    /// Follow the running node's events (proposals, payments, updates, phase changes), one per
    /// line; reconnects when the node restarts.
    Events(node_cmd::EventsArgs),
    /// Stop the running node (SIGTERM to the process holding its data directory) and wait
    /// until it has exited.
    Stop(node_cmd::StopArgs),
    /// Print a shell completion script: `parley completions bash > ~/.local/share/bash-completion/completions/parley`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Make a TEST node cheat (needs `[testing] allow_misbehaviour = true`), for scenarios.
    Misbehave(node_cmd::MisbehaveArgs),
    /// TEST tool: play a hostile peer (a flood, connections that never authenticate) against
    /// a running node, for the scenarios that check its limits.
    #[command(hide = true)]
    Hostile(hostile::HostileArgs),
}

/// The config file when neither `--config` nor `PARLEY_CONFIG` names one: `./node.toml` if it
/// exists, else `~/.parley/node.toml` if that exists (a node set up with `parley init
/// ~/.parley`), else `./node.toml` (whose absence the command then reports).
pub(crate) fn default_config() -> PathBuf {
    let here = PathBuf::from("node.toml");
    if here.exists() {
        return here;
    }
    match std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".parley/node.toml")) {
        Some(home) if home.exists() => home,
        _ => here,
    }
}

/// Parses the command line and runs the command; the exit code says whether it worked.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Init(args) => init::run(args),
        Command::Run(args) => run::run(args, cli.verbose),
        Command::Plugin(command) => plugin::run(command, cli.verbose),
        Command::Chain(args) => chain::run(args, cli.verbose),
        Command::Eth(args) => eth::run(args),
        Command::Bench(args) => bench::run(args, cli.verbose),
        Command::Info(args) => args.run(),
        Command::Peer(args) => args.run(),
        Command::Channel(args) => args.run(),
        Command::Proposal(args) => args.run(),
        Command::Balance(args) => args.run(),
        Command::Payments(args) => args.run(),
        Command::Payment(args) => args.run(),
        Command::Invoice(args) => args.run(),
        Command::Pay(args) => args.run(),
        Command::Events(args) => args.run(),
        Command::Stop(args) => args.run(),
        Command::Completions { shell } => completions(shell),
        Command::Misbehave(args) => args.run(),
        Command::Hostile(args) => hostile::run(args, cli.verbose),
    };
    match result {
        Ok(code) => code,
        Err(error) if json_requested() => {
            eprintln!("{}", error.to_json());
            error.exit_code()
        }
        Err(error) => {
            eprintln!("error: {error}");
            error.exit_code()
        }
    }
}

/// Prints the completion script for `shell` (a closed pipe ends it quietly).
fn completions(shell: clap_complete::Shell) -> CliResult {
    use clap::CommandFactory;
    use std::io::Write;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "parley", &mut script);
    match std::io::stdout().write_all(&script) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::new(
            format!("cannot write the completion script: {error}"),
        )),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Whether the command line asks for JSON (`--json`): its errors are then one JSON document
/// on stderr too.
fn json_requested() -> bool {
    std::env::args_os().skip(1).any(|arg| arg == "--json")
}

/// An error for the user: one sentence, and optional details shown with `--verbose`.
#[derive(Debug)]
pub struct CliError {
    message: String,
    details: Option<String>,
    /// The node's error category and code, for an error the node returned.
    category: Option<(String, i64)>,
    /// The command line is wrong (found after clap's own checks): exit status 2, as clap's.
    usage: bool,
}

impl CliError {
    /// An error with only a message.
    pub fn new(message: impl std::fmt::Display) -> Self {
        CliError {
            message: message.to_string(),
            details: None,
            category: None,
            usage: false,
        }
    }

    /// The command line is wrong in a way only a look at the chain's assets or at several
    /// arguments together shows (a unit the chain does not have, two amounts of different
    /// assets); nothing was changed. Exits with 2, like clap's own refusals.
    pub fn usage(message: impl std::fmt::Display) -> Self {
        CliError {
            usage: true,
            ..CliError::new(message)
        }
    }

    /// The exit status this error ends the command with (README, "Exit status"): 2 for a wrong
    /// command line, 1 for everything else.
    pub fn exit_code(&self) -> ExitCode {
        if self.usage {
            ExitCode::from(2)
        } else {
            ExitCode::FAILURE
        }
    }

    /// An error the node returned, with its category and code.
    pub fn from_node(message: impl std::fmt::Display, category: String, code: i64) -> Self {
        CliError {
            category: Some((category, code)),
            ..CliError::new(message)
        }
    }

    /// The error as one JSON document: `{"error": {"message", "category", "code"}}`
    /// (category and code only for an error the node returned).
    pub fn to_json(&self) -> String {
        let mut error = serde_json::json!({ "message": self.to_string() });
        if let Some((category, code)) = &self.category {
            error["category"] = serde_json::json!(category);
            error["code"] = serde_json::json!(code);
        }
        serde_json::json!({ "error": error }).to_string()
    }

    /// A lab's error; a plugin that did not load comes with abi_stable's report if `verbose`.
    pub fn lab(error: crate::lab::LabError, verbose: bool) -> Self {
        use crate::assembly::NodeError;
        use crate::lab::LabError;
        match error {
            LabError::Start { node, source } => match *source {
                NodeError::Load(error) => CliError::load(error, verbose),
                source => CliError::new(LabError::Start {
                    node,
                    source: Box::new(source),
                }),
            },
            other => CliError::new(other),
        }
    }

    /// A plugin load error, with abi_stable's report attached if `verbose`.
    pub fn load(error: crate::host::LoadError, verbose: bool) -> Self {
        let details = if verbose { error.details.clone() } else { None };
        CliError {
            message: error.to_string(),
            details,
            category: None,
            usage: false,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(details) = &self.details {
            write!(f, "\n\ndetails:\n{details}")?;
        }
        Ok(())
    }
}

impl From<crate::lab::LabError> for CliError {
    fn from(error: crate::lab::LabError) -> Self {
        CliError::lab(error, false)
    }
}

impl From<crate::config::ConfigError> for CliError {
    fn from(error: crate::config::ConfigError) -> Self {
        CliError::new(error)
    }
}

/// The result of a command.
pub type CliResult = Result<ExitCode, CliError>;
