//! `parley bench`: figures, never pass/fail tests.
//!
//! - `parley bench` (this file): what a plugin call costs, signing and verifying through the
//!   chain plugin, and how fast the store commits durably, alone and in groups.
//! - `parley bench channels` ([`channels`]): payments per second and their latency through two
//!   real nodes in this process, on one channel and on many at once.

mod channels;
mod summary;

use super::{default_config, CliError, CliResult};
use crate::config::NodeConfig;
use crate::host::NodePlugins;
use clap::{Args, Subcommand};
use parley_plugin_api::model::{Allocation, Amount, ChannelId, State, WriteOp};
use parley_plugin_api::ChainSigner;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `parley bench`: the plugin figures, or a subcommand.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_long_help = "\
Without a subcommand: loads the plugins of --config (their data goes to a temporary directory) \
and prints the cost of a plugin call, of signing and verifying a state through the chain plugin, \
and the rate of store commits (one put each, and groups of 100), with the store's durability as \
configured.

`parley bench channels` measures payments through two real nodes instead: updates per second and \
latency on one channel and on many at once (see `parley bench channels --help`)."
)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: Option<BenchCommand>,
    #[command(flatten)]
    plugins: PluginBenchArgs,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Payments per second and latency (p50/p99) through two nodes in this process: one
    /// channel, then many channels at once, with the store durable.
    Channels(channels::ChannelBenchArgs),
}

/// Arguments of the plugin figures (`parley bench` without a subcommand).
#[derive(Debug, Args)]
struct PluginBenchArgs {
    /// The config whose plugins are measured (their data goes to a temporary directory).
    #[arg(long, short, env = "PARLEY_CONFIG", default_value_os_t = default_config())]
    config: PathBuf,
    /// Durable commits to time (each with one 200-byte put).
    #[arg(long, default_value_t = 500)]
    commits: usize,
}

pub fn run(args: BenchArgs, verbose: bool) -> CliResult {
    match args.command {
        Some(BenchCommand::Channels(channel_args)) => channels::run(channel_args, verbose),
        None => plugin_figures(args.plugins, verbose),
    }
}

/// The plugin figures: call overhead, signatures, store commits.
fn plugin_figures(args: PluginBenchArgs, verbose: bool) -> CliResult {
    let mut config = NodeConfig::load(&args.config)?;
    crate::logging::init("warn", crate::config::LogFormat::Text).map_err(CliError::new)?;
    let temp = tempfile::Builder::new()
        .prefix("parley-bench-")
        .tempdir()
        .map_err(|e| CliError::new(format!("cannot create a temporary directory: {e}")))?;
    config.node.data_dir = temp.path().to_path_buf();
    let plugins = NodePlugins::load(&config, std::sync::Arc::new(crate::host::DiscardEvents))
        .map_err(|e| CliError::load(e, verbose))?;
    for (section, library) in &plugins.libraries {
        println!(
            "[{section}] {} {} ({})",
            library.name,
            library.version,
            library.path.display()
        );
    }
    println!();

    let per_call = |n: usize, elapsed: Duration| elapsed.as_nanos() as f64 / n as f64;

    let n = 1_000_000;
    let start = Instant::now();
    let mut sink = 0usize;
    for _ in 0..n {
        sink = sink.wrapping_add(plugins.transport.max_frame_size());
    }
    std::hint::black_box(sink);
    println!(
        "plugin call, no arguments (transport.max_frame_size): {:>10.1} ns/call",
        per_call(n, start.elapsed())
    );

    let n = 200_000;
    let key = [7u8; 16];
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            plugins
                .store
                .get(&key)
                .map_err(|e| CliError::new(e.to_string()))?,
        );
    }
    println!(
        "plugin call, 16-byte key (store.get, miss):         {:>10.1} ns/call",
        per_call(n, start.elapsed())
    );

    let account = plugins
        .chain
        .accounts()
        .ok()
        .and_then(|a| a.into_iter().next())
        .ok_or_else(|| CliError::new("the chain backend has no account to sign with"))?;
    let info = plugins
        .chain
        .info()
        .map_err(|e| CliError::new(e.to_string()))?;
    let state = State {
        channel_id: ChannelId([1; 32]),
        version: 1,
        allocation: Allocation {
            assets: info
                .assets
                .iter()
                .take(1)
                .map(|a| a.asset.clone())
                .collect(),
            balances: vec![vec![Amount::from(5u64), Amount::from(7u64)]],
            locked: vec![],
        },
        app_data: Default::default(),
        is_final: false,
    };
    let n = 2_000;
    let start = Instant::now();
    let mut sig = None;
    for _ in 0..n {
        sig = Some(
            plugins
                .chain
                .sign_state(&account, &state)
                .map_err(|e| CliError::new(e.to_string()))?,
        );
    }
    println!(
        "chain.sign_state through the plugin:                {:>10.1} us/call",
        per_call(n, start.elapsed()) / 1000.0
    );
    let sig = sig.expect("signed at least once");
    let start = Instant::now();
    for _ in 0..n {
        let ok = plugins
            .chain
            .verify_state(&state, &sig, &account)
            .map_err(|e| CliError::new(e.to_string()))?;
        assert!(ok, "the backend must verify its own signature");
    }
    println!(
        "chain.verify_state through the plugin:              {:>10.1} us/call",
        per_call(n, start.elapsed()) / 1000.0
    );

    let value = vec![0xabu8; 200];
    let n = args.commits.max(1);
    let mut latencies = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        plugins
            .store
            .commit(&[WriteOp::put(
                format!("bench/{i:08}").into_bytes(),
                value.clone(),
            )])
            .map_err(|e| CliError::new(e.to_string()))?;
        latencies.push(t.elapsed());
    }
    let elapsed = start.elapsed();
    latencies.sort();
    println!(
        "store.commit, one 200-byte put per commit:          {:>10.0} commits/s  (p50 {} us, p99 {} us)",
        n as f64 / elapsed.as_secs_f64(),
        latencies[n / 2].as_micros(),
        latencies[(n * 99 / 100).min(n - 1)].as_micros()
    );
    let batches = (n / 10).max(1);
    let start = Instant::now();
    for b in 0..batches {
        let batch: Vec<WriteOp> = (0..100)
            .map(|i| WriteOp::put(format!("group/{b:06}/{i:03}").into_bytes(), value.clone()))
            .collect();
        plugins
            .store
            .commit(&batch)
            .map_err(|e| CliError::new(e.to_string()))?;
    }
    let elapsed = start.elapsed();
    println!(
        "store.commit, group commits of 100 puts:            {:>10.0} puts/s ({:.0} commits/s)",
        (batches * 100) as f64 / elapsed.as_secs_f64(),
        batches as f64 / elapsed.as_secs_f64()
    );
    println!(
        "\n(store table from {}; durability as configured there)",
        config.file.display()
    );
    Ok(ExitCode::SUCCESS)
}
