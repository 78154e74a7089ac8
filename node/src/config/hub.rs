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
    /// The fixed part of the fee for carrying one virtual channel (base units of its first
    /// asset), paid by its proposer with the lock in our channel on the proposer's side.
    pub fee_base: Amount,
    /// The part of the fee proportional to the virtual channel's total of its first asset, in
    /// millionths.
    pub fee_ppm: u32,
}

impl Default for HubSection {
    fn default() -> HubSection {
        HubSection {
            serve: false,
            max_lock: None,
            pending_per_peer: 16,
            hold: std::time::Duration::from_secs(10),
            fee_base: Amount::ZERO,
            fee_ppm: 0,
        }
    }
}

const KEYS: &[&str] = &[
    "serve",
    "max_lock",
    "pending_per_peer",
    "hold_seconds",
    "fee_base",
    "fee_ppm",
];

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
    hub.max_lock = amount(table, "max_lock", err)?;
    hub.fee_base = amount(table, "fee_base", err)?.unwrap_or(Amount::ZERO);
    match table.get("fee_ppm") {
        None => {}
        Some(toml::Value::Integer(n)) if (0..=1_000_000).contains(n) => hub.fee_ppm = *n as u32,
        Some(other) => {
            return Err(err(
                "hub.fee_ppm",
                format!(
                    "expected parts per million of the virtual channel's total, a whole number \
                     from 0 to 1000000, found {other}"
                ),
            ))
        }
    }
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

/// `[hub] key`, an amount of base units (a decimal string, or a non-negative integer).
fn amount(table: &toml::Table, key: &str, err: &ErrFn<'_>) -> Result<Option<Amount>, ConfigError> {
    let name = format!("hub.{key}");
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::String(text)) => text.trim().parse().map(Some).map_err(|e| {
            err(
                &name,
                format!(
                    "`{text}` is not an amount ({e}); expected a decimal string of base units \
                     like \"1000000\""
                ),
            )
        }),
        Some(toml::Value::Integer(n)) if *n >= 0 => Ok(Some(Amount::from(*n as u64))),
        Some(other) => Err(err(
            &name,
            format!(
                "expected a decimal string of base units like \"1000000\", found a {}",
                other.type_str()
            ),
        )),
    }
}

impl HubSection {
    /// The fee this node charges to carry a virtual channel whose first asset totals `total`:
    /// `fee_base` plus `fee_ppm` millionths of `total`, rounded up.
    pub fn fee_for(&self, total: Amount) -> Option<Amount> {
        let share = total
            .checked_mul(Amount::from(u64::from(self.fee_ppm)))?
            .checked_add(Amount::from(999_999u64))?
            .checked_div(Amount::from(1_000_000u64))?;
        self.fee_base.checked_add(share)
    }
}
