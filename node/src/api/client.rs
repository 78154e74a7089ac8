//! The CLI's side of the API: one JSON-RPC 2.0 call per HTTP/1.1 request over a
//! `tokio::net::TcpStream`, with the bearer token.
//!
//! The client finds the node the way an operator would: the config names the data directory,
//! the running node writes its bound API address to `<data_dir>/api.addr`, and the token is in
//! `<data_dir>/api.token`. Errors the node returns come back as [`ApiError`] with their stable
//! category, so the CLI can explain them without parsing messages.

use super::error::ApiError;
use super::token::{read_token, token_path, ApiToken, TokenError};
use crate::config::NodeConfig;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The file, inside the data directory, holding the API address the running node bound.
pub const ADDR_FILE: &str = "api.addr";

/// The largest response read, in bytes. Answers are small (lists of channels at most); this
/// bounds memory if something else answers on the port.
pub const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// Where a node whose data directory is `data_dir` writes its bound API address.
pub fn api_addr_path(data_dir: &Path) -> PathBuf {
    data_dir.join(ADDR_FILE)
}

/// Why a call did not produce a result.
#[derive(Debug, Error)]
pub enum ClientError {
    /// There is no address file: the node was never started with this config, or it stopped.
    #[error(
        "the node is not running (no {path}): start it with `parley run --config {config}`",
        path = .path.display(),
        config = .config.display()
    )]
    NotRunning {
        /// The missing address file.
        path: PathBuf,
        /// The config file to start the node with.
        config: PathBuf,
    },
    /// The address file exists but cannot be read.
    #[error("cannot read the node's API address from {path}: {source}", path = .path.display())]
    AddrUnreadable {
        /// The address file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The address file does not hold `ip:port`.
    #[error("{path} does not hold an API address (found `{text}`); restart the node to rewrite it", path = .path.display())]
    AddrMalformed {
        /// The address file.
        path: PathBuf,
        /// What it holds.
        text: String,
    },
    /// The token is missing, malformed or readable by others.
    #[error("{0}")]
    Token(#[from] TokenError),
    /// Nothing accepted the connection: the node stopped without removing its address file.
    #[error("cannot reach the node's API at {addr}: {source}; is the node running? start it with `parley run --config <file>`")]
    Connect {
        /// The address tried.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The connection broke while sending or receiving.
    #[error("the connection to the node's API at {addr} failed: {source}")]
    Io {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The node closed the connection before answering: it stopped (or crashed) while the
    /// call ran, which may or may not have taken effect.
    #[error(
        "the node stopped while answering (the connection to {addr} closed before its answer); \
         the call may or may not have taken effect: look before repeating it (for example \
         `parley channel show <id>`), after starting the node again"
    )]
    NodeStopped {
        /// The address.
        addr: SocketAddr,
    },
    /// The answer is not a JSON-RPC response.
    #[error("the node's API answered something unexpected: {0}")]
    BadResponse(String),
    /// The node refused the call with one of its own errors.
    #[error("{0}")]
    Api(#[from] ApiError),
    /// A JSON-RPC protocol error (unknown method, malformed request): a CLI/node mismatch.
    #[error("the node rejected the request (JSON-RPC error {code}): {message}")]
    Rpc {
        /// The JSON-RPC code (negative).
        code: i64,
        /// The node's message.
        message: String,
    },
}

/// A client of one node's API.
#[derive(Debug)]
pub struct ApiClient {
    addr: SocketAddr,
    token: ApiToken,
    next_id: AtomicU64,
}

impl ApiClient {
    /// A client for the API at `addr` with `token`.
    pub fn new(addr: SocketAddr, token: ApiToken) -> ApiClient {
        ApiClient {
            addr,
            token,
            next_id: AtomicU64::new(1),
        }
    }

    /// The client for the node `config` describes: its address from `<data_dir>/api.addr`,
    /// its token from `<data_dir>/api.token`.
    pub fn from_config(config: &NodeConfig) -> Result<ApiClient, ClientError> {
        let path = api_addr_path(&config.node.data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ClientError::NotRunning {
                    path,
                    config: config.file.clone(),
                })
            }
            Err(source) => return Err(ClientError::AddrUnreadable { path, source }),
        };
        let addr = text
            .trim()
            .parse()
            .map_err(|_| ClientError::AddrMalformed {
                path: path.clone(),
                text: text.trim().to_owned(),
            })?;
        let token = read_token(&token_path(&config.node.data_dir))?;
        Ok(ApiClient::new(addr, token))
    }

    /// The API address this client calls.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token it sends.
    pub fn token(&self) -> &ApiToken {
        &self.token
    }

    /// Calls `method` with `params` and decodes the result as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let (status, body) = self.post(&request.to_string()).await?;
        let response: Value = serde_json::from_str(&body).map_err(|e| {
            ClientError::BadResponse(format!("HTTP {status} with a body that is not JSON: {e}"))
        })?;
        decode_response(&response, id)
    }

    /// One HTTP/1.1 POST with `Connection: close`; returns the status and the (de-chunked)
    /// body. The server answers 401 with a JSON-RPC error body, so the body is decoded
    /// whatever the status.
    async fn post(&self, body: &str) -> Result<(u16, String), ClientError> {
        let addr = self.addr;
        let io = |source: std::io::Error| {
            use std::io::ErrorKind::*;
            match source.kind() {
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    ClientError::NodeStopped { addr }
                }
                _ => ClientError::Io { addr, source },
            }
        };
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Connect { addr, source })?;
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Authorization: Bearer {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.token.expose(),
            body.len()
        );
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        let mut response = Vec::new();
        (&mut stream)
            .take(MAX_RESPONSE_BYTES)
            .read_to_end(&mut response)
            .await
            .map_err(io)?;
        if !response.windows(4).any(|w| w == b"\r\n\r\n") {
            // Nothing, or headers cut off: the node went away mid-answer.
            return Err(ClientError::NodeStopped { addr });
        }
        parse_http_response(&response)
    }
}

