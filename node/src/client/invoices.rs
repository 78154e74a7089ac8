//! Payment requests (invoices): the payee's node issues one, signed with its node key; the
//! payer's node checks it and pays it through a channel with the payee, under the invoice's
//! id, which the update carries to the payee (a [`PaymentNote`](crate::protocol::PaymentNote),
//! wire tag 10). The payee's invoice is paid once it holds a completed received payment under
//! that id of at least the amount: no other record marks it.
//!
//! Text form: `parley1` and the hex of the canonical encoding of a [`SignedInvoice`].

use super::driver::Driver;
use super::error::Error;
use super::payment::PayOptions;
use crate::hash::keccak256;
use crate::protocol::Phase;
use crate::store::payments::{invoice_op, INVOICE_PREFIX};
use crate::store::{ChannelStore, Direction, PaymentId, PaymentRecord, PaymentStatus};
use crate::wire::{NodeId, NodeSig};
use parley_plugin_api::canonical_struct;
use parley_plugin_api::codec::{Decode, Encode};
use parley_plugin_api::model::{Amount, Asset, ChannelId};

/// What starts an invoice's text.
pub const INVOICE_PREFIX_TEXT: &str = "parley1";

/// The longest memo an invoice takes, in bytes.
pub const MAX_MEMO: usize = crate::protocol::PaymentNote::MAX_MEMO;

/// What the payee asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoice {
    /// The id the payment is made and recorded under, on both nodes.
    pub id: PaymentId,
    /// The payee's node.
    pub payee: NodeId,
    /// The asset (with its chain id).
    pub asset: Asset,
    /// How much.
    pub amount: Amount,
    /// When it is no longer paid, in Unix seconds.
    pub expires_at: u64,
    /// What it is for.
    pub memo: String,
}

canonical_struct!(Invoice {
    id,
    payee,
    asset,
    amount,
    expires_at,
    memo
});

/// An invoice with the payee's signature over it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedInvoice {
    /// The invoice.
    pub invoice: Invoice,
    /// The payee's node key's signature over [`SignedInvoice::digest`].
    pub sig: NodeSig,
}

canonical_struct!(SignedInvoice { invoice, sig });

impl SignedInvoice {
    /// What the payee signs: the invoice under its own domain, so that no other signature of
    /// the node key (a handshake's) can pass for one.
    pub fn digest(invoice: &Invoice) -> [u8; 32] {
        keccak256(&[b"parley-invoice-v1", &invoice.encode()])
    }

    /// `invoice` signed with `key`.
    pub fn sign(invoice: Invoice, key: &crate::wire::NodeKey) -> SignedInvoice {
        let sig = key.sign(&SignedInvoice::digest(&invoice));
        SignedInvoice { invoice, sig }
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        format!("{INVOICE_PREFIX_TEXT}{}", hex::encode(self.encode()))
    }

    /// Reads the text form and checks the payee's signature.
    pub fn parse(text: &str) -> Result<SignedInvoice, String> {
        let digits = text
            .trim()
            .strip_prefix(INVOICE_PREFIX_TEXT)
            .ok_or_else(|| format!("an invoice starts with `{INVOICE_PREFIX_TEXT}`"))?;
        let bytes = hex::decode(digits).map_err(|_| "the invoice is not hex after its prefix")?;
        let signed =
            SignedInvoice::decode(&bytes).map_err(|e| format!("the invoice is malformed: {e}"))?;
        if signed.invoice.memo.len() > MAX_MEMO {
            return Err(format!(
                "the invoice's memo is longer than {MAX_MEMO} bytes"
            ));
        }
        let digest = SignedInvoice::digest(&signed.invoice);
        if !signed.invoice.payee.verify(&digest, &signed.sig) {
            return Err("the invoice's signature is not the payee's".into());
        }
        Ok(signed)
    }
}

/// Where an invoice stands for its payee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvoiceStatus {
    /// Not paid, not expired.
    Open,
    /// Paid by this payment.
    Paid(Box<PaymentRecord>),
    /// Not paid before it expired.
    Expired,
}

/// The status of `invoice` at `now` (Unix seconds), given the payment recorded under its id.
pub fn status(invoice: &Invoice, payment: Option<PaymentRecord>, now: u64) -> InvoiceStatus {
    match payment {
        Some(p)
            if p.direction == Direction::Received
                && p.status == PaymentStatus::Completed
                && p.asset == invoice.asset
                && p.amount >= invoice.amount =>
        {
            InvoiceStatus::Paid(Box::new(p))
        }
        _ if now >= invoice.expires_at => InvoiceStatus::Expired,
        _ => InvoiceStatus::Open,
    }
}

