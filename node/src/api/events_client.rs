//! A subscriber of the node's events (`subscribe_events`) over a WebSocket: just enough of
//! RFC 6455 for one JSON-RPC subscription on loopback — the upgrade with the bearer token,
//! masked text frames out, text frames in, pings answered, a close ends the stream.

use super::client::ClientError;
use super::server::{EVENT_NOTIFICATION, SUBSCRIBE_EVENTS};
use super::token::ApiToken;
use super::types::NodeEvent;
use serde_json::{json, Value};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest frame accepted from the node: events are small.
const MAX_FRAME: u64 = 1 << 20;

/// An open subscription to the node's events.
pub struct EventStream {
    addr: SocketAddr,
    stream: TcpStream,
}

impl EventStream {
    /// Opens a WebSocket to the API at `addr` and subscribes to every event.
    pub async fn subscribe(addr: SocketAddr, token: &ApiToken) -> Result<EventStream, ClientError> {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Connect { addr, source })?;
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: cGFybGV5LWV2ZW50cy1rZXk=\r\nSec-WebSocket-Version: 13\r\n\
             Authorization: Bearer {}\r\n\r\n",
            token.expose()
        );
        let io = |source| ClientError::Io { addr, source };
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        // The response head, byte by byte, so that no frame byte is consumed with it.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() > 8192 {
                return Err(ClientError::BadResponse("an endless HTTP head".into()));
            }
            head.push(stream.read_u8().await.map_err(io)?);
        }
        let head = String::from_utf8_lossy(&head);
        let status = head.split(' ').nth(1).unwrap_or_default();
        match status {
            "101" => {}
            "401" => return Err(ClientError::Api(super::ApiError::unauthorized())),
            other => {
                return Err(ClientError::BadResponse(format!(
                    "the WebSocket upgrade was answered with HTTP {other}"
                )))
            }
        }
        let mut events = EventStream { addr, stream };
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": SUBSCRIBE_EVENTS, "params": []});
        events.send_text(call.to_string().as_bytes()).await?;
        let answer = events.next_message().await?.ok_or_else(|| {
            ClientError::BadResponse("the node closed the subscription at once".into())
        })?;
        if let Some(error) = answer.get("error") {
            return Err(ClientError::BadResponse(format!(
                "the subscription was refused: {error}"
            )));
        }
        Ok(events)
    }

    /// The next event, or `None` once the node closed the connection.
    pub async fn next(&mut self) -> Result<Option<NodeEvent>, ClientError> {
        loop {
            let Some(message) = self.next_message().await? else {
                return Ok(None);
            };
            if message.get("method").and_then(Value::as_str) != Some(EVENT_NOTIFICATION) {
                continue;
            }
            let result = message["params"]["result"].clone();
            return serde_json::from_value(result)
                .map(Some)
                .map_err(|e| ClientError::BadResponse(format!("an event of unknown shape: {e}")));
        }
    }

    /// The next text message as JSON, answering pings on the way; `None` on close.
    async fn next_message(&mut self) -> Result<Option<Value>, ClientError> {
        let addr = self.addr;
        let io = |source| ClientError::Io { addr, source };
        loop {
            let first = match self.stream.read_u8().await {
                Ok(byte) => byte,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(io(e)),
            };
            let second = self.stream.read_u8().await.map_err(io)?;
            let length = match second & 0x7f {
                126 => u64::from(self.stream.read_u16().await.map_err(io)?),
                127 => self.stream.read_u64().await.map_err(io)?,
                short => u64::from(short),
            };
            if length > MAX_FRAME {
                return Err(ClientError::BadResponse(format!(
                    "a WebSocket frame of {length} bytes"
                )));
            }
            let mut payload = vec![0; length as usize];
            self.stream.read_exact(&mut payload).await.map_err(io)?;
            match first & 0x0f {
                0x1 => {
                    return serde_json::from_slice(&payload).map(Some).map_err(|e| {
                        ClientError::BadResponse(format!("a message that is not JSON: {e}"))
                    })
                }
                0x8 => return Ok(None),
                0x9 => self.send_frame(0xA, &payload).await?,
                _ => {}
            }
        }
    }

    async fn send_text(&mut self, payload: &[u8]) -> Result<(), ClientError> {
        self.send_frame(0x1, payload).await
    }

    /// One final frame with `opcode`, masked as a client must.
    async fn send_frame(&mut self, opcode: u8, payload: &[u8]) -> Result<(), ClientError> {
        let mut mask = [0u8; 4];
        getrandom::fill(&mut mask)
            .map_err(|e| ClientError::BadResponse(format!("no randomness for a mask: {e}")))?;
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        let addr = self.addr;
        self.stream
            .write_all(&frame)
            .await
            .map_err(|source| ClientError::Io { addr, source })
    }
}
