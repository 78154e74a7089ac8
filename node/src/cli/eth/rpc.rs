//! A small Ethereum JSON-RPC client: one HTTP/1.1 POST per call over a `tokio::net::TcpStream`
//! (`Connection: close`), the same way the CLI talks to a node's own API
//! ([`crate::api::client`], whose response parser it reuses). Plain `http://` only: the
//! deployment targets a local or otherwise trusted endpoint, and TLS would mean a TLS stack in
//! the node binary for this one command.

use crate::api::client::{parse_http_response, MAX_RESPONSE_BYTES};
use ethers_core::types::{H160, H256, U256};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one request may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call did not produce a result.
#[derive(Debug, Error)]
pub enum RpcError {
    /// The URL is not `http://host[:port][/path]`.
    #[error("--rpc `{url}` {why}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// Nothing accepted the connection, or the connection broke.
    #[error(
        "cannot reach the Ethereum node at {url}: {source}; is it running and is --rpc right? \
         (for a local test chain, start `anvil`)"
    )]
    Unreachable {
        /// The endpoint.
        url: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// No answer within [`REQUEST_TIMEOUT`].
    #[error("the Ethereum node at {url} did not answer `{method}` within {} s", REQUEST_TIMEOUT.as_secs())]
    NoAnswer {
        /// The endpoint.
        url: String,
        /// The method called.
        method: String,
    },
    /// The answer is not a JSON-RPC response of the expected shape.
    #[error("the Ethereum node at {url} answered `{method}` with something unexpected: {why}")]
    BadResponse {
        /// The endpoint.
        url: String,
        /// The method called.
        method: String,
        /// What was wrong.
        why: String,
    },
    /// The node answered with a JSON-RPC error.
    #[error("the Ethereum node refused `{method}`: {message} (JSON-RPC error {code})")]
    Node {
        /// The method called.
        method: String,
        /// The JSON-RPC error code.
        code: i64,
        /// The node's message.
        message: String,
    },
}

