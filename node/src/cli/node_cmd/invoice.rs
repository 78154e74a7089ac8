//! `parley invoice create|pay|list`: payment requests. The payee's node signs an invoice
//! (amount, asset, expiry, memo, its node id); the payer's node checks it and pays it through
//! a channel with the payee; the payee sees it paid.

use super::payment::payment;
use super::{args, output, Call, CliError, CliResult, NodeOptions};
use crate::api::payments::{InvoiceCreateRequest, InvoiceInfo, InvoicePayRequest, PaymentInfo};
use crate::units::AmountText;
use clap::{Args, Subcommand};
use parley_plugin_api::model::AssetInfo;

/// Arguments of `parley invoice`.
#[derive(Debug, Args)]
pub struct InvoiceArgs {
    #[command(flatten)]
    pub(super) options: NodeOptions,
    #[command(subcommand)]
    command: InvoiceCommand,
}

#[derive(Debug, Subcommand)]
enum InvoiceCommand {
    /// Ask to be paid: prints an invoice (`parley1…`) signed by this node, for the payer.
    #[command(after_help = "\
Example:
  parley invoice create 250 --memo \"coffee\" --expiry 600 --config bob/node.toml")]
    #[command(next_display_order = 10)]
    Create {
        /// How much, more than zero: `0.01ETH`, or base units (`250`, `250wei`).
        #[arg(value_parser = args::payment_amount, allow_negative_numbers = true)]
        amount: AmountText,
        /// The asset by name; needed only when the chain has several.
        #[arg(long, value_name = "NAME", value_parser = args::text)]
        asset: Option<String>,
        /// What it is for (the payer sees it, and the payment carries it).
        #[arg(long, value_parser = args::text)]
        memo: Option<String>,
        /// How long it can be paid, in seconds (default 3600).
        #[arg(long = "expiry", value_name = "SECONDS")]
        expiry_seconds: Option<u64>,
    },
    /// Pay an invoice: checks its signature, expiry and asset, and pays it through an active
    /// channel with the payee that holds enough; returns once the payee signed the payment.
    #[command(after_help = "\
Example:
  parley invoice pay parley1... --config alice/node.toml")]
    #[command(next_display_order = 10)]
    Pay {
        /// The invoice, as `parley invoice create` printed it.
        #[arg(value_name = "INVOICE")]
        invoice: String,
    },
    /// List the invoices this node issued, newest first: open, paid or expired.
    #[command(after_help = "\
Example:
  parley invoice list --config bob/node.toml")]
    List,
}

impl InvoiceArgs {
    /// The call these arguments make on a chain with `assets` (which say what an amount's
    /// unit means).
    pub(super) fn call(&self, assets: &[AssetInfo]) -> Result<Call, CliError> {
        match &self.command {
            InvoiceCommand::Create {
                amount,
                asset,
                memo,
                expiry_seconds,
            } => {
                let resolved = amount.resolve(assets).map_err(CliError::usage)?;
                let asset =
                    args::one_asset(asset.as_deref(), &[(amount.to_string(), resolved.asset)])
                        .map_err(CliError::usage)?;
                Call::with(
                    "invoice_create",
                    &InvoiceCreateRequest {
                        amount: resolved.amount,
                        asset,
                        memo: memo.clone(),
                        expiry_seconds: *expiry_seconds,
                    },
                )
            }
            InvoiceCommand::Pay { invoice } => Ok(Call::with(
                "invoice_pay",
                &InvoicePayRequest {
                    invoice: invoice.clone(),
                },
            )?
            .waiting("paying the invoice: waiting for the payee".into())),
            InvoiceCommand::List => Ok(Call::bare("invoice_list")),
        }
    }

    /// Makes the call and prints the result.
    pub fn run(self) -> CliResult {
        match &self.command {
            // The invoice alone on its line first, for scripts and copying.
            InvoiceCommand::Create { .. } => self.options.run_with_assets(
                |assets| self.call(assets),
                |info: InvoiceInfo, _| format!("{}\n{}", info.invoice, invoice(&info)),
            ),
            InvoiceCommand::Pay { .. } => self.options.run_with_assets(
                |assets| self.call(assets),
                |paid: PaymentInfo, assets| format!("paid the invoice\n{}", payment(&paid, assets)),
            ),
            InvoiceCommand::List => self
                .options
                .run(self.call(&[])?, |list: Vec<InvoiceInfo>| invoices(&list)),
        }
    }
}

/// One invoice as a block.
fn invoice(info: &InvoiceInfo) -> String {
    let mut rows = vec![
        ("id".to_string(), info.id.to_string()),
        (
            "amount".to_string(),
            format!("{} {}", info.amount, info.asset),
        ),
        ("status".to_string(), info.status.clone()),
        (
            "expires".to_string(),
            format!("{} (Unix seconds)", info.expires_at),
        ),
    ];
    if !info.memo.is_empty() {
        rows.push(("memo".to_string(), info.memo.clone()));
    }
    output::block(&format!("invoice {}", info.id), &rows)
}

/// The invoices as a table.
fn invoices(list: &[InvoiceInfo]) -> String {
    if list.is_empty() {
        return "no invoices".into();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                format!("{} {}", i.amount, i.asset),
                i.status.clone(),
                i.expires_at.to_string(),
                i.memo.clone(),
            ]
        })
        .collect();
    output::table(&["ID", "AMOUNT", "STATUS", "EXPIRES", "MEMO"], &rows)
}
