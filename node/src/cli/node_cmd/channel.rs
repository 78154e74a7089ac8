//! `parley channel open|list|show|pay|move|pending|accept|reject|settle`: the node's channels.

use super::args::DepositText;
use super::channel_ref::{channel_id_arg, ChannelIdArg};
use super::{args, output, short_id, Call, CliError, CliResult, NodeOptions};
use crate::api::types::{
    ChannelAnswerRequest, ChannelInfo, ChannelListRequest, ChannelMoveRequest, ChannelOpenRequest,
    ChannelPayRequest, ChannelPendingRequest, ChannelRef, ChannelSettleRequest, PendingUpdateInfo,
};
use crate::store::PaymentId;
use crate::units::{AmountText, Resolved};
use clap::{Args, Subcommand};
use parley_plugin_api::model::{Amount, AssetInfo};
use std::cell::OnceCell;

/// Arguments of `parley channel`.
#[derive(Debug, Args)]
pub struct ChannelArgs {
    #[command(flatten)]
    pub(super) options: NodeOptions,
    #[command(subcommand)]
    command: ChannelCommand,
}

// Parsed once per process from the command line: `Open`'s many flags cost nothing worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum ChannelCommand {
    /// Propose a two-party channel to a peer and wait until it is open and funded.
    ///
    /// The peer accepts (by its policy or with `parley proposal accept`), both sides deposit on
    /// chain, and the command prints the funded channel; a spinner shows the time on a
    /// terminal.
    ///
    /// An amount is whole units with the asset's name (`1.5ETH`, "1.5 ETH"), or base units:
    /// a whole number (`1000`, as the API and --json write them), `1000base`, or for ETH
    /// `1000wei` and `2gwei`. A unit names the asset, so --asset is then optional.
    #[command(after_help = "\
Example:
  parley channel open bob --mine 1ETH --theirs 0.5ETH --config alice/node.toml
  parley channel open bob --mine 1000 --theirs 0 --asset ETH --challenge 600 --config alice/node.toml
  parley channel open bob --mine 1ETH --theirs 0.5ETH --with TOK:2TOK:1TOK --config alice/node.toml
  parley channel open bob --mine 10 --theirs 10 --app tictactoe --config alice/node.toml
  parley channel open bob --mine 10 --theirs 10 --app tictactoe --app-setup '{\"first\": 1}' --config alice/node.toml
  parley channel open 0x03a3...(66 hex digits) --mine 2000 --theirs 1000 --via 0x9f86... --through 0x02c4... --fee 5 --fee 3 --config alice/node.toml")]
    // Own options from 10 on: listed after the global --verbose, before --config and --json.
    #[command(next_display_order = 10)]
    Open {
        /// The peer, by alias (see `parley peer list`) or node id (0x and 66 hex digits).
        #[arg(value_parser = args::peer)]
        peer: String,
        /// What this node deposits: `1.5ETH`, or base units (`1000`, `1000wei`).
        #[arg(long, value_name = "AMOUNT", value_parser = args::amount, allow_negative_numbers = true)]
        mine: AmountText,
        /// What the peer deposits: `1.5ETH`, or base units (`1000`, `1000wei`).
        #[arg(long, value_name = "AMOUNT", value_parser = args::amount, allow_negative_numbers = true)]
        theirs: AmountText,
        /// The asset by name (e.g. ETH); the one the amounts' unit names, else the chain's
        /// first asset, when absent.
        #[arg(long, value_name = "NAME", value_parser = args::text)]
        asset: Option<String>,
        /// How long, in seconds, either side has to answer a dispute on chain; the node's
        /// default when absent.
        #[arg(long, value_name = "SECONDS", value_parser = args::challenge_seconds, allow_negative_numbers = true)]
        challenge: Option<u64>,
        /// One more asset in the same channel, as NAME:MINE:THEIRS (repeatable), e.g.
        /// `--with TOK:2TOK:1TOK` (whole units) or `--with TOK:200:100` (base units).
        #[arg(long = "with", value_name = "NAME:MINE:THEIRS", value_parser = args::asset_deposit)]
        more_assets: Vec<DepositText>,
        /// Run an app in the channel, by the name in the node's [[apps]] (`parley info` lists
        /// them), e.g. `tictactoe`: its moves then move the funds (`parley channel move`).
        #[arg(long, value_name = "NAME", value_parser = args::text)]
        app: Option<String>,
        /// The app's setup as a JSON object (tic-tac-toe: `{"first": 1}` lets the peer move
        /// first); `{}` when absent.
        #[arg(long, value_name = "JSON", requires = "app", value_parser = args::json_object)]
        app_setup: Option<serde_json::Value>,
        /// Open a sub-channel inside this channel with the same peer instead of a channel on
        /// chain: no transaction; the parent's balances lock --mine and --theirs (of the
        /// parent's assets) until the sub-channel is settled and its outcome merged back.
        #[arg(long, value_name = "CHANNEL_ID", value_parser = channel_id_arg)]
        parent: Option<ChannelIdArg>,
        /// Open a virtual channel with PEER (a node id; it needs no channel with this node)
        /// through this ledger channel with an intermediary that has a ledger channel with
        /// PEER: no transaction; this channel and the intermediary's with PEER lock --mine and
        /// --theirs until the virtual channel is settled and its outcome merged back into both.
        #[arg(long, value_name = "CHANNEL_ID", value_parser = channel_id_arg, conflicts_with = "parent")]
        via: Option<ChannelIdArg>,
        /// With --via: a further intermediary on the way to PEER (a node id), once per
        /// intermediary in path order: the intermediary of --via has a ledger channel with the
        /// first, each with the next, the last with PEER.
        #[arg(long, value_name = "NODE", requires = "via")]
        through: Vec<String>,
        /// With --via: the fee offered to an intermediary for carrying the virtual channel
        /// (an amount of the first asset, like --mine), once per intermediary in path order
        /// (the one of --via first); none: nothing. A hub that charges more refuses, naming
        /// its fee.
        #[arg(long = "fee", value_name = "AMOUNT", requires = "via", value_parser = args::amount)]
        fees: Vec<AmountText>,
    },
    /// List this node's channels with their phase and balances (mine / theirs), and what is
    /// wrong with any of them; with --closed, the closed ones instead.
    #[command(after_help = "\
