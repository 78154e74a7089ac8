//! Group commit: one long-lived thread makes every write durable, many batches per
//! `Store::commit`.
//!
//! A durable commit waits for the disk (about 250 µs on LMDB here, more on a real SSD), and
//! that wait costs the same for one record as for a thousand. So the committer thread takes
//! the first waiting batch, then everything else already queued (up to [`CommitterLimits`]),
//! concatenates them in submission order into one `Store::commit`, and answers every waiter
//! with its result: concurrent channels share the sync, and durable throughput grows with
//! concurrency instead of stopping at the disk's sync rate. While many write, it also lingers
//! (up to [`CommitterLimits::max_linger`]) for more batches before it commits, so that groups
//! grow and the syncs' CPU is shared too (`linger_target`). A lone writer pays one commit per
//! batch and never waits.
//!
//! Guarantees:
//! - **Order.** Batches are applied in submission order (the order of the `commit` calls),
//!   within a group and across groups; a later batch's write to a key wins.
//! - **Write-ahead.** A waiter is answered only after the `Store::commit` holding its batch
//!   returned, and with that commit's result.
//! - **Failure.** A failed commit wrote nothing (the store's contract), so every waiter of
//!   that group gets the error; the thread goes on serving later batches.
//! - **Shutdown.** Dropping the [`Committer`] commits every batch already queued, then stops
//!   and joins the thread.
//!
//! One thread, not a tokio `spawn_blocking` per write: a blocking-pool hop costs 35-80 µs,
//! more than a signature (STACK-NOTES). A submission costs one channel send, an answer one
//! oneshot send.
//!
//! A batch may also be submitted *lazily* ([`Committer::commit_within`]): nobody waits for it
//! now, so it rides along with the next group the thread commits for anyone, or is committed
//! on its own once its time is up. A payer's copy of the payee's accept goes that way: it
//! shares a sync with whatever the node writes next, on any channel. Order holds for it like
//! for any batch: it is applied before every batch submitted after it.
//!
//! A store that says its commits are not durable ([`Durability::NotDurable`]: the in-memory
//! store, lmdb with `durable = false`) has no sync to share, so the thread would only add two
//! wake-ups to every write. Its batches are committed on the caller's thread instead, one at a
//! time under a lock, before [`Committer::commit`] returns: the same order, answers and
//! counters, without the hop.

use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{Durability, ErrorKind, PluginError, Store};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::oneshot;

/// The name of the committer thread, as it shows in debuggers and `top -H`.
pub const THREAD_NAME: &str = "parley-store-commit";

/// Why a batch was not committed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommitError {
    /// The store refused or failed the commit holding the batch; nothing of it was written.
    #[error("the store failed the commit: {0}")]
    Failed(PluginError),
    /// The committer thread is gone (the node is shutting down, or the thread died), so the
    /// batch was not written.
    #[error("the store's committer has stopped; the write was not made")]
    Stopped,
}

/// How much one group commit may hold. A group always takes at least one batch, however large.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitterLimits {
    /// The most batches in one `Store::commit`.
    pub max_batches: usize,
    /// The most key and value bytes in one `Store::commit`, so that one commit stays a
    /// bounded write for the store.
    pub max_bytes: usize,
    /// The longest the committer waits for more batches while many writers are at work
    /// (see `linger_target`); never while one writes alone.
    pub max_linger: Duration,
}

impl Default for CommitterLimits {
    fn default() -> Self {
        CommitterLimits {
            max_batches: 1024,
            max_bytes: 8 * 1024 * 1024,
            max_linger: Duration::from_millis(2),
        }
    }
}

/// Counters of the committer since it started, for benchmarks and status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Batches handed to `commit` or `commit_blocking`.
    pub submitted: u64,
    /// Batches answered (committed or failed).
    pub batches: u64,
    /// `Store::commit` calls made (groups with no writes make none).
    pub commits: u64,
    /// Of those, how many failed.
    pub failed_commits: u64,
    /// Writes handed to `Store::commit`.
    pub ops: u64,
    /// The most batches one `Store::commit` held.
    pub largest_group: u64,
    /// Time spent inside `Store::commit`, in microseconds (the syncs included).
    pub commit_micros: u64,
}

#[derive(Default)]
struct Counters {
    submitted: AtomicU64,
    batches: AtomicU64,
    commits: AtomicU64,
    failed_commits: AtomicU64,
    ops: AtomicU64,
    largest_group: AtomicU64,
    commit_micros: AtomicU64,
}

type Answer = Result<(), CommitError>;

/// Where a batch's answer goes: an awaiting task or a blocked thread.
enum Reply {
    Task(oneshot::Sender<Answer>),
    Thread(SyncSender<Answer>),
}

impl Reply {
    fn send(self, answer: Answer) {
        // A waiter that stopped waiting does not want the answer; the write stands either way.
        match self {
            Reply::Task(sender) => {
                let _ = sender.send(answer);
            }
            Reply::Thread(sender) => {
                let _ = sender.send(answer);
            }
        }
    }
}

