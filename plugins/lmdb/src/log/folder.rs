//! The fold thread: writes what the overlay holds into LMDB in one transaction, then lets the
//! overlay and the log forget it.

use super::checkpoint_file::CheckpointFile;
use super::overlay::Overlay;
use crate::config::Settings;
use crate::error::store_error;
use heed::types::Bytes;
use heed::{Database, Env, WithoutTls};
use parley_plugin_api::{PluginError, PluginResult};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long commits gather in the overlay before a fold writes them: long enough that a fold
/// takes many commits (and their channels' pages) at once and its syncs are rare beside the
/// log's (at 250 ms, folds showed in the p99 of payments spread over 10,000 channels), short
/// enough that the overlay and a replay after a crash stay small (a second of commits).
/// (The unit tests fold every 5 ms, so that reads meet folds often.)
const FOLD_DELAY: Duration = if cfg!(test) {
    Duration::from_millis(5)
} else {
    Duration::from_millis(1000)
};

/// How long after a failed fold the next one is tried.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// What the committer, the readers and the fold thread share.
pub struct Shared {
    /// The writes not yet in LMDB.
    pub overlay: Overlay,
    /// The newest batch LMDB holds that the checkpoint file names.
    checkpointed: AtomicU64,
    signal: Mutex<Signal>,
    wakeup: Condvar,
    failure: Mutex<Option<String>>,
}

#[derive(Default)]
struct Signal {
    /// The overlay got writes while the thread slept.
    wake: bool,
    /// The store is closing: fold what is left and end.
    stop: bool,
}

impl Shared {
    /// The newest batch LMDB holds and the checkpoint file names: segments whose batches are
    /// all at or below it may be reused.
    pub fn checkpointed(&self) -> u64 {
        self.checkpointed.load(Ordering::Acquire)
    }

    /// Why the last fold failed, if it did.
    pub fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }

    fn signal(&self) -> MutexGuard<'_, Signal> {
        lock(&self.signal)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The running fold thread; dropping it folds what is left and joins the thread.
pub struct Folder {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// What the thread writes to.
struct Target {
    env: Env<WithoutTls>,
    db: Database<'static, Bytes, Bytes>,
    checkpoint: CheckpointFile,
    settings: Settings,
    dir: PathBuf,
}

impl Folder {
    /// Starts the thread; LMDB and the checkpoint file hold every batch up to `checkpointed`.
    pub fn start(
        env: Env<WithoutTls>,
        db: Database<'static, Bytes, Bytes>,
        checkpoint: CheckpointFile,
        checkpointed: u64,
        settings: &Settings,
        dir: &Path,
    ) -> PluginResult<Folder> {
        let shared = Arc::new(Shared {
            overlay: Overlay::default(),
            checkpointed: AtomicU64::new(checkpointed),
            signal: Mutex::default(),
            wakeup: Condvar::new(),
            failure: Mutex::default(),
        });
        let target = Target {
            env,
            db,
            checkpoint,
            settings: settings.clone(),
            dir: dir.to_path_buf(),
        };
        let thread = std::thread::Builder::new()
            .name("parley-lmdb-fold".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(&shared, &target)
            })
            .map_err(|e| {
                PluginError::unavailable(format!("cannot start the LMDB store's fold thread: {e}"))
            })?;
        Ok(Folder {
            shared,
            thread: Some(thread),
        })
    }

    /// The state shared with the thread.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Tells the sleeping thread that the overlay has writes.
    pub fn wake(&self) {
        self.shared.signal().wake = true;
        self.shared.wakeup.notify_one();
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        self.shared.signal().stop = true;
        self.shared.wakeup.notify_one();
        if let Some(thread) = self.thread.take() {
            // A panic in the thread left the overlay's batches in the log: the next open
            // replays them.
            let _ = thread.join();
        }
    }
}

/// The thread: sleeps until there are writes, lets more gather, folds them; at the stop, folds
/// what is left (once: what fails then stays in the log for the next open).
fn run(shared: &Shared, target: &Target) {
    loop {
        let stopping = {
            let mut signal = shared.signal();
            while !signal.wake && !signal.stop && shared.overlay.is_empty() {
                signal = shared
                    .wakeup
                    .wait(signal)
                    .unwrap_or_else(|p| p.into_inner());
            }
            signal.wake = false;
            signal.stop
        };
        if !stopping {
            pause(shared, FOLD_DELAY);
        }
        match fold(shared, target) {
            Ok(()) => *lock(&shared.failure) = None,
            Err(error) => {
                tracing::warn!(
                    path = %target.dir.display(),
                    error = %error.message(),
                    "could not write the commit log's batches into LMDB; they stay in the log \
                     and the next try is in a second"
                );
                *lock(&shared.failure) = Some(error.message().to_string());
                if stopping {
                    return;
                }
                pause(shared, RETRY_AFTER);
            }
        }
        if stopping && shared.overlay.is_empty() {
            return;
        }
    }
}

/// Sleeps `how_long`, or less if the store closes.
fn pause(shared: &Shared, how_long: Duration) {
    let signal = shared.signal();
    let _ = shared
        .wakeup
        .wait_timeout_while(signal, how_long, |signal| !signal.stop);
}

/// Writes every pending write into LMDB, then records it in the checkpoint file.
fn fold(shared: &Shared, target: &Target) -> PluginResult<()> {
    let Some(fold) = shared.overlay.fold() else {
        return Ok(());
    };
    let lmdb_error = |e| store_error(&target.settings, &target.dir, "fold the commit log", e);
    let mut wtxn = target.env.write_txn().map_err(lmdb_error)?;
    super::apply_pending(target.db, &mut wtxn, &fold.writes).map_err(lmdb_error)?;
    wtxn.commit().map_err(lmdb_error)?;
    // LMDB holds them now, durably and for every new read transaction: the overlay may
    // forget them.
    shared.overlay.retire(fold.upto);
    target.checkpoint.write(fold.upto)?;
    shared.checkpointed.store(fold.upto, Ordering::Release);
    Ok(())
}
