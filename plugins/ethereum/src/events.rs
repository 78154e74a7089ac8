//! Event delivery: the node's logs of the Adjudicator's `ChannelUpdate` and the asset holders'
//! `Deposited` as an [`EventSource`] for plugin-api's [`EventPoller`], whose thread
//! (`parley-eth-events`) polls them for the watched channels from a block cursor and emits them
//! in chain order through the host's event sink. Positions are block numbers.
//!
//! Only blocks with the configured confirmations are read, so an event is reported once it is
//! as deep as a transaction must be before a call returns (with `confirmations = 1` a reorg can
//! still undo a reported event; choose the depth for the chain's finality). `watch` reads the
//! channel's record at the newest confirmed block, and the channel's events are reported from
//! the next block on: the record comes first, and no event it already covers is repeated.
//!
//! `Deposited` carries a funding id, which only the channel's participants give: the backend
//! remembers them from every call that names the channel's parameters (`channel_id`, `fund`,
//! `register`, ...). Deposits of a channel whose parameters this instance never saw are not
//! reported (its dispute records are).

use crate::abi::{self, events, functions, keccak256};
use crate::backend::{phase, read_dispute};
use crate::rpc::Rpc;
use ethers_core::abi::Token;
use ethers_core::types::{Filter, H160, H256, U256};
use parley_plugin_api::model::{Asset, ChainEvent, ChannelId, Dispute, Participant};
use parley_plugin_api::poller::{Batch, EventPoller, EventSource, PollerConfig, Watched};
use parley_plugin_api::{Host, PluginError, PluginResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most blocks one `eth_getLogs` spans (public nodes refuse wider ranges).
pub(crate) const MAX_RANGE: u64 = 2_000;

/// The participants of every channel this instance has seen the parameters of.
#[derive(Default)]
pub struct Channels {
    participants: Mutex<HashMap<ChannelId, Vec<Participant>>>,
}

impl Channels {
    /// Keeps `participants` of channel `id`.
    pub fn remember(&self, id: ChannelId, participants: &[Participant]) {
        let mut map = self
            .participants
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        map.entry(id).or_insert_with(|| participants.to_vec());
    }

    fn participants(&self, id: &ChannelId) -> Vec<Participant> {
        let map = self
            .participants
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        map.get(id).cloned().unwrap_or_default()
    }
}

/// Follows the logs for the watched channels of one instance.
pub type Watcher = EventPoller<Logs>;

/// A watcher with nothing watched (no thread yet), polling every `poll`.
pub fn watcher(
    rpc: Arc<Rpc>,
    channels: Arc<Channels>,
    host: Host,
    adjudicator: H160,
    holders: Vec<(H160, Asset)>,
    poll: Duration,
) -> Watcher {
    let logs = Logs {
        rpc,
        channels,
        adjudicator,
        holders,
    };
    let config = PollerConfig {
        backend: "ethereum",
        thread: "parley-eth-events",
        interval: poll,
    };
    EventPoller::new(logs, host, config)
}

/// The contracts' event logs, read at most [`MAX_RANGE`] confirmed blocks at a time.
pub struct Logs {
    rpc: Arc<Rpc>,
    channels: Arc<Channels>,
    adjudicator: H160,
    holders: Vec<(H160, Asset)>,
}

pub(crate) fn topic(signature: &str) -> H256 {
    H256(keccak256(&[signature.as_bytes()]))
}

/// A 32-byte word of log data as a u64 (the low bytes; the contracts' fields are uint64/uint8).
fn word_u64(data: &[u8], index: usize) -> Option<u64> {
    let word = data.get(index * 32..(index + 1) * 32)?;
    Some(U256::from_big_endian(word).low_u64())
}

impl EventSource for Logs {
    fn record(&self, channel: &ChannelId) -> PluginResult<(Option<Dispute>, u64)> {
        let head = self.rpc.confirmed_block()?;
        let record = read_dispute(&self.rpc, self.adjudicator, channel, head)?;
        Ok((record, head + 1))
    }

    /// The watched channels' events from block `from` up to the newest confirmed block, or
    /// [`MAX_RANGE`] blocks of them.
    fn read(&self, from: u64, watched: &Watched) -> PluginResult<Batch> {
        let head = self.rpc.confirmed_block()?;
        if from > head {
            return Ok(Batch {
                events: Vec::new(),
                next: from,
                caught_up: true,
            });
        }
        let to = head.min(from + MAX_RANGE - 1);
        let mut funding: HashMap<H256, (ChannelId, Participant)> = HashMap::new();
        for id in watched.channels() {
            for participant in self.channels.participants(id) {
                if let Ok(fid) = abi::funding_id(id, &participant) {
                    funding.insert(H256(fid), (*id, participant));
                }
            }
        }
        let mut ids: Vec<H256> = watched.channels().map(|id| H256(id.0)).collect();
        ids.extend(funding.keys().copied());
        let mut addresses = vec![self.adjudicator];
        addresses.extend(self.holders.iter().map(|(address, _)| *address));
        let filter = Filter::new()
            .address(addresses)
            .from_block(from)
            .to_block(to)
            .topic0(vec![
                topic(events::CHANNEL_UPDATE),
                topic(events::DEPOSITED),
            ])
            .topic1(ids);
        let mut found = Vec::new();
        for log in self.rpc.logs(&filter)? {
            if log.removed == Some(true) || log.topics.len() < 2 {
                continue;
            }
            let Some(block) = log.block_number.map(|b| b.as_u64()) else {
                continue;
            };
            if log.address == self.adjudicator && log.topics[0] == topic(events::CHANNEL_UPDATE) {
                let id = ChannelId(log.topics[1].0);
                if !watched.reports(&id, block) {
                    continue;
                }
                let (Some(version), Some(number), Some(timeout)) = (
                    word_u64(&log.data, 0),
                    word_u64(&log.data, 1),
                    word_u64(&log.data, 2),
                ) else {
                    tracing::warn!("ethereum: a malformed ChannelUpdate log in block {block}");
                    continue;
                };
                let event = ChainEvent::Disputed(Dispute {
                    channel_id: id,
                    version,
                    phase: phase(number as u8)?,
                    timeout,
                });
                found.push((block, event));
            } else if log.topics[0] == topic(events::DEPOSITED) {
                let Some((channel, participant)) = funding.get(&log.topics[1]) else {
                    continue;
                };
                let Some((holder, asset)) = self
                    .holders
                    .iter()
                    .find(|(address, _)| *address == log.address)
                else {
                    continue;
                };
                // Skips the `holdings` call for a deposit the poller would drop.
                if !watched.reports(channel, block) {
                    continue;
                }
                let data = abi::call_data(
                    functions::HOLDINGS,
                    &[Token::FixedBytes(log.topics[1].0.to_vec())],
                );
                let total = self.rpc.call(*holder, data, Some(block))?;
                let total = total.get(..32).ok_or_else(|| {
                    PluginError::internal("an asset holder's `holdings` answered too little")
                })?;
                let event = ChainEvent::Deposited {
                    channel_id: *channel,
                    participant: participant.clone(),
                    asset: asset.clone(),
                    total: abi::amount(U256::from_big_endian(total)),
                };
                found.push((block, event));
            }
        }
        Ok(Batch {
            events: found,
            next: to + 1,
            caught_up: to == head,
        })
    }
}
