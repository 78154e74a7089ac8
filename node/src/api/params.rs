//! Reading and checking method parameters: pure functions from the raw JSON `params` to a typed
//! request, or an `invalid_argument` error that names the parameter and what was expected.
//!
//! Parameters may be given by name (`{"id": "0x.."}`) or by position (`["0x.."]`, in the order
//! of [`FromParams::NAMES`]). Unknown names are refused rather than ignored, so a misspelt
//! optional parameter (`"assset"`) is an error instead of a silent default.
//!
//! Amounts are decimal strings only: a JSON number is refused, because most JSON clients hold
//! numbers as doubles, which are exact only up to 2^53, so the number a client meant may not be
//! the one that arrives. Transport addresses are `host:port` with a port the peer can listen on.

use super::error::ApiError;
use super::types::AssetDeposit;
use super::types::{
    BalanceRequest, ChannelAnswerRequest, ChannelListRequest, ChannelMoveRequest,
    ChannelOpenRequest, ChannelPayRequest, ChannelPendingRequest, ChannelRef, ChannelSettleRequest,
    MisbehaveRegisterRequest, PeerAddRequest, ProposalAcceptRequest, ProposalRejectRequest,
};
use parley_plugin_api::model::Amount;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::net::SocketAddr;

/// The longest alias, reason or name accepted, in bytes.
pub const MAX_TEXT_LEN: usize = 256;

const CHANNEL_ID: &str = "a channel id (0x and 64 hex digits)";
const PROPOSAL_ID: &str = "a proposal id (0x and 64 hex digits)";
const NODE_ID: &str = "a node id (0x and 66 hex digits, a compressed public key)";
const AMOUNT: &str = "an amount as a decimal string, e.g. \"1000\"";
const ASSET: &str = "an asset name, e.g. \"ETH\"";
const MORE_ASSETS: &str = "a list of {\"asset\": name, \"mine\": amount, \"theirs\": amount}";
const APP: &str = "an app name from the node's [[apps]], e.g. \"tictactoe\"";
const APP_SETUP: &str = "a JSON object, the app's setup, e.g. {\"first\": 1}";
const ACTION: &str = "a move as the channel's app takes it, e.g. {\"cell\": 4}";

/// The parameters of one call, by name, after the positional form is mapped to names.
#[derive(Debug, Default)]
pub struct ParamObject {
    fields: Map<String, Value>,
    /// Put before every name in errors: empty for a method's own parameters,
    /// `more_assets[0].` for the fields of an object inside one.
    prefix: String,
}

impl ParamObject {
    /// Parses the raw `params` JSON (absent, `null`, an object or an array) against the
    /// parameter `names` the method takes.
    pub fn parse(raw: Option<&str>, names: &[&str]) -> Result<ParamObject, ApiError> {
        let value: Value = match raw {
            None => Value::Null,
            Some(text) => serde_json::from_str(text)
                .map_err(|e| ApiError::invalid_param("params", format!("not valid JSON: {e}")))?,
        };
        let fields = match value {
            Value::Null => Map::new(),
            Value::Object(fields) => return ParamObject::fields(fields, names, String::new()),
            Value::Array(values) => {
                if values.len() > names.len() {
                    return Err(ApiError::invalid_param(
                        "params",
                        format!(
                            "{} positional parameters given; this method takes {}",
                            values.len(),
                            list(names)
                        ),
                    ));
                }
                names.iter().map(|n| n.to_string()).zip(values).collect()
            }
            other => {
                return Err(ApiError::invalid_param(
                    "params",
                    format!("expected an object or an array, got {}", kind(&other)),
                ))
            }
        };
        Ok(ParamObject {
            fields,
            prefix: String::new(),
        })
    }

    /// The named `fields` of an object, checked against `names`; errors call each `prefix`
    /// followed by its name.
    fn fields(
        fields: Map<String, Value>,
        names: &[&str],
        prefix: String,
    ) -> Result<ParamObject, ApiError> {
        if let Some(unknown) = fields.keys().find(|k| !names.contains(&k.as_str())) {
            let takes = if prefix.is_empty() {
                "this method takes"
            } else {
                "expected"
            };
            return Err(ApiError::invalid_param(
                &format!("{prefix}{unknown}"),
                format!("unknown parameter; {takes} {}", list(names)),
            ));
        }
        Ok(ParamObject { fields, prefix })
    }

