//! The API's payments and invoices: requests and results of `payment_list`, `payment_get`,
//! `invoice_create`, `invoice_pay` and `invoice_list`, as JSON, and their parameter checks.

use super::error::ApiError;
use super::params::{FromParams, ParamObject};
use crate::store::PaymentId;
use parley_plugin_api::model::{Amount, ChannelId};
use serde::{Deserialize, Serialize};

/// The most records one `payment_list` call returns.
pub const MAX_LIST: usize = 1000;

/// The records `payment_list` returns when no limit is given.
pub const DEFAULT_LIST: usize = 50;

/// One payment as the node recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInfo {
    /// Its id (32 hex digits).
    pub id: PaymentId,
    /// The channel it went through.
    pub channel: ChannelId,
    /// `sent` or `received`.
    pub direction: String,
    /// The asset's name.
    pub asset: String,
    /// How much.
    pub amount: Amount,
    /// The version the payment proposed (`pending`) or became (`completed`).
    pub version: u64,
    /// `pending`, `completed`, `rejected` or `failed`.
    pub status: String,
    /// Why it was rejected or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// This node's balance of the asset in that version.
    pub mine: Amount,
    /// The peer's balance of the asset in that version.
    pub theirs: Amount,
    /// When it was asked for (sent) or arrived (received), in Unix seconds.
    pub time: u64,
    /// When its status last changed, in Unix seconds.
    pub updated: u64,
    /// The invoice's memo, for an invoice payment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub memo: String,
}

/// `payment_list`: the payment history, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentListRequest {
    /// Only this channel's payments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelId>,
    /// At most this many (default 50, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Skip this many of the newest first (paging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
}

/// `payment_get`: one payment, by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRef {
    /// The payment.
    pub id: PaymentId,
}

const PAYMENT_ID: &str = "a payment id (32 hex digits)";

/// How long an invoice is valid when `expiry_seconds` is absent.
pub const DEFAULT_EXPIRY_SECONDS: u64 = 3600;

/// The longest an invoice may be valid (a year).
pub const MAX_EXPIRY_SECONDS: u64 = 365 * 24 * 3600;

/// `invoice_create`: ask to be paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceCreateRequest {
    /// How much; more than zero.
    pub amount: Amount,
    /// The asset by name; the chain's only asset when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// What it is for (at most 256 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// How long it can be paid, in seconds (default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_seconds: Option<u64>,
}

/// `invoice_pay`: pay an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicePayRequest {
    /// The invoice's text (`parley1…`).
    pub invoice: String,
}

/// `pay`: pay a node (not a channel): through a channel with it, or a virtual channel opened
/// through a hub.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayRequest {
    /// The payee: an alias or a node id (it need not be a peer).
    pub to: String,
    /// How much, in base units.
    pub amount: Amount,
    /// The asset by name; the chain's first when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// What a virtual channel opened for the payment holds of ours (at least `amount`);
    /// `amount` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit: Option<Amount>,
    /// What a virtual channel opened for the payment offers the hub for carrying it (base
    /// units of the first asset); nothing when absent. A hub that charges more refuses, saying
    /// how much.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Amount>,
    /// The payment's id (32 hex digits); a fresh one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentId>,
}

impl FromParams for PayRequest {
    const NAMES: &'static [&'static str] = &["to", "amount", "asset", "deposit", "fee", "payment"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        let to: String = p.required("to", "an alias or a node id")?;
        if to.trim().is_empty() || to.len() > 256 {
            return Err(ApiError::invalid_param("to", "an alias or a node id"));
        }
        let request = PayRequest {
            to,
            amount: p.amount("amount")?,
            asset: p.optional("asset", "an asset name, e.g. \"ETH\"")?,
            deposit: p.optional("deposit", "an amount of base units, e.g. \"1000\"")?,
            fee: p.optional("fee", "an amount of base units, e.g. \"10\"")?,
            payment: p.optional("payment", "a payment id (32 hex digits)")?,
        };
        if request.amount.is_zero() {
            return Err(ApiError::invalid_param("amount", "must be more than zero"));
        }
        Ok(request)
    }
}

