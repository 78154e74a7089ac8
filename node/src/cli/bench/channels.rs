//! `parley bench channels`: the arguments, the runs they choose and the figures printed for
//! [`crate::lab::bench`], which measures payments through two real nodes in this process.

use super::super::{default_config, CliError, CliResult};
use super::summary::{cpu_line, group_commits, latency_line, latency_line_of};
use crate::config::{NodeConfig, PluginRef};
use crate::lab::bench::{
    restore_run, ChannelBench, Direction, Load, Measurement, Opened, AMOUNT, DEPOSIT,
};
use crate::lab::{InProcess, LabError, Workspace};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// How many thread groups the CPU line names.
const CPU_GROUPS_SHOWN: usize = 6;

/// Arguments of `parley bench channels`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Two nodes run inside this process, each with its own temporary data dir, LMDB store and QUIC \
endpoint on 127.0.0.1, on one shared sim-chain ledger; node a opens the channels and node b \
accepts them by its [policy]. The plugins and their settings come from --config (with \
--in-memory, [wire] and [store] are the in-memory plugins: go-perun's setting, nothing \
persisted, no sockets); per-node paths \
(store path, key and certificate dirs, ledger) are replaced, and the lmdb store is durable unless \
--durable false. Each payment is one channel_pay call through the node's API code (channel task, \
signatures through the chain plugin, group-committed persistence, QUIC); its latency is the \
time until both parties signed it and the payee holds it durably (the payer's signed proposal \
is durable before it is sent; its copy of the payee's signature is written while it answers).

(a) one channel, --payments payments one after the other;
(b) --channels channels at once, --per-channel payments on each, one after the other per channel;
(c) only with --scenario sub-channels: --sub-channels sub-channels opened one after the other \
inside one channel, each timed until both nodes see it active (its latency line counts openings);
(d) only with --scenario virtual: a third node i (the intermediary) has a ledger channel with \
each of a and b; a opens --sub-channels virtual channels with b through i one after the other, \
each timed until b sees it active (no transaction), then makes --payments payments with b on \
the last one (directly: i signs nothing);
(e) only with --scenario callers: --callers callers on node a pay node b at once on one channel, \
--per-channel payments each, one after the other per caller (the latency line counts payments; \
payments that queue up behind the one in flight go as one update, and the bench prints how many \
updates they took);
(f) only with --scenario restore: node a opens --channels channels with b (setup), stops and \
starts again: the time until it answers with every channel restored, the resident memory the \
restart added per channel, then --payments payments from a, one after the other, each on \
another channel, and as many again on the same channels (the first payment on each channel since \
the restart, then the second).

Prints updates per second, latency p50/p90/p99/max, and CPU time by thread. After each scenario \
both nodes must agree on every channel's version and balances, or the bench fails. Nothing is kept: the \
temporary directory is removed at the end, also on Ctrl-C.

Example: parley bench channels --config node.toml --channels 100 --payments 2000")]
pub struct ChannelBenchArgs {
    /// The config whose [chain], [wire] and [store] plugins and settings the two nodes use
    /// ([chain] must be the sim chain).
    #[arg(long, short, env = "PARLEY_CONFIG", default_value_os_t = default_config())]
    config: PathBuf,
    /// Which scenarios to run.
    #[arg(long, value_enum, default_value_t = Scenario::Both)]
    scenario: Scenario,
    /// Measured payments on the single channel of scenario (a).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    payments: u64,
    /// Channels paying at once in scenario (b); channels node a restores in scenario (f)
    /// (up to 100000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    channels: u64,
    /// Measured payments on each channel of scenario (b).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    per_channel: u64,
    /// Unmeasured payments on each channel before measuring (connections, caches, store
    /// pages warm up).
    #[arg(long, default_value_t = 50)]
    warmup: u64,
    /// Who pays: `alternate` (a pays b, then b pays a, ...: both nodes propose) or `one-way`
    /// (a always pays b).
    #[arg(long, value_enum, default_value_t = Direction::Alternate)]
    direction: Direction,
    /// Whether the lmdb store syncs every commit to disk; `false` only to see what durability
    /// costs.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    durable: bool,
    /// Sub-channels opened one after the other inside one channel in scenario (c), virtual
    /// channels in scenario (d).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    sub_channels: u64,
    /// Callers paying at once on the one channel of scenario (e), each --per-channel
    /// payments.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    callers: u64,
    /// Go-perun's setting: the transport and the store are the in-memory plugins
    /// (`memory-wire`, `memory-store`) instead of the config's, so that nothing is persisted
    /// and no socket is used; the chain stays the config's sim chain.
    #[arg(long)]
    in_memory: bool,
    /// Worker threads of the async runtime both nodes share (`parley run` uses 2 per node).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    workers: u64,
}

/// Which scenarios `parley bench channels` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// (a), then (b).
    Both,
    /// (a) only: one channel.
    Single,
    /// (b) only: many channels at once.
    Concurrent,
    /// (c) only: sub-channels opened one after the other inside one channel (no chain).
    SubChannels,
    /// (d) only: virtual channels through a third node opened one after the other (no
    /// chain), then payments on one of them.
    Virtual,
    /// (e) only: --callers callers paying at once on one channel.
    Callers,
    /// (f) only: node a with --channels channels stopped and started again: the start, the
    /// memory per channel, then --payments payments spread over all of them.
    Restore,
}

