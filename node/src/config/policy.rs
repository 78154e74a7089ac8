//! `[policy]`: how the node answers peers without asking its user, and its default timings.

use super::{list, ConfigError, ErrFn};
use parley_plugin_api::model::Amount;
use std::time::Duration;

/// `[policy]` of `node.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySection {
    /// Channel proposals from these peers (aliases or node ids; `"*"` for any peer) are
    /// accepted without asking, if within [`PolicySection::max_auto_deposit`]. Empty: every
    /// proposal waits for `proposal accept` or `proposal reject`.
    pub auto_accept_from: Vec<String>,
    /// The most this node deposits, per asset, into a channel it accepts on its own.
    pub max_auto_deposit: Amount,
    /// How long an incoming proposal waits for an answer, and how long `channel open` waits
    /// for the peer's answer.
    pub proposal_timeout: Duration,
    /// The challenge duration `channel open` proposes when none is given.
    pub challenge_seconds: u64,
    /// How long funding may take before the open is reported as failed.
    pub funding_timeout: Duration,
    /// How long a payment waits for the peer's answer.
    pub update_timeout: Duration,
    /// In a cooperative settle, how long the side that does not conclude first (see
    /// `client::onchain::conclude_final`) waits for the peer's `concludeFinal` before sending its own.
    pub peer_conclude_timeout: Duration,
    /// Who answers the peer's updates of each kind: the node by itself, or the user through
    /// the API (`channel_answer`) within [`PolicySection::update_timeout`].
    pub incoming: IncomingUpdates,
}

/// Who answers a kind of the peer's updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Answerer {
    /// The node, by itself, at once (accepting payments to us and app moves, refusing the
    /// rest).
    #[default]
    Node,
    /// The user: the update waits for `parley channel accept|reject` until its deadline.
    User,
}

/// `[policy] incoming_payments`, `incoming_moves`, `incoming_other`: who answers each kind of
/// the peer's valid updates. The final state of a cooperative settle is always accepted by
/// the node (refusing it only sends the channel on chain, with the same outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IncomingUpdates {
    /// Updates that only pay this node (`"accept"`: the node accepts them; `"ask"`).
    pub payments: Answerer,
    /// Moves of an app channel's app (`"accept"`: the node accepts every move the app's rules
    /// allow; `"ask"`).
    pub moves: Answerer,
    /// Every other update, such as one that pays the peer (`"reject"`: the node declines
    /// them; `"ask"`).
    pub other: Answerer,
}

impl Default for PolicySection {
    fn default() -> PolicySection {
        PolicySection {
            auto_accept_from: Vec::new(),
            max_auto_deposit: Amount::ZERO,
            proposal_timeout: Duration::from_secs(120),
            challenge_seconds: 600,
            funding_timeout: Duration::from_secs(300),
            update_timeout: Duration::from_secs(30),
            // Long enough for the peer's transaction to be mined and confirmed on a busy chain;
            // waiting longer only delays our withdrawal, never risks it.
            peer_conclude_timeout: Duration::from_secs(120),
            incoming: IncomingUpdates::default(),
        }
    }
}

impl PolicySection {
    /// Whether `[policy] auto_accept_from` names this peer (by alias or node id) or `"*"`.
    pub fn auto_accepts(&self, alias: Option<&str>, node_id: &str) -> bool {
        self.auto_accept_from
            .iter()
            .any(|entry| entry == "*" || Some(entry.as_str()) == alias || entry == node_id)
    }
}

/// The longest timeout `[policy]` accepts (one year). The node adds a timeout to the current
/// time to get a deadline; a larger one, up to the 292 billion years a TOML integer allows,
/// overflows the clock, and the task that meets it (the one answering peers' proposals) dies.
pub const MAX_TIMEOUT_SECONDS: u64 = 365 * 24 * 60 * 60;

const POLICY_KEYS: &[&str] = &[
    "auto_accept_from",
    "max_auto_deposit",
    "proposal_timeout_seconds",
    "challenge_seconds",
    "funding_timeout_seconds",
    "update_timeout_seconds",
    "peer_conclude_timeout_seconds",
    "incoming_payments",
    "incoming_moves",
    "incoming_other",
];

