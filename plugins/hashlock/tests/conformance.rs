//! The plugin-api app conformance suite against this plugin, in process: directly, and
//! through the FFI wrappers the node uses when it loads the library.

use parley_hashlock::HashLockApp;
use parley_plugin_api::app::export_app;
use parley_plugin_api::conformance::app;
use parley_plugin_api::{App, Host, LoadedApp};

#[test]
fn the_app_keeps_the_contract() {
    let report =
        app::run(
            &|context| Ok(Box::new(HashLockApp::new("", Host::new(context))?) as Box<dyn App>),
        );
    report.assert_passed(8);
}

#[test]
fn the_app_keeps_the_contract_across_the_ffi_boundary() {
    let report = app::run(&|context| {
        let host = Host::new(context);
        let app = HashLockApp::new("", host.clone())?;
        Ok(Box::new(LoadedApp::new(export_app(app, host))) as Box<dyn App>)
    });
    report.assert_passed(8);
}
