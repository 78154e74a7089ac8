//! A template store plugin: an append-only log of committed batches.
//!
//! Every `commit` appends one record (`length`, the encoded batch, a checksum) to the log file
//! and syncs it, so a commit costs one write of its own size, not of the whole map. On open, the
//! log is replayed into memory; a record cut short by a crash (a torn tail: too short, or its
//! checksum wrong) is a commit that never returned, and is cut off. That makes every commit
//! atomic and durable. The log is never compacted: a real store would rewrite it from the map
//! once it grows past some multiple of the live data.
//!
//! To start a plugin of your own, replace `LogStore` with your type and keep the shape: a
//! constructor `fn(&str, Host) -> PluginResult<T>` that parses its table with `parse_table`,
//! the interface's trait, and one `export_plugin!`.

use parley_plugin_api::codec::{Decode, Encode};
use parley_plugin_api::config::parse_table;
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{Host, PluginError, PluginResult, Store};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};

/// The plugin's table in `node.toml`.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The log file (default `<data_dir>/template-store.log`).
    file: Option<String>,
}

/// The store: the replayed map, and the log it came from.
pub struct LogStore {
    path: PathBuf,
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
    /// The log, positioned at its end. Its lock also orders commits.
    log: Mutex<File>,
}

/// FNV-1a, 64 bits: enough to tell a torn record from a whole one.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn apply(map: &mut BTreeMap<Vec<u8>, Vec<u8>>, batch: &[WriteOp]) {
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
}

/// Replays the whole records of `bytes` into a map; returns it and the length they cover.
fn replay(bytes: &[u8]) -> (BTreeMap<Vec<u8>, Vec<u8>>, usize) {
    let mut map = BTreeMap::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + 8) {
        let len = u64::from_le_bytes(header.try_into().expect("8 bytes")) as usize;
        let Some(body) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        let Some(sum) = bytes.get(at + 8 + len..at + 16 + len) else {
            break;
        };
        if u64::from_le_bytes(sum.try_into().expect("8 bytes")) != checksum(body) {
            break;
        }
        let Ok(batch) = Vec::<WriteOp>::decode(body) else {
            break;
        };
        apply(&mut map, &batch);
        at += 16 + len;
    }
    (map, at)
}

impl LogStore {
    /// Opens (or creates) the log named by the table and replays it.
    pub fn new(table: &str, host: Host) -> PluginResult<Self> {
        let config: Config = parse_table(table, host.section())?;
        let path = match config.file {
            Some(path) => host.resolve_path(path),
            None => host.data_dir().join("template-store.log"),
        };
        let io = |what: &str, e: std::io::Error| {
            PluginError::unavailable(format!("cannot {what} {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
        }
        let mut log = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io("open", e))?;
        let mut bytes = Vec::new();
        log.read_to_end(&mut bytes).map_err(|e| io("read", e))?;
        let (map, whole) = replay(&bytes);
        // Cut a torn tail, so that the next record follows the last whole one.
        log.set_len(whole as u64).map_err(|e| io("truncate", e))?;
        log.seek(SeekFrom::End(0)).map_err(|e| io("seek in", e))?;
        Ok(LogStore {
            path,
            map: RwLock::new(map),
            log: Mutex::new(log),
        })
    }

    fn poisoned() -> PluginError {
        PluginError::internal("a lock was poisoned by an earlier panic")
    }
}

impl Store for LogStore {
    fn get(&self, key: &[u8]) -> PluginResult<Option<Vec<u8>>> {
        let map = self.map.read().map_err(|_| Self::poisoned())?;
        Ok(map.get(key).cloned())
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
        let map = self.map.read().map_err(|_| Self::poisoned())?;
        Ok(map
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn commit(&self, batch: &[WriteOp]) -> PluginResult<()> {
        let body = batch.to_vec().encode();
        let mut record = Vec::with_capacity(body.len() + 16);
        record.extend_from_slice(&(body.len() as u64).to_le_bytes());
        record.extend_from_slice(&body);
        record.extend_from_slice(&checksum(&body).to_le_bytes());
        let mut log = self.log.lock().map_err(|_| Self::poisoned())?;
        let end = log
            .stream_position()
            .map_err(|e| PluginError::unavailable(format!("{}: {e}", self.path.display())))?;
        if let Err(e) = log.write_all(&record).and_then(|()| log.sync_data()) {
            // The outcome on disk is unknown; cut the record so that a later commit does not
            // follow a half-written one, and report the store as unavailable.
            let _ = log
                .set_len(end)
                .and_then(|()| log.seek(SeekFrom::Start(end)).map(|_| ()));
            return Err(PluginError::unavailable(format!(
                "cannot append to {}: {e}",
                self.path.display()
            )));
        }
        // Visible only once durable.
        let mut map = self.map.write().map_err(|_| Self::poisoned())?;
        apply(&mut map, batch);
        Ok(())
    }
}

parley_plugin_api::export_plugin! {
    kind: Store,
    name: "template-store",
    description: "Template third-party store: an append-only log of committed batches",
    new: LogStore::new,
}
