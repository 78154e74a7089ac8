//! The restore run of `parley bench channels --scenario restore` (issue #15, goal 5): node a,
//! with many channels to node b, is stopped and started again. It measures how long the start
//! takes with every channel restored (the node answers once they are), how much resident
//! memory the restored node holds per channel, and then payments from node a on channels
//! spread over all of them, one after the other.

use super::{pay_run, wait_until_active, ChannelBench, Direction, Measurement, Stopwatch, ALIASES};
use crate::api::NodeApi;
use crate::lab::{InProcess, LabError};
use parley_plugin_api::model::ChannelId;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Channels opened at once while the run sets up (more at once only queue up behind each
/// other in the proposals' limits).
const OPEN_AT_ONCE: usize = 100;

/// How long node a's channels may take to re-synchronise after its restart before the run
/// fails (10,000 channels take a few seconds: waves of 512, paced).
const RESYNC_WITHIN: Duration = Duration::from_secs(120);

/// What the restore run measured.
#[derive(Clone, Debug)]
pub struct RestoreFigures {
    /// Channels node a had when it stopped.
    pub channels: usize,
    /// How long opening and funding them took (setup, not the figure of interest).
    pub opened: Duration,
    /// From starting node a again until it answered with every channel restored.
    pub restart: Duration,
    /// From then until every channel of node a had re-synchronised with node b (in waves,
    /// paced to stay within the peer's frame budget): the payments are measured after it.
    pub resynced: Duration,
    /// The resident memory the process gained by the restart, in bytes (`None` where the
    /// operating system does not say).
    pub memory_growth: Option<u64>,
    /// The payments made after the restart, on channels spread over all of them: the first
    /// on each channel since the restart (its proposal leaves while its record is written
    /// only because the node recorded the version the restart spent,
    /// `assembly::restore::record_restart_spent`).
    pub payments: Measurement,
    /// As many payments again on the same channels, in the same order: each channel's second
    /// since the restart, the steady state.
    pub again: Measurement,
}

impl ChannelBench<'_> {
    /// Opens `count` channels from node a to node b, [`OPEN_AT_ONCE`] at a time; returns
    /// their ids once node b sees every one active.
    async fn open_many(&self, count: usize) -> Result<Vec<ChannelId>, LabError> {
        let mut ids = Vec::with_capacity(count);
        while ids.len() < count {
            let batch = OPEN_AT_ONCE.min(count - ids.len());
            ids.extend(self.open_at_once(batch).await?.into_iter().map(|c| c.id));
        }
        for id in &ids {
            wait_until_active(&self.apis[1], *id).await?;
        }
        Ok(ids)
    }
}

/// Starts nodes a and b in `lab` (stores `durable` or not), opens `count` channels, restarts
/// node a and measures it (module documentation), then makes `payments` payments from node a,
/// each on the next of the channels taken with a stride that visits all of them.
pub async fn restore_run(
    lab: &mut InProcess,
    durable: bool,
    count: usize,
    payments: u64,
) -> Result<RestoreFigures, LabError> {
    let begun = Instant::now();
    let ids = {
        let bench = ChannelBench::start(lab, durable, false).await?;
        bench.open_many(count).await?
    };
    let opened = begun.elapsed();
    lab.stop(ALIASES[0]).await;
    let before = resident_bytes();
    let begun = Instant::now();
    lab.restart(ALIASES[0]).await?;
    let restart = begun.elapsed();
    let memory_growth = resident_bytes()
        .zip(before)
        .map(|(after, before)| after.saturating_sub(before));
    let apis: [Arc<dyn NodeApi>; 2] = ALIASES.map(|alias| lab.api(alias));
    let restored = apis[0]
        .channel_list(crate::api::types::ChannelListRequest { closed: false })
        .await
        .map_err(|e| LabError::failed(format!("node a cannot list its channels: {e}")))?
        .len();
    if restored != count {
        return Err(LabError::failed(format!(
            "node a restored {restored} channels, expected {count}"
        )));
    }
    let begun = Instant::now();
    let deadline = begun + RESYNC_WITHIN;
    // Every channel is told its peer is back (in waves) and re-synchronises.
    loop {
        if lab.unsynced_channels(ALIASES[0]).await == 0 {
            break;
        }
        if Instant::now() > deadline {
            return Err(LabError::failed(format!(
                "node a's channels did not re-synchronise within {} s of its restart",
                RESYNC_WITHIN.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let resynced = begun.elapsed();
    let stores = || ALIASES.map(|alias| lab.store_stats(alias));
    // A stride coprime to the count visits every channel before any twice.
    let stride = coprime_stride(count);
    let mut paid_on = vec![0u64; count];
    let stopwatch = Stopwatch::start(stores());
    let latencies = pay_round(&apis, &ids, stride, payments, &mut paid_on).await?;
    let measured = stopwatch.stop(latencies, stores());
    let stopwatch = Stopwatch::start(stores());
    let latencies = pay_round(&apis, &ids, stride, payments, &mut paid_on).await?;
    let again = stopwatch.stop(latencies, stores());
    for (index, times) in paid_on.iter().enumerate().filter(|(_, t)| **t > 0) {
        let versions = [
            version(&apis[0], ids[index]).await?,
            version(&apis[1], ids[index]).await?,
        ];
        if versions[0] != versions[1] || versions[0] < *times {
            return Err(LabError::failed(format!(
                "channel {}: node a is at version {}, node b at {}, after {times} payments",
                ids[index], versions[0], versions[1]
            )));
        }
    }
    Ok(RestoreFigures {
        channels: count,
        opened,
        restart,
        resynced,
        memory_growth,
        payments: measured,
        again,
    })
}

/// Makes `payments` payments from node a, one after the other, each on the next of `ids`
/// taken with `stride`; counts them in `paid_on` and returns their latencies.
async fn pay_round(
    apis: &[Arc<dyn NodeApi>; 2],
    ids: &[ChannelId],
    stride: usize,
    payments: u64,
    paid_on: &mut [u64],
) -> Result<Vec<Duration>, LabError> {
    let mut latencies = Vec::with_capacity(payments as usize);
    for n in 0..payments as usize {
        let index = (n * stride) % ids.len();
        let mut paid = [0u64; 2];
        pay_run(
            apis,
            ids[index],
            1,
            Direction::OneWay,
            0,
            &mut paid,
            Some(&mut latencies),
        )
        .await?;
        paid_on[index] += 1;
    }
    Ok(latencies)
}

/// The version of channel `id` as `api`'s node sees it.
async fn version(api: &Arc<dyn NodeApi>, id: ChannelId) -> Result<u64, LabError> {
    Ok(api
        .channel_get(id)
        .await
        .map_err(|e| LabError::failed(format!("cannot read channel {id}: {e}")))?
        .version)
}

/// A step through `count` items that visits all of them before any twice, and far apart.
fn coprime_stride(count: usize) -> usize {
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    (count / 3..count)
        .chain(1..count / 3)
        .find(|&s| s > 0 && gcd(s, count) == 1)
        .unwrap_or(1)
}

/// This process's resident memory in bytes (Linux `/proc/self/statm`, pages of 4 KiB).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::coprime_stride;

    #[test]
    fn the_stride_visits_every_channel_once_per_round() {
        for count in [1, 2, 7, 10, 100, 10_000] {
            let stride = coprime_stride(count);
            let mut seen = vec![false; count];
            for n in 0..count {
                seen[(n * stride) % count] = true;
            }
            assert!(seen.iter().all(|s| *s), "count {count}, stride {stride}");
        }
    }
}
