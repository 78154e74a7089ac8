//! Human output of the node commands, as pure functions from API results to text (so tests can
//! pin the layout from fixed values), and the one JSON document `--json` prints.
//!
//! Ids are always printed in full: scripts copy them into the next command. Amounts are in
//! each asset's whole units with its decimals (`units.rs`), exact; the API and `--json` keep
//! base units. Balances read `mine / theirs`, seen from this node.

use crate::api::types::{
    AssetBalances, ChannelInfo, NodeInfo, OnChainBalance, PeerInfo, PendingUpdateInfo, ProposalInfo,
};
use crate::units::{format_units, show};
use parley_plugin_api::model::{Amount, AssetInfo};
use serde_json::Value;

/// The `--json` form of a result: the API result as-is, pretty-printed, one document.
pub fn json(result: &Value) -> String {
    // Serialising a `Value` cannot fail: its keys are strings.
    serde_json::to_string_pretty(result).unwrap_or_else(|_| result.to_string())
}

/// Rows of `key  value`, the keys padded to one width and indented under a title line.
pub(super) fn block(title: &str, rows: &[(String, String)]) -> String {
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = title.to_owned();
    for (key, value) in rows {
        out.push_str(&format!("\n  {key:<width$}  {value}"));
    }
    out
}

/// A table with a header; every column but the last is padded, so no line ends in spaces.
pub(super) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if i == last {
                    (*cell).to_owned()
                } else {
                    format!("{cell:<width$}", width = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut lines = vec![line(header.to_vec())];
    lines.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    lines.join("\n")
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// `0.01 ETH`: `amount` base units of the asset named `asset` on a chain with `assets`; an
/// asset the chain does not name (it should not happen) keeps its base units, and says so.
pub fn amount(assets: &[AssetInfo], asset: &str, amount: &Amount) -> String {
    match assets.iter().find(|a| a.name == asset) {
        Some(info) => show(amount, info),
        None => format!("{amount} base units of {asset}"),
    }
}

/// `0.01`: `amount` of `asset` in whole units, for where the asset's name is already written;
/// `70 base units` for an asset the chain does not name.
fn number(assets: &[AssetInfo], asset: &str, amount: &Amount) -> String {
    match assets.iter().find(|a| a.name == asset) {
        Some(info) => format_units(amount, info.decimals),
        None => format!("{amount} base units"),
    }
}

/// `0.7 / 0.3` for one asset.
fn split(balance: &AssetBalances, assets: &[AssetInfo]) -> String {
    let number = |amount| number(assets, &balance.asset, amount);
    format!("{} / {}", number(&balance.mine), number(&balance.theirs))
}

/// `ETH 0.7 / 0.3, TOK 5 / 0`: every asset on one line, for tables.
fn splits(balances: &[AssetBalances], assets: &[AssetInfo]) -> String {
    if balances.is_empty() {
        return "-".into();
    }
    balances
        .iter()
        .map(|b| format!("{} {}", b.asset, split(b, assets)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The peer by alias when there is one, else by node id.
fn peer_name(alias: &Option<String>, id: &impl std::fmt::Display) -> String {
    alias.clone().unwrap_or_else(|| id.to_string())
}

/// `parley info`.
pub fn node_info(info: &NodeInfo) -> String {
    let assets = if info.chain.assets.is_empty() {
        "none".to_owned()
    } else {
        info.chain
            .assets
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut lines = vec![
        ("version".into(), info.version.clone()),
        (
            "chain".into(),
            format!("{} (chain id {})", info.chain.backend, info.chain.chain_id),
        ),
        ("assets".into(), assets),
        // What peers pass as <transport-address> to `parley peer add`.
        ("transport".into(), info.listen_address.clone()),
        // Or all in one, `parley peer add <alias> <this>`.
        ("address".into(), info.node_address.clone()),
        (
            "account".into(),
            info.account
                .as_ref()
                .map_or_else(|| "none".to_owned(), ToString::to_string),
        ),
        ("channels".into(), info.channels.to_string()),
        ("peers".into(), format!("{} connected", info.peers)),
        (
            "api".into(),
            info.api_address
                .clone()
                .unwrap_or_else(|| UNKNOWN.to_owned()),
        ),
    ];
    if let Some(api) = &info.api_address {
        // Served on the API port; it asks once for the token in <data_dir>/api.token.
        lines.push(("dashboard".into(), format!("http://{api}/dashboard/")));
    }
    if !info.apps.is_empty() {
        let apps = info
            .apps
            .iter()
            .map(|app| match &app.address {
                Some(address) => format!("{} ({address})", app.name),
                None => format!("{} (no address on this chain)", app.name),
            })
            .collect::<Vec<_>>()
            .join(", ");
        lines.push(("apps".into(), apps));
    }
    block(&format!("node {}", info.node_id), &lines)
}

/// `parley peer add`: the peer as the node now knows it, and whether connecting worked.
pub fn peer_added(peer: &PeerInfo) -> String {
    let connected = match &peer.connect_error {
        Some(error) => format!("no: {error}"),
        None => yes_no(peer.connected).into(),
    };
    block(
        &format!("added peer {}", peer.alias.as_deref().unwrap_or(UNKNOWN)),
        &[
            ("node id".into(), peer.node_id.to_string()),
            (
                "transport".into(),
                peer.transport_address
                    .clone()
                    .unwrap_or_else(|| UNKNOWN.to_owned()),
            ),
            ("connected".into(), connected),
        ],
    )
}

/// `parley peer list`.
pub fn peers(peers: &[PeerInfo]) -> String {
    if peers.is_empty() {
        return "no peers; add one with `parley peer add <alias> <node-id>@<host:port>`".into();
    }
    let rows: Vec<Vec<String>> = peers
        .iter()
        .map(|p| {
            vec![
                p.alias.clone().unwrap_or_else(|| "-".to_owned()),
                p.node_id.to_string(),
                p.transport_address
                    .clone()
                    .unwrap_or_else(|| UNKNOWN.to_owned()),
                yes_no(p.connected).into(),
                p.direction.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    table(
        &["ALIAS", "NODE ID", "TRANSPORT", "CONNECTED", "DIRECTION"],
        &rows,
    )
}

/// One channel, under a `title` line that says what just happened to it.
pub fn channel(title: &str, channel: &ChannelInfo, assets: &[AssetInfo]) -> String {
    let peer = match (&channel.peer_alias, &channel.peer) {
        (Some(alias), Some(peer)) => format!("{alias} ({peer})"),
        (None, Some(peer)) => peer.to_string(),
        (_, None) => UNKNOWN.to_owned(),
    };
    let mut rows = vec![
        ("peer".to_owned(), peer),
        ("phase".to_owned(), channel.phase_name().to_owned()),
        ("version".to_owned(), channel.version.to_string()),
    ];
    rows.extend(channel.balances.iter().map(|b| {
        (
            b.asset.clone(),
            format!("{} (mine / theirs)", split(b, assets)),
        )
    }));
    if let Some(app) = &channel.app {
        let name = app
            .name
            .clone()
            .unwrap_or_else(|| "an app this node does not have".into());
        rows.push(("app".to_owned(), format!("{name} ({})", app.address)));
        match (&app.state, &app.problem) {
            (Some(state), _) => rows.push(("app state".to_owned(), state.to_string())),
            (None, Some(problem)) => rows.push(("app state".to_owned(), problem.clone())),
            (None, None) => {}
        }
        if let Some(record) = &app.on_record {
            let described = match (&record.state, &record.problem) {
                (Some(state), _) => state.to_string(),
                (None, Some(problem)) => problem.clone(),
                (None, None) => "not described".to_owned(),
            };
            rows.push((
                "on record".to_owned(),
                format!("version {}: {described}", record.version),
            ));
            if let Some(turn) = record.turn {
                let whose = channel
                    .participants
                    .iter()
                    .find(|p| p.index == turn)
                    .map_or("", |p| if p.me { " (yours)" } else { " (the peer's)" });
                rows.push((
                    "next move".to_owned(),
                    format!("participant {turn}'s{whose}, on chain"),
                ));
            }
        }
    }
    if let Some(dispute) = &channel.dispute {
        let record = match dispute.phase.as_str() {
            "concluded" => format!("concluded at version {}", dispute.version),
            "force_exec" => format!(
                "version {} (force execution: moves on chain); ends at chain time {} ({} s from \
                 now)",
                dispute.version,
                dispute.timeout,
                dispute.timeout.saturating_sub(dispute.chain_time)
            ),
            phase => format!(
                "version {} registered ({phase}); ends at chain time {} ({} s from now)",
                dispute.version,
                dispute.timeout,
                dispute.timeout.saturating_sub(dispute.chain_time)
            ),
        };
        rows.push(("on chain".to_owned(), record));
    }
    if let Some(status) = &channel.status {
        rows.push(("status".to_owned(), status.clone()));
    }
    let head = format!("channel {}", channel.id);
    let head = if title.is_empty() {
        head
    } else {
        format!("{title}\n{head}")
    };
    block(&head, &rows)
}

/// What a channel shows for a peer or phase its node does not know.
const UNKNOWN: &str = "unknown";

/// `parley channel list`.
pub fn channels(channels: &[ChannelInfo], assets: &[AssetInfo]) -> String {
    if channels.is_empty() {
        return "no channels; open one with `parley channel open <peer> --mine <amount> --theirs <amount>`".into();
    }
    let rows: Vec<Vec<String>> = channels
        .iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                c.peer
                    .as_ref()
                    .map_or_else(|| UNKNOWN.to_owned(), |p| peer_name(&c.peer_alias, p)),
                c.phase_name().to_owned(),
                c.version.to_string(),
                splits(&c.balances, assets),
            ]
        })
        .collect();
    let mut text = table(
        &["CHANNEL", "PEER", "PHASE", "VERSION", "MINE / THEIRS"],
        &rows,
    );
    // A channel in trouble (a store outage, a lost peer, a damaged record) says so here too.
    for channel in channels {
        if let Some(status) = &channel.status {
            text.push_str(&format!("\n{}: {status}", channel.id));
        }
    }
    text
}

/// When a proposal lapses, relative to `now` (Unix seconds).
fn expiry(expires_at: u64, now: u64) -> String {
    match expires_at.checked_sub(now) {
        Some(0) | None => "expired".into(),
        Some(left) => format!("in {left}s"),
    }
}

/// What kind of channel a proposal opens: `payment` for a ledger payment channel (the only
/// kind this node accepts), else every way it differs, e.g. `app 0x12..., 2 locked, virtual`.
fn kind(p: &ProposalInfo) -> String {
    let mut differs = Vec::new();
    if let Some(app) = &p.app {
        differs.push(format!("app {app}"));
    }
    if !p.app_data.0.is_empty() {
        differs.push(format!("{} bytes of app data", p.app_data.0.len()));
    }
    if !p.locked.is_empty() {
        differs.push(format!("{} locked", p.locked.len()));
    }
    if p.virtual_channel {
        differs.push("virtual".into());
    }
    if !p.ledger_channel {
        differs.push("not ledger".into());
    }
    if differs.is_empty() {
        "payment".into()
    } else {
        differs.join(", ")
    }
}

/// `parley proposal list`; `now` is the current Unix time, for the expiry column.
pub fn proposals(proposals: &[ProposalInfo], now: u64, assets: &[AssetInfo]) -> String {
    if proposals.is_empty() {
        return "no proposals waiting for an answer".into();
    }
    let rows: Vec<Vec<String>> = proposals
        .iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                peer_name(&p.proposer_alias, &p.proposer),
                splits(&p.balances, assets),
                format!("{}s", p.challenge_seconds),
                kind(p),
                expiry(p.expires_at, now),
            ]
        })
        .collect();
    table(
        &[
            "PROPOSAL",
            "FROM",
            "MINE / THEIRS",
            "CHALLENGE",
            "KIND",
            "EXPIRES",
        ],
        &rows,
    )
}

/// `parley channel pending`: per update, its channel, peer, version, kind and deadline, each
/// asset's balances now and after it (mine / theirs), and for an app channel the app's view of
/// both states.
pub fn pending_updates(updates: &[PendingUpdateInfo], now: u64, assets: &[AssetInfo]) -> String {
    if updates.is_empty() {
        return "no update of a peer waits for an answer".into();
    }
    let mut out = Vec::new();
    for u in updates {
        let answer = match u.answer_by {
            Some(at) => format!("answer {}", expiry(at, now)),
            None => "answered by the node's policy".into(),
        };
        let peer = match &u.peer {
            Some(peer) => peer_name(&u.peer_alias, peer),
            None => "an unknown peer".into(),
        };
        let last = if u.is_final { ", final" } else { "" };
        out.push(format!(
            "channel {} from {peer}: version {} -> {} ({}{last}), {answer}",
            u.id, u.current_version, u.version, u.kind
        ));
        for b in &u.balances {
            let number = |amount| number(assets, &b.asset, amount);
            out.push(format!(
                "  {}  {} / {}  ->  {} / {}",
                b.asset,
                number(&b.mine_before),
                number(&b.theirs_before),
                number(&b.mine_after),
                number(&b.theirs_after)
            ));
        }
        if let Some(app) = &u.app {
            let name = app.name.clone().unwrap_or_else(|| app.address.to_string());
            let actor = app
                .actor
                .map_or(String::new(), |a| format!(", moved by participant {a}"));
            out.push(format!("  app {name}{actor}"));
            let show = |v: &Option<Value>| v.as_ref().map_or("-".to_string(), Value::to_string);
            out.push(format!("    now:      {}", show(&app.current)));
            out.push(format!("    proposed: {}", show(&app.proposed)));
            if let Some(problem) = &app.problem {
                out.push(format!("    {problem}"));
            }
        }
    }
    out.join("\n")
}

/// `parley balance`: one line per asset in whole units, aligned on the decimal point so that
/// digits of the same weight line up.
pub fn balances(balances: &[OnChainBalance], assets: &[AssetInfo]) -> String {
    if balances.is_empty() {
        return "no assets on this chain".into();
    }
    let name_width = balances
        .iter()
        .map(|b| b.asset.chars().count())
        .max()
        .unwrap_or(0);
    let numbers: Vec<String> = balances
        .iter()
        .map(|b| number(assets, &b.asset, &b.amount))
        .collect();
    // Split at the point: the whole part right-aligned, the fraction left-aligned after it.
    let parts: Vec<(&str, &str)> = numbers
        .iter()
        .map(|n| n.find('.').map_or((n.as_str(), ""), |at| n.split_at(at)))
        .collect();
    let whole_width = parts.iter().map(|(w, _)| w.len()).max().unwrap_or(0);
    balances
        .iter()
        .zip(&parts)
        .map(|(b, (whole, fraction))| {
            format!("{:<name_width$}  {whole:>whole_width$}{fraction}", b.asset)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
