//! `parley bench channels`: payments per second and their latency through two real nodes in
//! this process (a [`crate::lab::InProcess`] lab), with the store durable.
//!
//! Every payment is one `channel_pay` call on the paying node's API (the same code the
//! JSON-RPC server calls, without HTTP): the channel task, the state signed and the peer's
//! signature checked through the chain plugin, each side's write-ahead persist through the
//! store's group committer, and the messages over QUIC. A call returns once the update is
//! signed by both and durable, so its duration is the latency a user sees.
//!
//! Scenario (a) pays on one channel, one payment after the other. Scenario (b) opens many
//! channels between the same two nodes and pays on all of them at once, each channel still
//! one payment after the other, so the store's group commits and both CPU cores are shared.
//! Warm-up payments on each channel come first and are not measured. After each scenario both
//! nodes must agree on every channel's version and balances, or the bench fails.

use super::super::{default_config, CliError, CliResult};
use super::cpu::{CpuUse, ThreadTimes};
use super::summary::{group_commits, Summary};
use crate::api::types::{ChannelInfo, ChannelOpenRequest, ChannelPayRequest};
use crate::api::NodeApi;
use crate::config::{NodeConfig, PluginRef};
use crate::lab::{AutoAccept, InProcess, LabError, NodeSettings, Workspace};
use crate::protocol::Phase;
use crate::store::CommitStats;
use clap::{Args, ValueEnum};
use parley_plugin_api::model::{Amount, ChannelId};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Barrier};

/// What each side deposits into each bench channel, in base units.
const DEPOSIT: u64 = 1_000_000_000;

/// What one payment moves, in base units.
const AMOUNT: u64 = 1;

/// How many thread groups the CPU line names.
const CPU_GROUPS_SHOWN: usize = 6;

/// Arguments of `parley bench channels`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Two nodes run inside this process, each with its own temporary data dir, LMDB store and QUIC \
endpoint on 127.0.0.1, on one shared sim-chain ledger; node a opens the channels and node b \
accepts them by its [policy]. The plugins and their settings come from --config; per-node paths \
(store path, key and certificate dirs, ledger) are replaced, and the lmdb store is durable unless \
--durable false. Each payment is one channel_pay call through the node's API code (channel task, \
signatures through the chain plugin, group-committed persistence, QUIC); its latency is the \
time until both parties signed it and it is durable.

(a) one channel, --payments payments one after the other;
(b) --channels channels at once, --per-channel payments on each, one after the other per channel.

Prints updates per second, latency p50/p90/p99/max, and CPU time by thread. After each scenario \
both nodes must agree on every channel's version and balances, or the bench fails. Nothing is kept: the \
temporary directory is removed at the end, also on Ctrl-C.

Example: parley bench channels --config node.toml --channels 100 --payments 2000")]
pub struct ChannelBenchArgs {
    /// The config whose [chain], [wire] and [store] plugins and settings the two nodes use
    /// ([chain] must be the sim chain).
    #[arg(long, short, default_value_os_t = default_config())]
    config: PathBuf,
    /// Which scenarios to run.
    #[arg(long, value_enum, default_value_t = Scenario::Both)]
    scenario: Scenario,
    /// Measured payments on the single channel of scenario (a).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    payments: u64,
    /// Channels paying at once in scenario (b).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
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
}

/// Who pays on a bench channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Direction {
    /// The payer changes every payment.
    Alternate,
    /// Node a always pays.
    OneWay,
}

impl Direction {
    /// The index of the node making payment `n` of a channel whose first payer is `first`.
    pub fn payer(self, first: usize, n: u64) -> usize {
        match self {
            Direction::OneWay => first,
            Direction::Alternate => (first + (n % 2) as usize) % 2,
        }
    }
}

pub fn run(args: ChannelBenchArgs, verbose: bool) -> CliResult {
    let base = NodeConfig::load(&args.config)?;
    crate::lab::config::require_sim_chain(&base).map_err(sim_chain_needed)?;
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers as usize)
        .enable_all()
        .thread_name("parley")
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(async {
        let outcome = match NodePair::start(&mut lab, args.durable).await {
            Ok(pair) => tokio::select! {
                outcome = scenarios(&pair, &args) => outcome,
                _ = tokio::signal::ctrl_c() => Err(CliError::new("interrupted")),
            },
            Err(error) => Err(CliError::lab(error, verbose)),
        };
        lab.shutdown().await;
        outcome
    });
    // Plugin threads may still hold files for a moment; the directory goes with the lab after.
    drop(runtime);
    drop(lab);
    result.map(|()| ExitCode::SUCCESS)
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

