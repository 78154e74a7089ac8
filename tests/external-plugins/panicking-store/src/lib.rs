//! A store plugin that panics on purpose: in its constructor when `panic_in_constructor = true`,
//! and in every `get` and `commit`. Tests use it to check that a panicking plugin returns errors
//! and never takes the node down.

use parley_plugin_api::config::parse_table;
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{Host, PluginResult, Store};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    panic_in_constructor: bool,
}

/// The store that panics.
pub struct PanickingStore;

impl PanickingStore {
    /// Panics if the table asks for it.
    pub fn new(table: &str, host: Host) -> PluginResult<Self> {
        let config: Config = parse_table(table, host.section())?;
        if config.panic_in_constructor {
            panic!("deliberate panic in the constructor");
        }
        Ok(PanickingStore)
    }
}

impl Store for PanickingStore {
    fn get(&self, _key: &[u8]) -> PluginResult<Option<Vec<u8>>> {
        panic!("deliberate panic in get");
    }

    fn scan(
        &self,
        _prefix: &[u8],
        _after: Option<&[u8]>,
        _limit: usize,
    ) -> PluginResult<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(Vec::new())
    }

    fn commit(&self, _batch: &[WriteOp]) -> PluginResult<()> {
        let values: Vec<u8> = Vec::new();
        // An index out of bounds, like a real bug would.
        let _ = values[usize::from(values.is_empty())];
        Ok(())
    }
}

parley_plugin_api::export_plugin! {
    kind: Store,
    name: "panicking-store",
    description: "Test fixture: panics in get and commit",
    new: PanickingStore::new,
}
