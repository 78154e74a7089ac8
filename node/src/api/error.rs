//! API errors: a stable numeric code, a category and a human message (DESIGN §6).
//!
//! The codes are part of the API: scripts match on them. Never renumber a category; add new ones
//! at the end. In the JSON-RPC error object the code and message are top-level and the category
//! (plus optional details) sit in `data`:
//! `{"code": 1001, "message": "...", "data": {"category": "invalid_argument", "details": ...}}`.

use jsonrpsee::types::{ErrorObject, ErrorObjectOwned};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// What kind of failure an API call met; each has one stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCategory {
    /// No bearer token, or the wrong one. Nothing was called.
    Unauthorized,
    /// A parameter is missing, of the wrong type or out of range.
    InvalidArgument,
    /// An unknown channel, peer or proposal.
    NotFound,
    /// The payment or deposit would overdraw a balance.
    InsufficientFunds,
    /// The peer refused (a proposal or an update).
    RejectedByPeer,
    /// The request clashes with the current state (an update is already pending, wrong phase).
    Conflict,
    /// A dependency is down: the chain, or the peer is not connected.
    Unavailable,
    /// A bug or an unexpected failure inside the node.
    Internal,
}

impl ErrorCategory {
    /// Every category, in code order.
    pub const ALL: [ErrorCategory; 8] = [
        ErrorCategory::Unauthorized,
        ErrorCategory::InvalidArgument,
        ErrorCategory::NotFound,
        ErrorCategory::InsufficientFunds,
        ErrorCategory::RejectedByPeer,
        ErrorCategory::Conflict,
        ErrorCategory::Unavailable,
        ErrorCategory::Internal,
    ];

    /// The stable JSON-RPC error code. Outside the range JSON-RPC reserves (-32768..-32000).
    pub fn code(self) -> i32 {
        match self {
            ErrorCategory::Unauthorized => 1000,
            ErrorCategory::InvalidArgument => 1001,
            ErrorCategory::NotFound => 1002,
            ErrorCategory::InsufficientFunds => 1003,
            ErrorCategory::RejectedByPeer => 1004,
            ErrorCategory::Conflict => 1005,
            ErrorCategory::Unavailable => 1006,
            ErrorCategory::Internal => 1007,
        }
    }

    /// The category with this code, if any.
    pub fn from_code(code: i32) -> Option<ErrorCategory> {
        ErrorCategory::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The snake_case name used in `data.category`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Unauthorized => "unauthorized",
            ErrorCategory::InvalidArgument => "invalid_argument",
            ErrorCategory::NotFound => "not_found",
            ErrorCategory::InsufficientFunds => "insufficient_funds",
            ErrorCategory::RejectedByPeer => "rejected_by_peer",
            ErrorCategory::Conflict => "conflict",
            ErrorCategory::Unavailable => "unavailable",
            ErrorCategory::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error an API method returns: what the driver reports, and what the client reads back.
///
/// The message is for humans and may change; the category (and so the code) is the contract.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{category}: {message}")]
pub struct ApiError {
    /// The kind of failure.
    pub category: ErrorCategory,
    /// A sentence for the user, naming what was wrong.
    pub message: String,
    /// Optional machine-readable details (the offending parameter, a balance, ...).
    pub details: Option<Value>,
}

/// The `data` member of the JSON-RPC error object.
#[derive(Serialize, Deserialize)]
struct ErrorData {
    category: ErrorCategory,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    details: Option<Value>,
}

impl ApiError {
    /// An error of `category` with `message` and no details.
    pub fn new(category: ErrorCategory, message: impl Into<String>) -> ApiError {
        ApiError {
            category,
            message: message.into(),
            details: None,
        }
    }

    /// The same error with machine-readable `details`.
    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    /// A missing or bad bearer token.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            ErrorCategory::Unauthorized,
            "missing or wrong API token: send `Authorization: Bearer <token>` with the token \
             from <data_dir>/api.token",
        )
    }

    /// A bad parameter: names it and says what was expected.
    pub fn invalid_param(param: &str, problem: impl fmt::Display) -> ApiError {
        ApiError::new(
            ErrorCategory::InvalidArgument,
            format!("parameter `{param}`: {problem}"),
        )
        .with_details(serde_json::json!({ "param": param }))
    }

    /// An unknown `what` (channel, peer, proposal) with this id.
    pub fn not_found(what: &str, id: impl fmt::Display) -> ApiError {
        ApiError::new(ErrorCategory::NotFound, format!("no {what} {id}"))
            .with_details(serde_json::json!({ "kind": what, "id": id.to_string() }))
    }

    /// An unexpected failure inside the node.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCategory::Internal, message)
    }

    /// The JSON-RPC error object for this error.
    pub fn to_error_object(&self) -> ErrorObjectOwned {
        let data = ErrorData {
            category: self.category,
            details: self.details.clone(),
        };
        ErrorObject::owned(self.category.code(), self.message.clone(), Some(data))
    }

    /// Reads an error object a node sent back. `None` when it is not one of ours (a JSON-RPC
    /// protocol error such as method-not-found, whose code is negative).
    pub fn from_error_object(code: i32, message: &str, data: Option<&Value>) -> Option<ApiError> {
        let category = ErrorCategory::from_code(code)?;
        let details = data
            .and_then(|d| serde_json::from_value::<ErrorData>(d.clone()).ok())
            .and_then(|d| d.details);
        Some(ApiError {
            category,
            message: message.to_owned(),
            details,
        })
    }
}

impl From<ApiError> for ErrorObjectOwned {
    fn from(error: ApiError) -> ErrorObjectOwned {
        error.to_error_object()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_distinct() {
        let codes: Vec<i32> = ErrorCategory::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes, vec![1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007]);
        for category in ErrorCategory::ALL {
            assert_eq!(ErrorCategory::from_code(category.code()), Some(category));
            // The serde name and as_str agree, so `data.category` matches the documented table.
            assert_eq!(
                serde_json::to_value(category).unwrap(),
                Value::String(category.as_str().into())
            );
        }
        assert_eq!(ErrorCategory::from_code(-32601), None);
    }

    #[test]
    fn error_object_has_code_message_and_category_in_data() {
        let error = ApiError::invalid_param("amount", "expected a decimal string");
        let object = serde_json::to_value(error.to_error_object()).unwrap();
        assert_eq!(object["code"], 1001);
        assert_eq!(
            object["message"],
            "parameter `amount`: expected a decimal string"
        );
        assert_eq!(object["data"]["category"], "invalid_argument");
        assert_eq!(object["data"]["details"]["param"], "amount");
    }

    #[test]
    fn error_round_trips_through_the_object() {
        let error = ApiError::not_found("channel", "0xab");
        let object = serde_json::to_value(error.to_error_object()).unwrap();
        let back = ApiError::from_error_object(
            object["code"].as_i64().unwrap() as i32,
            object["message"].as_str().unwrap(),
            object.get("data"),
        )
        .unwrap();
        assert_eq!(back, error);
    }
}