/// The alias each node knows the other by.
const ALIASES: [&str; 2] = ["a", "b"];

/// The bench's two nodes, each a peer of the other, each accepting the other's channels.
struct NodePair<'a> {
    lab: &'a InProcess,
    /// Their APIs, in the order of [`ALIASES`].
    apis: [Arc<dyn NodeApi>; 2],
}

impl NodePair<'_> {
    /// Starts both nodes in `lab` and makes each a peer of the other, so either can
    /// (re)connect and pay.
    async fn start(lab: &mut InProcess, durable: bool) -> Result<NodePair<'_>, LabError> {
        let settings = NodeSettings {
            auto_accept: Some(AutoAccept::anyone(Amount::from(DEPOSIT))),
            durable: Some(durable),
            ..NodeSettings::default()
        };
        for alias in ALIASES {
            lab.start(alias, &settings).await?;
        }
        lab.introduce(ALIASES[0], ALIASES[1]).await?;
        lab.introduce(ALIASES[1], ALIASES[0]).await?;
        let apis = ALIASES.map(|alias| lab.api(alias));
        Ok(NodePair { lab, apis })
    }

    /// Both nodes' store committer counters, in the order of [`ALIASES`].
    fn store_stats(&self) -> [CommitStats; 2] {
        ALIASES.map(|alias| self.lab.store_stats(alias))
    }
}

fn print_setup(base: &NodeConfig, args: &ChannelBenchArgs) {
    let name = |plugin: &PluginRef| match plugin {
        PluginRef::Name(name) => name.clone(),
        PluginRef::Path(path) => path.display().to_string(),
    };
    println!(
        "parley {} bench channels: two nodes in this process ({} runtime workers), plugins from {}",
        env!("CARGO_PKG_VERSION"),
        args.workers,
        base.file.display()
    );
    println!(
        "  [chain] {} (shared ledger)   [wire] {} on 127.0.0.1   [store] {}{}",
        name(&base.chain.plugin),
        name(&base.wire.plugin.plugin),
        name(&base.store.plugin),
        if args.durable {
            " durable"
        } else {
            " NOT durable"
        }
    );
    println!(
        "  payments of {AMOUNT} unit, {}; {} warm-up payments per channel first\n",
        match args.direction {
            Direction::Alternate => "alternating a->b, b->a",
            Direction::OneWay => "one way a->b",
        },
        args.warmup
    );
}

async fn scenarios(pair: &NodePair<'_>, args: &ChannelBenchArgs) -> Result<(), CliError> {
    if args.scenario != Scenario::Concurrent {
        single(pair, args).await?;
    }
    if args.scenario != Scenario::Single {
        concurrent(pair, args).await?;
    }
    Ok(())
}

/// Scenario (a): one channel, payments one after the other.
async fn single(pair: &NodePair<'_>, args: &ChannelBenchArgs) -> Result<(), CliError> {
    let opened = open_channels(pair, 1).await?;
    let channel = opened[0].clone();
    let mut paid = [0u64; 2];
    pay_run(
        &pair.apis,
        channel.id,
        args.warmup,
        args.direction,
        0,
        &mut paid,
        None,
    )
    .await?;
    let mut latencies = Vec::with_capacity(args.payments as usize);
    let stores_before = pair.store_stats();
    let cpu_before = ThreadTimes::now();
    let start = Instant::now();
    pay_run(
        &pair.apis,
        channel.id,
        args.payments,
        args.direction,
        // Continue the alternation where the warm-up left it.
        args.direction.payer(0, args.warmup),
        &mut paid,
        Some(&mut latencies),
    )
    .await?;
    let elapsed = start.elapsed();
    let cpu = ThreadTimes::now().since(&cpu_before);
    let stores = group_commits(&stores_before, &pair.store_stats());
    verify(pair, &channel, paid).await?;
    report(
        &format!(
            "(a) one channel, {} payments one after the other",
            args.payments
        ),
        latencies,
        elapsed,
        &cpu,
        &stores,
    );
    Ok(())
}

