//! The plugin-api app conformance suite against this plugin, in process: directly, and
//! through the FFI wrappers the node uses when it loads the library.

use parley_plugin_api::app::export_app;
use parley_plugin_api::conformance::{app, Report};
use parley_plugin_api::{App, Host, LoadedApp};
use parley_tictactoe::TicTacToe;

fn assert_passed(report: &Report) {
    for check in &report.checks {
        match &check.result {
            Ok(()) => eprintln!("ok   {} ({:?})", check.contract, check.elapsed),
            Err(why) => eprintln!("FAIL {}: {why}", check.contract),
        }
    }
    assert!(
        report.passed(),
        "the app conformance suite failed (see above)"
    );
    assert!(
        report.checks.len() >= 8,
        "only {} checks ran",
        report.checks.len()
    );
}

#[test]
fn the_app_keeps_the_contract() {
    let report =
        app::run(&|context| Ok(Box::new(TicTacToe::new("", Host::new(context))?) as Box<dyn App>));
    assert_passed(&report);
}

#[test]
fn the_app_keeps_the_contract_across_the_ffi_boundary() {
    let report = app::run(&|context| {
        let host = Host::new(context);
        let app = TicTacToe::new("", host.clone())?;
        Ok(Box::new(LoadedApp::new(export_app(app, host))) as Box<dyn App>)
    });
    assert_passed(&report);
}
