//! `[hub]`: whether and how far this node carries virtual channels between its peers (it is
//! their intermediary: `client/intermediary`). Carrying one locks as much of this node's own
//! funds as the virtual channel holds, in its ledger channel with each end, until the virtual
//! channel closes; it never costs the node anything (it comes out even whatever the ends do),
//! but it ties up its funds, so it is off unless the operator turns it on.

use super::{list, ConfigError, ErrFn};
use parley_plugin_api::model::Amount;

/// `[hub]` of `node.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSection {
    /// Whether this node carries virtual channels between its peers.
    pub serve: bool,
    /// The most a virtual channel may hold per asset (both ends' shares together, base units)
    /// for this node to carry it: what it locks of its own. `None`: no bound but its balances.
    pub max_lock: Option<Amount>,
    /// Virtual channels of one proposer being opened through this node at once.
    pub pending_per_peer: usize,
    /// How long one end's lock waits in our channel with it for the other end's lock of the
    /// same virtual channel before it is declined (the end proposes it again).
    pub hold: std::time::Duration,
}

impl Default for HubSection {
    fn default() -> HubSection {
        HubSection {
            serve: false,
            max_lock: None,
            pending_per_peer: 16,
            hold: std::time::Duration::from_secs(10),
        }
    }
}

const KEYS: &[&str] = &["serve", "max_lock", "pending_per_peer", "hold_seconds"];

/// Parses `[hub]` (absent: the defaults, which serve nothing).
pub(super) fn hub_section(table: &toml::Table, err: &ErrFn<'_>) -> Result<HubSection, ConfigError> {
    for name in table.keys() {
        if !KEYS.contains(&name.as_str()) {
            return Err(err(
                &format!("hub.{name}"),
                format!("unknown key; expected one of {}", list(KEYS)),
            ));
        }
    }
    let mut hub = HubSection::default();
    match table.get("serve") {
        None => {}
        Some(toml::Value::Boolean(serve)) => hub.serve = *serve,
        Some(other) => {
            return Err(err(
                "hub.serve",
                format!("expected true or false, found a {}", other.type_str()),
            ))
        }
    }
    hub.max_lock = match table.get("max_lock") {
        None => None,
        Some(toml::Value::String(text)) => Some(text.trim().parse().map_err(|e| {
            err(
                "hub.max_lock",
                format!(
                    "`{text}` is not an amount ({e}); expected a decimal string of base units \
                     like \"1000000\""
                ),
            )
        })?),
        Some(toml::Value::Integer(n)) if *n >= 0 => Some(Amount::from(*n as u64)),
        Some(other) => {
            return Err(err(
                "hub.max_lock",
                format!(
                    "expected a decimal string of base units like \"1000000\", found a {}",
                    other.type_str()
                ),
            ))
        }
    };
    match table.get("pending_per_peer") {
        None => {}
        Some(toml::Value::Integer(n)) if (1..=100_000).contains(n) => {
            hub.pending_per_peer = *n as usize
        }
        Some(other) => {
            return Err(err(
                "hub.pending_per_peer",
                format!("expected a whole number from 1 to 100000, found {other}"),
            ))
        }
    }
    match table.get("hold_seconds") {
        None => {}
        Some(toml::Value::Integer(n)) if (1..=3600).contains(n) => {
            hub.hold = std::time::Duration::from_secs(*n as u64)
        }
        Some(other) => {
            return Err(err(
                "hub.hold_seconds",
                format!("expected a whole number of seconds from 1 to 3600, found {other}"),
            ))
        }
    }
    Ok(hub)
}
