//! The transport contract's conformance suite, and what this transport adds to it.

use crate::MemoryWire;
use parley_plugin_api::conformance::{self, TestHost};
use parley_plugin_api::model::{PluginEvent, TransportEvent};
use parley_plugin_api::{ErrorKind, Host, Transport};
use std::time::Duration;

fn wire(host: &TestHost, table: &str) -> MemoryWire {
    MemoryWire::new(table, Host::new(host.context())).unwrap()
}

fn next_transport_event(host: &TestHost) -> TransportEvent {
    match host.next_event(Duration::from_secs(5)) {
        Some(PluginEvent::Transport(event)) => event,
        other => panic!("expected a transport event, got {other:?}"),
    }
}

#[test]
fn passes_the_transport_conformance_suite() {
    let report = conformance::transport::run(&|context| {
        Ok(Box::new(MemoryWire::new("", Host::new(context))?) as Box<dyn Transport>)
    });
    report.assert_passed(10);
}

#[test]
fn port_zero_gets_a_free_port_and_a_taken_one_is_refused() {
    let (one, two) = (TestHost::new("wire"), TestHost::new("wire"));
    let (a, b) = (wire(&one, ""), wire(&two, ""));
    let first = a.listen("memory-test-host:0").unwrap();
    let second = b.listen("memory-test-host:0").unwrap();
    assert_ne!(first, second);
    let error = b.listen(&first).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable);
    assert!(error.message().contains("is taken"), "{error}");
    drop(a);
    // Dropping the instance frees its address.
    assert_eq!(b.listen(&first).unwrap(), first);
}

#[test]
fn a_frame_above_the_peers_max_frame_size_closes_the_connection() {
    let (one, two) = (TestHost::new("wire"), TestHost::new("wire"));
    let a = wire(&one, "max_frame_size = 4096");
    let b = wire(&two, "max_frame_size = 1024");
    let addr = b.listen("127.0.0.1:0").unwrap();
    let connection = a.dial(&addr).unwrap();
    assert!(matches!(
        next_transport_event(&one),
        TransportEvent::Connected { inbound: false, .. }
    ));
    assert!(matches!(
        next_transport_event(&two),
        TransportEvent::Connected { inbound: true, .. }
    ));
    a.send(connection, &[1; 2048]).unwrap();
    assert!(matches!(
        next_transport_event(&one),
        TransportEvent::Closed { .. }
    ));
    assert!(matches!(
        next_transport_event(&two),
        TransportEvent::Closed { .. }
    ));
    assert_eq!(
        a.send(connection, &[1]).unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[test]
fn bad_addresses_and_settings_are_named() {
    let host = TestHost::new("wire");
    let a = wire(&host, "");
    let error = a.listen("no-port").unwrap_err();
    assert!(error.message().contains("host:port"), "{error}");
    let error = a.dial("127.0.0.1:9").unwrap_err();
    assert!(error.message().contains("same process"), "{error}");
    let error = MemoryWire::new("max_outbox_bytes = 10", Host::new(host.context()))
        .err()
        .unwrap();
    assert_eq!(error.kind, ErrorKind::InvalidConfig);
    assert!(error.message().contains("max_outbox_bytes"), "{error}");
}
