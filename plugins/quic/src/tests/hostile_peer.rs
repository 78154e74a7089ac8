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
    let config = tls::client_config(tls::transport_config(&settings, false).unwrap()).unwrap();
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

/// A raw client on its own thread that announces one frame of `len` bytes and writes its body,
/// counting the bytes the QUIC stream has taken. Returns the counter and the thread, which ends
/// when the whole frame is written or the connection closes.
fn raw_writer(
    server: SocketAddr,
    len: usize,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::thread::JoinHandle<()>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let written = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let thread = std::thread::spawn(move || {
        let host = parley_plugin_api::conformance::TestHost::new("wire");
        let settings = QuicSettings::from_table("", &Host::new(host.context())).unwrap();
        let config = tls::client_config(tls::transport_config(&settings, false).unwrap()).unwrap();
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
            let _ = stream.write_all(&(len as u32).to_be_bytes()).await;
            let body = vec![0x5a; 16 * 1024];
            let mut left = len;
            while left > 0 {
                match stream.write(&body[..left.min(body.len())]).await {
                    Ok(n) => {
                        left -= n;
                        counter.fetch_add(n, Ordering::SeqCst);
                    }
                    Err(_) => return,
                }
            }
            let _ = stream.finish();
            let _ = tokio::time::timeout(WAIT, connection.closed()).await;
        });
    });
    (written, thread)
}

#[test]
fn a_peer_held_at_its_frame_limit_cannot_make_the_transport_buffer_its_frame() {
    use std::sync::atomic::Ordering;
    let server = Node::start("").unwrap();
    server.transport.set_initial_frame_limit(4096).unwrap();
    let addr: SocketAddr = server
        .transport
        .listen("127.0.0.1:0")
        .unwrap()
        .parse()
        .unwrap();
    let len = 16 << 20;
    let (written, writer) = raw_writer(addr, len);
    let (id, _) = server.connected();

    // Until its limit is raised, the connection takes no more than its receive window: the
    // stranger's writes stall there instead of filling our memory with 16 MiB.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < deadline && written.load(Ordering::SeqCst) < len {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let taken = written.load(Ordering::SeqCst);
    assert!(
        taken <= 4 * crate::link::LIMITED_RECEIVE_WINDOW as usize,
        "the held connection took {taken} bytes of a {len}-byte frame"
    );
    assert!(server.host.next_event(std::time::Duration::ZERO).is_none());

    // Raised, the frame comes through whole.
    server.transport.set_frame_limit(id, len).unwrap();
    let (from, frame) = server.frame();
    assert_eq!((from, frame.len()), (id, len));
    assert!(frame.iter().all(|byte| *byte == 0x5a));
    writer.join().unwrap();
}

#[test]
fn frame_limits_are_checked_and_name_the_connection() {
    let (a, b, a_id, _) = super::connected_pair("max_frame_size = 1024");
    for bad in [0, 1025] {
        let error = a.transport.set_frame_limit(a_id, bad).unwrap_err();
        assert_eq!(error.kind, parley_plugin_api::ErrorKind::InvalidArgument);
        let error = a.transport.set_initial_frame_limit(bad).unwrap_err();
        assert_eq!(error.kind, parley_plugin_api::ErrorKind::InvalidArgument);
    }
    let error = a.transport.set_frame_limit(a_id + 100, 10).unwrap_err();
    assert_eq!(error.kind, parley_plugin_api::ErrorKind::NotFound);
    a.transport.close(a_id).unwrap();
    let error = a.transport.set_frame_limit(a_id, 10).unwrap_err();
    assert_eq!(error.kind, parley_plugin_api::ErrorKind::NotFound);
    drop(b);
}

#[test]
fn a_full_outbox_refuses_with_unavailable_and_loses_nothing() {
    let table = "max_frame_size = 1048576\nmax_outbox_bytes = 1048576";
    let a = Node::start(table).unwrap();
    let b = Node::start(table).unwrap();
    // B holds every frame above 1 KiB until it raises the limit, so A's frames pile up.
    b.transport.set_initial_frame_limit(1024).unwrap();
    let addr = b.transport.listen("127.0.0.1:0").unwrap();
    let a_id = a.transport.dial(&addr).unwrap();
    assert_eq!(a.connected().0, a_id);
    let (b_id, _) = b.connected();

    let frame = |n: u32| {
        let mut frame = n.to_be_bytes().to_vec();
        frame.resize(64 * 1024, n as u8);
        frame
    };
    let mut accepted = 0u32;
    let refusal = loop {
        assert!(
            accepted < 4096,
            "A queued {accepted} frames of 64 KiB for a peer that reads none"
        );
        match a.transport.send(a_id, &frame(accepted)) {
            Ok(()) => accepted += 1,
            Err(error) => break error,
        }
    };
    assert_eq!(
        refusal.kind,
        parley_plugin_api::ErrorKind::Unavailable,
        "{refusal}"
    );
    assert!(refusal.message().contains("max_outbox_bytes"), "{refusal}");
    // The outbox (1 MiB) and what QUIC has in flight bound what A took.
    assert!(accepted <= 16 + 4, "A took {accepted} frames of 64 KiB");

    b.transport.set_frame_limit(b_id, 1 << 20).unwrap();
    for n in 0..accepted {
        assert_eq!(b.frame(), (b_id, frame(n)), "frame {n} of {accepted}");
    }
    a.transport.send(a_id, b"after").unwrap();
    assert_eq!(b.frame(), (b_id, b"after".to_vec()));
}

#[test]
fn connections_beyond_max_connections_are_refused_before_their_handshake() {
    let server = Node::start("max_connections = 2").unwrap();
    let addr = server.transport.listen("127.0.0.1:0").unwrap();
    let client = Node::start("").unwrap();
    let first = client.transport.dial(&addr).unwrap();
    let _second = client.transport.dial(&addr).unwrap();
    let (accepted, _) = server.connected();
    server.connected();
    // A third is refused by the server before its handshake: the dial fails, and the server
    // reports nothing.
    let refused = client.transport.dial(&addr).unwrap_err();
    assert_eq!(
        refused.kind,
        parley_plugin_api::ErrorKind::Unavailable,
        "{refused}"
    );
    // Once one ends, there is room again.
    client.transport.close(first).unwrap();
    assert_eq!(server.closed().0, accepted);
    client.transport.dial(&addr).unwrap();
    server.connected();
}