/// Why the payer's node does not pay `invoice` at `now`, given our node id and chain id.
pub fn check_payable(invoice: &Invoice, me: &NodeId, chain_id: u64, now: u64) -> Result<(), Error> {
    if invoice.payee == *me {
        return Err(Error::invalid("invoice", "it is this node's own invoice"));
    }
    if now >= invoice.expires_at {
        return Err(Error::invalid(
            "invoice",
            format!(
                "it expired {} s ago",
                now.saturating_sub(invoice.expires_at)
            ),
        ));
    }
    if invoice.asset.chain_id != chain_id {
        return Err(Error::invalid(
            "invoice",
            format!(
                "it asks for an asset of chain {}; this node is on chain {chain_id}",
                invoice.asset.chain_id
            ),
        ));
    }
    Ok(())
}

/// The invoice this node issued under `id`, if it did (one that does not decode is none).
pub fn issued(store: &ChannelStore, id: &PaymentId) -> Option<SignedInvoice> {
    let encoded = store.invoice(id).ok().flatten()?;
    SignedInvoice::decode(&encoded).ok()
}

/// Why the payee refuses an update that says it pays `invoice` (one of its own) at `now`,
/// moving `amount` of `asset` to it: the invoice expired, or the update pays another asset or
/// less than it asks. `None`: it may be paid (the policy still decides as for any payment).
pub fn refusal(invoice: &Invoice, asset: &Asset, amount: Amount, now: u64) -> Option<String> {
    let id = invoice.id;
    if now >= invoice.expires_at {
        return Some(format!(
            "invoice {id} expired {} s ago; ask the payee for a new one",
            now.saturating_sub(invoice.expires_at)
        ));
    }
    if *asset != invoice.asset || amount < invoice.amount {
        return Some(format!(
            "the update pays {amount} of asset {asset}, invoice {id} asks for {} of asset {}",
            invoice.amount, invoice.asset
        ));
    }
    None
}

