//! The event half of a [`ChainBackend`](crate::ChainBackend), for backends to share: a
//! background thread that follows the ledger from a cursor and emits the events of the watched
//! channels through the host's event sink.
//!
//! A backend says how to read its ledger by implementing [`EventSource`]; an [`EventPoller`]
//! does the rest, and its `watch`/`unwatch` are what the backend's own `watch`/`unwatch` call.
//! It keeps the trait's event contract:
//!
//! - **Record first.** `watch(id)` emits the channel's current record (if any) before it
//!   returns, and every later event of the channel comes after it.
//! - **Nothing covered is repeated.** The record is read together with the first position
//!   whose events it does not cover; the channel's events before that position are dropped.
//! - **Chain order.** Events are emitted in the order the source returns them, and the source
//!   reads forward from one cursor.
//!
//! `watch` and the thread emit while holding one lock, so a record and a polled event never
//! overtake each other. The thread starts on the first `watch`, ends when nothing is watched,
//! and is stopped and joined when the poller is dropped. It is bound to the instance's
//! [`Host`], so its log lines go to the instance's section.
//!
//! Positions are what the ledger's history is ordered by: a log entry's number, a block
//! number. They grow along the chain; events sharing one position (the logs of one block) are
//! in chain order within it.

use crate::error::{PluginError, PluginResult};
use crate::model::{ChainEvent, ChannelId, Dispute, PluginEvent};
use crate::Host;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How a backend reads its ledger's events; the [`EventPoller`] calls it.
///
/// Both calls may block on I/O (they run on the poller's thread, or in `watch`, which is a
/// waiting call). They are never called concurrently by one poller.
pub trait EventSource: Send + Sync + 'static {
    /// The channel's current on-chain record (`None` if nothing was ever registered or
    /// concluded) and the first position whose events that record does not already cover.
    ///
    /// Both must come from one view of the ledger (one read transaction, one block): the
    /// poller drops the channel's events before the returned position, so an event that lands
    /// between reading the record and reading the position would be lost.
    fn record(&self, channel: &ChannelId) -> PluginResult<(Option<Dispute>, u64)>;

    /// Reads the events from position `from` on, as far as one read goes.
    ///
    /// The answer's events are at `from` or later, in chain order. It may include events of
    /// channels that are not watched, or from before a channel's first position: the poller
    /// drops them ([`Watched::reports`] tells which are kept, for a source that can save work
    /// on the others). A read that fails is logged and made again at the next poll from the
    /// same `from`; nothing of it is emitted.
    fn read(&self, from: u64, watched: &Watched) -> PluginResult<Batch>;
}

/// What one [`EventSource::read`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// The events read, each with its position, in chain order.
    pub events: Vec<(u64, ChainEvent)>,
    /// Where the next read starts: past every event in `events`, and at or before every event
    /// not yet read.
    pub next: u64,
    /// Whether the read reached everything the ledger has now. If not, the poller reads again
    /// at once from `next` (unless `next` did not move past `from`).
    pub caught_up: bool,
}

/// The watched channels, each with the first position whose events are emitted for it.
#[derive(Clone, Debug, Default)]
pub struct Watched {
    first: HashMap<ChannelId, u64>,
}

impl Watched {
    /// The watched channels, in no particular order.
    pub fn channels(&self) -> impl Iterator<Item = &ChannelId> + '_ {
        self.first.keys()
    }

    /// Whether an event of `channel` at `position` is emitted: the channel is watched and its
    /// record, read by `watch`, does not cover the position.
    pub fn reports(&self, channel: &ChannelId, position: u64) -> bool {
        self.first
            .get(channel)
            .is_some_and(|&first| position >= first)
    }

    /// Whether no channel is watched.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
}

/// How an [`EventPoller`] names itself and how often it polls.
#[derive(Clone, Debug)]
pub struct PollerConfig {
    /// The backend's name at the start of log lines and in errors (`"sim-chain"`).
    pub backend: &'static str,
    /// The name of the poller's thread (`"sim-chain-events"`), as debuggers and `top -H`
    /// show it.
    pub thread: &'static str,
    /// How long the thread waits between polls unless [`EventPoller::nudge`] wakes it.
    pub interval: Duration,
}

