//! Event delivery: the ledger's event log as an [`EventSource`] for plugin-api's
//! [`EventPoller`], whose thread (`sim-chain-events`) follows the log and emits the entries of
//! watched channels through the host's event sink, in log order.
//!
//! The log is shared by every process using the ledger, so a registration made by another
//! process is seen within one poll interval; a write of this instance nudges the poller so its
//! events come at once. Positions are the log's event numbers.

use crate::ledger::Ledger;
use parley_plugin_api::model::{ChannelId, Dispute};
use parley_plugin_api::poller::{Batch, EventPoller, EventSource, PollerConfig, Watched};
use parley_plugin_api::{Host, PluginResult};
use std::sync::Arc;
use std::time::Duration;

/// How many log entries one read takes at most, so a huge backlog is read in bounded steps.
const BATCH: usize = 512;

/// Follows the event log for the watched channels of one instance.
pub type Watcher = EventPoller<EventLog>;

/// A watcher of `ledger`'s log with nothing watched (no thread yet), polling every `poll`.
pub fn watcher(ledger: Arc<Ledger>, host: Host, poll: Duration) -> Watcher {
    let config = PollerConfig {
        backend: "sim-chain",
        thread: "sim-chain-events",
        interval: poll,
    };
    EventPoller::new(EventLog { ledger }, host, config)
}

/// The ledger's event log, read in batches of [`BATCH`] entries.
pub struct EventLog {
    ledger: Arc<Ledger>,
}

impl EventSource for EventLog {
    fn record(&self, channel: &ChannelId) -> PluginResult<(Option<Dispute>, u64)> {
        let (record, next) = self.ledger.record_and_next_seq(channel)?;
        Ok((record.map(|record| record.dispute()), next))
    }

    /// Every channel's entries: the poller keeps the watched ones.
    fn read(&self, from: u64, _: &Watched) -> PluginResult<Batch> {
        let events = self.ledger.events_from(from, BATCH)?;
        Ok(Batch {
            next: events.last().map_or(from, |&(last, _)| last + 1),
            caught_up: events.len() < BATCH,
            events,
        })
    }
}
