//! The LMDB tables of a ledger and how values are laid out in them.
//!
//! | table      | key                                   | value                        |
//! |------------|---------------------------------------|------------------------------|
//! | `meta`     | name (`genesis_time`, `advanced`, ..) | u64 big-endian               |
//! | `balances` | owner (length-prefixed) ‖ asset       | amount (32 bytes)            |
//! | `holdings` | funding id ‖ asset                    | amount                       |
//! | `channels` | channel id                            | [`ChannelRecord`]            |
//! | `settled`  | channel id ‖ asset                    | empty (the outcome is set)   |
//! | `seen`     | account                               | empty (prefunded once)       |
//! | `events`   | sequence number, u64 big-endian       | [`ChainEvent`]               |
//! | `spent`    | keccak256(withdrawal authorisation)   | empty (paid out once)        |
//!
//! Keys and values use the canonical encoding of `parley_plugin_api::codec`.
//!
//! Format history: ledgers written before the asset holders' flags were kept per asset have
//! `settled` keys of the channel id alone, meaning "settled in every asset"; they are still
//! read that way. The `spent` table was added with the withdrawal replay rule; an older
//! ledger gets it, empty, when it is next opened.

use crate::crypto::FundingId;
use crate::rules::{ChannelRecord, LedgerState};
use heed::types::Bytes;
use heed::{Database, RoTxn, RwTxn};
use parley_plugin_api::codec::{encode_bytes, Decode, Encode};
use parley_plugin_api::model::{Amount, Asset, ChainEvent, ChainTime, ChannelId};
use parley_plugin_api::{PluginError, PluginResult};

type Table = Database<'static, Bytes, Bytes>;

/// The names of the tables, in the order [`Tables::from_list`] expects.
pub const TABLE_NAMES: [&str; 8] = [
    "meta", "balances", "holdings", "channels", "settled", "seen", "events", "spent",
];

/// The opened tables of one environment.
pub struct Tables {
    meta: Table,
    balances: Table,
    holdings: Table,
    channels: Table,
    settled: Table,
    seen: Table,
    events: Table,
    spent: Table,
}

