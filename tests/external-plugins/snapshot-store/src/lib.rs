//! An example Parley store plugin written against `parley-plugin-api` alone.
//!
//! The store itself is the shared library crate `parley-snapshot-file` (one snapshot file,
//! rewritten atomically per commit); this crate is the plugin around it: its table in
//! `node.toml` and the one `export_plugin!` call. The test fixture `failing-store` links the
//! same library crate and exports a plugin of its own.

use parley_plugin_api::config::parse_table;
use parley_plugin_api::{Host, PluginResult};
use parley_snapshot_file::SnapshotStore;

/// The plugin's table in `node.toml`.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The snapshot file (default `<data_dir>/snapshot-store.bin`).
    file: Option<String>,
}

/// Opens (or creates) the snapshot named by the table.
pub fn new(table: &str, host: Host) -> PluginResult<SnapshotStore> {
    let config: Config = parse_table(table, host.section())?;
    let file = match config.file {
        Some(path) => host.resolve_path(path),
        None => host.data_dir().join("snapshot-store.bin"),
    };
    SnapshotStore::open(file)
}

#[cfg(not(feature = "claim-other-abi-version"))]
parley_plugin_api::export_plugin! {
    kind: Store,
    name: "snapshot-store",
    description: "Example third-party store: one snapshot file, rewritten atomically per commit",
    new: new,
}

#[cfg(feature = "claim-other-abi-version")]
parley_plugin_api::export_plugin! {
    @with_abi_version parley_plugin_api::PLUGIN_ABI_VERSION + 1;
    kind: Store,
    name: "snapshot-store",
    description: "Example third-party store built for another plugin ABI version",
    new: new,
}
