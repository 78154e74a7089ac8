//! The maps of this process, one per store path, and the `Store` contract over one.

use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{Durability, PluginError, PluginResult, Store};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, RwLock};

/// The longest key a commit takes: LMDB's limit, so that a node's data moves between the two.
pub const MAX_KEY_LEN: usize = 511;

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// An ordered key-value map in memory, shared by the instances opened on the same path.
#[derive(Clone)]
pub struct MemoryStore(Arc<RwLock<Map>>);

/// Every map opened in this process, by path. Maps live as long as the process, so that a
/// store dropped and opened again finds what it held, as a store on disk would.
static MAPS: LazyLock<Mutex<HashMap<PathBuf, MemoryStore>>> = LazyLock::new(Mutex::default);

/// The map of `path`, created empty on first use.
pub fn open(path: &Path) -> MemoryStore {
    let mut maps = MAPS.lock().unwrap_or_else(PoisonError::into_inner);
    maps.entry(path.to_path_buf())
        .or_insert_with(|| MemoryStore(Arc::new(RwLock::new(Map::new()))))
        .clone()
}

impl MemoryStore {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> PluginResult<Option<Vec<u8>>> {
        Ok(self.read().get(key).cloned())
    }

    /// Up to `limit` pairs under `prefix` after `after`, in key order, from one snapshot.
    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> PluginResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        Ok(self
            .read()
            .range::<[u8], _>((start, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .take(limit)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }

    /// Applies `batch` in order, all of it or (for a key it refuses) none of it.
    fn commit(&self, batch: &[WriteOp]) -> PluginResult<()> {
        for op in batch {
            let key = match op {
                WriteOp::Put { key, .. } | WriteOp::Delete { key } => key,
            };
            if key.0.is_empty() || key.0.len() > MAX_KEY_LEN {
                return Err(PluginError::invalid(format!(
                    "a key of {} bytes: the store takes keys of 1 to {MAX_KEY_LEN} bytes; \
                     nothing of this batch was written",
                    key.0.len()
                )));
            }
        }
        let mut map = self.0.write().unwrap_or_else(PoisonError::into_inner);
        for op in batch {
            match op {
                WriteOp::Put { key, value } => {
                    map.insert(key.0.clone(), value.0.clone());
                }
                WriteOp::Delete { key } => {
                    map.remove(&key.0);
                }
            }
        }
        Ok(())
    }

    fn durability(&self) -> Durability {
        Durability::NotDurable
    }
}