Example:
  parley channel list --config alice/node.toml
  parley channel list --closed --config alice/node.toml --json")]
    #[command(next_display_order = 10)]
    List {
        /// The closed channels (kept in the node's archive) instead of the open ones.
        #[arg(long)]
        closed: bool,
    },
    /// Show one channel: peer, phase, version and balances (mine / theirs).
    #[command(after_help = "\
Example (the id is what `parley channel list` prints):
  parley channel show 0x9f86...(64 hex digits) --config alice/node.toml")]
    Show {
        /// The channel id (0x and 64 hex digits) or its first digits, if no other channel's id
        /// starts with them (`0x9f86`).
        #[arg(value_parser = channel_id_arg)]
        id: ChannelIdArg,
    },
    /// Pay the peer off chain: returns once both sides signed the new balances.
    ///
    /// The amount is whole units with the asset's name (`0.01ETH`, `0.01 ETH`), or base units:
    /// a whole number, `250base`, or for ETH `250wei`.
    #[command(after_help = "\
Example:
  parley channel pay 0x9f86...(64 hex digits) 0.01ETH --config alice/node.toml
  parley channel pay 0x9f86...(64 hex digits) 1.5 TOK --config alice/node.toml
  parley channel pay 0x9f86...(64 hex digits) 250 --asset ETH --config alice/node.toml")]
    #[command(next_display_order = 10)]
    Pay {
        /// The channel id (0x and 64 hex digits) or its first digits, if no other channel's id
        /// starts with them (`0x9f86`).
        #[arg(value_parser = channel_id_arg)]
        id: ChannelIdArg,
        /// How much to pay, more than zero: `0.01ETH`, or base units (`250`, `250wei`).
        #[arg(value_parser = args::payment_amount, allow_negative_numbers = true)]
        amount: AmountText,
        /// The amount's unit, when written as a word of its own (`1.5 TOK`).
        #[arg(value_name = "UNIT", value_parser = args::text)]
        unit: Option<String>,
        /// The asset by name; needed only when the channel holds several and the amount's unit
        /// does not name one.
        #[arg(long, value_name = "NAME", value_parser = args::text)]
        asset: Option<String>,
        /// The payment's id (32 hex digits), to look it up with `parley payment` whatever
        /// becomes of this call; repeating it does not pay twice. A fresh one when absent.
        #[arg(long = "id", value_name = "PAYMENT", value_parser = super::payment::payment_id)]
        payment: Option<PaymentId>,
    },
    /// Make a move in an app channel: returns once both sides signed the new state, with the
    /// app's view of it (for tic-tac-toe the grid and whose turn it is).
    ///
    /// The move is checked by the app's rules before it is signed, here and by the peer. A
    /// move that ends the app (a win, a draw) makes the state final: settle the channel to
    /// pay out what the app says.
    #[command(after_help = "\
