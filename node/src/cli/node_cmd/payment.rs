//! `parley payments` (the payment history) and `parley payment <id>` (one payment, also one
//! whose `channel pay` timed out).

use super::channel_ref::{channel_id_arg, ChannelIdArg};
use super::{output, Call, CliError, CliResult, NodeOptions};
use crate::api::payments::{PaymentInfo, PaymentListRequest, PaymentRef};
use crate::store::PaymentId;
use crate::units::format_units;
use crate::utc::utc;
use clap::Args;
use parley_plugin_api::model::{Amount, AssetInfo};

/// Arguments of `parley payments`.
#[derive(Debug, Args)]
#[command(
    next_display_order = 10,
    after_help = "\
Newest first: id, channel, direction (sent or received), amount, version, status, time (UTC).
A payment is `pending` while the peer has not answered, `completed` once both signed it,
`rejected` (the peer said no) or `failed` (it did not happen).

Example:
  parley payments --config alice/node.toml
  parley payments --channel 0x9f86...(64 hex digits) --limit 10 --config alice/node.toml --json"
)]
pub struct PaymentsArgs {
    #[command(flatten)]
    pub(super) options: NodeOptions,
    /// Only this channel's payments (its id, or the first digits of it).
    #[arg(long, value_name = "ID", value_parser = channel_id_arg)]
    channel: Option<ChannelIdArg>,
    /// At most this many (1 to 1000; default 50).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Skip this many of the newest first (the next page).
    #[arg(long, value_name = "N")]
    offset: Option<usize>,
}

impl PaymentsArgs {
    /// The `payment_list` call these arguments make.
    pub(super) fn call(&self) -> Result<Call, CliError> {
        Call::with(
            "payment_list",
            &PaymentListRequest {
                channel: self.channel.as_ref().map(ChannelIdArg::id).transpose()?,
                limit: self.limit,
                offset: self.offset,
            },
        )
    }

    /// Lists the payments.
    pub fn run(mut self) -> CliResult {
        self.options
            .complete_channel_ids(self.channel.iter_mut().collect())?;
        self.options.run_with_assets(
            |_| self.call(),
            |list: Vec<PaymentInfo>, assets| payments(&list, assets),
        )
    }
}

/// Arguments of `parley payment`.
#[derive(Debug, Args)]
#[command(
    next_display_order = 10,
    after_help = "\
Example:
  parley payment 3f2a...(32 hex digits) --config alice/node.toml
  parley payment 3f2a...(32 hex digits) --config alice/node.toml --json"
)]
pub struct PaymentArgs {
    /// The payment id (32 hex digits), as `parley channel pay` and `parley payments` print it.
    #[arg(value_parser = payment_id)]
    id: PaymentId,
    #[command(flatten)]
    pub(super) options: NodeOptions,
}

impl PaymentArgs {
    /// The `payment_get` call these arguments make.
    pub(super) fn call(&self) -> Result<Call, CliError> {
        Call::with("payment_get", &PaymentRef { id: self.id })
    }

    /// Shows the payment.
    pub fn run(self) -> CliResult {
        self.options.run_with_assets(
            |_| self.call(),
            |info: PaymentInfo, assets| payment(&info, assets),
        )
    }
}

/// A payment id as `parley payments` prints it.
pub fn payment_id(text: &str) -> Result<PaymentId, String> {
    text.parse()
        .map_err(|why| format!("`{text}` is not a payment id ({why}): 32 hex digits"))
}

fn status(p: &PaymentInfo) -> String {
    match &p.reason {
        Some(reason) => format!("{} ({reason})", p.status),
        None => p.status.clone(),
    }
}

/// The history as a table, amounts in the asset's whole units (the chain's `assets` give the
/// decimals).
pub fn payments(list: &[PaymentInfo], assets: &[AssetInfo]) -> String {
    if list.is_empty() {
        return "no payments".into();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                p.channel.to_string(),
                p.direction.clone(),
                output::amount(assets, &p.asset, &p.amount),
                p.version.to_string(),
                utc(p.time),
                status(p),
            ]
        })
        .collect();
    output::table(
        &[
            "ID",
            "CHANNEL",
            "DIRECTION",
            "AMOUNT",
            "VERSION",
            "TIME",
            "STATUS",
        ],
        &rows,
    )
}

/// One payment as a block, amounts in the asset's whole units.
pub fn payment(p: &PaymentInfo, assets: &[AssetInfo]) -> String {
    let number = |amount: &Amount| match assets.iter().find(|a| a.name == p.asset) {
        Some(info) => format_units(amount, info.decimals),
        None => format!("{amount} base units"),
    };
    let mut rows = vec![
        ("channel".to_string(), p.channel.to_string()),
        ("direction".to_string(), p.direction.clone()),
        (
            "amount".to_string(),
            output::amount(assets, &p.asset, &p.amount),
        ),
        ("status".to_string(), status(p)),
        ("version".to_string(), p.version.to_string()),
        (
            "balances".to_string(),
            format!(
                "mine {} / theirs {} {}",
                number(&p.mine),
                number(&p.theirs),
                p.asset
            ),
        ),
        ("time".to_string(), format!("{} UTC", utc(p.time))),
        ("updated".to_string(), format!("{} UTC", utc(p.updated))),
    ];
    if !p.memo.is_empty() {
        rows.push(("memo".to_string(), p.memo.clone()));
    }
    output::block(&format!("payment {}", p.id), &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::model::ChannelId;

    fn eth() -> Vec<AssetInfo> {
        vec![AssetInfo {
            name: "ETH".into(),
            decimals: 18,
            asset: Default::default(),
        }]
    }

    fn info(status: &str, reason: Option<&str>) -> PaymentInfo {
        PaymentInfo {
            id: PaymentId([0xab; 16]),
            channel: ChannelId([1; 32]),
            direction: "sent".into(),
            asset: "ETH".into(),
            amount: Amount::from(2_500_000_000_000_000u64),
            version: 3,
            status: status.into(),
            reason: reason.map(str::to_string),
            mine: Amount::from(7_500_000_000_000_000u64),
            theirs: Amount::from(2_500_000_000_000_000u64),
            time: 1_733_300_000,
            updated: 1_733_300_001,
            memo: String::new(),
        }
    }

    #[test]
    fn payments_read_as_a_table_and_a_block() {
        let table = payments(
            &[info("completed", None), info("rejected", Some("no"))],
            &eth(),
        );
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[1].contains("sent"), "{table}");
        assert!(lines[1].contains("0.0025 ETH"), "{table}");
        assert!(lines[1].contains("2024-12-04 08:13:20"), "{table}");
        assert!(lines[2].ends_with("rejected (no)"), "{table}");
        assert_eq!(payments(&[], &eth()), "no payments");
        let block = payment(&info("pending", None), &eth());
        assert!(
            block.starts_with(&format!("payment {}", "ab".repeat(16))),
            "{block}"
        );
        assert!(block.contains("amount     0.0025 ETH"), "{block}");
        assert!(block.contains("mine 0.0075 / theirs 0.0025 ETH"), "{block}");
        // An asset the chain does not name keeps its base units, and says so.
        let block = payment(&info("pending", None), &[]);
        assert!(
            block.contains("2500000000000000 base units of ETH"),
            "{block}"
        );
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(utc(1_733_300_000), "2024-12-04 08:13:20");
    }
}