impl RpcError {
    /// The node's message, if the node answered with an error.
    pub fn node_message(&self) -> Option<&str> {
        match self {
            RpcError::Node { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// Where to send requests: the parts of an `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: String,
    host: String,
    port: u16,
    path: String,
}

impl Endpoint {
    /// Parses `http://host[:port][/path]`; `[v6]` hosts are allowed, the port defaults to 80.
    pub fn parse(url: &str) -> Result<Endpoint, RpcError> {
        let bad = |why: &str| RpcError::BadUrl {
            url: url.to_owned(),
            why: why.to_owned(),
        };
        if url.starts_with("https://") {
            return Err(bad(
                "is an https:// URL; `parley eth deploy` speaks plain HTTP only: use the node's \
                 http:// endpoint (for example a local node or a tunnel to it)",
            ));
        }
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            bad("must be an http:// JSON-RPC endpoint, like http://127.0.0.1:8545")
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(bad("has credentials in it; they are not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("has an unclosed `[` in its host"))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("has no host"));
        }
        let port = match port {
            Some(port) => port
                .parse::<u16>()
                .map_err(|_| bad("has a port that is not a number from 1 to 65535"))?,
            None => 80,
        };
        Ok(Endpoint {
            url: url.to_owned(),
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn host_header(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A client of one Ethereum node.
#[derive(Debug)]
pub struct Rpc {
    endpoint: Endpoint,
    next_id: AtomicU64,
}

impl Rpc {
    /// A client of `endpoint` (nothing is sent yet).
    pub fn new(endpoint: Endpoint) -> Rpc {
        Rpc {
            endpoint,
            next_id: AtomicU64::new(1),
        }
    }

    /// The endpoint's URL.
    pub fn url(&self) -> &str {
        self.endpoint.url()
    }

    /// Calls `method` with `params`; the raw `result`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.post(&request.to_string()))
            .await
            .map_err(|_| RpcError::NoAnswer {
                url: self.url().to_owned(),
                method: method.to_owned(),
            })??;
        let bad = |why: String| RpcError::BadResponse {
            url: self.url().to_owned(),
            method: method.to_owned(),
            why,
        };
        let (status, body) = parse_http_response(&response).map_err(|e| bad(e.to_string()))?;
        let mut value: Value = serde_json::from_str(&body).map_err(|_| {
            let start: String = body.chars().take(120).collect();
            bad(format!(
                "HTTP {status} with a body that is not JSON: `{start}`"
            ))
        })?;
        if let Some(error) = value.get("error") {
            return Err(RpcError::Node {
                method: method.to_owned(),
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)")
                    .to_owned(),
            });
        }
        if value.get("id") != Some(&json!(id)) {
            return Err(bad(format!("the response is not for request {id}")));
        }
        value
            .get_mut("result")
            .map(Value::take)
            .ok_or_else(|| bad("neither a result nor an error".into()))
    }

    async fn post(&self, body: &str) -> Result<Vec<u8>, RpcError> {
        let unreachable = |source| RpcError::Unreachable {
            url: self.url().to_owned(),
            source,
        };
        let endpoint = &self.endpoint;
        let mut stream = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
            .await
            .map_err(unreachable)?;
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            endpoint.path,
            endpoint.host_header(),
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(unreachable)?;
        let mut response = Vec::new();
        (&mut stream)
            .take(MAX_RESPONSE_BYTES)
            .read_to_end(&mut response)
            .await
            .map_err(unreachable)?;
        Ok(response)
    }

    /// Calls `method` and reads the result as a hex quantity.
    pub async fn quantity(&self, method: &str, params: Value) -> Result<U256, RpcError> {
        let result = self.call(method, params).await?;
        quantity(&result).ok_or_else(|| RpcError::BadResponse {
            url: self.url().to_owned(),
            method: method.to_owned(),
            why: format!("`{result}` is not a hex quantity"),
        })
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, RpcError> {
        let id = self.quantity("eth_chainId", json!([])).await?;
        Ok(id.low_u64())
    }

    /// `eth_getBalance` at the latest block.
    pub async fn balance(&self, owner: H160) -> Result<U256, RpcError> {
        self.quantity("eth_getBalance", json!([owner, "latest"]))
            .await
    }

    /// `eth_getTransactionCount` including pending transactions: the next nonce.
    pub async fn next_nonce(&self, owner: H160) -> Result<U256, RpcError> {
        self.quantity("eth_getTransactionCount", json!([owner, "pending"]))
            .await
    }

    /// `eth_blockNumber`.
    pub async fn block_number(&self) -> Result<u64, RpcError> {
        Ok(self.quantity("eth_blockNumber", json!([])).await?.low_u64())
    }

    /// The latest block's base fee, or `None` on a chain without EIP-1559.
    pub async fn base_fee(&self) -> Result<Option<U256>, RpcError> {
        let block = self
            .call("eth_getBlockByNumber", json!(["latest", false]))
            .await?;
        Ok(block.get("baseFeePerGas").and_then(quantity))
    }

    /// Whether there is contract code at `address` in the latest block.
    pub async fn has_code(&self, address: H160) -> Result<bool, RpcError> {
        let code = self.call("eth_getCode", json!([address, "latest"])).await?;
        Ok(code.as_str().is_some_and(|c| c.len() > 2))
    }

    /// `eth_sendRawTransaction`: the transaction's hash.
    pub async fn send_raw(&self, signed: &[u8]) -> Result<H256, RpcError> {
        let result = self
            .call(
                "eth_sendRawTransaction",
                json!([format!("0x{}", hex::encode(signed))]),
            )
            .await?;
        serde_json::from_value(result.clone()).map_err(|_| RpcError::BadResponse {
            url: self.url().to_owned(),
            method: "eth_sendRawTransaction".into(),
            why: format!("`{result}` is not a transaction hash"),
        })
    }

    /// The receipt of `hash`, once the transaction is in a block.
    pub async fn receipt(&self, hash: H256) -> Result<Option<Receipt>, RpcError> {
        let method = "eth_getTransactionReceipt";
        let result = self.call(method, json!([hash])).await?;
        if result.is_null() {
            return Ok(None);
        }
        Receipt::from_json(&result)
            .map(Some)
            .ok_or_else(|| RpcError::BadResponse {
                url: self.url().to_owned(),
                method: method.into(),
                why: format!("a receipt without status, block number or gas used: {result}"),
            })
    }
}

/// What a deployment needs from a transaction receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Whether the transaction succeeded (status 1).
    pub success: bool,
    /// The block it is in.
    pub block: u64,
    /// Gas it used.
    pub gas_used: u64,
    /// The contract a creation made, if any.
    pub contract_address: Option<H160>,
}

impl Receipt {
    fn from_json(value: &Value) -> Option<Receipt> {
        Some(Receipt {
            success: quantity(value.get("status")?)? == U256::one(),
            block: quantity(value.get("blockNumber")?)?.low_u64(),
            gas_used: quantity(value.get("gasUsed")?)?.low_u64(),
            contract_address: value
                .get("contractAddress")
                .and_then(|a| serde_json::from_value(a.clone()).ok()),
        })
    }
}

/// A JSON-RPC quantity (`"0x1a"`).
fn quantity(value: &Value) -> Option<U256> {
    let digits = value.as_str()?.strip_prefix("0x")?;
    U256::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_parsed_and_bad_ones_explained() {
        let e = Endpoint::parse("http://127.0.0.1:8545").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 8545, "/")
        );
        let e = Endpoint::parse("http://node.local/rpc/v1").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("node.local", 80, "/rpc/v1")
        );
        let e = Endpoint::parse("http://[::1]:8545/").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 8545));
        assert_eq!(e.host_header(), "[::1]:8545");
        for (url, says) in [
            ("https://mainnet.example", "plain HTTP only"),
            ("127.0.0.1:8545", "must be an http://"),
            ("http://:8545", "no host"),
            ("http://127.0.0.1:99999", "port"),
            ("http://user:pw@host:1", "credentials"),
        ] {
            let error = Endpoint::parse(url).unwrap_err().to_string();
            assert!(error.contains(says), "{url}: {error}");
        }
    }

    #[test]
    fn receipts_and_quantities_are_read() {
        let receipt = Receipt::from_json(&json!({
            "status": "0x1", "blockNumber": "0x2", "gasUsed": "0x5208",
            "contractAddress": "0x5fbdb2315678afecb367f032d93f642f64180aa3"
        }))
        .unwrap();
        assert!(receipt.success);
        assert_eq!((receipt.block, receipt.gas_used), (2, 21_000));
        assert!(receipt.contract_address.is_some());
        let failed = Receipt::from_json(&json!({
            "status": "0x0", "blockNumber": "0x2", "gasUsed": "0x1", "contractAddress": null
        }))
        .unwrap();
        assert!(!failed.success);
        assert_eq!(failed.contract_address, None);
        assert!(Receipt::from_json(&json!({"status": "0x1"})).is_none());
        assert_eq!(quantity(&json!("0x1a")), Some(U256::from(26)));
        assert_eq!(quantity(&json!(26)), None);
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let rpc = Rpc::new(Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap());
        let error = rpc.chain_id().await.unwrap_err();
        assert!(matches!(error, RpcError::Unreachable { .. }), "{error}");
        assert!(error.to_string().contains("cannot reach"), "{error}");
    }
}
