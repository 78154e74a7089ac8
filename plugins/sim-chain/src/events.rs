//! Event delivery: a background thread that follows the ledger's event log and emits the
//! entries of watched channels through the host's event sink, in log order.
//!
//! The log is shared by every process using the ledger, so a registration made by another
//! process is seen within one poll interval. The thread runs only while some channel is
//! watched. Emitting under one lock (from `watch` and from the thread) keeps the order: the
//! record `watch` reports comes before every later event of that channel, and no event the
//! record already covers is repeated.

use crate::ledger::Ledger;
use parley_plugin_api::model::{ChainEvent, ChannelId, PluginEvent};
use parley_plugin_api::{Host, PluginResult};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How many log entries one poll reads at most, so one huge backlog cannot stall `watch`.
const BATCH: usize = 512;

/// Follows the event log for the watched channels of one instance.
pub struct Watcher {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    ledger: Arc<Ledger>,
    host: Host,
    poll: Duration,
    state: Mutex<WatchState>,
    wake: Condvar,
}

#[derive(Default)]
struct WatchState {
    /// Watched channels, each with the first event number not yet covered for it.
    channels: HashMap<ChannelId, u64>,
    /// The next event number the thread reads.
    cursor: u64,
    running: bool,
    stopping: bool,
}

fn channel_of(event: &ChainEvent) -> &ChannelId {
    match event {
        ChainEvent::Deposited { channel_id, .. } => channel_id,
        ChainEvent::Disputed(dispute) => &dispute.channel_id,
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, WatchState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Emits every new log entry of a watched channel. Called with the state locked.
    fn deliver(&self, state: &mut WatchState) -> PluginResult<()> {
        loop {
            let entries = self.ledger.events_from(state.cursor, BATCH)?;
            let Some(&(last, _)) = entries.last() else {
                return Ok(());
            };
            for (seq, event) in entries.iter() {
                if state
                    .channels
                    .get(channel_of(event))
                    .is_some_and(|first| seq >= first)
                {
                    self.host.emit(&PluginEvent::Chain(event.clone()));
                }
            }
            state.cursor = last + 1;
            if entries.len() < BATCH {
                return Ok(());
            }
        }
    }

    fn run(&self) {
        let mut state = self.lock();
        loop {
            if state.stopping || state.channels.is_empty() {
                state.running = false;
                return;
            }
            if let Err(error) = self.deliver(&mut state) {
                tracing::warn!("sim-chain: reading the event log failed, retrying: {error}");
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
    pub fn new(ledger: Arc<Ledger>, host: Host, poll: Duration) -> Self {
        Watcher {
            shared: Arc::new(Shared {
                ledger,
                host,
                poll,
                state: Mutex::new(WatchState::default()),
                wake: Condvar::new(),
            }),
            thread: Mutex::new(None),
        }
    }

    /// Starts watching `channel`: emits its current record at once, then its events.
    /// Watching a channel already watched does nothing.
    pub fn watch(&self, channel: &ChannelId) -> PluginResult<()> {
        let mut state = self.shared.lock();
        if state.channels.contains_key(channel) {
            return Ok(());
        }
        let (record, next) = self.shared.ledger.record_and_next_seq(channel)?;
        if let Some(record) = record {
            self.shared
                .host
                .emit(&PluginEvent::Chain(ChainEvent::Disputed(record.dispute())));
        }
        state.channels.insert(*channel, next);
        if !state.running {
            state.cursor = next;
            state.running = true;
            state.stopping = false;
            let shared = Arc::clone(&self.shared);
            let spawned = std::thread::Builder::new()
                .name("sim-chain-events".into())
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
                    state.channels.remove(channel);
                    return Err(parley_plugin_api::PluginError::internal(format!(
                        "cannot start the sim-chain event thread: {error}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Stops watching `channel`; the thread ends when nothing is watched.
    pub fn unwatch(&self, channel: &ChannelId) {
        let mut state = self.shared.lock();
        state.channels.remove(channel);
        if state.channels.is_empty() {
            self.shared.wake.notify_all();
        }
    }

    /// Makes the thread look at the log now instead of at its next poll (after a local write).
    pub fn nudge(&self) {
        self.shared.wake.notify_all();
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
