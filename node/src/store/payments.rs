//! The node's payment history: one record per payment this node made or received, kept
//! beside its channels. Pure functions from records to writes and from scanned pairs back; no
//! I/O.
//!
//! | key                       | value                                         |
//! |---------------------------|-----------------------------------------------|
//! | `pay/` ‖ payment id (16)  | the canonical encoding of a [`PaymentRecord`] |
//! | `inv/` ‖ invoice id (16)  | an invoice this node issued, signed           |
//!
//! A record is written in the same atomic batch as the channel state it describes (the
//! channel task adds it to its persist batch), so history costs no commit of its own on the
//! path of a payment. The prefix is new beside schema 3 and read by nobody else, so no schema
//! step is needed: an older node ignores it. History is bounded: at startup the node keeps the
//! newest [`KEPT_PAYMENTS`] records and deletes the rest ([`prune_ops`]).

use super::schema::{describe_key, Pairs};
use crate::hash::keccak256;
use parley_plugin_api::canonical_struct;
use parley_plugin_api::codec::{Decode, DecodeError, Encode, Reader};
use parley_plugin_api::model::{Amount, Asset, ChannelId, WriteOp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The prefix of every payment record.
pub const PAYMENT_PREFIX: &[u8] = b"pay/";

/// How many payment records a node keeps: the newest, by creation time.
pub const KEPT_PAYMENTS: usize = 10_000;

/// A payment's id: 16 bytes, shown as 32 hex digits. The paying node (or its caller) chooses
/// it when the payment is asked for, so a call that timed out can be looked up afterwards; a
/// payment received without an id (the payer sent none) gets [`PaymentId::derived`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PaymentId(pub [u8; 16]);

impl PaymentId {
    /// A fresh random id.
    pub fn random() -> PaymentId {
        let mut bytes = [0u8; 16];
        // The OS's randomness does not fail on any platform the node runs on; a failure
        // would leave an id derived from the clock, still unique enough for one node.
        if getrandom::fill(&mut bytes).is_err() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = now.to_be_bytes();
        }
        PaymentId(bytes)
    }

    /// The id of the update to `version` of `channel` when nothing else names it: the same
    /// on every node that holds the channel.
    pub fn derived(channel: &ChannelId, version: u64) -> PaymentId {
        let digest = keccak256(&[b"parley-payment", &channel.0, &version.to_be_bytes()]);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        PaymentId(bytes)
    }
}

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for PaymentId {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let bytes = hex::decode(digits).map_err(|_| "not hex".to_string())?;
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| "expected 32 hex digits".to_string())?;
        Ok(PaymentId(bytes))
    }
}

impl Serialize for PaymentId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PaymentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Encode for PaymentId {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl Decode for PaymentId {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PaymentId(Decode::decode_from(reader)?))
    }
}

/// Which way a payment went, seen from this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// This node paid (tag 0).
    Sent,
    /// This node was paid (tag 1).
    Received,
}

impl Direction {
    /// `sent` or `received`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Sent => "sent",
            Direction::Received => "received",
        }
    }
}

impl Encode for Direction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(match self {
            Direction::Sent => 0,
            Direction::Received => 1,
        });
    }
}

impl Decode for Direction {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(Direction::Sent),
            1 => Ok(Direction::Received),
            tag => Err(DecodeError::InvalidTag {
                what: "payment direction",
                tag,
            }),
        }
    }
}

/// Where a payment stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Proposed to the peer, not answered yet (tag 0). A call that timed out leaves its
    /// payment here until the peer answers or the channels re-synchronise.
    Pending,
    /// Signed by both and durable at the record's version (tag 1).
    Completed,
    /// The peer said no (tag 2), with its reason.
    Rejected(String),
    /// It did not happen (tag 3): the channel refused it, a race was lost twice, the store
    /// failed.
    Failed(String),
}

impl PaymentStatus {
    /// `pending`, `completed`, `rejected` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Completed => "completed",
            PaymentStatus::Rejected(_) => "rejected",
            PaymentStatus::Failed(_) => "failed",
        }
    }

    /// Why it was rejected or failed.
    pub fn reason(&self) -> Option<&str> {
        match self {
            PaymentStatus::Rejected(why) | PaymentStatus::Failed(why) => Some(why),
            _ => None,
        }
    }
}

impl Encode for PaymentStatus {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            PaymentStatus::Pending => out.push(0),
            PaymentStatus::Completed => out.push(1),
            PaymentStatus::Rejected(why) => {
                out.push(2);
                why.encode_to(out);
            }
            PaymentStatus::Failed(why) => {
                out.push(3);
                why.encode_to(out);
            }
        }
    }
}

impl Decode for PaymentStatus {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match u8::decode_from(reader)? {
            0 => PaymentStatus::Pending,
            1 => PaymentStatus::Completed,
            2 => PaymentStatus::Rejected(Decode::decode_from(reader)?),
            3 => PaymentStatus::Failed(Decode::decode_from(reader)?),
            tag => {
                return Err(DecodeError::InvalidTag {
                    what: "payment status",
                    tag,
                })
            }
        })
    }
}

/// One payment as this node recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRecord {
    /// Its id (also the key).
    pub id: PaymentId,
    /// The channel it went through.
    pub channel: ChannelId,
    /// Which way.
    pub direction: Direction,
    /// The asset.
    pub asset: Asset,
    /// How much.
    pub amount: Amount,
    /// The channel version the payment proposed (pending) or became (completed).
    pub version: u64,
    /// Where it stands.
    pub status: PaymentStatus,
    /// Our balance of the asset in that version.
    pub mine: Amount,
    /// The peer's balance of the asset in that version.
    pub theirs: Amount,
    /// When the payment was asked for (sent) or arrived (received), in Unix milliseconds.
    pub created_ms: u64,
    /// When its status last changed, in Unix milliseconds.
    pub updated_ms: u64,
    /// The invoice's memo for an invoice payment; empty otherwise.
    pub memo: String,
}