    /// The parameter `name`, which must be present and of the form described by `expected`.
    pub fn required<T: DeserializeOwned>(&self, name: &str, expected: &str) -> Result<T, ApiError> {
        self.optional(name, expected)?.ok_or_else(|| {
            ApiError::invalid_param(&self.name(name), format!("missing; expected {expected}"))
        })
    }

    /// The amount `name`: a decimal string. A JSON number is refused even when it is small,
    /// so that a client learns the rule before an amount above 2^53 loses its last digits.
    pub fn amount(&self, name: &str) -> Result<Amount, ApiError> {
        if let Some(number @ Value::Number(_)) = self.fields.get(name) {
            return Err(ApiError::invalid_param(
                &self.name(name),
                format!(
                    "got the JSON number {number}; amounts must be decimal strings \
                     (\"{number}\"), since JSON numbers lose precision above 2^53 in most \
                     clients"
                ),
            ));
        }
        self.required(name, AMOUNT)
    }

    /// The full name of parameter `name`, as errors give it.
    fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The parameter `name` if present and not `null`.
    pub fn optional<T: DeserializeOwned>(
        &self,
        name: &str,
        expected: &str,
    ) -> Result<Option<T>, ApiError> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => serde_json::from_value(value.clone())
                .map(Some)
                .map_err(|e| {
                    ApiError::invalid_param(
                        &self.name(name),
                        format!("expected {expected}, got {value}: {e}"),
                    )
                }),
        }
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "no parameters".to_owned()
    } else {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks a short human text (alias, reason, name): not empty, not too long.
fn text(name: &str, value: String) -> Result<String, ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid_param(name, "must not be empty"));
    }
    if value.len() > MAX_TEXT_LEN {
        return Err(ApiError::invalid_param(
            name,
            format!("{} bytes long; at most {MAX_TEXT_LEN}", value.len()),
        ));
    }
    Ok(value)
}

fn transport_address(value: String) -> Result<String, ApiError> {
    let value = text("transport_address", value)?;
    check_transport_address(&value)
        .map_err(|problem| ApiError::invalid_param("transport_address", problem))?;
    Ok(value)
}

fn optional_text(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    value.map(|v| text(name, v)).transpose()
}

/// Checks a peer's transport address: `host:port`, the host an IP address (IPv6 in brackets)
/// or a DNS name, the port 1 to 65535. The node dials it later, whenever a channel needs the
/// peer; an address that can never be dialled is refused now instead of failing each redial.
/// The CLI runs the same check before it sends `peer_add`.
pub fn check_transport_address(address: &str) -> Result<(), String> {
    let expected = "expected host:port, the address the peer's `parley info` prints under \
                    `transport` (e.g. 127.0.0.1:4000 or [::1]:4000)";
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!("`{address}` has no port; {expected}"));
    };
    match port.parse::<u16>() {
        Ok(0) => {
            return Err(format!(
                "`{address}` has port 0, which only a listener may ask for (any free port); \
                 {expected}"
            ))
        }
        Ok(_) => {}
        Err(_) => {
            return Err(format!(
                "`{address}`: `{port}` is not a port (1 to 65535); {expected}"
            ))
        }
    }
    if address.parse::<SocketAddr>().is_ok() || is_dns_name(host) {
        Ok(())
    } else {
        Err(format!(
            "`{address}`: `{host}` is neither an IP address (IPv6 goes in brackets) nor a host \
             name; {expected}"
        ))
    }
}

/// A DNS host name: dot-separated labels of letters, digits and hyphens (RFC 1123).
fn is_dns_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A request type read from method parameters.
pub trait FromParams: Sized {
    /// The parameter names, in positional order.
    const NAMES: &'static [&'static str];
    /// Reads and checks the request.
    fn from_object(params: &ParamObject) -> Result<Self, ApiError>;
}

/// Parses the raw `params` of a call into `T`, or the `invalid_argument` error to return.
pub fn parse_params<T: FromParams>(raw: Option<&str>) -> Result<T, ApiError> {
    T::from_object(&ParamObject::parse(raw, T::NAMES)?)
}