pub fn run(args: ChannelBenchArgs, verbose: bool) -> CliResult {
    let mut base = NodeConfig::load(&args.config)?;
    crate::lab::config::require_sim_chain(&base).map_err(sim_chain_needed)?;
    if args.in_memory {
        in_memory(&mut base);
    }
    crate::logging::init("warn", crate::config::LogFormat::Text).map_err(CliError::new)?;
    if args.direction == Direction::OneWay {
        let most = args.warmup + args.payments.max(args.per_channel);
        if most * AMOUNT > DEPOSIT {
            return Err(CliError::new(format!(
                "{most} one-way payments of {AMOUNT} would overdraw the {DEPOSIT} each side deposits; \
                 pay fewer or use --direction alternate"
            )));
        }
    }
    let workspace = Workspace::create("parley-bench-channels-")
        .map_err(|e| CliError::new(format!("cannot create a temporary directory: {e}")))?;
    print_setup(&base, &args);
    let mut lab = InProcess::new(base, workspace)?;
    if args.scenario == Scenario::Restore {
        return run_restore(&args, lab, verbose);
    }
    if args.channels > 1000 {
        return Err(CliError::new(format!(
            "--channels {} pay at once only up to 1000; more are for --scenario restore",
            args.channels
        )));
    }
    let runtime = bench_runtime(args.workers)?;
    let result = runtime.block_on(async {
        let intermediary = args.scenario == Scenario::Virtual;
        let outcome = match ChannelBench::start(&mut lab, args.durable, intermediary).await {
            Ok(bench) => tokio::select! {
                outcome = runs(&bench, &args) => outcome,
                _ = tokio::signal::ctrl_c() => Err(LabError::failed("interrupted")),
            },
            Err(error) => Err(error),
        };
        lab.shutdown().await;
        outcome
    });
    // Plugin threads may still hold files for a moment; the directory goes with the lab after.
    drop(runtime);
    drop(lab);
    result
        .map(|()| ExitCode::SUCCESS)
        .map_err(|error| CliError::lab(error, verbose))
}

/// Makes `base` go-perun's setting (`--in-memory`): the in-memory transport and store
/// plugins, with their default settings.
fn in_memory(base: &mut NodeConfig) {
    base.wire.plugin.plugin = PluginRef::Name("memory-wire".into());
    base.wire.plugin.table = String::new();
    base.store.plugin = PluginRef::Name("memory-store".into());
    base.store.table = String::new();
}

/// The bench's words for a base config whose chain is not the sim chain.
fn sim_chain_needed(error: LabError) -> CliError {
    match error {
        LabError::NotSimChain { file, plugin } => CliError::new(format!(
            "`parley bench channels` funds its channels on the sim chain, but [chain] in {} loads \
             {plugin}; point --config at a node.toml with `plugin = \"sim-chain\"` in [chain]",
            file.display()
        )),
        other => other.into(),
    }
}

fn print_setup(base: &NodeConfig, args: &ChannelBenchArgs) {
    let name = |plugin: &PluginRef| match plugin {
        PluginRef::Name(name) => name.clone(),
        PluginRef::Path(path) => path.display().to_string(),
    };
    println!(
        "parley {} bench channels: {} nodes in this process ({} runtime workers), plugins from {}",
        env!("CARGO_PKG_VERSION"),
        if args.scenario == Scenario::Virtual {
            "three"
        } else {
            "two"
        },
        args.workers,
        base.file.display()
    );
    println!(
        "  [chain] {} (shared ledger)   [wire] {} on 127.0.0.1   [store] {}{}",
        name(&base.chain.plugin),
        name(&base.wire.plugin.plugin),
        name(&base.store.plugin),
        if args.durable && !args.in_memory {
            " durable"
        } else {
            " NOT durable"
        }
    );
    println!(
        "  payments of {AMOUNT} unit, {}; {} warm-up payments per channel first\n",
        match (args.scenario, args.direction) {
            (Scenario::Callers | Scenario::Restore, _) | (_, Direction::OneWay) => "one way a->b",
            (_, Direction::Alternate) => "alternating a->b, b->a",
        },
        args.warmup
    );
}