/// Scenario (b): many channels at once, each paying one payment after the other.
async fn concurrent(pair: &NodePair<'_>, args: &ChannelBenchArgs) -> Result<(), CliError> {
    let count = args.channels as usize;
    let opened = open_channels(pair, count).await?;
    let ready = Arc::new(Barrier::new(count + 1));
    let (go, started) = watch::channel(false);
    let mut tasks = Vec::with_capacity(count);
    for (index, channel) in opened.iter().enumerate() {
        let apis = pair.apis.clone();
        let (id, ready, mut started) = (channel.id, ready.clone(), started.clone());
        let (warmup, payments, direction) = (args.warmup, args.per_channel, args.direction);
        // Half the channels start with b paying, so both nodes propose from the start.
        let first = if direction == Direction::Alternate {
            index % 2
        } else {
            0
        };
        tasks.push(tokio::spawn(async move {
            let mut paid = [0u64; 2];
            let warm = pay_run(&apis, id, warmup, direction, first, &mut paid, None).await;
            // Reach the barrier even after a failure, so the others are not left waiting.
            ready.wait().await;
            warm?;
            let _ = started.wait_for(|go| *go).await;
            let mut latencies = Vec::with_capacity(payments as usize);
            let next = direction.payer(first, warmup);
            pay_run(
                &apis,
                id,
                payments,
                direction,
                next,
                &mut paid,
                Some(&mut latencies),
            )
            .await?;
            Ok::<_, CliError>((latencies, paid))
        }));
    }
    ready.wait().await;
    let stores_before = pair.store_stats();
    let cpu_before = ThreadTimes::now();
    let start = Instant::now();
    let _ = go.send(true);
    let mut latencies = Vec::with_capacity(count * args.per_channel as usize);
    let mut paid = Vec::with_capacity(count);
    let mut failure = None;
    for task in tasks {
        match task.await {
            Ok(Ok((times, by))) => {
                latencies.extend(times);
                paid.push(by);
            }
            Ok(Err(error)) => failure = failure.or(Some(error)),
            Err(error) => {
                failure = failure.or(Some(CliError::new(format!(
                    "a payment task failed: {error}"
                ))))
            }
        }
    }
    let elapsed = start.elapsed();
    let cpu = ThreadTimes::now().since(&cpu_before);
    let stores = group_commits(&stores_before, &pair.store_stats());
    if let Some(error) = failure {
        return Err(error);
    }
    for (channel, by) in opened.iter().zip(paid) {
        verify(pair, channel, by).await?;
    }
    report(
        &format!(
            "(b) {count} channels at once, {} payments on each, one after the other per channel",
            args.per_channel
        ),
        latencies,
        elapsed,
        &cpu,
        &stores,
    );
    Ok(())
}

/// Opens `count` channels from node a to node b at once; returns them funded (as node a sees
/// them), in opening order.
async fn open_channels(pair: &NodePair<'_>, count: usize) -> Result<Vec<ChannelInfo>, CliError> {
    let start = Instant::now();
    let opens = (0..count).map(|_| {
        let api = pair.apis[0].clone();
        tokio::spawn(async move {
            api.channel_open(ChannelOpenRequest {
                peer: ALIASES[1].to_string(),
                mine: Amount::from(DEPOSIT),
                theirs: Amount::from(DEPOSIT),
                asset: None,
                challenge_seconds: None,
                more_assets: Vec::new(),
            })
            .await
        })
    });
    let opens: Vec<_> = opens.collect();
    let mut channels = Vec::with_capacity(count);
    for open in opens {
        let opened = open
            .await
            .map_err(|e| CliError::new(format!("a channel_open task failed: {e}")))?
            .map_err(|e| CliError::new(format!("node a could not open a channel to b: {e}")))?;
        channels.push(opened);
    }
    // `channel_open` returns once node a sees the channel funded; node b's chain watcher may
    // see it a moment later, and refuses payments until then.
    for channel in &channels {
        wait_until_active(&pair.apis[1], channel.id).await?;
    }
    println!(
        "opened and funded {count} channel{} in {:.2} s",
        if count == 1 { "" } else { "s" },
        start.elapsed().as_secs_f64()
    );
    Ok(channels)
}

/// How long node b may take to see a channel funded after node a did.
const FUNDED_WITHIN: Duration = Duration::from_secs(60);

/// Waits until `api`'s node sees `channel` active.
async fn wait_until_active(api: &Arc<dyn NodeApi>, channel: ChannelId) -> Result<(), CliError> {
    let deadline = Instant::now() + FUNDED_WITHIN;
    loop {
        let info = api.channel_get(channel).await;
        match info {
            Ok(info) if info.phase == Some(Phase::Active) => return Ok(()),
            Ok(info) if info.phase > Some(Phase::Active) => {
                return Err(CliError::new(format!(
                    "node b sees channel {channel} {} right after it was opened",
                    info.phase_name()
                )))
            }
            // Not funded yet, or not even known yet: the accept may still be on its way.
            Ok(_) | Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(2)).await
            }
            Ok(info) => {
                return Err(CliError::new(format!(
                    "node b still sees channel {channel} {} {} s after node a saw it funded",
                    info.phase_name(),
                    FUNDED_WITHIN.as_secs()
                )))
            }
            Err(error) => {
                return Err(CliError::new(format!(
                    "node b cannot read channel {channel} {} s after node a opened it: {error}",
                    FUNDED_WITHIN.as_secs()
                )))
            }
        }
    }
}

