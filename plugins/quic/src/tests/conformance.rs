//! The plugin-api transport suite against this crate's type, in-process.

use crate::QuicTransport;
use parley_plugin_api::conformance::transport;
use parley_plugin_api::{Host, Transport};

#[test]
fn the_transport_suite_passes() {
    // A short connect timeout keeps the check of an unreachable port quick.
    let report = transport::run(&|context| {
        let transport = QuicTransport::new("connect_timeout_ms = 1500", Host::new(context))?;
        Ok(Box::new(transport) as Box<dyn Transport>)
    });
    for check in &report.checks {
        let verdict = match &check.result {
            Ok(()) => "ok".to_string(),
            Err(why) => format!("FAILED: {why}"),
        };
        println!("{:>8.1?}  {}  {verdict}", check.elapsed, check.contract);
    }
    assert!(
        report.passed(),
        "the transport suite failed; see the lines above"
    );
    assert!(
        report.checks.len() >= 10,
        "the suite ran only {} checks",
        report.checks.len()
    );
}
