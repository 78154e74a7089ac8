//! The payment load: `count` payments in each direction at once, with up to `in_flight`
//! `channel_pay` calls outstanding per direction (the node's channel task queues them and
//! signs one update at a time), and the latency of every call.
//!
//! When both sides propose an update at the same moment, the protocol lets the lower
//! participant index (alice, the proposer of the channel) win and the node retries the loser
//! once; if it loses again the call fails with `conflict`. Such a payment changed nothing, so
//! it is safe to ask again: the demo does, for as long as [`CONFLICT_PATIENCE`], and counts
//! each retry. Any other failure ends the run.

use super::Meter;
use crate::api::client::{ApiClient, ClientError};
use crate::api::types::{ChannelInfo, ChannelPayRequest};
use crate::api::ErrorCategory;
use crate::lab::{LabError, StartedNode};
use parley_plugin_api::model::{Amount, ChannelId};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// How long a payment that keeps losing concurrent races is asked again before the run
/// fails. While the winning side has payments queued, the other side can lose every race, so
/// this is a time (the winner's queue drains) rather than a count.
const CONFLICT_PATIENCE: Duration = Duration::from_secs(120);

/// How often the meter hears of the progress.
const REFRESH: Duration = Duration::from_millis(100);

/// One direction: who pays, how much each time, how many times.
pub struct Direction {
    /// `alice -> bob`.
    pub label: String,
    /// The paying node.
    pub payer: StartedNode,
    /// Each payment, in base units.
    pub amount: Amount,
    /// How many.
    pub count: u64,
}

/// What one direction achieved.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// From the start until its last payment was answered.
    pub elapsed: Duration,
    /// The latency of each payment call (including conflict retries).
    pub latencies: Vec<Duration>,
    /// Calls repeated after a `conflict`.
    pub retries: u64,
}

/// The counters the workers of one direction share.
struct Shared {
    client: Arc<ApiClient>,
    /// The `channel_pay` parameters, the same for every payment of the direction.
    params: Value,
    label: String,
    count: u64,
    /// Payments handed out to workers.
    issued: AtomicU64,
    /// Payments answered.
    done: AtomicU64,
}

/// What one worker brings back.
struct WorkerReport {
    direction: usize,
    latencies: Vec<Duration>,
    retries: u64,
    finished: Instant,
}

/// Makes every payment of `directions`, concurrently, telling `meter` how many are done.
/// Returns the outcome per direction, in the same order. The first failure ends the run: the
/// calls still running are abandoned, and the nodes complete or drop those updates on their
/// own. The meter is dropped when the payments end, however they end.
pub async fn pay(
    channel: ChannelId,
    asset: &str,
    directions: &[Direction],
    in_flight: usize,
    mut meter: Box<dyn Meter>,
) -> Result<Vec<Outcome>, LabError> {
    let shared = directions
        .iter()
        .map(|d| {
            let request = ChannelPayRequest {
                id: channel,
                amount: d.amount,
                asset: Some(asset.to_owned()),
                payment: None,
            };
            let params = serde_json::to_value(&request).map_err(|e| {
                LabError::failed(format!("cannot encode the channel_pay request: {e}"))
            })?;
            Ok(Arc::new(Shared {
                client: d.payer.client.clone(),
                params,
                label: d.label.clone(),
                count: d.count,
                issued: AtomicU64::new(0),
                done: AtomicU64::new(0),
            }))
        })
        .collect::<Result<Vec<_>, LabError>>()?;
    let started = Instant::now();

    // Dropping the set (on an error, or when the demo is interrupted) aborts every call.
    let mut workers = JoinSet::new();
    for (index, direction) in shared.iter().enumerate() {
        let count = usize::try_from(direction.count).unwrap_or(usize::MAX);
        for _ in 0..in_flight.min(count) {
            workers.spawn(worker(index, direction.clone()));
        }
    }
    let mut outcomes: Vec<Outcome> = shared
        .iter()
        .map(|_| Outcome {
            elapsed: Duration::ZERO,
            latencies: Vec::new(),
            retries: 0,
        })
        .collect();
    let done = || shared.iter().map(|s| s.done.load(Ordering::Relaxed)).sum();
    let mut refresh = tokio::time::interval(REFRESH);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            joined = workers.join_next() => {
                let Some(joined) = joined else { break };
                let report = joined
                    .map_err(|e| LabError::failed(format!("a payment task failed: {e}")))??;
                let outcome = &mut outcomes[report.direction];
                outcome.latencies.extend(report.latencies);
                outcome.retries += report.retries;
                outcome.elapsed = outcome.elapsed.max(report.finished - started);
            }
            _ = refresh.tick() => meter.update(done(), started.elapsed()),
        }
    }
    meter.update(done(), started.elapsed());
    Ok(outcomes)
}

/// Takes payments of its direction one at a time until all are handed out.
async fn worker(direction: usize, shared: Arc<Shared>) -> Result<WorkerReport, LabError> {
    let mut latencies = Vec::new();
    let mut retries = 0;
    loop {
        let number = shared.issued.fetch_add(1, Ordering::Relaxed);
        if number >= shared.count {
            break;
        }
        let start = Instant::now();
        loop {
            match shared
                .client
                .call::<ChannelInfo>("channel_pay", shared.params.clone())
                .await
            {
                Ok(_) => break,
                Err(ClientError::Api(e))
                    if e.category == ErrorCategory::Conflict
                        && start.elapsed() < CONFLICT_PATIENCE =>
                {
                    retries += 1;
                }
                Err(e) => {
                    return Err(LabError::failed(format!(
                        "payment {} of {} ({}) failed: {e}",
                        number + 1,
                        shared.count,
                        shared.label
                    )))
                }
            }
        }
        latencies.push(start.elapsed());
        shared.done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(WorkerReport {
        direction,
        latencies,
        retries,
        finished: Instant::now(),
    })
}
