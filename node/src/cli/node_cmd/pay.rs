//! `parley pay <node> <amount>`: pay a node, not a channel. The node pays through an active
//! channel with the payee, or opens a virtual channel to it through a hub (one of its ledger
//! channels with a node that carries virtual channels and has a channel with the payee); the
//! path is the node's to find.

use super::payment::{payment, payment_id};
use super::{args, Call, CliError, CliResult, NodeOptions};
use crate::api::payments::{PayRequest, PaymentInfo};
use crate::store::PaymentId;
use crate::units::AmountText;
use clap::Args;
use parley_plugin_api::model::AssetInfo;

/// Arguments of `parley pay`.
#[derive(Debug, Args)]
#[command(
    next_display_order = 10,
    after_help = "\
Through an active payment channel with the payee holding enough for this node, if there is one;
otherwise a virtual channel is opened for the payment (no transaction) through one of this
node's ledger channels with a hub that has a channel with the payee, holding --deposit of this
node's funds (the amount by default) and nothing of the payee's; the payee's node accepts such a
channel by itself. Later payments to the same node reuse it while it holds enough.

Example:
  parley pay 0x02c5...(66 hex digits) 250 --config alice/node.toml
  parley pay bob 0.01ETH --deposit 0.1ETH --config alice/node.toml"
)]
pub struct PayArgs {
    #[command(flatten)]
    pub(super) options: NodeOptions,
    /// The payee: a peer's alias or any node's id (it need not be a peer).
    #[arg(value_name = "NODE", value_parser = args::text)]
    to: String,
    /// How much, more than zero: `0.01ETH`, or base units (`250`, `250wei`).
    #[arg(value_parser = args::payment_amount, allow_negative_numbers = true)]
    amount: AmountText,
    /// The amount's unit, when written as a word of its own (`1.5 TOK`).
    #[arg(value_name = "UNIT", value_parser = args::text)]
    unit: Option<String>,
    /// The asset by name; needed only when the amount's unit does not name one and the chain
    /// has several.
    #[arg(long, value_name = "NAME", value_parser = args::text)]
    asset: Option<String>,
    /// What a virtual channel opened for this payment holds of this node's funds (at least the
    /// amount, which is the default): more lets later payments reuse it.
    #[arg(long, value_name = "AMOUNT", value_parser = args::payment_amount)]
    deposit: Option<AmountText>,
    /// What a virtual channel opened for this payment offers the hub for carrying it (an
    /// amount of the first asset); nothing when absent. A hub that charges more refuses,
    /// saying how much.
    #[arg(long, value_name = "AMOUNT", value_parser = args::amount)]
    fee: Option<AmountText>,
    /// The payment's id (32 hex digits), to look it up with `parley payment` whatever becomes
    /// of this call; repeating it does not pay twice. A fresh one when absent.
    #[arg(long = "id", value_name = "PAYMENT", value_parser = payment_id)]
    payment: Option<PaymentId>,
}

impl PayArgs {
    /// The `pay` call these arguments make on a chain with `assets`.
    pub(super) fn call(&self, assets: &[AssetInfo]) -> Result<Call, CliError> {
        let written = self
            .amount
            .with_unit(self.unit.as_deref())
            .map_err(CliError::usage)?;
        let amount = written.resolve(assets).map_err(CliError::usage)?;
        let mut units = vec![(written.to_string(), amount.asset)];
        let deposit = match &self.deposit {
            Some(deposit) => {
                let resolved = deposit.resolve(assets).map_err(CliError::usage)?;
                units.push((format!("--deposit {deposit}"), resolved.asset));
                Some(resolved.amount)
            }
            None => None,
        };
        let fee = match &self.fee {
            Some(fee) => Some(fee.resolve(assets).map_err(CliError::usage)?.amount),
            None => None,
        };
        let asset = args::one_asset(self.asset.as_deref(), &units).map_err(CliError::usage)?;
        Call::with(
            "pay",
            &PayRequest {
                to: self.to.clone(),
                amount: amount.amount,
                asset,
                deposit,
                fee,
                payment: self.payment,
            },
        )
    }

    /// Pays and prints the payment.
    pub fn run(self) -> CliResult {
        self.options.run_with_assets(
            |assets| self.call(assets),
            |paid: PaymentInfo, assets| format!("paid\n{}", payment(&paid, assets)),
        )
    }
}