struct Submission {
    ops: Vec<WriteOp>,
    bytes: usize,
    reply: Reply,
    /// For a lazy batch: the latest it is committed, with others or on its own.
    ride_until: Option<Instant>,
}

/// The handle to the committer thread. See the module documentation for its guarantees.
pub struct Committer {
    mode: Mode,
    counters: Arc<Counters>,
}

/// Where batches are committed.
enum Mode {
    /// On the committer thread, fed by `queue` (taken when the committer is dropped).
    Thread {
        queue: Option<Sender<Submission>>,
        thread: Option<JoinHandle<()>>,
    },
    /// For a store whose commits are not durable: on the caller's thread, under the lock
    /// (see the module documentation).
    Inline(Mutex<Arc<dyn Store>>),
}

impl Committer {
    /// Starts the committer thread over `store` with the default limits.
    pub fn start(store: Arc<dyn Store>) -> std::io::Result<Committer> {
        Committer::with_limits(store, CommitterLimits::default())
    }

    /// Starts the committer thread over `store` with `limits`.
    pub fn with_limits(
        store: Arc<dyn Store>,
        limits: CommitterLimits,
    ) -> std::io::Result<Committer> {
        let counters = Arc::new(Counters::default());
        if store.durability() == Durability::NotDurable {
            return Ok(Committer {
                mode: Mode::Inline(Mutex::new(store)),
                counters,
            });
        }
        let (queue, submissions) = mpsc::channel();
        let thread_counters = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.to_string())
            .spawn(move || run(&*store, &submissions, limits, &thread_counters))?;
        Ok(Committer {
            mode: Mode::Thread {
                queue: Some(queue),
                thread: Some(thread),
            },
            counters,
        })
    }

    /// Whether commits run on the caller's thread (a store that is not durable): each one is
    /// done by the time [`Committer::commit`] returns.
    pub fn commits_inline(&self) -> bool {
        matches!(self.mode, Mode::Inline(_))
    }

    /// Queues `ops` now, in call order, and returns a future that resolves once the commit
    /// holding them returned. The future borrows nothing; dropping it does not withdraw the
    /// batch.
    pub fn commit(&self, ops: Vec<WriteOp>) -> impl Future<Output = Answer> + Send + 'static {
        self.commit_within(ops, None)
    }

    /// [`Committer::commit`], or with `lazily` for a batch nobody waits for now: it goes with
    /// the next group committed for another batch, or on its own `within` from now (see the
    /// module documentation).
    pub fn commit_within(
        &self,
        ops: Vec<WriteOp>,
        lazily: Option<Duration>,
    ) -> impl Future<Output = Answer> + Send + 'static {
        let ride_until = lazily.map(|within| Instant::now() + within);
        let (sender, answer) = oneshot::channel();
        let queued = self.submit(ops, Reply::Task(sender), ride_until);
        async move {
            queued?;
            answer.await.unwrap_or(Err(CommitError::Stopped))
        }
    }

    /// Queues `ops` and blocks the calling thread until the commit holding them returned.
    /// For callers outside the async runtime (startup, tools); inside it, await
    /// [`Committer::commit`] instead, which does not hold a runtime thread.
    pub fn commit_blocking(&self, ops: Vec<WriteOp>) -> Answer {
        let (sender, answer) = mpsc::sync_channel(1);
        self.submit(ops, Reply::Thread(sender), None)?;
        answer.recv().unwrap_or(Err(CommitError::Stopped))
    }

    /// The counters so far.
    pub fn stats(&self) -> CommitStats {
        let c = &self.counters;
        CommitStats {
            submitted: c.submitted.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            commits: c.commits.load(Ordering::Relaxed),
            failed_commits: c.failed_commits.load(Ordering::Relaxed),
            ops: c.ops.load(Ordering::Relaxed),
            largest_group: c.largest_group.load(Ordering::Relaxed),
            commit_micros: c.commit_micros.load(Ordering::Relaxed),
        }
    }

    fn submit(&self, ops: Vec<WriteOp>, reply: Reply, ride_until: Option<Instant>) -> Answer {
        let bytes = ops.iter().map(op_bytes).sum();
        let submission = Submission {
            ops,
            bytes,
            reply,
            ride_until,
        };
        let queue = match &self.mode {
            Mode::Inline(store) => {
                let store = store.lock().unwrap_or_else(PoisonError::into_inner);
                self.counters.submitted.fetch_add(1, Ordering::Relaxed);
                commit_group(&**store, vec![submission], &self.counters);
                return Ok(());
            }
            Mode::Thread { queue, .. } => queue.as_ref().ok_or(CommitError::Stopped)?,
        };
        queue.send(submission).map_err(|_| CommitError::Stopped)?;
        self.counters.submitted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // Closing the queue lets the thread commit what is queued and then return.
        if let Mode::Thread { queue, thread } = &mut self.mode {
            queue.take();
            if let Some(thread) = thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// The bytes a write hands the store: its key and value.
fn op_bytes(op: &WriteOp) -> usize {
    match op {
        WriteOp::Put { key, value } => key.len() + value.len(),
        WriteOp::Delete { key } => key.len(),
    }
}

/// The committer thread: group, commit, answer, until the queue is closed and empty.
fn run(
    store: &dyn Store,
    submissions: &Receiver<Submission>,
    limits: CommitterLimits,
    counters: &Counters,
) {
    // A batch taken off the queue that did not fit the previous group opens the next one.
    let mut carried: Option<Submission> = None;
    // Lazy batches waiting for a group to ride with, oldest first.
    let mut riders: Vec<Submission> = Vec::new();
    let mut previous_group = 0;
    loop {
        let first = match carried.take() {
            Some(first) => first,
            // `recv` hands out every queued batch before it reports the closed queue.
            None => match riders.iter().filter_map(|r| r.ride_until).min() {
                None => match submissions.recv() {
                    Ok(first) => first,
                    Err(_) => return,
                },
                Some(until) => {
                    let left = until.saturating_duration_since(Instant::now());
                    match submissions.recv_timeout(left) {
                        Ok(first) => first,
                        // Their time is up (or the queue closed): the riders go on their own.
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                            previous_group = riders.len();
                            commit_group(store, std::mem::take(&mut riders), counters);
                            continue;
                        }
                    }
                }
            },
        };
        if first.ride_until.is_some() && group_may_wait(&riders) {
            riders.push(first);
            continue;
        }
        // The riders were submitted before `first`: they go first, in order.
        let mut bytes = riders.iter().map(|r| r.bytes).sum::<usize>() + first.bytes;
        let mut group = std::mem::take(&mut riders);
        group.push(first);
        let target = linger_target(previous_group).min(limits.max_batches);
        let linger_until = Instant::now() + limits.max_linger;
        while group.len() < limits.max_batches {
            let next = match submissions.try_recv() {
                Ok(next) => next,
                // Closed: commit this group; the next `recv` ends the loop.
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) if group.len() >= target => break,
                Err(TryRecvError::Empty) => {
                    let left = linger_until.saturating_duration_since(Instant::now());
                    match submissions.recv_timeout(left) {
                        Ok(next) => next,
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            if bytes.saturating_add(next.bytes) > limits.max_bytes {
                carried = Some(next);
                break;
            }
            bytes += next.bytes;
            group.push(next);
        }
        previous_group = group.len();
        commit_group(store, group, counters);
    }
}

/// Whether lazy batches may wait for more company: not once they are many (a group that
/// large is worth its commit).
fn group_may_wait(riders: &[Submission]) -> bool {
    riders.len() < MAX_RIDERS
}

/// The most lazy batches that wait together for a group to ride with.
const MAX_RIDERS: usize = 64;

/// How many batches the committer waits for (at most [`CommitterLimits::max_linger`]) before
/// it commits, given how many the group before held: twice as many when that group held at
/// least four, that is while many writers are at work, so that groups grow until the linger
/// bounds them; otherwise it commits what it has at once, so that a lone writer (one channel
/// paying) never waits. After a busy spell, one lone batch may wait the linger once.
///
/// Each commit costs a sync and, on this machine, about 100 us of kernel CPU besides; with a
/// hundred channels paying at once, groups of 4 cost more CPU in commits than the signatures
/// leave; groups of about 30 (lingering up to 2 ms) let the same two cores make about 12 %
/// more updates per second with a lower p99: 5,100-5,300 -> 5,800-5,850 updates/s, p99 35 ->
/// 26 ms (`parley bench channels --scenario concurrent`).
fn linger_target(previous_group: usize) -> usize {
    if previous_group >= 4 {
        previous_group.saturating_mul(2)
    } else {
        1
    }
}

/// Commits one group as one `Store::commit` and answers each of its waiters.
fn commit_group(store: &dyn Store, group: Vec<Submission>, counters: &Counters) {
    let mut ops = Vec::with_capacity(group.iter().map(|s| s.ops.len()).sum());
    let mut replies = Vec::with_capacity(group.len());
    for submission in group {
        ops.extend(submission.ops);
        replies.push(submission.reply);
    }
    let answer = if ops.is_empty() {
        Ok(())
    } else {
        let started = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| store.commit(&ops))).unwrap_or_else(|_| {
            Err(PluginError::new(
                ErrorKind::Panicked,
                "the store panicked during a commit",
            ))
        });
        let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        counters.commit_micros.fetch_add(took, Ordering::Relaxed);
        counters.commits.fetch_add(1, Ordering::Relaxed);
        counters.ops.fetch_add(ops.len() as u64, Ordering::Relaxed);
        counters
            .largest_group
            .fetch_max(replies.len() as u64, Ordering::Relaxed);
        if result.is_err() {
            counters.failed_commits.fetch_add(1, Ordering::Relaxed);
        }
        result.map_err(CommitError::Failed)
    };
    // Counted before answering, so a waiter that reads the stats sees its own batch.
    counters
        .batches
        .fetch_add(replies.len() as u64, Ordering::Relaxed);
    for reply in replies {
        reply.send(answer.clone());
    }
}

#[cfg(test)]
#[path = "committer_tests.rs"]
mod tests;
