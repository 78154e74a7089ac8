//! The plugin-api store conformance suite against this plugin, in process: directly, and
//! through the FFI wrappers the node uses when it loads the library.

use parley_lmdb::LmdbStore;
use parley_plugin_api::conformance::{store, Report};
use parley_plugin_api::store::export_store;
use parley_plugin_api::{Host, LoadedStore, Store};

fn assert_passed(report: &Report) {
    for check in &report.checks {
        match &check.result {
            Ok(()) => eprintln!("ok   {} ({:?})", check.contract, check.elapsed),
            Err(why) => eprintln!("FAIL {}: {why}", check.contract),
        }
    }
    assert!(
        report.passed(),
        "the store conformance suite failed (see above)"
    );
    assert!(
        report.checks.len() >= 13,
        "only {} checks ran",
        report.checks.len()
    );
}

#[test]
fn the_store_keeps_the_contract() {
    let report = store::run(&|context| {
        Ok(Box::new(LmdbStore::new("", Host::new(context))?) as Box<dyn Store>)
    });
    assert_passed(&report);
}

#[test]
fn the_store_keeps_the_contract_across_the_ffi_boundary() {
    let report = store::run(&|context| {
        let host = Host::new(context);
        let store = LmdbStore::new("map_size_mib = 64", host.clone())?;
        Ok(Box::new(LoadedStore::new(export_store(store, host))) as Box<dyn Store>)
    });
    assert_passed(&report);
}