Example (tic-tac-toe: cells 0..8, row by row):
  parley channel move 0x9f86...(64 hex digits) '{\"cell\": 4}' --config alice/node.toml")]
    #[command(next_display_order = 10)]
    Move {
        /// The channel id (0x and 64 hex digits) or its first digits, if no other channel's id
        /// starts with them (`0x9f86`).
        #[arg(value_parser = channel_id_arg)]
        id: ChannelIdArg,
        /// The move as a JSON value, as the channel's app takes it.
        #[arg(value_parser = args::json_value)]
        action: serde_json::Value,
    },
    /// List the peers' updates waiting for your answer: what each changes (balances now and
    /// after, mine / theirs; for an app channel the app's view of both states) and how long is
    /// left to answer.
    ///
    /// Only updates [policy] leaves to you wait here (incoming_payments, incoming_moves,
    /// incoming_other = "ask"); one not answered within [policy] update_timeout_seconds is
    /// rejected as "not answered in time".
    #[command(after_help = "\
Example:
  parley channel pending --config bob/node.toml
  parley channel pending 0x9f86...(64 hex digits) --config bob/node.toml --json")]
    Pending {
        /// Only this channel's (its id, or the first digits of it); every channel's when absent.
        #[arg(value_parser = channel_id_arg)]
        id: Option<ChannelIdArg>,
    },
    /// Accept the peer's update waiting in a channel: this node signs it; returns once it is
    /// signed by both and durable.
    #[command(after_help = "\
Example (the id is what `parley channel pending` prints):
  parley channel accept 0x9f86...(64 hex digits) --version 3 --config bob/node.toml")]
    // `--version` names the update's version here, not the program's.
    #[command(next_display_order = 10, disable_version_flag = true)]
    Accept {
        /// The channel id (0x and 64 hex digits) or its first digits, if no other channel's id
        /// starts with them (`0x9f86`).
        #[arg(value_parser = channel_id_arg)]
        id: ChannelIdArg,
        /// Only if the waiting update is this version (as `parley channel pending` shows it).
        #[arg(long, value_name = "N")]
        version: Option<u64>,
    },
    /// Reject the peer's update waiting in a channel; the peer is told, with the reason if one
    /// is given. The channel stays at its current state.
    #[command(after_help = "\
Example:
  parley channel reject 0x9f86...(64 hex digits) --reason \"not for coffee\" --config bob/node.toml")]
    #[command(next_display_order = 10, disable_version_flag = true)]
    Reject {
        /// The channel id (0x and 64 hex digits) or its first digits, if no other channel's id
        /// starts with them (`0x9f86`).
        #[arg(value_parser = channel_id_arg)]
        id: ChannelIdArg,
        /// Only if the waiting update is this version (as `parley channel pending` shows it).
        #[arg(long, value_name = "N")]
        version: Option<u64>,
        /// Why, told to the peer.
        #[arg(long, value_name = "TEXT", value_parser = args::text)]
        reason: Option<String>,
    },
    /// Close a channel and wait until the chain has paid out our share.
    ///
    /// Cooperatively by default: both sides sign a final state, which is concluded on chain at
    /// once. If the peer cannot be reached or does not answer within [policy]
    /// update_timeout_seconds, the node settles unilaterally instead, as with --force: it
    /// registers its newest fully signed state, waits out the channel's challenge duration on
    /// chain time, concludes and withdraws. A progress bar shows the challenge period on a
    /// terminal.
    #[command(after_help = "\
