//! The commit log: a durable store with one device flush per commit.
//!
//! An LMDB commit syncs twice (its pages, then its meta page), and its pages are the B-tree's:
//! with many channels each commit dirties pages of a colder, deeper tree. With the log, a
//! commit is one frame appended to a segment file and one `fdatasync` ([`segments`]); the
//! batch then waits in memory ([`overlay`], where reads find it first) until the fold thread
//! ([`folder`]) writes everything pending into LMDB in one transaction, about once a second.
//!
//! Crash safety, the contract of [`Store::commit`](parley_plugin_api::Store::commit):
//! - *Durable:* a commit returns after its frame is synced. LMDB holds every batch up to the
//!   number in `log-checkpoint`; every later batch is in the log, because a segment is reused
//!   only after that file names its last batch. Opening the store replays them into LMDB.
//! - *Atomic:* a batch is one frame; a frame torn by a crash fails its checksum, and the
//!   batch, never acknowledged, is not replayed. A fold is one LMDB transaction.
//! - *Idempotent replay:* batches put whole values or delete keys, and are replayed in order,
//!   so replaying one LMDB already holds leaves what the newest batch left.

mod checkpoint_file;
mod crc;
mod folder;
mod frame;
mod overlay;
mod segments;

use crate::config::Settings;
use crate::error::store_error;
use checkpoint_file::CheckpointFile;
use folder::Folder;
use heed::types::Bytes;
use heed::{Database, Env, WithoutTls};
use overlay::Overlay;
use parley_plugin_api::codec::{Decode, Encode};
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{PluginError, PluginResult};
use segments::Segments;
use std::path::Path;
use std::sync::Mutex;

/// The most bytes of keys and values that may wait for LMDB. Only a fold thread that stopped
/// working lets the overlay grow this far (a failed fold refuses commits at once).
const OVERLAY_LIMIT: usize = 256 << 20;

/// The log of one LMDB environment.
pub struct CommitLog {
    segments: Mutex<Segments>,
    folder: Folder,
}

impl CommitLog {
    /// Opens the log in `dir` (the environment's directory), replays into LMDB every batch it
    /// holds that LMDB may not, and starts the fold thread.
    pub fn open(
        env: &Env<WithoutTls>,
        db: Database<'static, Bytes, Bytes>,
        dir: &Path,
        settings: &Settings,
    ) -> PluginResult<CommitLog> {
        let lmdb_error = |e| store_error(settings, dir, "replay the commit log", e);
        let (checkpoint, checkpointed) = CheckpointFile::open(dir)?;
        let opened = segments::open(dir, checkpointed)?;
        if !opened.replay.is_empty() {
            let mut wtxn = env.write_txn().map_err(lmdb_error)?;
            for (seq, payload) in &opened.replay {
                let batch = Vec::<WriteOp>::decode(payload).map_err(|error| {
                    PluginError::unavailable(format!(
                        "batch {seq} in the commit log in {} passed its checksum but is not a \
                         batch ({error}); restore the store directory from a backup",
                        dir.display()
                    ))
                })?;
                for op in &batch {
                    crate::environment::apply(db, &mut wtxn, op).map_err(lmdb_error)?;
                }
            }
            wtxn.commit().map_err(lmdb_error)?;
            tracing::info!(
                batches = opened.replay.len(),
                path = %dir.display(),
                "replayed the commit log into LMDB"
            );
        }
        let newest = opened.segments.next_seq() - 1;
        checkpoint.write(newest)?;
        let folder = Folder::start(env.clone(), db, checkpoint, newest, settings, dir)?;
        Ok(CommitLog {
            segments: Mutex::new(opened.segments),
            folder,
        })
    }

    /// Makes `batch` durable in the log and visible to reads.
    pub fn commit(&self, batch: &[WriteOp]) -> PluginResult<()> {
        let shared = self.folder.shared();
        if let Some(failure) = shared.failure() {
            // The store is down until a fold succeeds (the thread tries every second): what
            // is logged stays safe in the log, and nothing more is taken meanwhile.
            return Err(PluginError::unavailable(format!(
                "store commit refused, nothing written: the commits already in the commit log \
                 cannot be written into LMDB: {failure}"
            )));
        }
        if shared.overlay.bytes() > OVERLAY_LIMIT {
            return Err(PluginError::unavailable(format!(
                "store commit refused, nothing written: {} MiB of commits wait to be written \
                 into LMDB, and the store's fold thread is not writing them; restart the node",
                OVERLAY_LIMIT >> 20
            )));
        }
        let payload = batch.encode();
        // The lock spans the append and the overlay, so batches reach both in one order.
        let mut segments = self.segments.lock().unwrap_or_else(|p| p.into_inner());
        let seq = segments
            .append(&payload, shared.checkpointed())
            .map_err(|error| {
                PluginError::new(
                    crate::error::io_kind(error.kind()),
                    format!(
                        "store commit failed, not known to be durable: cannot write the commit \
                         log {}: {error}",
                        segments.active_path().display()
                    ),
                )
            })?;
        let was_empty = shared.overlay.apply(seq, batch);
        drop(segments);
        if was_empty {
            self.folder.wake();
        }
        Ok(())
    }

    /// The writes not yet in LMDB, which reads consult first.
    pub fn overlay(&self) -> &Overlay {
        &self.folder.shared().overlay
    }
}

/// Applies a fold's writes (`None`: delete) to LMDB.
fn apply_pending(
    db: Database<'static, Bytes, Bytes>,
    wtxn: &mut heed::RwTxn<'_>,
    writes: &[(Vec<u8>, Option<Vec<u8>>)],
) -> heed::Result<()> {
    for (key, value) in writes {
        match value {
            Some(value) => db.put(wtxn, key, value)?,
            None => {
                db.delete(wtxn, key)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
