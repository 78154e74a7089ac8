//! A store plugin built against the frozen copy of plugin-api at ABI 3 revision 0: the example
//! snapshot store's code (compiled from its source file, against the frozen crate) exported
//! under the name `frozen-abi-store`.

#[path = "../../../external-plugins/snapshot-file/src/lib.rs"]
mod snapshot_file;

use parley_plugin_api::config::parse_table;
use parley_plugin_api::{Host, PluginResult};
use snapshot_file::SnapshotStore;

/// The plugin's table in `node.toml`.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The snapshot file (default `<data_dir>/frozen-abi-store.bin`).
    file: Option<String>,
}

/// Opens (or creates) the snapshot named by the table.
pub fn new(table: &str, host: Host) -> PluginResult<SnapshotStore> {
    let config: Config = parse_table(table, host.section())?;
    let file = match config.file {
        Some(path) => host.resolve_path(path),
        None => host.data_dir().join("frozen-abi-store.bin"),
    };
    SnapshotStore::open(file)
}

parley_plugin_api::export_plugin! {
    kind: Store,
    name: "frozen-abi-store",
    description: "A store built against plugin-api as frozen at ABI 3 revision 0",
    new: new,
}
