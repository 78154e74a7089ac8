//! The server over real sockets: a raw HTTP/1.1 client and a minimal WebSocket client on
//! `tokio::net::TcpStream`, against [`FakeNode`].

use super::node_api::EventBus;
use super::server::{ApiServer, ApiServerConfig};
use super::test_support::FakeNode;
use super::token::ApiToken;
use super::types::NodeEvent;
use crate::protocol::Phase;
use parley_plugin_api::model::ChannelId;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Harness {
    server: ApiServer,
    node: Arc<FakeNode>,
    events: EventBus,
    token: ApiToken,
}

async fn start() -> Harness {
    let node = Arc::new(FakeNode::default());
    let events = EventBus::new();
    let token = ApiToken::generate().unwrap();
    let config = ApiServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        allow_non_loopback: false,
    };
    let server = ApiServer::start(&config, token.clone(), node.clone(), events.clone())
        .await
        .unwrap();
    Harness {
        server,
        node,
        events,
        token,
    }
}

/// Sends one JSON-RPC request over HTTP/1.1 and returns the status and the JSON body.
async fn post(addr: SocketAddr, token: Option<&str>, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, serde_json::from_str(&body).unwrap())
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

fn call(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

#[tokio::test]
async fn no_token_is_401_and_calls_nothing() {
    let h = start().await;
    let addr = h.server.local_addr();
    let (status, body) = post(addr, None, &call("node_info", json!([]))).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], 1000);
    assert_eq!(body["error"]["data"]["category"], "unauthorized");
    let wrong = ApiToken::generate().unwrap();
    let (status, _) = post(addr, Some(wrong.expose()), &call("node_info", json!([]))).await;
    assert_eq!(status, 401);
    assert!(h.node.calls().is_empty(), "{:?}", h.node.calls());
    h.server.stop();
}

#[tokio::test]
async fn right_token_gets_the_result() {
    let h = start().await;
    let addr = h.server.local_addr();
    let token = Some(h.token.expose());
    let (status, body) = post(addr, token, &call("node_info", json!(null))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["chain"]["backend"], "sim-chain");
    let pay = call(
        "channel_pay",
        json!({"id": FakeNode::CHANNEL.to_string(), "amount": "30"}),
    );
    let (_, body) = post(addr, token, &pay).await;
    assert_eq!(body["result"]["balances"][0]["mine"], "70", "{body}");
    assert_eq!(body["result"]["balances"][0]["theirs"], "80", "{body}");
    assert_eq!(h.node.calls(), vec!["node_info", "channel_pay"]);
    h.server.stop();
}

#[tokio::test]
async fn node_errors_keep_code_and_category() {
    let h = start().await;
    let addr = h.server.local_addr();
    let token = Some(h.token.expose());
    let unknown = ChannelId([0x22; 32]).to_string();
    let (_, body) = post(addr, token, &call("channel_get", json!([unknown]))).await;
    assert_eq!(body["error"]["code"], 1002, "{body}");
    assert_eq!(body["error"]["data"]["category"], "not_found");
    let overdraft = call("channel_pay", json!([FakeNode::CHANNEL.to_string(), "101"]));
    let (_, body) = post(addr, token, &overdraft).await;
    assert_eq!(body["error"]["code"], 1003, "{body}");
    assert_eq!(body["error"]["data"]["category"], "insufficient_funds");
    h.server.stop();
}

#[tokio::test]
async fn unknown_method_is_method_not_found() {
    let h = start().await;
    let (_, body) = post(
        h.server.local_addr(),
        Some(h.token.expose()),
        &call("channel_steal", json!([])),
    )
    .await;
    assert_eq!(body["error"]["code"], -32601, "{body}");
    assert!(h.node.calls().is_empty());
    h.server.stop();
}