canonical_struct!(PaymentRecord {
    id,
    channel,
    direction,
    asset,
    amount,
    version,
    status,
    mine,
    theirs,
    created_ms,
    updated_ms,
    memo
});

/// The prefix of every invoice this node issued: `inv/` ‖ invoice id (16) → the signed
/// invoice's canonical encoding (`client::invoices`). Whether one is paid is read from the
/// payment recorded under the same id, so an invoice is written once and never updated.
pub const INVOICE_PREFIX: &[u8] = b"inv/";

/// The key of the invoice issued under `id`.
pub fn invoice_key(id: &PaymentId) -> Vec<u8> {
    [INVOICE_PREFIX, &id.0[..]].concat()
}

/// The write that stores an issued invoice (`encoded`) under its id.
pub fn invoice_op(id: &PaymentId, encoded: Vec<u8>) -> WriteOp {
    WriteOp::put(invoice_key(id), encoded)
}

/// The key of payment `id`.
pub fn payment_key(id: &PaymentId) -> Vec<u8> {
    [PAYMENT_PREFIX, &id.0[..]].concat()
}

/// The write that stores `record`, replacing the record of the same id.
pub fn payment_op(record: &PaymentRecord) -> WriteOp {
    WriteOp::put(payment_key(&record.id), record.encode())
}

/// The records in a scan of [`PAYMENT_PREFIX`], newest first, and a readable reason for each
/// pair that is not one.
pub fn decode_payments(pairs: &Pairs) -> (Vec<PaymentRecord>, Vec<String>) {
    let mut records = Vec::with_capacity(pairs.len());
    let mut broken = Vec::new();
    for (key, value) in pairs {
        match PaymentRecord::decode(value) {
            Ok(record) if payment_key(&record.id) == *key => records.push(record),
            Ok(record) => broken.push(format!(
                "`{}` holds payment {}",
                describe_key(key),
                record.id
            )),
            Err(error) => broken.push(format!("`{}`: {error}", describe_key(key))),
        }
    }
    records.sort_by_key(|r| std::cmp::Reverse((r.created_ms, r.id)));
    (records, broken)
}

/// The deletes that keep only the newest `keep` of `newest_first` (as [`decode_payments`]
/// orders them).
pub fn prune_ops(newest_first: &[PaymentRecord], keep: usize) -> Vec<WriteOp> {
    newest_first
        .iter()
        .skip(keep)
        .map(|record| WriteOp::delete(payment_key(&record.id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::model::Address;

    fn record(id: u8, created_ms: u64, status: PaymentStatus) -> PaymentRecord {
        PaymentRecord {
            id: PaymentId([id; 16]),
            channel: ChannelId([7; 32]),
            direction: Direction::Received,
            asset: Asset {
                chain_id: 1337,
                holder: Address(vec![1; 20]),
            },
            amount: Amount::from(30u64),
            version: 4,
            status,
            mine: Amount::from(60u64),
            theirs: Amount::from(40u64),
            created_ms,
            updated_ms: created_ms + 1,
            memo: "coffee".into(),
        }
    }

    #[test]
    fn records_round_trip_and_list_newest_first() {
        let records = [
            record(1, 10, PaymentStatus::Completed),
            record(2, 30, PaymentStatus::Rejected("no".into())),
            record(3, 20, PaymentStatus::Failed("lost".into())),
            record(4, 40, PaymentStatus::Pending),
        ];
        let pairs: Pairs = records
            .iter()
            .map(|r| (payment_key(&r.id), r.encode()))
            .collect();
        let (decoded, broken) = decode_payments(&pairs);
        assert!(broken.is_empty(), "{broken:?}");
        let order: Vec<u8> = decoded.iter().map(|r| r.id.0[0]).collect();
        assert_eq!(order, [4, 2, 3, 1]);
        assert_eq!(decoded[1], records[1]);
        assert_eq!(decoded[1].status.reason(), Some("no"));
        let pruned = prune_ops(&decoded, 2);
        assert_eq!(
            pruned,
            [
                WriteOp::delete(payment_key(&PaymentId([3; 16]))),
                WriteOp::delete(payment_key(&PaymentId([1; 16])))
            ]
        );
    }

    #[test]
    fn a_damaged_record_is_reported_not_fatal() {
        let good = record(1, 10, PaymentStatus::Completed);
        let pairs: Pairs = vec![
            (payment_key(&good.id), good.encode()),
            (payment_key(&PaymentId([2; 16])), vec![9, 9]),
            (payment_key(&PaymentId([3; 16])), good.encode()),
        ];
        let (decoded, broken) = decode_payments(&pairs);
        assert_eq!(decoded, [good]);
        assert_eq!(broken.len(), 2, "{broken:?}");
    }

    #[test]
    fn ids_read_back_from_text_and_derive_per_version() {
        let id = PaymentId([0xab; 16]);
        assert_eq!(id.to_string(), "ab".repeat(16));
        assert_eq!(id.to_string().parse::<PaymentId>(), Ok(id));
        assert_eq!(format!("0x{id}").parse::<PaymentId>(), Ok(id));
        assert!("abc".parse::<PaymentId>().is_err());
        let channel = ChannelId([7; 32]);
        assert_eq!(
            PaymentId::derived(&channel, 3),
            PaymentId::derived(&channel, 3)
        );
        assert_ne!(
            PaymentId::derived(&channel, 3),
            PaymentId::derived(&channel, 4)
        );
        assert_ne!(PaymentId::random(), PaymentId::random());
    }
}
