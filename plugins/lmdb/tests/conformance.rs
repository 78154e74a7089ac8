//! The plugin-api store conformance suite against this plugin, in process: directly, and
//! through the FFI wrappers the node uses when it loads the library.

use parley_lmdb::LmdbStore;
use parley_plugin_api::conformance::store;
use parley_plugin_api::store::export_store;
use parley_plugin_api::{Host, LoadedStore, Store};

#[test]
fn the_store_keeps_the_contract() {
    let report = store::run(&|context| {
        Ok(Box::new(LmdbStore::new("", Host::new(context))?) as Box<dyn Store>)
    });
    report.assert_passed(13);
}

#[test]
fn the_store_keeps_the_contract_across_the_ffi_boundary() {
    let report = store::run(&|context| {
        let host = Host::new(context);
        let store = LmdbStore::new("map_size_mib = 64", host.clone())?;
        Ok(Box::new(LoadedStore::new(export_store(store, host))) as Box<dyn Store>)
    });
    report.assert_passed(13);
}

#[test]
fn the_store_keeps_the_contract_without_the_commit_log() {
    let report = store::run(&|context| {
        Ok(Box::new(LmdbStore::new("commit_log = false", Host::new(context))?) as Box<dyn Store>)
    });
    report.assert_passed(13);
}