/// Parses `[policy]` (absent: the defaults).
pub(super) fn policy_section(
    table: &toml::Table,
    err: &ErrFn<'_>,
) -> Result<PolicySection, ConfigError> {
    for key in table.keys() {
        if !POLICY_KEYS.contains(&key.as_str()) {
            return Err(err(
                &format!("policy.{key}"),
                format!("unknown key; expected one of {}", list(POLICY_KEYS)),
            ));
        }
    }
    let mut policy = PolicySection::default();
    if let Some(value) = table.get("auto_accept_from") {
        let key = "policy.auto_accept_from";
        let expected = "expected a list of peer aliases or node ids, like [\"bob\"] or [\"*\"]";
        let toml::Value::Array(items) = value else {
            return Err(err(key, format!("{expected}, found {}", value.type_str())));
        };
        for item in items {
            match item {
                toml::Value::String(text) if !text.trim().is_empty() => {
                    policy.auto_accept_from.push(text.trim().to_string())
                }
                other => {
                    return Err(err(
                        key,
                        format!("{expected}; one entry is {}", describe(other)),
                    ))
                }
            }
        }
    }
    if let Some(value) = table.get("max_auto_deposit") {
        let key = "policy.max_auto_deposit";
        policy.max_auto_deposit = match value {
            toml::Value::String(text) => text.trim().parse().map_err(|e| {
                err(
                    key,
                    format!("`{text}` is not an amount ({e}); expected a decimal string of base units like \"1000000\""),
                )
            })?,
            toml::Value::Integer(n) if *n >= 0 => Amount::from(*n as u64),
            other => {
                return Err(err(
                    key,
                    format!(
                        "expected a decimal string of base units like \"1000000\", found {}",
                        describe(other)
                    ),
                ))
            }
        };
    }
    let seconds = |name: &str, default: u64| -> Result<u64, ConfigError> {
        match table.get(name) {
            None => Ok(default),
            Some(toml::Value::Integer(n)) if *n > 0 => Ok(*n as u64),
            Some(other) => Err(err(
                &format!("policy.{name}"),
                format!(
                    "expected a whole number of seconds greater than 0, found {}",
                    describe(other)
                ),
            )),
        }
    };
    let timeout = |name: &str, default: Duration| -> Result<Duration, ConfigError> {
        let value = seconds(name, default.as_secs())?;
        if value > MAX_TIMEOUT_SECONDS {
            return Err(err(
                &format!("policy.{name}"),
                format!(
                    "{value} s is longer than the maximum of {MAX_TIMEOUT_SECONDS} s (one year)"
                ),
            ));
        }
        Ok(Duration::from_secs(value))
    };
    let defaults = PolicySection::default();
    policy.proposal_timeout = timeout("proposal_timeout_seconds", defaults.proposal_timeout)?;
    policy.challenge_seconds = seconds("challenge_seconds", defaults.challenge_seconds)?;
    if policy.challenge_seconds > crate::protocol::MAX_CHALLENGE_DURATION {
        return Err(err(
            "policy.challenge_seconds",
            format!(
                "{} s is longer than the maximum of {} s (one year)",
                policy.challenge_seconds,
                crate::protocol::MAX_CHALLENGE_DURATION
            ),
        ));
    }
    policy.funding_timeout = timeout("funding_timeout_seconds", defaults.funding_timeout)?;
    policy.update_timeout = timeout("update_timeout_seconds", defaults.update_timeout)?;
    policy.peer_conclude_timeout = timeout(
        "peer_conclude_timeout_seconds",
        defaults.peer_conclude_timeout,
    )?;
    let answerer = |name: &str, by_node: &str| -> Result<Answerer, ConfigError> {
        match table.get(name) {
            None => Ok(Answerer::Node),
            Some(toml::Value::String(text)) if text == by_node => Ok(Answerer::Node),
            Some(toml::Value::String(text)) if text == "ask" => Ok(Answerer::User),
            Some(other) => Err(err(
                &format!("policy.{name}"),
                format!(
                    "expected \"{by_node}\" (the node answers by itself) or \"ask\" (the user \
                     answers with `parley channel accept|reject`), found {}",
                    describe(other)
                ),
            )),
        }
    };
    policy.incoming = IncomingUpdates {
        payments: answerer("incoming_payments", "accept")?,
        moves: answerer("incoming_moves", "accept")?,
        other: answerer("incoming_other", "reject")?,
    };
    Ok(policy)
}

fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("the string \"{s}\""),
        toml::Value::Integer(n) => format!("the number {n}"),
        other => other.type_str().to_string(),
    }
}
