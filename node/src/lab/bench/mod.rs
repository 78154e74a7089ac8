//! The channel bench: payments per second and their latency through two real nodes in this
//! process (an [`InProcess`] lab), with the store durable. `parley bench channels` runs it and
//! prints its figures.
//!
//! Every payment is one `channel_pay` call on the paying node's API (the same code the
//! JSON-RPC server calls, without HTTP): the channel task, the state signed and the peer's
//! signature checked through the chain plugin, each side's write-ahead persist through the
//! store's group committer, and the messages over QUIC. A call returns once the update is
//! signed by both and durable at the payee (the payer's signed proposal too), so its duration
//! is the latency a user sees.
//!
//! [`ChannelBench::single`] pays on one channel, one payment after the other.
//! [`ChannelBench::concurrent`] opens many channels between the same two nodes and pays on all
//! of them at once, each channel still one payment after the other, so the store's group
//! commits and both CPU cores are shared. Warm-up payments on each channel come first and are
//! not measured. After each run both nodes must agree on every channel's version and balances,
//! or the bench fails.
//!
//! [`ChannelBench::virtual_channels`] adds a third node, the intermediary, and measures
//! virtual channels through it (`virtual_channels.rs`).
//!
//! [`restore_run`] restarts a node with many channels and measures its start, its memory per
//! channel and its payments after (`restore.rs`).
//!
//! - [`cpu`]: CPU time of this process's threads, before and after a run.

pub mod cpu;
mod restore;
mod virtual_channels;

pub use restore::{restore_run, RestoreFigures};
pub use virtual_channels::VirtualFigures;

use super::figures::Latencies;
use super::{AutoAccept, InProcess, LabError, NodeSettings};
use crate::api::types::{ChannelInfo, ChannelOpenRequest, ChannelPayRequest};
use crate::api::NodeApi;
use crate::protocol::Phase;
use crate::store::CommitStats;
use cpu::{CpuUse, ThreadTimes};
use parley_plugin_api::model::{Amount, ChannelId};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Barrier};

/// What each side deposits into each bench channel, in base units.
pub const DEPOSIT: u64 = 1_000_000_000;

/// What one payment moves, in base units.
pub const AMOUNT: u64 = 1;

/// The alias each node knows the other by; node a opens the channels.
pub const ALIASES: [&str; 2] = ["a", "b"];

/// The alias of the intermediary of the virtual channel runs, a peer of both.
pub const INTERMEDIARY: &str = "i";

/// How long node b may take to see a channel funded after node a did.
const FUNDED_WITHIN: Duration = Duration::from_secs(60);

/// Who pays on a bench channel (`--direction` of `parley bench channels`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
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

/// How every channel of a run is paid on.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Unmeasured payments on each channel before measuring.
    pub warmup: u64,
    /// Who pays.
    pub direction: Direction,
}

/// Channels just opened and funded, before their payments are measured.
#[derive(Clone, Copy, Debug)]
pub struct Opened {
    /// How many.
    pub count: usize,
    /// From the first proposal until node b saw the last one funded.
    pub took: Duration,
}

/// What one run measured. Both nodes agreed on every channel's version and balances after it.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// The measured payments' latencies and rate; `None` when nothing was measured.
    pub latencies: Option<Latencies>,
    /// Wall time of the measured payments.
    pub elapsed: Duration,
    /// CPU time of this process's threads during them.
    pub cpu: CpuUse,
    /// Both nodes' store committer counters before the measured payments, in the order of
    /// [`ALIASES`].
    pub stores_before: [CommitStats; 2],
    /// And after them.
    pub stores_after: [CommitStats; 2],
}

/// What is read when the measured payments start, to be compared when they end.
struct Stopwatch {
    stores: [CommitStats; 2],
    cpu: ThreadTimes,
    start: Instant,
}

impl Stopwatch {
    /// Starts measuring, with the store counters as they are now.
    fn start(stores: [CommitStats; 2]) -> Stopwatch {
        Stopwatch {
            stores,
            cpu: ThreadTimes::now(),
            start: Instant::now(),
        }
    }

    /// What the payments with `latencies` measured, the store counters being `stores` now.
    fn stop(self, latencies: Vec<Duration>, stores: [CommitStats; 2]) -> Measurement {
        let elapsed = self.start.elapsed();
        let cpu = ThreadTimes::now().since(&self.cpu);
        Measurement {
            latencies: Latencies::of(latencies, elapsed),
            elapsed,
            cpu,
            stores_before: self.stores,
            stores_after: stores,
        }
    }
}

