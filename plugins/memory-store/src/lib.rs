//! # parley-plugin-memory-store
//!
//! A store plugin that keeps the node's channels in this process's memory: an ordered map per
//! store path, shared by every instance opened on that path. Commits are atomic and visible at
//! once, and they survive dropping and reopening the store inside the same process, but not a
//! crash or a restart: the store says so
//! ([`Durability::NotDurable`](parley_plugin_api::Durability::NotDurable)) and the node warns.
//!
//! It exists for the setting other state channel implementations are measured in (two clients
//! in one process, nothing persisted: `parley bench channels --in-memory`) and for tests that
//! need a store without a disk. It is a real plugin, loaded through the ABI like `lmdb`.
//!
//! Configuration is the `[store]` table of `node.toml`: `path` (optional, default `store`
//! under the data directory) names the map; nothing is written there.

mod maps;

pub use maps::MemoryStore;
use parley_plugin_api::config::parse_table;
use parley_plugin_api::{Host, PluginResult};
use serde::Deserialize;

/// The `[store]` table as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct MemoryTable {
    /// The name of the map: instances opened on the same path share it.
    path: Option<String>,
}

impl MemoryStore {
    /// Opens the map named by the table's `path` (default: `store` under the data directory).
    pub fn new(config: &str, host: Host) -> PluginResult<MemoryStore> {
        let table: MemoryTable = parse_table(config, host.section())?;
        let path = match &table.path {
            Some(path) => host.resolve_path(path),
            None => host.data_dir().join("store"),
        };
        host.log(
            parley_plugin_api::LogLevel::Warn,
            "parley_memory_store",
            &format!(
                "the store `{}` is kept in memory only: every channel state is lost when the \
                 process ends; use it for benchmarks and tests",
                path.display()
            ),
        );
        Ok(maps::open(&path))
    }
}

parley_plugin_api::export_plugin! {
    kind: Store,
    name: "memory-store",
    description: "An ordered key-value map in this process's memory: nothing persisted (benchmarks, tests)",
    check_config: "",
    new: MemoryStore::new,
}

#[cfg(test)]
mod tests;