/// A storage failure as a plugin error: the ledger file is unusable or full, which a retry
/// may or may not fix.
pub fn storage_error(error: heed::Error) -> PluginError {
    PluginError::unavailable(format!("the sim-chain ledger failed: {error}"))
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> PluginError {
    PluginError::internal(format!(
        "the sim-chain ledger holds a malformed {what}: {error}"
    ))
}

fn balance_key(owner: &[u8], asset: &Asset) -> Vec<u8> {
    let mut key = Vec::with_capacity(64);
    encode_bytes(owner, &mut key);
    asset.encode_to(&mut key);
    key
}

fn holding_key(funding: &FundingId, asset: &Asset) -> Vec<u8> {
    let mut key = funding.to_vec();
    asset.encode_to(&mut key);
    key
}

fn settled_key(channel: &ChannelId, asset: &Asset) -> Vec<u8> {
    let mut key = channel.0.to_vec();
    asset.encode_to(&mut key);
    key
}

fn decode<T: Decode>(what: &str, bytes: &[u8]) -> PluginResult<T> {
    T::decode(bytes).map_err(|e| corrupt(what, e))
}

impl Tables {
    /// Wraps the tables opened in [`TABLE_NAMES`] order.
    pub fn from_list(
        [meta, balances, holdings, channels, settled, seen, events, spent]: [Table; 8],
    ) -> Self {
        Tables {
            meta,
            balances,
            holdings,
            channels,
            settled,
            seen,
            events,
            spent,
        }
    }

    /// A `u64` in the meta table.
    pub fn meta(&self, txn: &RoTxn, name: &str) -> PluginResult<Option<u64>> {
        match self.meta.get(txn, name.as_bytes()).map_err(storage_error)? {
            None => Ok(None),
            Some(bytes) => decode(name, bytes).map(Some),
        }
    }

    /// Sets a `u64` in the meta table.
    pub fn set_meta(&self, txn: &mut RwTxn, name: &str, value: u64) -> PluginResult<()> {
        self.meta
            .put(txn, name.as_bytes(), &value.encode())
            .map_err(storage_error)
    }

    fn amount(&self, table: &Table, txn: &RoTxn, key: &[u8]) -> PluginResult<Amount> {
        match table.get(txn, key).map_err(storage_error)? {
            None => Ok(Amount::ZERO),
            Some(bytes) => decode("amount", bytes),
        }
    }

    /// `owner`'s balance of `asset`.
    pub fn balance(&self, txn: &RoTxn, owner: &[u8], asset: &Asset) -> PluginResult<Amount> {
        self.amount(&self.balances, txn, &balance_key(owner, asset))
    }

    /// `holdings[funding][asset]`.
    pub fn holding(&self, txn: &RoTxn, funding: &FundingId, asset: &Asset) -> PluginResult<Amount> {
        self.amount(&self.holdings, txn, &holding_key(funding, asset))
    }

    /// The channel's record.
    pub fn record(&self, txn: &RoTxn, channel: &ChannelId) -> PluginResult<Option<ChannelRecord>> {
        match self.channels.get(txn, &channel.0).map_err(storage_error)? {
            None => Ok(None),
            Some(bytes) => decode("channel record", bytes).map(Some),
        }
    }

    /// Whether the ledger has seen (and prefunded) `account`.
    pub fn seen(&self, txn: &RoTxn, account: &[u8]) -> PluginResult<bool> {
        Ok(self
            .seen
            .get(txn, account)
            .map_err(storage_error)?
            .is_some())
    }

    /// Marks `account` as seen.
    pub fn set_seen(&self, txn: &mut RwTxn, account: &[u8]) -> PluginResult<()> {
        self.seen.put(txn, account, &[]).map_err(storage_error)
    }

    /// The sequence number the next event will get (events are numbered from 1).
    pub fn next_seq(&self, txn: &RoTxn) -> PluginResult<u64> {
        match self.events.last(txn).map_err(storage_error)? {
            None => Ok(1),
            Some((key, _)) => Ok(decode::<u64>("event number", key)? + 1),
        }
    }

    /// Up to `limit` events with sequence numbers from `first` on, in order.
    pub fn events_from(
        &self,
        txn: &RoTxn,
        first: u64,
        limit: usize,
    ) -> PluginResult<Vec<(u64, ChainEvent)>> {
        let start = first.encode();
        let range = (
            std::ops::Bound::Included(&start[..]),
            std::ops::Bound::Unbounded,
        );
        self.events
            .range(txn, &range)
            .map_err(storage_error)?
            .take(limit)
            .map(|entry| {
                let (key, value) = entry.map_err(storage_error)?;
                Ok((decode("event number", key)?, decode("event", value)?))
            })
            .collect()
    }
}

/// One write transaction seen through the rules' [`LedgerState`]. Dropping it without
/// [`WriteView::commit`] aborts everything it wrote.
pub struct WriteView<'a> {
    txn: RwTxn<'a>,
    tables: &'a Tables,
    now: ChainTime,
    chain_id: u64,
}

impl<'a> WriteView<'a> {
    /// Starts a view over `txn` at chain time `now` on the chain `chain_id`.
    pub fn new(txn: RwTxn<'a>, tables: &'a Tables, now: ChainTime, chain_id: u64) -> Self {
        WriteView {
            txn,
            tables,
            now,
            chain_id,
        }
    }

    /// The raw transaction, for the ledger's own bookkeeping.
    pub fn txn(&mut self) -> &mut RwTxn<'a> {
        &mut self.txn
    }

    /// Commits everything written.
    pub fn commit(self) -> PluginResult<()> {
        self.txn.commit().map_err(storage_error)
    }
}

