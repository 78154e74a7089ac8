//! A store plugin for tests, written against `parley-plugin-api` alone: a real durable store
//! whose commits fail on demand.
//!
//! The map lives in memory and in one snapshot file; a commit writes the new snapshot to a
//! temporary file, syncs it, renames it over the old one and syncs the directory, so every
//! commit is atomic and durable (as in the `snapshot-store` example).
//!
//! While the control file named by `fail_while` exists, every commit fails and writes nothing:
//! with a panic if the file says `panic`, else with an error quoting the file's first line.
//! Reads always work. A test creates the file to make a chosen step hit a failing store, and
//! removes it to let the store work again.

use parley_plugin_api::codec::{Bytes, Decode, Encode};
use parley_plugin_api::config::parse_table;
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{Host, PluginError, PluginResult, Store};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;
use std::sync::RwLock;

/// The plugin's table in `node.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The snapshot file (default `<data_dir>/failing-store.bin`).
    file: Option<String>,
    /// The control file: commits fail while it exists.
    fail_while: String,
}

/// The store.
pub struct FailingStore {
    file: PathBuf,
    control: PathBuf,
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl FailingStore {
    /// Opens (or creates) the snapshot named by the table.
    pub fn new(table: &str, host: Host) -> PluginResult<Self> {
        let config: Config = parse_table(table, host.section())?;
        let file = match config.file {
            Some(path) => host.resolve_path(path),
            None => host.data_dir().join("failing-store.bin"),
        };
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
        Ok(FailingStore {
            file,
            control: host.resolve_path(config.fail_while),
            map: RwLock::new(map),
        })
    }

    /// Fails (or panics) if the control file exists.
    fn check_control(&self) -> PluginResult<()> {
        let Ok(text) = fs::read_to_string(&self.control) else {
            return Ok(());
        };
        let said = text.lines().next().unwrap_or("").trim();
        if said == "panic" {
            panic!(
                "deliberate panic in commit ({} says so)",
                self.control.display()
            );
        }
        Err(PluginError::unavailable(format!(
            "commit refused, nothing written: {} exists ({said})",
            self.control.display()
        )))
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

    fn read(&self) -> PluginResult<std::sync::RwLockReadGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>>> {
        // A panic in `commit` never happens while the lock is held for writing.
        self.map
            .read()
            .map_err(|_| PluginError::internal("lock poisoned"))
    }
}

impl Store for FailingStore {
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
        self.check_control()?;
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
        // Only a snapshot that reached the disk becomes visible.
        self.write_snapshot(&next).map_err(|e| {
            PluginError::unavailable(format!("cannot write {}: {e}", self.file.display()))
        })?;
        *map = next;
        Ok(())
    }
}

parley_plugin_api::export_plugin! {
    kind: Store,
    name: "failing-store",
    description: "Test fixture: a durable snapshot store whose commits fail while a control file exists",
    new: FailingStore::new,
}