Example:
  parley channel settle 0x9f86...(64 hex digits) --config alice/node.toml
  parley channel settle 0x9f86...(64 hex digits) --force --config alice/node.toml")]
    #[command(next_display_order = 10)]
    Settle {
        /// The channel id (0x and 64 hex digits) or its first digits, if no other channel's id
        /// starts with them (`0x9f86`).
        #[arg(value_parser = channel_id_arg)]
        id: ChannelIdArg,
        /// Settle without the peer: register our newest state and wait out the challenge
        /// duration (also recovers the deposits of a channel whose funding never completed).
        #[arg(long)]
        force: bool,
    },
}

impl ChannelCommand {
    /// The channel ids written on the command line, for completing prefixes.
    fn channel_ids(&mut self) -> Vec<&mut ChannelIdArg> {
        match self {
            ChannelCommand::Open { parent, via, .. } => {
                parent.iter_mut().chain(via.iter_mut()).collect()
            }
            ChannelCommand::Pending { id: parent } => parent.iter_mut().collect(),
            ChannelCommand::List { .. } => Vec::new(),
            ChannelCommand::Show { id }
            | ChannelCommand::Pay { id, .. }
            | ChannelCommand::Move { id, .. }
            | ChannelCommand::Accept { id, .. }
            | ChannelCommand::Reject { id, .. }
            | ChannelCommand::Settle { id, .. } => vec![id],
        }
    }
}

impl ChannelArgs {
    /// The call these arguments make on a chain with `assets` (which say what the amounts'
    /// units mean), after the checks clap cannot make argument by argument.
    pub(super) fn call(&self, assets: &[AssetInfo]) -> Result<Call, CliError> {
        match &self.command {
            ChannelCommand::Open {
                peer,
                mine,
                theirs,
                asset,
                challenge,
                more_assets,
                app,
                app_setup,
                parent,
                via,
                through,
                fees,
            } => {
                let (mine, theirs) = (resolve(mine, assets)?, resolve(theirs, assets)?);
                let asset = args::one_asset(
                    asset.as_deref(),
                    &[
                        (format!("--mine {}", mine.0), mine.1.asset),
                        (format!("--theirs {}", theirs.0), theirs.1.asset),
                    ],
                )
                .map_err(CliError::usage)?;
                let more_assets = more_assets
                    .iter()
                    .map(|deposit| deposit.resolve(assets))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(CliError::usage)?;
                let (mine, theirs) = (mine.1.amount, theirs.1.amount);
                args::check_deposits(&mine, &theirs, &more_assets).map_err(CliError::usage)?;
                let request = ChannelOpenRequest {
                    peer: peer.clone(),
                    mine,
                    theirs,
                    asset,
                    challenge_seconds: *challenge,
                    more_assets,
                    app: app.clone(),
                    app_setup: app_setup.clone(),
                    parent: parent.as_ref().map(ChannelIdArg::id).transpose()?,
                    via: via.as_ref().map(ChannelIdArg::id).transpose()?,
                    through: through.clone(),
                    fees: fees
                        .iter()
                        .map(|fee| resolve(fee, assets).map(|(_, resolved)| resolved.amount))
                        .collect::<Result<_, _>>()?,
                };
                let label = format!(
                    "opening a channel with {}: waiting for the peer and the chain",
                    short_id(peer)
                );
                Ok(Call::with("channel_open", &request)?.waiting(label))
            }
            ChannelCommand::List { closed: false } => Ok(Call::bare("channel_list")),
            ChannelCommand::List { closed: true } => {
                Call::with("channel_list", &ChannelListRequest { closed: true })
            }
            ChannelCommand::Show { id } => Call::with("channel_get", &ChannelRef { id: id.id()? }),
            ChannelCommand::Pay {
                id,
                amount,
                unit,
                asset,
                payment,
            } => {
                let (written, amount) = resolve(
                    &amount.with_unit(unit.as_deref()).map_err(CliError::usage)?,
                    assets,
                )?;
                let asset = args::one_asset(asset.as_deref(), &[(written, amount.asset)])
                    .map_err(CliError::usage)?;
                Call::with(
                    "channel_pay",
                    &ChannelPayRequest {
                        id: id.id()?,
                        amount: amount.amount,
                        asset,
                        payment: *payment,
                    },
                )
            }
            ChannelCommand::Move { id, action } => Call::with(
                "channel_move",
                &ChannelMoveRequest {
                    id: id.id()?,
                    action: action.clone(),
                },
            ),
            ChannelCommand::Pending { id } => Call::with(
                "channel_pending",
                &ChannelPendingRequest {
                    id: id.as_ref().map(ChannelIdArg::id).transpose()?,
                },
            ),
            ChannelCommand::Accept { id, version } => Call::with(
                "channel_answer",
                &ChannelAnswerRequest {
                    id: id.id()?,
                    version: *version,
                    accept: true,
                    reason: None,
                },
            ),
            ChannelCommand::Reject {
                id,
                version,
                reason,
            } => Call::with(
                "channel_answer",
                &ChannelAnswerRequest {
                    id: id.id()?,
                    version: *version,
                    accept: false,
                    reason: reason.clone(),
                },
            ),
            ChannelCommand::Settle { id, force } => {
                let id = &id.id()?;
                let label = format!(
                    "settling {}: waiting for the chain to pay out",
                    short_id(id)
                );
                let request = ChannelSettleRequest {
                    id: *id,
                    force: *force,
                };
                Ok(Call::with("channel_settle", &request)?
                    .waiting(label)
                    .settling(*id))
            }
        }
    }