#[tokio::test]
async fn bad_params_are_invalid_argument_naming_the_field() {
    let h = start().await;
    let bad = call(
        "channel_pay",
        json!({"id": FakeNode::CHANNEL.to_string(), "amount": true}),
    );
    let (_, body) = post(h.server.local_addr(), Some(h.token.expose()), &bad).await;
    assert_eq!(body["error"]["code"], 1001, "{body}");
    assert_eq!(body["error"]["data"]["category"], "invalid_argument");
    assert_eq!(body["error"]["data"]["details"]["param"], "amount");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`amount`"));
    assert!(
        h.node.calls().is_empty(),
        "bad params must not reach the node"
    );
    h.server.stop();
}

/// A minimal WebSocket client: handshake, masked text frames out, unmasked frames in.
struct WsClient {
    stream: TcpStream,
}

impl WsClient {
    /// Opens a WebSocket; returns the HTTP status line's code when the upgrade is refused.
    async fn connect(addr: SocketAddr, token: Option<&str>) -> Result<WsClient, u16> {
        let header = token.map(|token| format!("Authorization: Bearer {token}\r\n"));
        WsClient::connect_with(addr, header.as_deref().unwrap_or(""))
            .await
            .map(|(client, _)| client)
    }

    /// Opens a WebSocket with `headers` (each line ending in CRLF) added to the upgrade
    /// request; returns the client and the answer's head, or the status of a refusal.
    async fn connect_with(addr: SocketAddr, headers: &str) -> Result<(WsClient, String), u16> {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             {headers}\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        // Read the response head byte by byte so no frame byte is consumed with it.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(stream.read_u8().await.unwrap());
        }
        let head = String::from_utf8(head).unwrap();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        if status == 101 {
            Ok((WsClient { stream }, head))
        } else {
            Err(status)
        }
    }

    async fn send(&mut self, message: &Value) {
        let payload = message.to_string().into_bytes();
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        let mut frame = vec![0x81];
        assert!(payload.len() < 65536);
        if payload.len() < 126 {
            frame.push(0x80 | payload.len() as u8);
        } else {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.unwrap();
    }

    /// The next text message, skipping control frames.
    async fn receive(&mut self) -> Value {
        loop {
            let first = self.stream.read_u8().await.unwrap();
            let second = self.stream.read_u8().await.unwrap();
            let length = match second & 0x7f {
                126 => u64::from(self.stream.read_u16().await.unwrap()),
                127 => self.stream.read_u64().await.unwrap(),
                short => u64::from(short),
            };
            let mut payload = vec![0; length as usize];
            self.stream.read_exact(&mut payload).await.unwrap();
            if first & 0x0f == 0x1 {
                return serde_json::from_slice(&payload).unwrap();
            }
        }
    }
}

#[tokio::test]
async fn websocket_needs_the_token() {
    let h = start().await;
    let refused = WsClient::connect(h.server.local_addr(), None).await;
    assert_eq!(refused.err(), Some(401));
    h.server.stop();
}

#[tokio::test]
async fn a_browser_websocket_offers_the_token_as_a_subprotocol() {
    let h = start().await;
    let addr = h.server.local_addr();
    let offer = |token: &str| format!("Sec-WebSocket-Protocol: parley.bearer, {token}\r\n");
    let wrong = ApiToken::generate().unwrap();
    let refused = WsClient::connect_with(addr, &offer(wrong.expose())).await;
    assert_eq!(refused.err(), Some(401));
    let alone = WsClient::connect_with(addr, "Sec-WebSocket-Protocol: parley.bearer\r\n").await;
    assert_eq!(alone.err(), Some(401));
    // The right token works, and the answer names the one subprotocol the browser expects
    // (it fails the connection otherwise), never the token.
    let (mut ws, head) = WsClient::connect_with(addr, &offer(h.token.expose()))
        .await
        .expect("the upgrade with the token as a subprotocol");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("\r\nsec-websocket-protocol: parley.bearer\r\n"),
        "{head}"
    );
    assert!(!head.contains(h.token.expose()), "{head}");
    ws.send(&call("node_info", json!([]))).await;
    let answer = ws.receive().await;
    assert_eq!(
        answer["result"]["chain"]["backend"], "sim-chain",
        "{answer}"
    );
    // A plain POST cannot use the subprotocol header in place of Authorization.
    let head = format!(
        "POST / HTTP/1.1\r\nContent-Type: application/json\r\n\
         Sec-WebSocket-Protocol: parley.bearer, {}\r\nContent-Length: 2",
        h.token.expose()
    );
    let (status, _) = raw_request(addr, &head, b"{}").await;
    assert_eq!(status, 401);
    assert_eq!(h.node.calls(), vec!["node_info"]);
    h.server.stop();
}

