//! Virtual channels in the channel bench: node a and node b each open a ledger channel with the
//! intermediary i (funded on the sim chain), then a opens virtual channels with b through i
//! one after the other, each timed from the proposal until b sees it active (no transaction:
//! i checks and forwards the proposal, both ledger channels lock its funds); then the last one
//! carries payments between a and b directly, measured like the single channel's.

use super::{
    open_request, wait_until_active, ChannelBench, Load, Measurement, Opened, Stopwatch, ALIASES,
    DEPOSIT, INTERMEDIARY,
};
use crate::api::types::{ChannelInfo, ChannelOpenRequest};
use crate::api::NodeApi;
use crate::lab::LabError;
use parley_plugin_api::model::ChannelId;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What each end puts into each virtual channel, in base units.
const VIRTUAL_DEPOSIT: u64 = 100_000;

/// What the virtual channel run measured.
#[derive(Clone, Debug)]
pub struct VirtualFigures {
    /// The openings, one after the other (each a "payment" of the latency line).
    pub opens: Measurement,
    /// The payments on the last virtual channel.
    pub payments: Measurement,
}

impl ChannelBench<'_> {
    /// Ledger channels a–i and i–b, then `count` virtual channels a–b through i opened one
    /// after the other, then `payments` measured payments (after `load.warmup` unmeasured
    /// ones) on the last of them. Both ends must agree on its version afterwards, and both
    /// ledger channels of i must lock every virtual channel.
    pub async fn virtual_channels(
        &self,
        load: Load,
        count: usize,
        payments: u64,
        opened: impl FnOnce(Opened),
    ) -> Result<VirtualFigures, LabError> {
        let intermediary = self.intermediary.clone().ok_or_else(|| {
            LabError::failed("the bench was started without an intermediary".to_string())
        })?;
        let start = Instant::now();
        let left = open_ledger(&self.apis[0], &intermediary, INTERMEDIARY).await?;
        let right = open_ledger(&intermediary, &self.apis[1], ALIASES[1]).await?;
        opened(Opened {
            count: 2,
            took: start.elapsed(),
        });
        let b_node = self.apis[1]
            .node_info()
            .await
            .map_err(|e| LabError::failed(format!("node b cannot say who it is: {e}")))?
            .node_id;
        let mut latencies = Vec::with_capacity(count);
        let mut last = None;
        let stopwatch = Stopwatch::start(self.store_stats());
        for _ in 0..count {
            let begun = Instant::now();
            let channel = self.apis[0]
                .channel_open(ChannelOpenRequest {
                    via: Some(left.id),
                    ..open_request(&b_node.to_string(), VIRTUAL_DEPOSIT, VIRTUAL_DEPOSIT)
                })
                .await
                .map_err(|e| {
                    LabError::failed(format!(
                        "node a could not open a virtual channel with b through i: {e}"
                    ))
                })?;
            wait_until_active(&self.apis[1], channel.id).await?;
            latencies.push(begun.elapsed());
            last = Some(channel.id);
        }
        let opens = stopwatch.stop(latencies, self.store_stats());
        for ledger in [left.id, right.id] {
            let locks = sub_channels(&intermediary, ledger, count).await?;
            if locks != count {
                return Err(LabError::failed(format!(
                    "the intermediary's ledger channel {ledger} locks {locks} virtual channels, \
                     expected {count}"
                )));
            }
        }
        let channel = last.ok_or_else(|| LabError::failed("no virtual channel was opened"))?;
        let (payments, paid) = self.measured_payments(channel, load, payments).await?;
        self.agree(channel, paid[0] + paid[1]).await?;
        Ok(VirtualFigures { opens, payments })
    }

    /// Both ends see `channel` at version `updates` (it opened at 0).
    async fn agree(&self, channel: ChannelId, updates: u64) -> Result<(), LabError> {
        for (node, api) in self.apis.iter().enumerate() {
            let seen = api.channel_get(channel).await.map_err(|e| {
                LabError::failed(format!(
                    "node {}: cannot read virtual channel {channel}: {e}",
                    ALIASES[node]
                ))
            })?;
            if seen.version != updates {
                return Err(LabError::failed(format!(
                    "node {} sees virtual channel {channel} at version {}, but {updates} \
                     payments make version {updates}: the figures are void",
                    ALIASES[node], seen.version
                )));
            }
        }
        Ok(())
    }
}

/// Opens a ledger channel from `from` to the peer it knows as `to_alias` (whose API is `to`),
/// each depositing [`DEPOSIT`]; returns once both see it active.
async fn open_ledger(
    from: &Arc<dyn NodeApi>,
    to: &Arc<dyn NodeApi>,
    to_alias: &str,
) -> Result<ChannelInfo, LabError> {
    let channel = from
        .channel_open(open_request(to_alias, DEPOSIT, DEPOSIT))
        .await
        .map_err(|e| {
            LabError::failed(format!("cannot open a ledger channel to {to_alias}: {e}"))
        })?;
    wait_until_active(to, channel.id).await?;
    Ok(channel)
}

/// How many sub-channels (here: virtual channels) `api`'s node sees `channel` lock, waiting
/// up to 10 s for `expected` (the lock of the last one may still be on its way).
async fn sub_channels(
    api: &Arc<dyn NodeApi>,
    channel: ChannelId,
    expected: usize,
) -> Result<usize, LabError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = api
            .channel_get(channel)
            .await
            .map_err(|e| LabError::failed(format!("cannot read ledger channel {channel}: {e}")))?
            .sub_channels
            .len();
        if seen == expected || Instant::now() >= deadline {
            return Ok(seen);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