    /// Runs `parley channel ...`.
    pub fn run(mut self) -> CliResult {
        // The payment's id is chosen here, so that even a call that never returns left one to
        // look up (the node names it in a timeout, and the output below names it).
        if let ChannelCommand::Pay { payment, .. } = &mut self.command {
            payment.get_or_insert_with(PaymentId::random);
        }
        // What can be refused without the node is refused before it is contacted.
        self.options
            .complete_channel_ids(self.command.channel_ids())?;
        if let ChannelCommand::Open {
            mine,
            theirs,
            more_assets,
            ..
        } = &self.command
        {
            args::check_written_deposits(mine, theirs, more_assets).map_err(CliError::usage)?;
        }
        let options = &self.options;
        // What `channel pay` asked for in base units, for the line that says what was paid.
        let payment = OnceCell::new();
        let call = |assets: &[AssetInfo]| {
            let call = self.call(assets)?;
            if call.method == "channel_pay" {
                let _ = payment
                    .set(serde_json::from_value::<ChannelPayRequest>(call.params.clone()).ok());
            }
            Ok(call)
        };
        match &self.command {
            ChannelCommand::Open { .. } => {
                options.run_with_assets(call, |channel: ChannelInfo, assets| {
                    let title = format!("opened a channel with {}", peer_of(&channel));
                    output::channel(&title, &channel, assets)
                })
            }
            ChannelCommand::List { .. } => options
                .run_with_assets(call, |list: Vec<ChannelInfo>, assets| {
                    output::channels(&list, assets)
                }),
            ChannelCommand::Show { .. } => options
                .run_with_assets(call, |channel: ChannelInfo, assets| {
                    output::channel("", &channel, assets)
                }),
            ChannelCommand::Pay { payment: id, .. } => {
                options.run_with_assets(call, |channel: ChannelInfo, assets| {
                    let mut title = match payment.get() {
                        Some(Some(request)) => {
                            paid(&request.amount, request.asset.as_deref(), &channel, assets)
                        }
                        _ => format!("paid {}", peer_of(&channel)),
                    };
                    if let Some(id) = id {
                        title.push_str(&format!(" (payment {id})"));
                    }
                    output::channel(&title, &channel, assets)
                })
            }
            ChannelCommand::Move { .. } => {
                options.run_with_assets(call, |channel: ChannelInfo, assets| {
                    let title = if channel.phase == Some(crate::protocol::Phase::Disputed) {
                        "moved on chain (progress): the channel is in dispute, so the move went \
                         to the chain, signed by us alone"
                    } else {
                        "moved; the peer signed the new state"
                    };
                    output::channel(title, &channel, assets)
                })
            }
            ChannelCommand::Pending { .. } => {
                options.run_with_assets(call, |list: Vec<PendingUpdateInfo>, assets| {
                    output::pending_updates(&list, unix_now(), assets)
                })
            }
            ChannelCommand::Accept { .. } => {
                options.run_with_assets(call, |channel: ChannelInfo, assets| {
                    output::channel("accepted the peer's update", &channel, assets)
                })
            }
            ChannelCommand::Reject { .. } => {
                options.run_with_assets(call, |channel: ChannelInfo, assets| {
                    output::channel(
                        "rejected the peer's update; the peer was told",
                        &channel,
                        assets,
                    )
                })
            }
            ChannelCommand::Settle { .. } => {
                options.run_with_assets(call, |channel: ChannelInfo, assets| {
                    let title = if channel.dispute.is_some() {
                        "settled through a dispute: the chain paid out the registered balances"
                    } else {
                        "settled: the chain paid out the final balances"
                    };
                    output::channel(title, &channel, assets)
                })
            }
        }
    }
}