/// The runs `--scenario` chooses, each reported when it is done.
async fn runs(bench: &ChannelBench<'_>, args: &ChannelBenchArgs) -> Result<(), LabError> {
    let load = Load {
        warmup: args.warmup,
        direction: args.direction,
    };
    if args.scenario == Scenario::Virtual {
        let count = args.sub_channels as usize;
        let figures = bench
            .virtual_channels(load, count, args.payments, print_opened)
            .await?;
        println!(
            "(d) {count} virtual channels a-b opened through i one after the other (no \
             transaction), each until b sees it active:"
        );
        if let Some(latencies) = &figures.opens.latencies {
            println!("  {}", latency_line(latencies));
        }
        println!("  both of i's ledger channels lock every virtual channel\n");
        report(
            &format!(
                "(d) one virtual channel, {} payments one after the other (a and b only)",
                args.payments
            ),
            &figures.payments,
        );
        return Ok(());
    }
    if args.scenario == Scenario::SubChannels {
        let count = args.sub_channels as usize;
        let measured = bench.sub_channel_opens(count, print_opened).await?;
        println!(
            "(c) {count} sub-channels opened one after the other inside one channel (no \
             transaction), each until both nodes see it active:"
        );
        if let Some(latencies) = &measured.latencies {
            println!("  {}", latency_line(latencies));
        }
        println!(
            "  {}",
            group_commits(&measured.stores_before, &measured.stores_after)
        );
        println!("  both nodes see the parent lock every sub-channel\n");
        return Ok(());
    }
    if args.scenario == Scenario::Callers {
        let callers = args.callers as usize;
        let (measured, updates) = bench
            .callers(load, callers, args.per_channel, print_opened)
            .await?;
        let payments = callers as u64 * args.per_channel;
        let batched = format!(
            "batched: {payments} payments in {updates} updates ({:.1} per update; payments that \
             queue up go as one)",
            payments as f64 / updates.max(1) as f64
        );
        report_with(
            &format!(
                "(e) {callers} callers paying at once on one channel, {} payments each",
                args.per_channel
            ),
            &measured,
            "payments",
            Some(batched),
        );
        return Ok(());
    }
    if args.scenario != Scenario::Concurrent {
        let measured = bench.single(load, args.payments, print_opened).await?;
        report(
            &format!(
                "(a) one channel, {} payments one after the other",
                args.payments
            ),
            &measured,
        );
    }
    if args.scenario != Scenario::Single {
        let count = args.channels as usize;
        let measured = bench
            .concurrent(load, count, args.per_channel, print_opened)
            .await?;
        report(
            &format!(
                "(b) {count} channels at once, {} payments on each, one after the other per channel",
                args.per_channel
            ),
            &measured,
        );
    }
    Ok(())
}

/// Scenario (f): its own run, because it stops and starts node a, which the other runs' bench
/// keeps borrowed.
fn run_restore(args: &ChannelBenchArgs, mut lab: InProcess, verbose: bool) -> CliResult {
    let runtime = bench_runtime(args.workers)?;
    let count = args.channels as usize;
    let result = runtime.block_on(async {
        let outcome = tokio::select! {
            outcome = restore_run(&mut lab, args.durable, count, args.payments) => outcome,
            _ = tokio::signal::ctrl_c() => Err(LabError::failed("interrupted")),
        };
        lab.shutdown().await;
        outcome
    });
    drop(runtime);
    drop(lab);
    let figures = result.map_err(|error| CliError::lab(error, verbose))?;
    println!(
        "(f) node a with {count} channels (opened and funded in {:.1} s), stopped and started again:",
        figures.opened.as_secs_f64()
    );
    println!(
        "  started with every channel restored in {:.3} s",
        figures.restart.as_secs_f64()
    );
    match figures.memory_growth {
        Some(bytes) => println!(
            "  resident memory added by the restart: {:.1} MiB, {:.1} KiB per channel",
            bytes as f64 / (1024.0 * 1024.0),
            bytes as f64 / 1024.0 / count as f64
        ),
        None => println!("  resident memory: not known on this system"),
    }
    println!(
        "  every channel re-synchronised with node b {:.2} s later (in waves, paced to the peer's frame budget)",
        figures.resynced.as_secs_f64()
    );
    report(
        &format!(
            "  then {} payments from a, one after the other, each on another channel (the first \
             on each since the restart)",
            args.payments
        ),
        &figures.payments,
    );
    report(
        &format!(
            "  then {} more on the same channels in the same order (each one's second since the restart)",
            args.payments
        ),
        &figures.again,
    );
    Ok(ExitCode::SUCCESS)
}

/// The runtime both nodes share, with `workers` worker threads.
fn bench_runtime(workers: u64) -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers as usize)
        .enable_all()
        .thread_name("parley")
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))
}

fn print_opened(opened: Opened) {
    println!(
        "opened and funded {} channel{} in {:.2} s",
        opened.count,
        if opened.count == 1 { "" } else { "s" },
        opened.took.as_secs_f64()
    );
}

fn report(title: &str, measured: &Measurement) {
    report_with(title, measured, "updates", None);
}

/// [`report`] of `what` is measured, with one line more before the closing one.
fn report_with(title: &str, measured: &Measurement, what: &str, more: Option<String>) {
    println!("{title}:");
    match &measured.latencies {
        Some(latencies) => println!("  {}", latency_line_of(latencies, what)),
        None => println!("  nothing was measured"),
    }
    println!(
        "  {}",
        cpu_line(&measured.cpu, measured.elapsed, CPU_GROUPS_SHOWN)
    );
    println!(
        "  {}",
        group_commits(&measured.stores_before, &measured.stores_after)
    );
    if let Some(line) = more {
        println!("  {line}");
    }
    println!("  both nodes agree on every channel's version and balances\n");
}