#[tokio::test]
async fn the_dashboard_is_served_without_the_token_and_the_api_still_needs_it() {
    let h = start().await;
    let addr = h.server.local_addr();
    let (status, page) = raw_request(addr, "GET /dashboard/ HTTP/1.1", b"").await;
    assert_eq!(status, 200);
    assert!(page.contains("./app.js"), "{page}");
    let (status, _) = raw_request(addr, "GET / HTTP/1.1", b"").await;
    assert_eq!(status, 302);
    let (status, _) = raw_request(addr, "GET /metrics HTTP/1.1", b"").await;
    assert_eq!(status, 401);
    let (status, _) = post(addr, None, &call("node_info", json!([]))).await;
    assert_eq!(status, 401);
    // `GET /` that upgrades is the API's WebSocket, not a redirect.
    assert_eq!(WsClient::connect(addr, None).await.err(), Some(401));
    assert!(h.node.calls().is_empty(), "{:?}", h.node.calls());
    h.server.stop();
}

#[tokio::test]
async fn subscription_receives_published_events() {
    let h = start().await;
    let mut ws = WsClient::connect(h.server.local_addr(), Some(h.token.expose()))
        .await
        .unwrap();
    ws.send(&call("subscribe_events", json!([]))).await;
    let subscribed = ws.receive().await;
    let subscription = subscribed["result"].clone();
    assert!(!subscription.is_null(), "{subscribed}");
    let event = NodeEvent::PhaseChanged {
        channel: FakeNode::CHANNEL,
        from: Phase::Funding,
        to: Phase::Active,
    };
    h.events.publish(event.clone());
    let notification = tokio::time::timeout(Duration::from_secs(5), ws.receive())
        .await
        .expect("no event within 5 s");
    assert_eq!(notification["method"], "node_event");
    assert_eq!(notification["params"]["subscription"], subscription);
    let received: NodeEvent =
        serde_json::from_value(notification["params"]["result"].clone()).unwrap();
    assert_eq!(received, event);
    // Plain calls work on the same WebSocket.
    ws.send(&call("channel_list", json!([]))).await;
    let listed = ws.receive().await;
    assert_eq!(listed["result"][0]["id"], FakeNode::CHANNEL.to_string());
    h.server.stop();
}

/// Sends `head` (the request line and headers, without the blank line) and then `body` as
/// is, and returns the status and the body of the answer. Write errors are ignored: a server
/// may answer and close before it has read everything.
async fn raw_request(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n").into_bytes();
    request.extend_from_slice(body);
    let _ = stream.write_all(&request).await;
    let mut response = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => response.extend_from_slice(&buffer[..n]),
            Err(_) => panic!("no answer within 10 s"),
        }
    }
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP answer");
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn post_head(token: &str, extra: &str) -> String {
    format!(
        "POST / HTTP/1.1\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}{extra}"
    )
}