/// `amount` as written, and what it means on a chain with `assets`.
fn resolve(amount: &AmountText, assets: &[AssetInfo]) -> Result<(String, Resolved), CliError> {
    let resolved = amount.resolve(assets).map_err(CliError::usage)?;
    Ok((amount.to_string(), resolved))
}

/// The current Unix time, for "answer in ..."; a clock before 1970 reads as 0.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The peer by alias if known, else by node id.
fn peer_of(channel: &ChannelInfo) -> String {
    channel.peer_alias.clone().unwrap_or_else(|| {
        channel
            .peer
            .map_or_else(|| "an unknown peer".to_string(), |p| p.to_string())
    })
}

/// `paid 0.01 ETH to bob`; the asset is the one asked for, or the channel's only one.
fn paid(
    amount: &Amount,
    asset: Option<&str>,
    channel: &ChannelInfo,
    assets: &[AssetInfo],
) -> String {
    let asset = asset.or(match channel.balances.as_slice() {
        [only] => Some(only.asset.as_str()),
        _ => None,
    });
    match asset {
        Some(asset) => format!(
            "paid {} to {}",
            output::amount(assets, asset, amount),
            peer_of(channel)
        ),
        None => format!("paid {amount} base units to {}", peer_of(channel)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn channel(alias: Option<&str>, assets: &[&str]) -> ChannelInfo {
        let balances: Vec<_> = assets
            .iter()
            .map(|a| json!({"asset": a, "mine": "1", "theirs": "2"}))
            .collect();
        serde_json::from_value(json!({
            "id": format!("0x{}", "ab".repeat(32)),
            "peer": "0x02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5",
            "peer_alias": alias,
            "phase": "active",
            "version": 1,
            "balances": balances,
        }))
        .unwrap()
    }

    #[test]
    fn a_payment_names_the_asset_when_it_is_known() {
        let amount = Amount::from(250u64);
        let assets = [AssetInfo {
            name: "ETH".into(),
            decimals: 18,
            asset: Default::default(),
        }];
        let single = channel(Some("bob"), &["ETH"]);
        assert_eq!(
            paid(&amount, None, &single, &assets),
            "paid 0.00000000000000025 ETH to bob"
        );
        let several = channel(Some("bob"), &["ETH", "TOK"]);
        assert_eq!(
            paid(&amount, Some("ETH"), &several, &assets),
            "paid 0.00000000000000025 ETH to bob"
        );
        assert_eq!(
            paid(&amount, None, &several, &assets),
            "paid 250 base units to bob"
        );
        let unnamed = channel(None, &["ETH"]);
        assert_eq!(
            paid(&amount, None, &unnamed, &assets),
            "paid 0.00000000000000025 ETH to \
             0x02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5"
        );
    }
}