/// Now, in Unix seconds.
fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Driver {
    /// Issues an invoice for `amount` of `asset` (the chain's only asset when `None`), valid
    /// `expiry_seconds`, and keeps it to tell when it is paid.
    pub async fn create_invoice(
        &self,
        amount: Amount,
        asset: Option<&str>,
        memo: String,
        expiry_seconds: u64,
    ) -> Result<(SignedInvoice, InvoiceStatus), Error> {
        if memo.len() > MAX_MEMO {
            return Err(Error::invalid(
                "memo",
                format!("at most {MAX_MEMO} bytes are accepted"),
            ));
        }
        let Some(key) = &self.invoice_key else {
            return Err(Error::conflict("this node cannot sign invoices"));
        };
        let asset = self.chain.asset_by_name(asset)?.asset.clone();
        let invoice = Invoice {
            id: PaymentId::random(),
            payee: self.node_id,
            asset,
            amount,
            expires_at: now_unix().saturating_add(expiry_seconds),
            memo,
        };
        let signed = SignedInvoice::sign(invoice, key);
        self.store
            .commit(vec![invoice_op(&signed.invoice.id, signed.encode())])
            .await
            .map_err(|e| Error::internal(format!("cannot store the invoice: {e}")))?;
        Ok((signed, InvoiceStatus::Open))
    }

    /// The invoices this node issued, newest first, each with where it stands.
    pub fn invoices(&self) -> Result<Vec<(SignedInvoice, InvoiceStatus)>, Error> {
        let pairs = self
            .store
            .scan_prefix(INVOICE_PREFIX)
            .map_err(|e| Error::internal(format!("cannot read the invoices: {e}")))?;
        let now = now_unix();
        let mut invoices = Vec::with_capacity(pairs.len());
        for (_, value) in pairs {
            let Ok(signed) = SignedInvoice::decode(&value) else {
                tracing::warn!("a stored invoice does not decode; skipping it");
                continue;
            };
            let payment = self.store.payment(&signed.invoice.id).ok().flatten();
            let status = status(&signed.invoice, payment, now);
            invoices.push((signed, status));
        }
        invoices.sort_by_key(|(s, _)| std::cmp::Reverse(s.invoice.expires_at));
        Ok(invoices)
    }

    /// Pays `text`, an invoice: checks it (the payee's signature, expiry, the asset is ours)
    /// and pays it through an active channel with the payee that holds enough of the asset
    /// for us, under the invoice's id. Returns the payment once the payee signed it.
    pub async fn pay_invoice(&self, text: &str) -> Result<PaymentRecord, Error> {
        let signed = SignedInvoice::parse(text).map_err(|why| Error::invalid("invoice", why))?;
        let invoice = signed.invoice;
        let chain = self.chain_info();
        check_payable(&invoice, &self.node_id, chain.chain_id, now_unix())?;
        let asset_name = chain
            .assets
            .iter()
            .find(|a| a.asset == invoice.asset)
            .map(|a| a.name.clone())
            .ok_or_else(|| Error::invalid("invoice", "it asks for an asset this chain lacks"))?;
        if let Ok(done) = self.payment(invoice.id) {
            if done.status == PaymentStatus::Completed {
                return Ok(done);
            }
        }
        let channel = self.channel_to_pay(&invoice).await?;
        let options = PayOptions {
            asset: Some(asset_name),
            id: Some(invoice.id),
            memo: invoice.memo.clone(),
        };
        self.pay_with(channel, invoice.amount, options).await?;
        self.payment_settled(invoice.id).await
    }

    /// An active channel with the payee of `invoice` in which our balance covers it.
    async fn channel_to_pay(&self, invoice: &Invoice) -> Result<ChannelId, Error> {
        let mut with_payee = 0;
        for overview in self.channels(false).await? {
            if overview.peer != Some(invoice.payee) {
                continue;
            }
            with_payee += 1;
            let Some(snapshot) = overview.snapshot else {
                continue;
            };
            let state = &snapshot.latest.state;
            let me = usize::from(snapshot.channel.my_index);
            let balance = state
                .allocation
                .assets
                .iter()
                .position(|a| *a == invoice.asset)
                .and_then(|i| state.allocation.balances[i].get(me).copied());
            if snapshot.phase == Phase::Active
                && snapshot.channel.params.app.is_none()
                && balance.is_some_and(|b| b >= invoice.amount)
            {
                return Ok(overview.id);
            }
        }
        Err(if with_payee == 0 {
            Error::conflict(format!(
                "this node has no channel with the payee {}; open one first",
                invoice.payee
            ))
        } else {
            Error::insufficient_funds(format!(
                "none of this node's {with_payee} channel(s) with the payee {} is an active payment channel holding {} of the asset for us",
                invoice.payee, invoice.amount
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::NodeKey;
    use parley_plugin_api::model::Address;

    fn invoice(payee: NodeId) -> Invoice {
        Invoice {
            id: PaymentId([5; 16]),
            payee,
            asset: Asset {
                chain_id: 1337,
                holder: Address(vec![1; 20]),
            },
            amount: Amount::from(250u64),
            expires_at: 1_000,
            memo: "coffee".into(),
        }
    }

    #[test]
    fn an_invoice_reads_back_only_with_the_payees_signature() {
        let bob = NodeKey::from_secret_bytes(&[2; 32]).unwrap();
        let signed = SignedInvoice::sign(invoice(bob.node_id()), &bob);
        let text = signed.to_text();
        assert!(text.starts_with("parley1"));
        assert_eq!(SignedInvoice::parse(&text), Ok(signed.clone()));

        // Another amount under bob's signature, or bob's invoice signed by mallory.
        let mut raised = signed.clone();
        raised.invoice.amount = Amount::from(2500u64);
        assert!(SignedInvoice::parse(&raised.to_text())
            .unwrap_err()
            .contains("signature"));
        let mallory = NodeKey::from_secret_bytes(&[3; 32]).unwrap();
        let forged = SignedInvoice::sign(invoice(bob.node_id()), &mallory);
        assert!(SignedInvoice::parse(&forged.to_text()).is_err());
        assert!(SignedInvoice::parse("lnbc1...").is_err());
        assert!(SignedInvoice::parse("parley1zz").is_err());
    }

    #[test]
    fn the_payer_checks_payee_expiry_and_chain() {
        let bob = NodeKey::from_secret_bytes(&[2; 32]).unwrap().node_id();
        let alice = NodeKey::from_secret_bytes(&[1; 32]).unwrap().node_id();
        let bill = invoice(bob);
        assert!(check_payable(&bill, &alice, 1337, 999).is_ok());
        assert!(check_payable(&bill, &alice, 1337, 1_000)
            .unwrap_err()
            .message()
            .contains("expired"));
        assert!(check_payable(&bill, &bob, 1337, 10).is_err());
        assert!(check_payable(&bill, &alice, 1, 10)
            .unwrap_err()
            .message()
            .contains("chain"));
    }

    #[test]
    fn an_invoice_is_paid_by_a_received_payment_of_at_least_its_amount() {
        let bob = NodeKey::from_secret_bytes(&[2; 32]).unwrap().node_id();
        let bill = invoice(bob);
        let payment = |amount: u64, direction, status| PaymentRecord {
            id: bill.id,
            channel: ChannelId([1; 32]),
            direction,
            asset: bill.asset.clone(),
            amount: Amount::from(amount),
            version: 3,
            status,
            mine: Amount::from(1u64),
            theirs: Amount::from(1u64),
            created_ms: 0,
            updated_ms: 0,
            memo: String::new(),
        };
        let paid = payment(250, Direction::Received, PaymentStatus::Completed);
        assert_eq!(
            status(&bill, Some(paid.clone()), 5_000),
            InvoiceStatus::Paid(Box::new(paid))
        );
        let short = payment(249, Direction::Received, PaymentStatus::Completed);
        assert_eq!(status(&bill, Some(short), 10), InvoiceStatus::Open);
        let pending = payment(250, Direction::Received, PaymentStatus::Pending);
        assert_eq!(status(&bill, Some(pending), 1_000), InvoiceStatus::Expired);
        let sent = payment(250, Direction::Sent, PaymentStatus::Completed);
        assert_eq!(status(&bill, Some(sent), 10), InvoiceStatus::Open);
    }
}
