//! A store that keeps its whole map in memory and in one snapshot file, shared by the example
//! plugin `snapshot-store` and the test fixture `failing-store`.
//!
//! A commit writes the new snapshot to a temporary file, syncs it, renames it over the old one
//! and syncs the directory: rename is atomic on POSIX file systems, so after a crash the file
//! holds either the old or the new map, never a mix. That makes every commit atomic and
//! durable, at the price of rewriting everything (fine for an example and small data; use the
//! `lmdb` plugin for real nodes).
//!
//! This crate implements [`Store`] but exports nothing: the plugin crates that link it each
//! call `export_plugin!` once, for themselves.

use parley_plugin_api::codec::{Bytes, Decode, Encode};
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{PluginError, PluginResult, Store};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard};

/// The map and its snapshot file.
pub struct SnapshotStore {
    file: PathBuf,
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl SnapshotStore {
    /// Opens the snapshot at `file`, or starts empty if there is none yet.
    pub fn open(file: PathBuf) -> PluginResult<Self> {
        let map = match fs::read(&file) {
            Ok(bytes) => Vec::<(Bytes, Bytes)>::decode(&bytes)
                .map_err(|e| {
                    PluginError::internal(format!("{} is not a snapshot: {e}", file.display()))
                })?
                .into_iter()
                .map(|(k, v)| (k.0, v.0))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(PluginError::unavailable(format!(
                    "cannot read {}: {e}",
                    file.display()
                )))
            }
        };
        Ok(SnapshotStore {
            file,
            map: RwLock::new(map),
        })
    }

    /// The snapshot file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    fn write_snapshot(&self, map: &BTreeMap<Vec<u8>, Vec<u8>>) -> std::io::Result<()> {
        let pairs: Vec<(Bytes, Bytes)> = map
            .iter()
            .map(|(k, v)| (Bytes(k.clone()), Bytes(v.clone())))
            .collect();
        let dir = self.file.parent().map(PathBuf::from).unwrap_or_default();
        fs::create_dir_all(&dir)?;
        let temp = self.file.with_extension("tmp");
        let mut out = File::create(&temp)?;
        out.write_all(&pairs.encode())?;
        out.sync_all()?;
        fs::rename(&temp, &self.file)?;
        File::open(&dir)?.sync_all()
    }

    fn read(&self) -> PluginResult<RwLockReadGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>>> {
        // A panic in `commit` never happens while the lock is held for writing.
        self.map
            .read()
            .map_err(|_| PluginError::internal("lock poisoned"))
    }
}

impl Store for SnapshotStore {
    fn get(&self, key: &[u8]) -> PluginResult<Option<Vec<u8>>> {
        Ok(self.read()?.get(key).cloned())
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> PluginResult<Vec<(Vec<u8>, Vec<u8>)>> {
        use std::ops::Bound;
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded(after.to_vec()),
            _ => Bound::Included(prefix.to_vec()),
        };
        Ok(self
            .read()?
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn commit(&self, batch: &[WriteOp]) -> PluginResult<()> {
        let mut map = self
            .map
            .write()
            .map_err(|_| PluginError::internal("lock poisoned"))?;
        let mut next = map.clone();
        for op in batch {
            match op {
                WriteOp::Put { key, value } => {
                    next.insert(key.0.clone(), value.0.clone());
                }
                WriteOp::Delete { key } => {
                    next.remove(&key.0);
                }
            }
        }
        // Only a snapshot that reached the disk becomes visible: an error leaves both the file
        // and the in-memory map as they were.
        self.write_snapshot(&next).map_err(|e| {
            PluginError::unavailable(format!("cannot write {}: {e}", self.file.display()))
        })?;
        *map = next;
        Ok(())
    }
}