/// Makes `count` payments on `channel` one after the other, the n-th paid by
/// `direction.payer(first, n)`, adding each payer's count to `paid` and, if given, each
/// payment's latency to `latencies`.
async fn pay_run(
    apis: &[Arc<dyn NodeApi>; 2],
    channel: ChannelId,
    count: u64,
    direction: Direction,
    first: usize,
    paid: &mut [u64; 2],
    mut latencies: Option<&mut Vec<Duration>>,
) -> Result<(), CliError> {
    for n in 0..count {
        let payer = direction.payer(first, n);
        let request = ChannelPayRequest {
            id: channel,
            amount: Amount::from(AMOUNT),
            asset: None,
        };
        let start = Instant::now();
        apis[payer].channel_pay(request).await.map_err(|e| {
            CliError::new(format!(
                "node {} could not pay on channel {channel} (payment {} of {count}): {e}",
                ALIASES[payer],
                n + 1
            ))
        })?;
        if let Some(latencies) = latencies.as_deref_mut() {
            latencies.push(start.elapsed());
        }
        paid[payer] += 1;
    }
    Ok(())
}

/// Checks that both nodes see `channel` at the version and balances its payments make:
/// `paid[i]` payments by node i since it was opened as `opened`.
async fn verify(pair: &NodePair<'_>, opened: &ChannelInfo, paid: [u64; 2]) -> Result<(), CliError> {
    let version = opened.version + paid[0] + paid[1];
    let start = opened
        .balances
        .first()
        .ok_or_else(|| CliError::new(format!("channel {} has no balances", opened.id)))?;
    let moved = |from: u64, to: u64| -> Option<Amount> {
        Amount::from(AMOUNT * to)
            .checked_add(start.mine)?
            .checked_sub(Amount::from(AMOUNT * from))
    };
    // Node a's balance, then node b's, after every payment.
    let a = moved(paid[0], paid[1]);
    let b = start
        .theirs
        .checked_add(Amount::from(AMOUNT * paid[0]))
        .and_then(|x| x.checked_sub(Amount::from(AMOUNT * paid[1])));
    let (Some(a), Some(b)) = (a, b) else {
        return Err(CliError::new(format!(
            "channel {}: the payments made would overdraw it",
            opened.id
        )));
    };
    for (node, (mine, theirs)) in [(0, (a, b)), (1, (b, a))] {
        let seen = pair.apis[node].channel_get(opened.id).await.map_err(|e| {
            CliError::new(format!(
                "node {}: cannot read channel {}: {e}",
                ALIASES[node], opened.id
            ))
        })?;
        let balance = seen.balances.first();
        let as_expected = seen.version == version
            && balance.is_some_and(|row| row.mine == mine && row.theirs == theirs);
        if !as_expected {
            return Err(CliError::new(format!(
                "node {} sees channel {} at version {} with {:?}, but {} payments make version {version} \
                 with mine {mine}, theirs {theirs}: the figures are void",
                ALIASES[node],
                opened.id,
                seen.version,
                seen.balances,
                paid[0] + paid[1]
            )));
        }
    }
    Ok(())
}

fn report(title: &str, latencies: Vec<Duration>, elapsed: Duration, cpu: &CpuUse, stores: &str) {
    println!("{title}:");
    match Summary::of(latencies, elapsed) {
        Some(summary) => println!("  {summary}"),
        None => println!("  nothing was measured"),
    }
    println!("  {}", cpu.describe(elapsed, CPU_GROUPS_SHOWN));
    println!("  {stores}");
    println!("  both nodes agree on every channel's version and balances\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternating_payers_take_turns_from_the_first() {
        let from_a: Vec<usize> = (0..4).map(|n| Direction::Alternate.payer(0, n)).collect();
        assert_eq!(from_a, [0, 1, 0, 1]);
        let from_b: Vec<usize> = (0..4).map(|n| Direction::Alternate.payer(1, n)).collect();
        assert_eq!(from_b, [1, 0, 1, 0]);
    }

    #[test]
    fn one_way_always_pays_from_the_first() {
        assert!((0..5).all(|n| Direction::OneWay.payer(0, n) == 0));
    }
}
