//! A store plugin for tests, written against `parley-plugin-api` alone: a real durable store
//! whose commits fail on demand.
//!
//! The store is the snapshot store of the shared library crate `parley-snapshot-file` (the
//! example `snapshot-store` plugin links it too): every commit is atomic and durable.
//!
//! While the control file named by `fail_while` exists, every commit fails and writes nothing:
//! with a panic if the file says `panic`, else with an error quoting the file's first line.
//! Reads always work. A test creates the file to make a chosen step hit a failing store, and
//! removes it to let the store work again.

use parley_plugin_api::config::parse_table;
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{Host, PluginError, PluginResult, Store};
use parley_snapshot_file::SnapshotStore;
use std::fs;
use std::path::PathBuf;

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
    snapshot: SnapshotStore,
    control: PathBuf,
}

impl FailingStore {
    /// Opens (or creates) the snapshot named by the table.
    pub fn new(table: &str, host: Host) -> PluginResult<Self> {
        let config: Config = parse_table(table, host.section())?;
        let file = match config.file {
            Some(path) => host.resolve_path(path),
            None => host.data_dir().join("failing-store.bin"),
        };
        Ok(FailingStore {
            snapshot: SnapshotStore::open(file)?,
            control: host.resolve_path(config.fail_while),
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
}

impl Store for FailingStore {
    fn get(&self, key: &[u8]) -> PluginResult<Option<Vec<u8>>> {
        self.snapshot.get(key)
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> PluginResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.snapshot.scan(prefix, after, limit)
    }

    fn commit(&self, batch: &[WriteOp]) -> PluginResult<()> {
        self.check_control()?;
        self.snapshot.commit(batch)
    }
}

parley_plugin_api::export_plugin! {
    kind: Store,
    name: "failing-store",
    description: "Test fixture: a durable snapshot store whose commits fail while a control file exists",
    new: FailingStore::new,
}
