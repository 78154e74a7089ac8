//! Peers that break the framing: a raw quinn client that speaks our ALPN but not our rules.

use super::{Node, WAIT};
use crate::config::QuicSettings;
use crate::link::{close_code, peer_close_code};
use crate::tls;
use parley_plugin_api::model::TransportEvent;
use parley_plugin_api::{Host, Transport};
use std::net::SocketAddr;

/// Connects a raw quinn client to `server`, lets `misbehave` write on a fresh stream, and
/// returns the close code the server ended the connection with.
fn raw_client(server: SocketAddr, misbehave: &[&[u8]]) -> Option<quinn::VarInt> {
    let host = parley_plugin_api::conformance::TestHost::new("wire");
    let settings = QuicSettings::from_table("", &Host::new(host.context())).unwrap();
    let config = tls::client_config(tls::transport_config(&settings).unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        let connection = endpoint
            .connect_with(config, server, tls::DIAL_SERVER_NAME)
            .unwrap()
            .await
            .unwrap();
        let mut stream = connection.open_uni().await.unwrap();
        for bytes in misbehave {
            // The server may already have closed; that is what the test looks for.
            let _ = stream.write_all(bytes).await;
        }
        let _ = stream.finish();
        let error = tokio::time::timeout(WAIT, connection.closed())
            .await
            .expect("the server did not close the connection");
        peer_close_code(&error)
    })
}

#[test]
fn a_length_above_the_limit_closes_that_connection_and_the_listener_keeps_serving() {
    let server = Node::start("max_frame_size = 1024").unwrap();
    let addr: SocketAddr = server
        .transport
        .listen("127.0.0.1:0")
        .unwrap()
        .parse()
        .unwrap();

    // One good frame, then a header announcing 4 GiB - 1.
    let mut good = 5u32.to_be_bytes().to_vec();
    good.extend_from_slice(b"hello");
    let code = raw_client(addr, &[&good, &u32::MAX.to_be_bytes()]);
    assert_eq!(code, Some(close_code::FRAME_TOO_LARGE));

    let (hostile, inbound) = server.connected();
    assert!(inbound);
    assert_eq!(server.frame(), (hostile, b"hello".to_vec()));
    let (closed, reason) = server.closed();
    assert_eq!(closed, hostile);
    assert!(reason.contains("max_frame_size"), "{reason}");

    // A header just one byte over is refused the same way.
    let code = raw_client(addr, &[&1025u32.to_be_bytes()]);
    assert_eq!(code, Some(close_code::FRAME_TOO_LARGE));
    let (second, _) = server.connected();
    assert_eq!(server.closed().0, second);

    // An honest node still gets through.
    let client = Node::start("").unwrap();
    let id = client.transport.dial(&addr.to_string()).unwrap();
    let (accepted, _) = server.connected();
    client.transport.send(id, b"honest").unwrap();
    assert_eq!(server.frame(), (accepted, b"honest".to_vec()));
    server.transport.send(accepted, b"welcome").unwrap();
    assert_eq!(client.connected().0, id);
    assert_eq!(client.frame(), (id, b"welcome".to_vec()));
}

#[test]
fn a_stream_ending_inside_a_frame_closes_the_connection() {
    let server = Node::start("").unwrap();
    let addr: SocketAddr = server
        .transport
        .listen("127.0.0.1:0")
        .unwrap()
        .parse()
        .unwrap();
    // Announces 10 bytes, sends 3, then finishes the stream.
    let code = raw_client(addr, &[&10u32.to_be_bytes(), b"abc"]);
    assert_eq!(code, Some(close_code::PROTOCOL));
    let (id, _) = server.connected();
    match server.event() {
        TransportEvent::Closed { connection, reason } => {
            assert_eq!(connection, id);
            assert!(reason.contains("middle of a frame"), "{reason}");
        }
        other => panic!("expected Closed, got {other:?}"),
    }
}
