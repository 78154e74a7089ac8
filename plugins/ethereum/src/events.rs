//! Event delivery: a plugin thread (`parley-eth-events`) that polls the node's logs of the
//! Adjudicator's `ChannelUpdate` and the asset holders' `Deposited` for the watched channels,
//! from a block cursor, and emits them in chain order through the host's event sink.
//!
//! Only blocks with the configured confirmations are read, so an event is reported once it is
//! as deep as a transaction must be before a call returns (with `confirmations = 1` a reorg can
//! still undo a reported event; choose the depth for the chain's finality). `watch` reads the
//! channel's record at the newest confirmed block under the same lock that the thread holds
//! while it polls, and the channel's events are reported from the next block on: the record
//! comes first, and no event it already covers is repeated.
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
use parley_plugin_api::model::{Asset, ChainEvent, ChannelId, Dispute, Participant, PluginEvent};
use parley_plugin_api::{Host, PluginError, PluginResult};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// Most blocks one `eth_getLogs` spans (public nodes refuse wider ranges).
const MAX_RANGE: u64 = 2_000;

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
pub struct Watcher {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    rpc: Arc<Rpc>,
    channels: Arc<Channels>,
    host: Host,
    adjudicator: H160,
    holders: Vec<(H160, Asset)>,
    poll: Duration,
    state: Mutex<WatchState>,
    wake: Condvar,
}

#[derive(Default)]
struct WatchState {
    /// Watched channels, each with the first block whose events are not yet covered.
    watched: HashMap<ChannelId, u64>,
    /// The next block the thread reads.
    cursor: u64,
    running: bool,
    stopping: bool,
}

fn topic(signature: &str) -> H256 {
    H256(keccak256(&[signature.as_bytes()]))
}

/// A 32-byte word of log data as a u64 (the low bytes; the contracts' fields are uint64/uint8).
fn word_u64(data: &[u8], index: usize) -> Option<u64> {
    let word = data.get(index * 32..(index + 1) * 32)?;
    Some(U256::from_big_endian(word).low_u64())
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, WatchState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Emits every new event of a watched channel up to the newest confirmed block. Called
    /// with the state locked.
    fn deliver(&self, state: &mut WatchState) -> PluginResult<()> {
        let head = self.rpc.confirmed_block()?;
        while state.cursor <= head && !state.watched.is_empty() {
            let to = head.min(state.cursor + MAX_RANGE - 1);
            let mut funding: HashMap<H256, (ChannelId, Participant)> = HashMap::new();
            for id in state.watched.keys() {
                for participant in self.channels.participants(id) {
                    if let Ok(fid) = abi::funding_id(id, &participant) {
                        funding.insert(H256(fid), (*id, participant));
                    }
                }
            }
            let mut ids: Vec<H256> = state.watched.keys().map(|id| H256(id.0)).collect();
            ids.extend(funding.keys().copied());
            let mut addresses = vec![self.adjudicator];
            addresses.extend(self.holders.iter().map(|(address, _)| *address));
            let filter = Filter::new()
                .address(addresses)
                .from_block(state.cursor)
                .to_block(to)
                .topic0(vec![
                    topic(events::CHANNEL_UPDATE),
                    topic(events::DEPOSITED),
                ])
                .topic1(ids);
            for log in self.rpc.logs(&filter)? {
                if log.removed == Some(true) || log.topics.len() < 2 {
                    continue;
                }
                let Some(block) = log.block_number.map(|b| b.as_u64()) else {
                    continue;
                };
                let covered =
                    |id: &ChannelId| state.watched.get(id).is_some_and(|&first| block >= first);
                if log.address == self.adjudicator && log.topics[0] == topic(events::CHANNEL_UPDATE)
                {
                    let id = ChannelId(log.topics[1].0);
                    if !covered(&id) {
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
                    self.host.emit(&PluginEvent::Chain(event));
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
                    if !covered(channel) {
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
                    self.host.emit(&PluginEvent::Chain(ChainEvent::Deposited {
                        channel_id: *channel,
                        participant: participant.clone(),
                        asset: asset.clone(),
                        total: abi::amount(U256::from_big_endian(total)),
                    }));
                }
            }
            state.cursor = to + 1;
        }
        Ok(())
    }

    fn run(&self) {
        let mut state = self.lock();
        loop {
            if state.stopping || state.watched.is_empty() {
                state.running = false;
                return;
            }
            if let Err(error) = self.deliver(&mut state) {
                tracing::warn!("ethereum: reading event logs failed, retrying: {error}");
            }
            state = self
                .wake
                .wait_timeout(state, self.poll)
                .unwrap_or_else(|poison| poison.into_inner())
                .0;
        }
    }
}

impl Watcher {
    /// A watcher with nothing watched (no thread yet).
    pub fn new(
        rpc: Arc<Rpc>,
        channels: Arc<Channels>,
        host: Host,
        adjudicator: H160,
        holders: Vec<(H160, Asset)>,
        poll: Duration,
    ) -> Self {
        Watcher {
            shared: Arc::new(Shared {
                rpc,
                channels,
                host,
                adjudicator,
                holders,
                poll,
                state: Mutex::new(WatchState::default()),
                wake: Condvar::new(),
            }),
            thread: Mutex::new(None),
        }
    }

    /// Starts watching `channel`: emits its current record at once, then its events.
    pub fn watch(&self, channel: &ChannelId) -> PluginResult<()> {
        let mut state = self.shared.lock();
        if state.watched.contains_key(channel) {
            return Ok(());
        }
        let head = self.shared.rpc.confirmed_block()?;
        if let Some(record) =
            read_dispute(&self.shared.rpc, self.shared.adjudicator, channel, head)?
        {
            self.shared
                .host
                .emit(&PluginEvent::Chain(ChainEvent::Disputed(record)));
        }
        state.watched.insert(*channel, head + 1);
        if !state.running {
            state.cursor = head + 1;
            state.running = true;
            state.stopping = false;
            let shared = Arc::clone(&self.shared);
            let spawned = std::thread::Builder::new()
                .name("parley-eth-events".into())
                .spawn(move || shared.run());
            match spawned {
                Ok(handle) => {
                    let old = self.thread_slot().replace(handle);
                    drop(state);
                    // A previous thread has already left its loop (running was false).
                    if let Some(old) = old {
                        let _ = old.join();
                    }
                }
                Err(error) => {
                    state.running = false;
                    state.watched.remove(channel);
                    return Err(PluginError::internal(format!(
                        "cannot start the Ethereum event thread: {error}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Stops watching `channel`; the thread ends when nothing is watched.
    pub fn unwatch(&self, channel: &ChannelId) {
        let mut state = self.shared.lock();
        state.watched.remove(channel);
        if state.watched.is_empty() {
            self.shared.wake.notify_all();
        }
    }

    fn thread_slot(&self) -> MutexGuard<'_, Option<JoinHandle<()>>> {
        self.thread
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_all();
        if let Some(handle) = self.thread_slot().take() {
            let _ = handle.join();
        }
    }
}