/// Splits an HTTP/1.1 response into its status and body, undoing chunked encoding.
pub(crate) fn parse_http_response(response: &[u8]) -> Result<(u16, String), ClientError> {
    let bad = |what: &str| ClientError::BadResponse(what.to_owned());
    let response = std::str::from_utf8(response).map_err(|_| bad("the response is not UTF-8"))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| bad("the HTTP response has no end of headers"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("the HTTP response has no status"))?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().replace(' ', "") == "transfer-encoding:chunked");
    let body = if chunked {
        dechunk(body).ok_or_else(|| bad("a chunked HTTP body is malformed"))?
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(rest.get(..size)?);
        body = rest.get(size + 2..)?;
    }
}

/// Reads a JSON-RPC response to the request numbered `id`.
fn decode_response<T: DeserializeOwned>(response: &Value, id: u64) -> Result<T, ClientError> {
    if let Some(error) = response.get("error") {
        let code = error
            .get("code")
            .and_then(Value::as_i64)
            .ok_or_else(|| ClientError::BadResponse(format!("an error without a code: {error}")))?;
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let ours = i32::try_from(code)
            .ok()
            .and_then(|c| ApiError::from_error_object(c, message, error.get("data")));
        return Err(match ours {
            Some(api) => ClientError::Api(api),
            None => ClientError::Rpc {
                code,
                message: message.to_owned(),
            },
        });
    }
    if response.get("id") != Some(&json!(id)) {
        return Err(ClientError::BadResponse(format!(
            "the response is for request {}, not {id}",
            response.get("id").unwrap_or(&Value::Null)
        )));
    }
    let result = response
        .get("result")
        .ok_or_else(|| ClientError::BadResponse("neither a result nor an error".into()))?;
    serde_json::from_value(result.clone()).map_err(|e| {
        ClientError::BadResponse(format!("the result does not have the expected shape: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::super::node_api::EventBus;
    use super::super::server::{ApiServer, ApiServerConfig};
    use super::super::test_support::FakeNode;
    use super::super::token::load_or_create_token;
    use super::super::types::{ChannelInfo, NodeInfo};
    use super::super::ErrorCategory;
    use super::*;
    use std::sync::Arc;

    async fn serve(token: ApiToken) -> (ApiServer, Arc<FakeNode>) {
        let node = Arc::new(FakeNode::default());
        let config = ApiServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            allow_non_loopback: false,
        };
        let server = ApiServer::start(&config, token, node.clone(), EventBus::new())
            .await
            .unwrap();
        (server, node)
    }

    fn config_in(dir: &Path) -> NodeConfig {
        NodeConfig::parse("[node]\ndata_dir = \"data\"\n", &dir.join("node.toml")).unwrap()
    }

    #[tokio::test]
    async fn a_node_that_closes_the_connection_before_answering_stopped_while_answering() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            // Read the request, then go away without a word (or with half a header).
            for partial in [&b""[..], b"HTTP/1.1 200 OK\r\nContent-"] {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let _ = stream.write_all(partial).await;
            }
        });
        let client = ApiClient::new(addr, ApiToken::generate().unwrap());
        for _ in 0..2 {
            let error = client
                .call::<Value>("node_info", Value::Null)
                .await
                .unwrap_err();
            assert!(
                matches!(error, ClientError::NodeStopped { .. }),
                "{error:?}"
            );
            assert!(error.to_string().contains("stopped while answering"));
        }
    }

    #[tokio::test]
    async fn calls_decode_results_and_map_errors_back() {
        let token = ApiToken::generate().unwrap();
        let (server, node) = serve(token.clone()).await;
        let client = ApiClient::new(server.local_addr(), token);

        let info: NodeInfo = client.call("node_info", Value::Null).await.unwrap();
        assert_eq!(info.chain.backend, "sim-chain");
        let paid: ChannelInfo = client
            .call(
                "channel_pay",
                json!({"id": FakeNode::CHANNEL.to_string(), "amount": "30"}),
            )
            .await
            .unwrap();
        assert_eq!(paid.balances[0].mine, 70u64.into());

        // The node's own errors keep their category.
        let error = client
            .call::<ChannelInfo>(
                "channel_pay",
                json!({"id": FakeNode::CHANNEL.to_string(), "amount": "101"}),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ClientError::Api(e) if e.category == ErrorCategory::InsufficientFunds),
            "{error:?}"
        );
        let error = client
            .call::<ChannelInfo>(
                "channel_get",
                json!({"id": format!("0x{}", "22".repeat(32))}),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ClientError::Api(e) if e.category == ErrorCategory::NotFound),
            "{error:?}"
        );
        // A protocol error is not mistaken for one of ours.
        let error = client
            .call::<Value>("no_such_method", Value::Null)
            .await
            .unwrap_err();
        assert!(
            matches!(error, ClientError::Rpc { code: -32601, .. }),
            "{error:?}"
        );
        // A result of the wrong shape is reported, not panicked on.
        let error = client
            .call::<u64>("node_info", Value::Null)
            .await
            .unwrap_err();
        assert!(matches!(error, ClientError::BadResponse(_)), "{error:?}");
        assert_eq!(
            node.calls(),
            [
                "node_info",
                "channel_pay",
                "channel_pay",
                "channel_get",
                "node_info"
            ]
        );
        server.stop();
    }

    #[tokio::test]
    async fn a_wrong_token_is_unauthorized_and_calls_nothing() {
        let (server, node) = serve(ApiToken::generate().unwrap()).await;
        let client = ApiClient::new(server.local_addr(), ApiToken::generate().unwrap());
        let error = client
            .call::<Value>("node_info", Value::Null)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ClientError::Api(e) if e.category == ErrorCategory::Unauthorized),
            "{error:?}"
        );
        assert!(node.calls().is_empty());
        server.stop();
    }

    #[tokio::test]
    async fn from_config_finds_the_running_node() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let error = ApiClient::from_config(&config).unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, ClientError::NotRunning { .. }), "{text}");
        assert!(text.contains("the node is not running"), "{text}");
        assert!(
            text.contains(&format!("parley run --config {}", config.file.display())),
            "{text}"
        );

        let data = &config.node.data_dir;
        std::fs::create_dir_all(data).unwrap();
        std::fs::write(api_addr_path(data), "not an address\n").unwrap();
        let error = ApiClient::from_config(&config).unwrap_err();
        assert!(
            matches!(error, ClientError::AddrMalformed { .. }),
            "{error}"
        );

        let token = load_or_create_token(&token_path(data)).unwrap();
        let (server, _node) = serve(token).await;
        std::fs::write(api_addr_path(data), format!("{}\n", server.local_addr())).unwrap();
        let client = ApiClient::from_config(&config).unwrap();
        assert_eq!(client.addr(), server.local_addr());
        let info: NodeInfo = client.call("node_info", Value::Null).await.unwrap();
        assert_eq!(info.version, "0.1.0");
        server.stop();
    }

    #[test]
    fn from_config_refuses_a_missing_or_open_token() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let data = &config.node.data_dir;
        std::fs::create_dir_all(data).unwrap();
        std::fs::write(api_addr_path(data), "127.0.0.1:7150").unwrap();
        let error = ApiClient::from_config(&config).unwrap_err();
        assert!(
            matches!(error, ClientError::Token(TokenError::Read { .. })),
            "{error}"
        );
        load_or_create_token(&token_path(data)).unwrap();
        std::fs::set_permissions(token_path(data), std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = ApiClient::from_config(&config).unwrap_err();
        assert!(
            matches!(error, ClientError::Token(TokenError::TooOpen { .. })),
            "{error}"
        );
        assert!(error.to_string().contains("chmod 600"), "{error}");
    }

    #[tokio::test]
    async fn a_stopped_node_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let client = ApiClient::new(addr, ApiToken::generate().unwrap());
        let error = client
            .call::<Value>("node_info", Value::Null)
            .await
            .unwrap_err();
        assert!(matches!(error, ClientError::Connect { .. }), "{error}");
    }

    #[test]
    fn http_bodies_are_read_plain_and_chunked() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_http_response(plain).unwrap(), (200, "{}".into()));
        let chunked =
            b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(
            parse_http_response(chunked).unwrap(),
            (401, "{\"a\":1}".into())
        );
        assert!(parse_http_response(b"HTTP/1.1 200 OK\r\n").is_err());
        let truncated = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nab";
        assert!(parse_http_response(truncated).is_err());
    }
}