/// Methods without parameters.
impl FromParams for () {
    const NAMES: &'static [&'static str] = &[];
    fn from_object(_: &ParamObject) -> Result<(), ApiError> {
        Ok(())
    }
}

impl FromParams for PeerAddRequest {
    const NAMES: &'static [&'static str] = &["alias", "node_id", "transport_address"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        let alias: String = text("alias", p.required("alias", "a short name for the peer")?)?;
        if alias.chars().any(char::is_whitespace) || alias.starts_with("0x") {
            // Aliases and node ids share the `peer` parameter of channel_open: keep them apart.
            return Err(ApiError::invalid_param(
                "alias",
                "must not contain spaces or start with 0x",
            ));
        }
        Ok(PeerAddRequest {
            alias,
            node_id: p.required("node_id", NODE_ID)?,
            transport_address: p
                .optional(
                    "transport_address",
                    "the peer's transport address (host:port)",
                )?
                .map(transport_address)
                .transpose()?,
        })
    }
}

impl FromParams for ChannelOpenRequest {
    const NAMES: &'static [&'static str] = &[
        "peer",
        "mine",
        "theirs",
        "asset",
        "challenge_seconds",
        "more_assets",
        "app",
        "app_setup",
        "parent",
        "via",
        "through",
        "fees",
    ];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        let request = ChannelOpenRequest {
            peer: text("peer", p.required("peer", "a peer alias or node id")?)?,
            mine: p.amount("mine")?,
            theirs: p.amount("theirs")?,
            asset: optional_text("asset", p.optional("asset", ASSET)?)?,
            challenge_seconds: p.optional("challenge_seconds", "a number of seconds")?,
            more_assets: more_assets(p)?,
            app: optional_text("app", p.optional("app", APP)?)?,
            app_setup: p.optional::<Value>("app_setup", APP_SETUP)?,
            parent: p.optional("parent", CHANNEL_ID)?,
            via: p.optional("via", CHANNEL_ID)?,
            through: p
                .optional::<Vec<String>>("through", "an array of node ids or aliases")?
                .unwrap_or_default()
                .into_iter()
                .map(|node| text("through", node))
                .collect::<Result<_, _>>()?,
            fees: p
                .optional::<Vec<Amount>>("fees", "an array of amounts (decimal strings)")?
                .unwrap_or_default(),
        };
        if (!request.through.is_empty() || !request.fees.is_empty()) && request.via.is_none() {
            return Err(ApiError::invalid_param(
                "through",
                "`through` and `fees` are about the intermediaries of a virtual channel; give \
                 `via` too",
            ));
        }
        if let Some(setup) = &request.app_setup {
            if !setup.is_object() {
                return Err(ApiError::invalid_param(
                    "app_setup",
                    format!("expected {APP_SETUP}"),
                ));
            }
            if request.app.is_none() {
                return Err(ApiError::invalid_param(
                    "app_setup",
                    "an app setup needs an app (`app`)",
                ));
            }
        }
        let unfunded = |m: &Amount, t: &Amount| m.is_zero() && t.is_zero();
        if unfunded(&request.mine, &request.theirs)
            && request
                .more_assets
                .iter()
                .all(|extra| unfunded(&extra.mine, &extra.theirs))
        {
            return Err(ApiError::invalid_param(
                "mine",
                "`mine` and `theirs` are both zero; a channel needs funds",
            ));
        }
        if request.challenge_seconds == Some(0) {
            return Err(ApiError::invalid_param(
                "challenge_seconds",
                "must be at least 1 second",
            ));
        }
        Ok(request)
    }
}

/// `more_assets`: each entry an object of exactly `asset`, `mine` and `theirs`, read with the
/// same rules as the method's own parameters and named by its index in errors.
fn more_assets(p: &ParamObject) -> Result<Vec<AssetDeposit>, ApiError> {
    let entries: Vec<Value> = p.optional("more_assets", MORE_ASSETS)?.unwrap_or_default();
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let prefix = format!("more_assets[{index}].");
            let Value::Object(fields) = entry else {
                return Err(ApiError::invalid_param(
                    &format!("more_assets[{index}]"),
                    format!("expected {{\"asset\": name, \"mine\": amount, \"theirs\": amount}}, got {}", kind(&entry)),
                ));
            };
            let entry = ParamObject::fields(fields, &["asset", "mine", "theirs"], prefix.clone())?;
            Ok(AssetDeposit {
                asset: text(&format!("{prefix}asset"), entry.required("asset", ASSET)?)?,
                mine: entry.amount("mine")?,
                theirs: entry.amount("theirs")?,
            })
        })
        .collect()
}