impl LedgerState for WriteView<'_> {
    fn now(&self) -> ChainTime {
        self.now
    }

    fn balance(&self, owner: &[u8], asset: &Asset) -> PluginResult<Amount> {
        self.tables.balance(&self.txn, owner, asset)
    }

    fn set_balance(&mut self, owner: &[u8], asset: &Asset, amount: Amount) -> PluginResult<()> {
        let key = balance_key(owner, asset);
        self.tables
            .balances
            .put(&mut self.txn, &key, &amount.encode())
            .map_err(storage_error)
    }

    fn holding(&self, funding: &FundingId, asset: &Asset) -> PluginResult<Amount> {
        self.tables.holding(&self.txn, funding, asset)
    }

    fn set_holding(
        &mut self,
        funding: &FundingId,
        asset: &Asset,
        amount: Amount,
    ) -> PluginResult<()> {
        let key = holding_key(funding, asset);
        self.tables
            .holdings
            .put(&mut self.txn, &key, &amount.encode())
            .map_err(storage_error)
    }

    fn record(&self, channel: &ChannelId) -> PluginResult<Option<ChannelRecord>> {
        self.tables.record(&self.txn, channel)
    }

    fn set_record(&mut self, record: &ChannelRecord) -> PluginResult<()> {
        self.tables
            .channels
            .put(&mut self.txn, &record.channel_id().0, &record.encode())
            .map_err(storage_error)
    }

    fn is_settled(&self, channel: &ChannelId, asset: &Asset) -> PluginResult<bool> {
        let settled = &self.tables.settled;
        // A key of the channel id alone is the older format: settled in every asset.
        for key in [settled_key(channel, asset), channel.0.to_vec()] {
            if settled
                .get(&self.txn, &key)
                .map_err(storage_error)?
                .is_some()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn set_settled(&mut self, channel: &ChannelId, asset: &Asset) -> PluginResult<()> {
        self.tables
            .settled
            .put(&mut self.txn, &settled_key(channel, asset), &[])
            .map_err(storage_error)
    }

    fn is_spent(&self, authorisation: &[u8; 32]) -> PluginResult<bool> {
        Ok(self
            .tables
            .spent
            .get(&self.txn, authorisation)
            .map_err(storage_error)?
            .is_some())
    }

    fn set_spent(&mut self, authorisation: &[u8; 32]) -> PluginResult<()> {
        self.tables
            .spent
            .put(&mut self.txn, authorisation, &[])
            .map_err(storage_error)
    }

    fn chain_id(&self) -> u64 {
        self.chain_id
    }

    fn log(&mut self, event: ChainEvent) -> PluginResult<()> {
        let seq = self.tables.next_seq(&self.txn)?;
        self.tables
            .events
            .put(&mut self.txn, &seq.encode(), &event.encode())
            .map_err(storage_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Ledger, Location};
    use parley_plugin_api::model::Address;

    fn asset(byte: u8) -> Asset {
        Asset {
            chain_id: 1337,
            holder: Address(vec![byte; 20]),
        }
    }

    #[test]
    fn settled_flags_are_per_asset_and_spent_authorisations_persist() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Shared(dir.path().join("ledger"));
        let (channel, old_format) = (ChannelId([7; 32]), ChannelId([6; 32]));
        {
            let ledger = Ledger::open(&location, 1337, 0).unwrap();
            ledger
                .transact(|view| {
                    view.set_settled(&channel, &asset(1))?;
                    view.set_spent(&[9; 32])?;
                    // How a ledger written before per-asset flags marked a channel settled.
                    let settled = view.tables.settled;
                    settled
                        .put(&mut view.txn, &old_format.0, &[])
                        .map_err(storage_error)
                })
                .unwrap();
        }
        let ledger = Ledger::open(&location, 1337, 0).unwrap();
        ledger
            .transact(|view| {
                assert!(view.is_settled(&channel, &asset(1))?);
                assert!(!view.is_settled(&channel, &asset(2))?);
                assert!(view.is_settled(&old_format, &asset(2))?);
                assert!(view.is_spent(&[9; 32])?);
                assert!(!view.is_spent(&[8; 32])?);
                assert_eq!(view.chain_id(), 1337);
                Ok(())
            })
            .unwrap();
    }
}