/// An invoice this node issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceInfo {
    /// The text to hand the payer (`parley1…`).
    pub invoice: String,
    /// Its id: the id of the payment that pays it, on both nodes.
    pub id: PaymentId,
    /// The payee: this node.
    pub payee: crate::wire::NodeId,
    /// The asset's name.
    pub asset: String,
    /// How much.
    pub amount: Amount,
    /// Until when it can be paid, in Unix seconds.
    pub expires_at: u64,
    /// What it is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub memo: String,
    /// `open`, `paid` or `expired`.
    pub status: String,
    /// The payment that paid it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentInfo>,
}

impl FromParams for InvoiceCreateRequest {
    const NAMES: &'static [&'static str] = &["amount", "asset", "memo", "expiry_seconds"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        let request = InvoiceCreateRequest {
            amount: p.amount("amount")?,
            asset: p.optional("asset", "an asset name, e.g. \"ETH\"")?,
            memo: p.optional("memo", "a text")?,
            expiry_seconds: p.optional("expiry_seconds", "a whole number of seconds")?,
        };
        if request.amount.is_zero() {
            return Err(ApiError::invalid_param("amount", "must be more than zero"));
        }
        if request.memo.as_ref().is_some_and(|m| m.len() > 256) {
            return Err(ApiError::invalid_param("memo", "at most 256 bytes"));
        }
        if matches!(request.expiry_seconds, Some(0))
            || request.expiry_seconds > Some(MAX_EXPIRY_SECONDS)
        {
            return Err(ApiError::invalid_param(
                "expiry_seconds",
                format!("must be from 1 to {MAX_EXPIRY_SECONDS}"),
            ));
        }
        Ok(request)
    }
}

impl FromParams for InvoicePayRequest {
    const NAMES: &'static [&'static str] = &["invoice"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        let invoice: String = p.required("invoice", "an invoice (parley1…)")?;
        if invoice.len() > 4096 {
            return Err(ApiError::invalid_param(
                "invoice",
                "longer than any invoice",
            ));
        }
        Ok(InvoicePayRequest { invoice })
    }
}

impl FromParams for PaymentListRequest {
    const NAMES: &'static [&'static str] = &["channel", "limit", "offset"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        let request = PaymentListRequest {
            channel: p.optional("channel", "a channel id (0x and 64 hex digits)")?,
            limit: p.optional("limit", "a whole number")?,
            offset: p.optional("offset", "a whole number")?,
        };
        if request.limit == Some(0) || request.limit > Some(MAX_LIST) {
            return Err(ApiError::invalid_param(
                "limit",
                format!("must be from 1 to {MAX_LIST}"),
            ));
        }
        Ok(request)
    }
}

impl FromParams for PaymentRef {
    const NAMES: &'static [&'static str] = &["id"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        Ok(PaymentRef {
            id: p.required("id", PAYMENT_ID)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::params::parse_params;

    #[test]
    fn list_parameters_are_checked() {
        let request: PaymentListRequest = parse_params(Some(r#"{"limit": 5}"#)).unwrap();
        assert_eq!(request.limit, Some(5));
        assert!(parse_params::<PaymentListRequest>(Some(r#"{"limit": 0}"#)).is_err());
        assert!(parse_params::<PaymentListRequest>(Some(r#"{"limit": 1001}"#)).is_err());
        let all: PaymentListRequest = parse_params(None).unwrap();
        assert_eq!(all, PaymentListRequest::default());
        let id = "ab".repeat(16);
        let one: PaymentRef = parse_params(Some(&format!(r#"["{id}"]"#))).unwrap();
        assert_eq!(one.id.to_string(), id);
        assert!(parse_params::<PaymentRef>(Some(r#"["0x12"]"#)).is_err());
    }
}