impl FromParams for ProposalAcceptRequest {
    const NAMES: &'static [&'static str] = &["id"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        Ok(ProposalAcceptRequest {
            id: p.required("id", PROPOSAL_ID)?,
        })
    }
}

impl FromParams for ProposalRejectRequest {
    const NAMES: &'static [&'static str] = &["id", "reason"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        Ok(ProposalRejectRequest {
            id: p.required("id", PROPOSAL_ID)?,
            reason: optional_text("reason", p.optional("reason", "a short text")?)?,
        })
    }
}

impl FromParams for ChannelRef {
    const NAMES: &'static [&'static str] = &["id"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        Ok(ChannelRef {
            id: p.required("id", CHANNEL_ID)?,
        })
    }
}

impl FromParams for ChannelPendingRequest {
    const NAMES: &'static [&'static str] = &["id"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        Ok(ChannelPendingRequest {
            id: p.optional("id", CHANNEL_ID)?,
        })
    }
}

impl FromParams for ChannelAnswerRequest {
    const NAMES: &'static [&'static str] = &["id", "version", "accept", "reason"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        let request = ChannelAnswerRequest {
            id: p.required("id", CHANNEL_ID)?,
            version: p.optional("version", "the proposed version (a whole number)")?,
            accept: p.required("accept", "true (accept the update) or false (reject it)")?,
            reason: optional_text("reason", p.optional("reason", "a short text")?)?,
        };
        if request.accept && request.reason.is_some() {
            return Err(ApiError::invalid_param(
                "reason",
                "only a rejection carries a reason (told to the peer); drop it, or set accept to false",
            ));
        }
        Ok(request)
    }
}

impl FromParams for ChannelListRequest {
    const NAMES: &'static [&'static str] = &["closed"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        Ok(ChannelListRequest {
            closed: p.optional("closed", "true or false")?.unwrap_or(false),
        })
    }
}

impl FromParams for ChannelSettleRequest {
    const NAMES: &'static [&'static str] = &["id", "force"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        Ok(ChannelSettleRequest {
            id: p.required("id", CHANNEL_ID)?,
            force: p.optional("force", "true or false")?.unwrap_or(false),
        })
    }
}

impl FromParams for MisbehaveRegisterRequest {
    const NAMES: &'static [&'static str] = &["id", "version"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        Ok(MisbehaveRegisterRequest {
            id: p.required("id", CHANNEL_ID)?,
            version: p.required("version", "a state version (a whole number)")?,
        })
    }
}

impl FromParams for ChannelPayRequest {
    const NAMES: &'static [&'static str] = &["id", "amount", "asset", "payment"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        let request = ChannelPayRequest {
            id: p.required("id", CHANNEL_ID)?,
            amount: p.amount("amount")?,
            asset: optional_text("asset", p.optional("asset", ASSET)?)?,
            payment: p.optional("payment", "a payment id (32 hex digits)")?,
        };
        if request.amount.is_zero() {
            return Err(ApiError::invalid_param("amount", "must be more than zero"));
        }
        Ok(request)
    }
}

impl FromParams for ChannelMoveRequest {
    const NAMES: &'static [&'static str] = &["id", "action"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        let action: Value = p.required("action", ACTION)?;
        if action.is_null() {
            return Err(ApiError::invalid_param(
                "action",
                format!("expected {ACTION}"),
            ));
        }
        Ok(ChannelMoveRequest {
            id: p.required("id", CHANNEL_ID)?,
            action,
        })
    }
}

impl FromParams for BalanceRequest {
    const NAMES: &'static [&'static str] = &["asset"];
    fn from_object(p: &ParamObject) -> Result<Self, ApiError> {
        Ok(BalanceRequest {
            asset: optional_text("asset", p.optional("asset", ASSET)?)?,
        })
    }
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