/// Follows one [`EventSource`] for the watched channels of one backend instance (see the
/// [module doc](self) for the guarantees).
pub struct EventPoller<S: EventSource> {
    shared: Arc<Shared<S>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared<S> {
    source: S,
    host: Host,
    config: PollerConfig,
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    watched: Watched,
    /// The next position the thread reads.
    cursor: u64,
    running: bool,
    stopping: bool,
    /// Set by `nudge` (under the lock, so after any poll under way), cleared when a poll
    /// starts; the thread does not wait while it is set, so no nudge is lost.
    nudged: bool,
}

fn channel_of(event: &ChainEvent) -> &ChannelId {
    match event {
        ChainEvent::Deposited { channel_id, .. } => channel_id,
        ChainEvent::Disputed(dispute) => &dispute.channel_id,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl<S: EventSource> Shared<S> {
    fn emit(&self, event: ChainEvent) {
        self.host.emit(&PluginEvent::Chain(event));
    }

    /// Emits every new event of a watched channel, reading until the source has caught up.
    /// Called with the state locked.
    fn poll(&self, state: &mut State) -> PluginResult<()> {
        loop {
            let from = state.cursor;
            let batch = self.source.read(from, &state.watched)?;
            for (position, event) in batch.events {
                if position >= from && state.watched.reports(channel_of(&event), position) {
                    self.emit(event);
                }
            }
            if batch.next <= from {
                return Ok(());
            }
            state.cursor = batch.next;
            if batch.caught_up {
                return Ok(());
            }
        }
    }

    fn run(&self) {
        // The thread works for this instance: its log lines and panics go to its section.
        self.host.bind_current_thread();
        let mut state = lock(&self.state);
        loop {
            if state.stopping || state.watched.is_empty() {
                state.running = false;
                return;
            }
            state.nudged = false;
            if let Err(error) = self.poll(&mut state) {
                tracing::warn!(
                    "{}: reading chain events failed, retrying: {error}",
                    self.config.backend
                );
            }
            state = self
                .wake
                .wait_timeout_while(state, self.config.interval, |state| {
                    !state.nudged && !state.stopping && !state.watched.is_empty()
                })
                .unwrap_or_else(|poison| poison.into_inner())
                .0;
        }
    }
}

impl<S: EventSource> EventPoller<S> {
    /// A poller with nothing watched (no thread yet).
    pub fn new(source: S, host: Host, config: PollerConfig) -> Self {
        EventPoller {
            shared: Arc::new(Shared {
                source,
                host,
                config,
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
            }),
            thread: Mutex::new(None),
        }
    }

    /// Starts watching `channel`: emits its current record before returning, then its events
    /// as the thread finds them, starting the thread if it is not running. Watching a channel
    /// already watched does nothing.
    ///
    /// Fails with the source's error if the record cannot be read, and with
    /// [`ErrorKind::Internal`](crate::ErrorKind::Internal) if the thread cannot be started;
    /// either way the channel is not watched.
    pub fn watch(&self, channel: &ChannelId) -> PluginResult<()> {
        let mut state = lock(&self.shared.state);
        if state.watched.first.contains_key(channel) {
            return Ok(());
        }
        let (record, first) = self.shared.source.record(channel)?;
        if let Some(record) = record {
            self.shared.emit(ChainEvent::Disputed(record));
        }
        state.watched.first.insert(*channel, first);
        if state.running {
            return Ok(());
        }
        state.cursor = first;
        state.running = true;
        let shared = Arc::clone(&self.shared);
        let spawned = std::thread::Builder::new()
            .name(self.shared.config.thread.into())
            .spawn(move || shared.run());
        match spawned {
            Ok(handle) => {
                let old = lock(&self.thread).replace(handle);
                drop(state);
                // A previous thread has already left its loop (running was false).
                if let Some(old) = old {
                    let _ = old.join();
                }
                Ok(())
            }
            Err(error) => {
                state.running = false;
                state.watched.first.remove(channel);
                Err(PluginError::internal(format!(
                    "cannot start the {} event thread `{}`: {error}",
                    self.shared.config.backend, self.shared.config.thread
                )))
            }
        }
    }

    /// Stops watching `channel` (nothing more of it is emitted once this returns); the thread
    /// ends when nothing is watched. Unwatching a channel not watched does nothing.
    pub fn unwatch(&self, channel: &ChannelId) {
        let mut state = lock(&self.shared.state);
        state.watched.first.remove(channel);
        if state.watched.is_empty() {
            self.shared.wake.notify_all();
        }
    }

    /// Makes the thread poll now instead of at its next interval: call it after writing to the
    /// ledger. If a poll is under way, this waits for it and another one follows.
    pub fn nudge(&self) {
        lock(&self.shared.state).nudged = true;
        self.shared.wake.notify_all();
    }
}

impl<S: EventSource> Drop for EventPoller<S> {
    /// Stops the thread and waits for it: once the poller is dropped, nothing more is emitted
    /// and the source is dropped too.
    fn drop(&mut self) {
        lock(&self.shared.state).stopping = true;
        self.shared.wake.notify_all();
        if let Some(handle) = lock(&self.thread).take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::TestHost;
    use crate::model::{Amount, Asset, DisputePhase, Participant};
    use std::time::Instant;

    /// Longer than any test runs: the thread polls only when started or nudged.
    const NEVER: Duration = Duration::from_secs(3600);
    const WAIT: Duration = Duration::from_secs(5);

    /// An in-memory ledger: the event log's index is the position.
    #[derive(Default)]
    struct Memory {
        log: Vec<ChainEvent>,
        records: HashMap<ChannelId, Dispute>,
        /// How many of the next reads from `failing_from` or later fail.
        failing: usize,
        failing_from: u64,
        reads: usize,
        /// Names of the threads that read.
        readers: Vec<String>,
    }

    /// Reads at most two entries at a time, so that catching up takes several reads.
    #[derive(Clone, Default)]
    struct Source(Arc<Mutex<Memory>>);

    impl Source {
        fn disputed(&self, channel: u8, version: u64) {
            let dispute = dispute(channel, version);
            let mut memory = lock(&self.0);
            memory.records.insert(dispute.channel_id, dispute.clone());
            memory.log.push(ChainEvent::Disputed(dispute));
        }

        fn deposited(&self, channel: u8, total: u64) {
            lock(&self.0).log.push(deposit(channel, total));
        }

        fn fail_reads_from(&self, position: u64, count: usize) {
            let mut memory = lock(&self.0);
            memory.failing = count;
            memory.failing_from = position;
        }
    }

    impl EventSource for Source {
        fn record(&self, channel: &ChannelId) -> PluginResult<(Option<Dispute>, u64)> {
            let memory = lock(&self.0);
            Ok((
                memory.records.get(channel).cloned(),
                memory.log.len() as u64,
            ))
        }

        fn read(&self, from: u64, _: &Watched) -> PluginResult<Batch> {
            let mut memory = lock(&self.0);
            memory.reads += 1;
            let name = std::thread::current().name().unwrap_or("").to_string();
            memory.readers.push(name);
            if memory.failing > 0 && from >= memory.failing_from {
                memory.failing -= 1;
                return Err(PluginError::unavailable("the ledger is away"));
            }
            let end = memory.log.len().min(from as usize + 2);
            let events = (from as usize..end)
                .map(|position| (position as u64, memory.log[position].clone()))
                .collect();
            Ok(Batch {
                events,
                next: end as u64,
                caught_up: end == memory.log.len(),
            })
        }
    }

    fn dispute(channel: u8, version: u64) -> Dispute {
        Dispute {
            channel_id: ChannelId([channel; 32]),
            version,
            phase: DisputePhase::Dispute,
            timeout: 0,
        }
    }

    fn disputed(channel: u8, version: u64) -> ChainEvent {
        ChainEvent::Disputed(dispute(channel, version))
    }

    fn deposit(channel: u8, total: u64) -> ChainEvent {
        ChainEvent::Deposited {
            channel_id: ChannelId([channel; 32]),
            participant: Participant(vec![channel]),
            asset: Asset::default(),
            total: Amount::from(total),
        }
    }

    fn poller(source: &Source, host: &TestHost, interval: Duration) -> EventPoller<Source> {
        let config = PollerConfig {
            backend: "memory",
            thread: "memory-events",
            interval,
        };
        EventPoller::new(source.clone(), Host::new(host.context()), config)
    }

    /// The next `count` chain events, then checks that no other one follows soon.
    fn events(host: &TestHost, count: usize) -> Vec<ChainEvent> {
        let mut events = Vec::new();
        while events.len() < count {
            match host.next_event(WAIT) {
                Some(PluginEvent::Chain(event)) => events.push(event),
                Some(_) => {}
                None => panic!("only {events:?} arrived, {count} expected"),
            }
        }
        if let Some(extra) = host.next_event(Duration::from_millis(100)) {
            panic!("after {events:?}, an unexpected {extra:?}");
        }
        events
    }

    fn channel(byte: u8) -> ChannelId {
        ChannelId([byte; 32])
    }

    fn wait_until(what: &str, condition: impl Fn() -> bool) {
        let deadline = Instant::now() + WAIT;
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn thread_finished(poller: &EventPoller<Source>) -> bool {
        lock(&poller.thread)
            .as_ref()
            .is_some_and(|thread| thread.is_finished())
    }

    #[test]
    fn watch_emits_the_record_first_and_nudge_polls_at_once() {
        let (source, host) = (Source::default(), TestHost::new("chain"));
        source.disputed(1, 1);
        source.deposited(1, 5);
        source.disputed(1, 2);
        let poller = poller(&source, &host, NEVER);
        poller.watch(&channel(1)).unwrap();
        // The record covers the whole log so far: nothing of it is repeated.
        assert_eq!(events(&host, 1), [disputed(1, 2)]);

        source.deposited(1, 7);
        source.disputed(1, 3);
        poller.nudge();
        assert_eq!(events(&host, 2), [deposit(1, 7), disputed(1, 3)]);
        // Watching again changes nothing.
        poller.watch(&channel(1)).unwrap();
        assert_eq!(events(&host, 0), []);
        assert!(lock(&source.0).readers.iter().all(|r| r == "memory-events"));
    }

    #[test]
    fn events_come_in_chain_order_and_a_later_record_is_not_repeated() {
        let (source, host) = (Source::default(), TestHost::new("chain"));
        let poller = poller(&source, &host, NEVER);
        poller.watch(&channel(1)).unwrap();
        wait_until("the first poll is done", || lock(&source.0).reads > 0);
        // The thread has not read these yet when channel 2 is watched: its record covers
        // disputed(2, 1), which must not come again, but channel 1's events still come.
        source.disputed(1, 1);
        source.disputed(2, 1);
        source.deposited(1, 4);
        poller.watch(&channel(2)).unwrap();
        assert_eq!(events(&host, 1), [disputed(2, 1)]);

        source.deposited(3, 9);
        source.deposited(2, 3);
        source.disputed(1, 2);
        source.disputed(3, 1);
        source.disputed(2, 2);
        poller.nudge();
        // Several reads of two entries each, channel 3 (not watched) left out.
        assert_eq!(
            events(&host, 5),
            [
                disputed(1, 1),
                deposit(1, 4),
                deposit(2, 3),
                disputed(1, 2),
                disputed(2, 2)
            ]
        );

        poller.unwatch(&channel(2));
        source.disputed(2, 3);
        source.disputed(1, 3);
        poller.nudge();
        assert_eq!(events(&host, 1), [disputed(1, 3)]);
    }

    #[test]
    fn unwatching_everything_ends_the_thread_and_watch_starts_it_again() {
        let (source, host) = (Source::default(), TestHost::new("chain"));
        let poller = poller(&source, &host, NEVER);
        poller.watch(&channel(1)).unwrap();
        poller.watch(&channel(2)).unwrap();
        poller.unwatch(&channel(1));
        std::thread::sleep(Duration::from_millis(50));
        assert!(!thread_finished(&poller), "channel 2 is still watched");
        poller.unwatch(&channel(2));
        wait_until("the thread ends", || thread_finished(&poller));

        source.disputed(2, 1);
        source.disputed(1, 1);
        poller.watch(&channel(1)).unwrap();
        assert!(!thread_finished(&poller));
        source.disputed(1, 2);
        poller.nudge();
        assert_eq!(events(&host, 2), [disputed(1, 1), disputed(1, 2)]);
    }

    #[test]
    fn drop_stops_and_joins_the_thread_without_waiting_for_the_interval() {
        let (source, host) = (Source::default(), TestHost::new("chain"));
        let poller = poller(&source, &host, NEVER);
        poller.watch(&channel(1)).unwrap();
        wait_until("the first poll is done", || lock(&source.0).reads > 0);
        let started = Instant::now();
        drop(poller);
        assert!(started.elapsed() < WAIT);
        // The thread held the only other handle on the source.
        assert_eq!(Arc::strong_count(&source.0), 1);
    }

    #[test]
    fn a_failing_read_is_retried_from_where_it_failed() {
        let (source, host) = (Source::default(), TestHost::new("chain"));
        let poller = poller(&source, &host, Duration::from_millis(10));
        poller.watch(&channel(1)).unwrap();
        // The first read of a catch-up succeeds, the next ones fail three times: what the first
        // emitted is not emitted again, and the rest comes once the source answers.
        source.fail_reads_from(2, 3);
        for version in 1..=5 {
            source.disputed(1, version);
        }
        poller.nudge();
        assert_eq!(
            events(&host, 5),
            (1..=5).map(|v| disputed(1, v)).collect::<Vec<_>>()
        );
        let memory = lock(&source.0);
        assert_eq!(memory.failing, 0);
        assert!(memory.reads >= 6, "{} reads", memory.reads);
    }

    #[test]
    fn a_failing_record_read_fails_watch_and_watches_nothing() {
        struct Broken;
        impl EventSource for Broken {
            fn record(&self, _: &ChannelId) -> PluginResult<(Option<Dispute>, u64)> {
                Err(PluginError::unavailable("the ledger is away"))
            }
            fn read(&self, _: u64, _: &Watched) -> PluginResult<Batch> {
                unreachable!("nothing is watched")
            }
        }
        let host = TestHost::new("chain");
        let config = PollerConfig {
            backend: "broken",
            thread: "broken-events",
            interval: NEVER,
        };
        let poller = EventPoller::new(Broken, Host::new(host.context()), config);
        assert!(poller.watch(&channel(1)).is_err());
        assert!(lock(&poller.shared.state).watched.is_empty());
        assert!(lock(&poller.thread).is_none());
    }
}