/// The bench's two nodes, each a peer of the other, each accepting the other's channels.
pub struct ChannelBench<'a> {
    lab: &'a InProcess,
    /// Their APIs, in the order of [`ALIASES`].
    apis: [Arc<dyn NodeApi>; 2],
    /// The intermediary's, if it was started (a peer of both, accepting their channels).
    intermediary: Option<Arc<dyn NodeApi>>,
}

impl ChannelBench<'_> {
    /// Starts both nodes in `lab`, their lmdb stores `durable` or not, and makes each a peer
    /// of the other, so either can (re)connect and pay; with `intermediary`, also node
    /// [`INTERMEDIARY`], a peer of both.
    pub async fn start(
        lab: &mut InProcess,
        durable: bool,
        intermediary: bool,
    ) -> Result<ChannelBench<'_>, LabError> {
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
        if intermediary {
            let hub = NodeSettings {
                serve_hub: true,
                ..settings.clone()
            };
            lab.start(INTERMEDIARY, &hub).await?;
            for alias in ALIASES {
                lab.introduce(alias, INTERMEDIARY).await?;
                lab.introduce(INTERMEDIARY, alias).await?;
            }
        }
        let apis = ALIASES.map(|alias| lab.api(alias));
        let intermediary = intermediary.then(|| lab.api(INTERMEDIARY));
        Ok(ChannelBench {
            lab,
            apis,
            intermediary,
        })
    }

    /// Both nodes' store committer counters, in the order of [`ALIASES`].
    fn store_stats(&self) -> [CommitStats; 2] {
        ALIASES.map(|alias| self.lab.store_stats(alias))
    }

    /// One channel, `payments` measured payments one after the other; `opened` hears when the
    /// channel is funded.
    pub async fn single(
        &self,
        load: Load,
        payments: u64,
        opened: impl FnOnce(Opened),
    ) -> Result<Measurement, LabError> {
        let channels = self.open_channels(1, opened).await?;
        let channel = channels[0].clone();
        let (measured, paid) = self.measured_payments(channel.id, load, payments).await?;
        self.verify(&channel, paid).await?;
        Ok(measured)
    }

    /// `load.warmup` unmeasured, then `payments` measured payments on `channel` one after the
    /// other; returns what was measured and how many each node paid.
    async fn measured_payments(
        &self,
        channel: ChannelId,
        load: Load,
        payments: u64,
    ) -> Result<(Measurement, [u64; 2]), LabError> {
        let mut paid = [0u64; 2];
        pay_run(
            &self.apis,
            channel,
            load.warmup,
            load.direction,
            0,
            &mut paid,
            None,
        )
        .await?;
        let mut latencies = Vec::with_capacity(payments as usize);
        let stopwatch = Stopwatch::start(self.store_stats());
        pay_run(
            &self.apis,
            channel,
            payments,
            load.direction,
            // Continue the alternation where the warm-up left it.
            load.direction.payer(0, load.warmup),
            &mut paid,
            Some(&mut latencies),
        )
        .await?;
        Ok((stopwatch.stop(latencies, self.store_stats()), paid))
    }

    /// `count` channels at once, `per_channel` measured payments on each, one after the
    /// other per channel; `opened` hears when the channels are funded.
    pub async fn concurrent(
        &self,
        load: Load,
        count: usize,
        per_channel: u64,
        opened: impl FnOnce(Opened),
    ) -> Result<Measurement, LabError> {
        let funded = self.open_channels(count, opened).await?;
        let ready = Arc::new(Barrier::new(count + 1));
        let (go, started) = watch::channel(false);
        let mut tasks = Vec::with_capacity(count);
        for (index, channel) in funded.iter().enumerate() {
            let apis = self.apis.clone();
            let (id, ready, mut started) = (channel.id, ready.clone(), started.clone());
            let (warmup, direction) = (load.warmup, load.direction);
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
                let mut latencies = Vec::with_capacity(per_channel as usize);
                let next = direction.payer(first, warmup);
                pay_run(
                    &apis,
                    id,
                    per_channel,
                    direction,
                    next,
                    &mut paid,
                    Some(&mut latencies),
                )
                .await?;
                Ok::<_, LabError>((latencies, paid))
            }));
        }
        ready.wait().await;
        let stopwatch = Stopwatch::start(self.store_stats());
        let _ = go.send(true);
        let mut latencies = Vec::with_capacity(count * per_channel as usize);
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
                    failure = failure.or(Some(LabError::failed(format!(
                        "a payment task failed: {error}"
                    ))))
                }
            }
        }
        let measured = stopwatch.stop(latencies, self.store_stats());
        if let Some(error) = failure {
            return Err(error);
        }
        for (channel, by) in funded.iter().zip(paid) {
            self.verify(channel, by).await?;
        }
        Ok(measured)
    }

    /// One channel on which `callers` callers pay node b at once, `per_caller` measured
    /// payments each (after `load.warmup` unmeasured ones, one after the other): what the
    /// channel makes of payments that queue up behind each other. Also how many updates the
    /// measured payments took (those that queued went together).
    pub async fn callers(
        &self,
        load: Load,
        callers: usize,
        per_caller: u64,
        opened: impl FnOnce(Opened),
    ) -> Result<(Measurement, u64), LabError> {
        let channel = self.open_channels(1, opened).await?[0].clone();
        let mut paid = [0u64; 2];
        pay_run(
            &self.apis,
            channel.id,
            load.warmup,
            Direction::OneWay,
            0,
            &mut paid,
            None,
        )
        .await?;
        let stopwatch = Stopwatch::start(self.store_stats());
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let apis = self.apis.clone();
                let id = channel.id;
                tokio::spawn(async move {
                    let mut paid = [0u64; 2];
                    let mut latencies = Vec::with_capacity(per_caller as usize);
                    pay_run(
                        &apis,
                        id,
                        per_caller,
                        Direction::OneWay,
                        0,
                        &mut paid,
                        Some(&mut latencies),
                    )
                    .await
                    .map(|()| (latencies, paid))
                })
            })
            .collect();
        let mut latencies = Vec::with_capacity(callers * per_caller as usize);
        let mut failure = None;
        for task in tasks {
            match task.await {
                Ok(Ok((times, by))) => {
                    latencies.extend(times);
                    paid[0] += by[0];
                }
                Ok(Err(error)) => failure = failure.or(Some(error)),
                Err(error) => {
                    failure = failure.or(Some(LabError::failed(format!(
                        "a paying task failed: {error}"
                    ))))
                }
            }
        }
        let measured = stopwatch.stop(latencies, self.store_stats());
        if let Some(error) = failure {
            return Err(error);
        }
        let version = self
            .verify_updates(&channel, paid, Updates::Batched)
            .await?;
        Ok((measured, version - channel.version - load.warmup))
    }

    /// One ledger channel, then `count` sub-channels opened inside it one after the other
    /// (each locks one unit of each side's balance; no transaction): the latency of each
    /// opening, from the proposal until both nodes see the sub-channel active.
    pub async fn sub_channel_opens(
        &self,
        count: usize,
        opened: impl FnOnce(Opened),
    ) -> Result<Measurement, LabError> {
        let parent = self.open_channels(1, opened).await?[0].id;
        let mut latencies = Vec::with_capacity(count);
        let stopwatch = Stopwatch::start(self.store_stats());
        for _ in 0..count {
            let begun = Instant::now();
            let child = self.apis[0]
                .channel_open(ChannelOpenRequest {
                    parent: Some(parent),
                    ..open_request(ALIASES[1], AMOUNT, AMOUNT)
                })
                .await
                .map_err(|e| {
                    LabError::failed(format!("node a could not open a sub-channel: {e}"))
                })?;
            wait_until_active(&self.apis[1], child.id).await?;
            latencies.push(begun.elapsed());
        }
        let measured = stopwatch.stop(latencies, self.store_stats());
        for api in &self.apis {
            let locks = api
                .channel_get(parent)
                .await
                .map_err(|e| LabError::failed(format!("cannot read the parent channel: {e}")))?
                .sub_channels
                .len();
            if locks != count {
                return Err(LabError::failed(format!(
                    "the parent locks {locks} sub-channels, expected {count}"
                )));
            }
        }
        Ok(measured)
    }

    /// Opens `count` channels from node a to node b at once; returns them funded (as node a
    /// sees them), in opening order.
    async fn open_channels(
        &self,
        count: usize,
        opened: impl FnOnce(Opened),
    ) -> Result<Vec<ChannelInfo>, LabError> {
        let start = Instant::now();
        let channels = self.open_at_once(count).await?;
        // `channel_open` returns once node a sees the channel funded; node b's chain watcher
        // may see it a moment later, and refuses payments until then.
        for channel in &channels {
            wait_until_active(&self.apis[1], channel.id).await?;
        }
        opened(Opened {
            count,
            took: start.elapsed(),
        });
        Ok(channels)
    }

    /// Opens `count` channels from node a to node b at once; returns them as node a sees them
    /// funded, in opening order.
    async fn open_at_once(&self, count: usize) -> Result<Vec<ChannelInfo>, LabError> {
        let opens: Vec<_> = (0..count)
            .map(|_| {
                let api = self.apis[0].clone();
                tokio::spawn(async move {
                    api.channel_open(open_request(ALIASES[1], DEPOSIT, DEPOSIT))
                        .await
                })
            })
            .collect();
        let mut channels = Vec::with_capacity(count);
        for open in opens {
            let channel = open
                .await
                .map_err(|e| LabError::failed(format!("a channel_open task failed: {e}")))?
                .map_err(|e| {
                    LabError::failed(format!("node a could not open a channel to b: {e}"))
                })?;
            channels.push(channel);
        }
        Ok(channels)
    }

    /// Checks that both nodes see `channel` at the version and balances its payments make:
    /// `paid[i]` payments by node i since it was opened as `opened`, one update each.
    async fn verify(&self, opened: &ChannelInfo, paid: [u64; 2]) -> Result<(), LabError> {
        self.verify_updates(opened, paid, Updates::OnePerPayment)
            .await
            .map(|_| ())
    }

    /// [`Bench::verify`], where `updates` says how many updates the payments may have taken;
    /// the version both nodes see.
    async fn verify_updates(
        &self,
        opened: &ChannelInfo,
        paid: [u64; 2],
        updates: Updates,
    ) -> Result<u64, LabError> {
        let version = opened.version + paid[0] + paid[1];
        let mut seen_version = opened.version;
        let start = opened
            .balances
            .first()
            .ok_or_else(|| LabError::failed(format!("channel {} has no balances", opened.id)))?;
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
            return Err(LabError::failed(format!(
                "channel {}: the payments made would overdraw it",
                opened.id
            )));
        };
        for (node, (mine, theirs)) in [(0, (a, b)), (1, (b, a))] {
            let seen = self.apis[node].channel_get(opened.id).await.map_err(|e| {
                LabError::failed(format!(
                    "node {}: cannot read channel {}: {e}",
                    ALIASES[node], opened.id
                ))
            })?;
            let balance = seen.balances.first();
            let version_fits = match updates {
                Updates::OnePerPayment => seen.version == version,
                // Batched: at least one update if anything was paid, at most one per payment.
                Updates::Batched => {
                    seen.version <= version
                        && (seen.version > opened.version || version == opened.version)
                }
            };
            let as_expected =
                version_fits && balance.is_some_and(|row| row.mine == mine && row.theirs == theirs);
            if !as_expected {
                return Err(LabError::failed(format!(
                    "node {} sees channel {} at version {} with {:?}, but {} payments make version {version} \
                     ({updates:?}) with mine {mine}, theirs {theirs}: the figures are void",
                    ALIASES[node],
                    opened.id,
                    seen.version,
                    seen.balances,
                    paid[0] + paid[1]
                )));
            }
            seen_version = seen.version;
        }
        Ok(seen_version)
    }
}

