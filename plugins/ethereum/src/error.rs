//! [`RpcError`]: why a JSON-RPC request or a transaction did not succeed, in kinds a caller acts
//! on. The backend maps them onto the plugin's error kinds (`From<RpcError> for PluginError`),
//! `parley eth deploy` onto its advice to the operator. Every variant names the operation
//! (`what`, e.g. "depositing 5 ETH into channel 0x…") and none holds key material.

use crate::abi::revert_reason;
use ethers_core::types::{H160, H256};
use ethers_providers::{JsonRpcError, ProviderError, RpcError as _};
use parley_plugin_api::PluginError;
use std::time::Duration;
use thiserror::Error;

/// Why a request or a transaction did not succeed.
#[derive(Debug, Error)]
pub enum RpcError {
    /// The endpoint's URL cannot be used (`why` completes "`url` …").
    #[error("`{url}` {why}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The runtime that drives the requests did not start.
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),
    /// Nothing answered at the URL, the connection broke, or no answer came in time.
    #[error("{what}: cannot reach the Ethereum node at {url}: {cause}")]
    Unreachable {
        /// The operation.
        what: String,
        /// The endpoint.
        url: String,
        /// The innermost cause ("Connection refused (os error 111)").
        cause: String,
    },
    /// The node answered with a JSON-RPC error that is not about what the call would do.
    #[error("{what}: the Ethereum node answered error {code} ({message})")]
    Node {
        /// The operation.
        what: String,
        /// The JSON-RPC error code.
        code: i64,
        /// The node's message.
        message: String,
    },
    /// The answer is not what the method returns.
    #[error("{what}: the Ethereum node answered something unexpected: {why}")]
    BadResponse {
        /// The operation.
        what: String,
        /// What was wrong.
        why: String,
    },
    /// The call would revert: found by a read-only call, or by a transaction's gas estimate
    /// or submission (so the transaction was not sent, or not taken).
    #[error("{what} would revert: {reason}")]
    Reverts {
        /// The operation.
        what: String,
        /// The revert reason decoded from the node's data, else the node's message.
        reason: String,
        /// The node's message as it was ("execution reverted: …").
        message: String,
    },
    /// The node refused the transaction because its sender cannot pay for it.
    #[error("{what} was refused: {message}")]
    CannotPay {
        /// The operation.
        what: String,
        /// The node's message.
        message: String,
    },
    /// The transaction was mined and reverted (it paid for its gas).
    #[error("{what}: transaction {hash:?} reverted in block {block}: {reason}")]
    Reverted {
        /// The operation.
        what: String,
        /// The transaction.
        hash: H256,
        /// Its block.
        block: u64,
        /// Gas it used.
        gas_used: u64,
        /// Its gas limit (all of it used: it ran out of gas).
        gas_limit: u64,
        /// Why, found by replaying it on its block's parent state.
        reason: String,
    },
    /// The transaction was sent but not confirmed in time; it may still be included.
    #[error(
        "{what}: transaction {hash:?} was sent but not confirmed ({confirmations} \
         confirmation(s)) within {} s; it may still be included",
        .waited.as_secs()
    )]
    NotConfirmed {
        /// The operation.
        what: String,
        /// The transaction.
        hash: H256,
        /// The confirmations it needed.
        confirmations: u64,
        /// How long it was waited for.
        waited: Duration,
    },
    /// A contract creation succeeded, but its receipt names no contract (`address: None`) or
    /// there is no code at the address it names.
    #[error("{what}: transaction {hash:?} succeeded but {}", no_contract(.address))]
    NoContract {
        /// The operation.
        what: String,
        /// The transaction.
        hash: H256,
        /// The address the receipt names, if any.
        address: Option<H160>,
    },
}

fn no_contract(address: &Option<H160>) -> String {
    match address {
        Some(address) => format!("there is no code at {address:?}"),
        None => "its receipt names no contract address".into(),
    }
}

impl RpcError {
    /// Classifies an ethers error of `what`, a request to the node at `url`.
    pub(crate) fn from_provider(what: &str, url: &str, error: ProviderError) -> RpcError {
        if let Some(response) = error.as_error_response() {
            return RpcError::from_response(what, response);
        }
        match error {
            ProviderError::HTTPError(e) => RpcError::Unreachable {
                what: what.to_owned(),
                url: url.to_owned(),
                cause: innermost_cause(&e),
            },
            other => RpcError::BadResponse {
                what: what.to_owned(),
                why: other.to_string(),
            },
        }
    }

