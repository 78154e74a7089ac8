//! [`LmdbStore`]: the [`Store`] contract over one LMDB environment.

use crate::config::Settings;
use crate::environment::{self, EnvironmentHandle};
use crate::error::store_error;
use crate::merge::merge;
use parley_plugin_api::logging::forward_tracing_to_host;
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{Durability, Host, PluginError, PluginResult, Store};
use std::ops::Bound;
use std::path::Path;

/// A durable, ordered key-value store in an LMDB environment.
///
/// - Reads (`get`, `scan`) each run in their own read transaction: a consistent snapshot that
///   never waits for writers.
/// - `commit` appends the batch to the commit log and syncs it once (see [`crate::log`]);
///   reads find it in the log's overlay until the fold thread has written it into LMDB. With
///   `commit_log = false`, it applies the batch in one LMDB write transaction, which commits
///   copy-on-write and syncs twice before returning; with `durable = false`, in one that does
///   not sync. Either way a commit is atomic across crashes and (unless `durable = false`)
///   durable when it returns.
/// - Keys are 1 to 511 bytes (LMDB's limit); `commit` refuses others before writing anything.
///   `get` of such a key answers `None`, since it can never be stored.
pub struct LmdbStore {
    environment: EnvironmentHandle,
}

impl LmdbStore {
    /// Opens the store described by the plugin's table `config` (see
    /// [`StoreConfig`](crate::StoreConfig)).
    pub fn new(config: &str, host: Host) -> PluginResult<LmdbStore> {
        forward_tracing_to_host(&host);
        let settings = Settings::from_table(config, &host)?;
        let environment = environment::open(&settings)?;
        tracing::info!(
            path = %environment.path.display(),
            map_size_mib = settings.map_size_mib(),
            durable = settings.durable,
            commit_log = environment.log.is_some(),
            "opened the LMDB store"
        );
        if !settings.durable {
            tracing::warn!(
                path = %environment.path.display(),
                "durable = false: a crash may lose the most recent commits (the store stays \
                 consistent); use this for benchmarks only"
            );
        }
        Ok(LmdbStore { environment })
    }

    /// The canonical directory of the environment.
    pub fn path(&self) -> &Path {
        &self.environment.path
    }

    fn error(&self, what: &str, error: heed::Error) -> PluginError {
        store_error(
            &self.environment.settings,
            &self.environment.path,
            what,
            error,
        )
    }

    /// Whether LMDB can store `key` at all.
    fn storable(&self, key: &[u8]) -> bool {
        !key.is_empty() && key.len() <= self.environment.env.max_key_size()
    }
}

impl Store for LmdbStore {
    fn durability(&self) -> Durability {
        if self.environment.settings.durable {
            Durability::Durable
        } else {
            Durability::NotDurable
        }
    }

    fn get(&self, key: &[u8]) -> PluginResult<Option<Vec<u8>>> {
        if !self.storable(key) {
            return Ok(None);
        }
        let environment = &*self.environment;
        if let Some(decided) = environment
            .log
            .as_ref()
            .and_then(|log| log.overlay().get(key))
        {
            return Ok(decided);
        }
        let rtxn = environment
            .env
            .read_txn()
            .map_err(|e| self.error("get", e))?;
        let value = environment
            .db
            .get(&rtxn, key)
            .map_err(|e| self.error("get", e))?;
        Ok(value.map(<[u8]>::to_vec))
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> PluginResult<Vec<(Vec<u8>, Vec<u8>)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // The first candidate is the larger of the prefix itself (inclusive) and `after`
        // (exclusive). Every key from there on that still starts with `prefix` belongs to the
        // answer; the first one that does not is past every key of the prefix, so the walk
        // stops there instead of running to the end of the database.
        let (start, exclusive) = match after {
            Some(after) if after >= prefix => (after, true),
            _ => (prefix, false),
        };
        let max_key = self.environment.env.max_key_size();
        // LMDB cannot seek to an empty key or one longer than any stored key; seek to what it
        // can and skip forward to the real start below.
        let seek = if start.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Included(&start[..start.len().min(max_key)])
        };
        let environment = &*self.environment;
        let open_snapshot = || environment.env.read_txn();
        let (pending, rtxn) = match &environment.log {
            Some(log) => log
                .overlay()
                .range_with(prefix, start, exclusive, open_snapshot),
            None => (Vec::new(), open_snapshot()),
        };
        let rtxn = rtxn.map_err(|e| self.error("scan", e))?;
        let range = environment
            .db
            .range(&rtxn, &(seek, Bound::Unbounded))
            .map_err(|e| self.error("scan", e))?;
        let stored = range
            .map(|entry| entry.map_err(|e| self.error("scan", e)))
            .skip_while(|entry| {
                entry
                    .as_ref()
                    .is_ok_and(|(key, _)| *key < start || (exclusive && *key == start))
            })
            .take_while(|entry| {
                entry
                    .as_ref()
                    .map_or(true, |(key, _)| key.starts_with(prefix))
            });
        merge(stored, pending, limit)
    }

    fn commit(&self, batch: &[WriteOp]) -> PluginResult<()> {
        if let Some(op) = batch.iter().find(|op| !self.storable(op.key())) {
            return Err(PluginError::invalid(format!(
                "store commit refused, nothing written: a key of {} bytes; LMDB keys are 1 to {} \
                 bytes",
                op.key().len(),
                self.environment.env.max_key_size()
            )));
        }
        if batch.is_empty() {
            return Ok(());
        }
        let environment = &*self.environment;
        if let Some(log) = &environment.log {
            return log.commit(batch);
        }
        // Any early return below drops `wtxn`, which aborts it: nothing of the batch is written.
        let mut wtxn = environment
            .env
            .write_txn()
            .map_err(|e| self.error("commit", e))?;
        for op in batch {
            environment::apply(environment.db, &mut wtxn, op)
                .map_err(|e| self.error("commit", e))?;
        }
        wtxn.commit().map_err(|e| self.error("commit", e))
    }
}