/// How many updates the payments [`Bench::verify_updates`] checks may have taken.
#[derive(Clone, Copy, Debug)]
enum Updates {
    /// One each: they went one after the other.
    OnePerPayment,
    /// Fewer: payments that queued up went together (`protocol::update_queue`).
    Batched,
}

/// A request to open a payment channel of the chain's first asset with `peer` (an alias or a
/// node id), funded on chain with `mine` and `theirs` base units.
fn open_request(peer: &str, mine: u64, theirs: u64) -> ChannelOpenRequest {
    ChannelOpenRequest::payment(peer, Amount::from(mine), Amount::from(theirs))
}

/// Waits until `api`'s node sees `channel` active.
pub(super) async fn wait_until_active(
    api: &Arc<dyn NodeApi>,
    channel: ChannelId,
) -> Result<(), LabError> {
    let deadline = Instant::now() + FUNDED_WITHIN;
    loop {
        let info = api.channel_get(channel).await;
        match info {
            Ok(info) if info.phase == Some(Phase::Active) => return Ok(()),
            Ok(info) if info.phase > Some(Phase::Active) => {
                return Err(LabError::failed(format!(
                    "node b sees channel {channel} {} right after it was opened",
                    info.phase_name()
                )))
            }
            // Not funded yet, or not even known yet: the accept may still be on its way.
            Ok(_) | Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(2)).await
            }
            Ok(info) => {
                return Err(LabError::failed(format!(
                    "node b still sees channel {channel} {} {} s after node a saw it funded",
                    info.phase_name(),
                    FUNDED_WITHIN.as_secs()
                )))
            }
            Err(error) => {
                return Err(LabError::failed(format!(
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
) -> Result<(), LabError> {
    for n in 0..count {
        let payer = direction.payer(first, n);
        let request = ChannelPayRequest {
            id: channel,
            amount: Amount::from(AMOUNT),
            asset: None,
            payment: None,
        };
        let start = Instant::now();
        apis[payer].channel_pay(request).await.map_err(|e| {
            LabError::failed(format!(
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
