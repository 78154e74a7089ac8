//! Restarts, configuration errors, closing and timeouts.

use super::{connected_pair, Node};
use crate::QuicTransport;
use parley_plugin_api::conformance::TestHost;
use parley_plugin_api::model::TransportEvent;
use parley_plugin_api::{ErrorKind, Host, PluginError, Transport};
use std::fs;
use std::time::Duration;

fn start_in(dir: &std::path::Path, table: &str) -> Result<QuicTransport, PluginError> {
    let host = TestHost::in_dir("wire", dir);
    QuicTransport::new(table, Host::new(host.context()))
}

#[test]
fn the_certificate_is_kept_in_the_data_dir_and_reused_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_in(dir.path(), "").unwrap();
    let cert_path = dir.path().join("quic").join("cert.der");
    let key_path = dir.path().join("quic").join("key.der");
    let cert = fs::read(&cert_path).unwrap();
    let key = fs::read(&key_path).unwrap();
    drop(first);

    let second = start_in(dir.path(), "").unwrap();
    assert_eq!(
        fs::read(&cert_path).unwrap(),
        cert,
        "the certificate changed on restart"
    );
    assert_eq!(
        fs::read(&key_path).unwrap(),
        key,
        "the key changed on restart"
    );
    drop(second);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "key.der has mode {mode:o}");
    }
}

#[test]
fn cert_dir_moves_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let transport = start_in(dir.path(), "cert_dir = \"tls\"").unwrap();
    assert!(dir.path().join("tls").join("cert.der").exists());
    assert!(!dir.path().join("quic").exists());
    drop(transport);
}

#[test]
fn a_corrupt_stored_key_is_an_error_not_a_silent_replacement() {
    let dir = tempfile::tempdir().unwrap();
    drop(start_in(dir.path(), "").unwrap());
    fs::write(dir.path().join("quic").join("key.der"), b"not a key").unwrap();
    let error = start_in(dir.path(), "")
        .err()
        .expect("a corrupt key must be refused");
    assert!(error.message().contains("key.der"), "{error}");
}

#[test]
fn an_unknown_key_is_named_in_the_error() {
    let error = Node::start("idle_timeout = 5")
        .err()
        .expect("an unknown key must fail");
    assert_eq!(error.kind, ErrorKind::InvalidConfig);
    assert!(error.message().contains("idle_timeout"), "{error}");
}

#[test]
fn a_max_frame_size_of_zero_is_refused() {
    let error = Node::start("max_frame_size = 0")
        .err()
        .expect("0 must be refused");
    assert_eq!(error.kind, ErrorKind::InvalidConfig);
    assert!(error.message().contains("max_frame_size"), "{error}");
}

#[test]
fn bad_addresses_are_invalid_arguments() {
    let node = Node::start("").unwrap();
    for addr in ["", "no port", "127.0.0.1:99999"] {
        let error = node.transport.dial(addr).unwrap_err();
        assert_eq!(
            error.kind,
            ErrorKind::InvalidArgument,
            "dial({addr:?}): {error}"
        );
        let error = node.transport.listen(addr).unwrap_err();
        assert_eq!(
            error.kind,
            ErrorKind::InvalidArgument,
            "listen({addr:?}): {error}"
        );
    }
}

#[test]
fn listening_on_a_port_in_use_fails() {
    let node = Node::start("").unwrap();
    let addr = node.transport.listen("127.0.0.1:0").unwrap();
    let error = node.transport.listen(&addr).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
}

#[test]
fn closing_an_id_never_issued_is_not_found_and_closing_twice_is_fine() {
    let (a, _b, a_id, _) = connected_pair("");
    assert_eq!(
        a.transport.close(9_999).unwrap_err().kind,
        ErrorKind::NotFound
    );
    a.transport.close(a_id).unwrap();
    a.transport.close(a_id).unwrap();
    assert_eq!(
        a.transport.send(a_id, b"x").unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[test]
fn frames_queued_before_close_are_delivered_before_closed() {
    let (a, b, a_id, b_id) = connected_pair("");
    for n in 0u32..300 {
        a.transport.send(a_id, &n.to_be_bytes()).unwrap();
    }
    a.transport.close(a_id).unwrap();
    for n in 0u32..300 {
        assert_eq!(b.frame(), (b_id, n.to_be_bytes().to_vec()));
    }
    let (closed, reason) = b.closed();
    assert_eq!(closed, b_id);
    assert!(reason.contains("closed by the peer"), "{reason}");
}

#[test]
fn a_silent_peer_times_out_with_closed_on_both_sides() {
    let table = "idle_timeout_ms = 300\nkeep_alive_ms = 0";
    let (a, b, a_id, b_id) = connected_pair(table);
    let (closed, reason) = a.closed();
    assert_eq!(closed, a_id);
    assert!(reason.contains("timed out"), "{reason}");
    assert_eq!(b.closed().0, b_id);
    assert_eq!(
        a.transport.send(a_id, b"x").unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[test]
fn keep_alives_hold_a_quiet_connection_open() {
    let table = "idle_timeout_ms = 300\nkeep_alive_ms = 100";
    let (a, b, a_id, b_id) = connected_pair(table);
    std::thread::sleep(Duration::from_millis(1_000));
    a.transport.send(a_id, b"still there").unwrap();
    assert_eq!(b.frame(), (b_id, b"still there".to_vec()));
}

#[test]
fn dropping_a_transport_closes_its_connections_for_the_peer() {
    let (a, b, _, b_id) = connected_pair("");
    drop(a);
    match b.event() {
        TransportEvent::Closed { connection, reason } => {
            assert_eq!(connection, b_id);
            assert!(reason.contains("shutting down"), "{reason}");
        }
        other => panic!("expected Closed, got {other:?}"),
    }
}