/// A JSON-RPC call padded with spaces to `size` bytes.
fn padded_call(size: usize) -> Vec<u8> {
    let mut body = call("node_info", json!([])).to_string().into_bytes();
    body.resize(size, b' ');
    body
}

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in body.chunks(64 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[tokio::test]
async fn an_oversized_body_is_413_however_it_is_sent() {
    use super::server::MAX_REQUEST_BYTES;
    let h = start().await;
    let addr = h.server.local_addr();
    let token = h.token.expose();
    let limit = MAX_REQUEST_BYTES as usize;
    let over = padded_call(limit + 1);

    let chunked_head = post_head(token, "\r\nTransfer-Encoding: chunked");
    let (status, body) = raw_request(addr, &chunked_head, &chunked(&over)).await;
    assert_eq!(status, 413, "chunked: {body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["error"]["code"], -32007, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&limit.to_string()),
        "{answer}"
    );

    let declared = post_head(token, &format!("\r\nContent-Length: {}", over.len()));
    let (status, body) = raw_request(addr, &declared, &over).await;
    assert_eq!(status, 413, "content-length: {body}");
    // A length that is not even read: refused by the header alone.
    let huge = post_head(token, "\r\nContent-Length: 5000000000");
    let (status, body) = raw_request(addr, &huge, b"{}").await;
    assert_eq!(status, 413, "huge content-length: {body}");

    // At the limit, both forms still run.
    let at_limit = padded_call(limit);
    let (status, body) = raw_request(addr, &chunked_head, &chunked(&at_limit)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["id"], 1);
    let declared = post_head(token, &format!("\r\nContent-Length: {limit}"));
    let (status, body) = raw_request(addr, &declared, &at_limit).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.node.calls(), vec!["node_info", "node_info"]);
    h.server.stop();
}

#[tokio::test]
async fn a_body_without_content_length_is_not_a_call() {
    let h = start().await;
    // Without Content-Length or chunking an HTTP/1.1 request has no body: nothing runs, and
    // the client is told the (empty) request is not JSON.
    let head = post_head(h.token.expose(), "");
    let (status, body) = raw_request(h.server.local_addr(), &head, b"").await;
    assert_eq!(status, 400, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    assert!(h.node.calls().is_empty());
    h.server.stop();
}

#[tokio::test]
async fn an_id_that_is_an_object_or_array_is_an_invalid_request() {
    let h = start().await;
    let addr = h.server.local_addr();
    let token = Some(h.token.expose());
    for id in [json!({"n": 1}), json!([1]), json!(true)] {
        let request = json!({"jsonrpc": "2.0", "id": id, "method": "node_info"});
        let (status, body) = post(addr, token, &request).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["error"]["code"], -32600, "{body}");
        assert_eq!(body["id"], Value::Null, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("string, a number or null"),
            "{body}"
        );
    }
    assert!(h.node.calls().is_empty(), "{:?}", h.node.calls());
    // In a batch only the bad entry is refused; the good one runs and is answered.
    let batch = json!([
        {"jsonrpc": "2.0", "id": 7, "method": "node_info"},
        {"jsonrpc": "2.0", "id": {}, "method": "channel_list"},
    ]);
    let (status, body) = post(addr, token, &batch).await;
    assert_eq!(status, 200, "{body}");
    let answers = body.as_array().unwrap();
    assert_eq!(answers.len(), 2, "{body}");
    assert!(answers
        .iter()
        .any(|a| a["id"] == 7 && a["result"]["chain"]["backend"] == "sim-chain"));
    assert!(answers
        .iter()
        .any(|a| a["id"].is_null() && a["error"]["code"] == -32600));
    assert_eq!(h.node.calls(), vec!["node_info"]);
    h.server.stop();
}

#[tokio::test]
async fn an_amount_sent_as_a_number_is_refused_before_the_node() {
    let h = start().await;
    let pay = call(
        "channel_pay",
        json!({"id": FakeNode::CHANNEL.to_string(), "amount": 30}),
    );
    let (_, body) = post(h.server.local_addr(), Some(h.token.expose()), &pay).await;
    assert_eq!(body["error"]["code"], 1001, "{body}");
    assert_eq!(body["error"]["data"]["details"]["param"], "amount");
    assert!(h.node.calls().is_empty());
    h.server.stop();
}