    /// A JSON-RPC error answer: a refusal of what the call would do (a revert, or a sender
    /// without the funds, which the node reports before anything runs), else a node error.
    fn from_response(what: &str, response: &JsonRpcError) -> RpcError {
        let what = what.to_owned();
        let message = response.message.clone();
        let lower = message.to_lowercase();
        if lower.contains("insufficient funds") || lower.contains("exceeds balance") {
            return RpcError::CannotPay { what, message };
        }
        if response.code == 3 || response.is_revert() {
            let reason = response
                .as_revert_data()
                .and_then(|data| revert_reason(&data))
                .unwrap_or_else(|| message.clone());
            return RpcError::Reverts {
                what,
                reason,
                message,
            };
        }
        RpcError::Node {
            what,
            code: response.code,
            message,
        }
    }
}

/// The innermost error of a chain: for a refused connection "Connection refused (os error
/// 111)" rather than reqwest's "error sending request for url (…)".
fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

impl From<RpcError> for PluginError {
    fn from(error: RpcError) -> PluginError {
        let message = error.to_string();
        match error {
            RpcError::BadUrl { .. } => PluginError::config(message),
            RpcError::Unreachable { .. } | RpcError::BadResponse { .. } => {
                PluginError::unavailable(message)
            }
            RpcError::Reverts { .. } | RpcError::CannotPay { .. } | RpcError::Reverted { .. } => {
                PluginError::rejected(message)
            }
            RpcError::NotConfirmed { .. } => PluginError::timeout(message),
            RpcError::Runtime(_) | RpcError::Node { .. } | RpcError::NoContract { .. } => {
                PluginError::internal(message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::ErrorKind;

    fn response(code: i64, message: &str, data: Option<&str>) -> JsonRpcError {
        JsonRpcError {
            code,
            message: message.into(),
            data: data.map(|d| serde_json::Value::String(d.into())),
        }
    }

    #[test]
    fn answers_are_told_apart_by_what_the_caller_can_do() {
        // Error(string) "no": selector 08c379a0, offset, length 2, "no".
        let data = format!("0x08c379a0{:064x}{:064x}{:0<64}", 32, 2, hex::encode("no"));
        let error = RpcError::from_response(
            "registering",
            &response(3, "execution reverted: no", Some(&data)),
        );
        assert!(
            matches!(&error, RpcError::Reverts { reason, .. } if reason == "no"),
            "{error:?}"
        );
        assert_eq!(PluginError::from(error).kind, ErrorKind::Rejected);

        let error = RpcError::from_response(
            "depositing",
            &response(-32000, "insufficient funds for gas * price + value", None),
        );
        assert!(matches!(error, RpcError::CannotPay { .. }), "{error:?}");

        let error = RpcError::from_response("reading", &response(-32601, "no such method", None));
        assert_eq!(
            error.to_string(),
            "reading: the Ethereum node answered error -32601 (no such method)"
        );
        assert_eq!(PluginError::from(error).kind, ErrorKind::Internal);
    }

    #[test]
    fn kinds_map_onto_plugin_errors() {
        let hash = H256::repeat_byte(1);
        let timeout = RpcError::NotConfirmed {
            what: "withdrawing".into(),
            hash,
            confirmations: 2,
            waited: Duration::from_secs(5),
        };
        let error = PluginError::from(timeout);
        assert_eq!(error.kind, ErrorKind::Timeout);
        assert!(error.message().contains("may still be included"), "{error}");
        let unreachable = RpcError::Unreachable {
            what: "reading the chain id".into(),
            url: "http://127.0.0.1:9".into(),
            cause: "Connection refused (os error 111)".into(),
        };
        let error = PluginError::from(unreachable);
        assert_eq!(error.kind, ErrorKind::Unavailable);
        assert!(error.message().contains("127.0.0.1:9"), "{error}");
        let missing = RpcError::NoContract {
            what: "deploying X".into(),
            hash,
            address: None,
        };
        assert!(missing.to_string().contains("names no contract address"));
    }
}
