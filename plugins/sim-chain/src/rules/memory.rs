//! An in-memory [`LedgerState`] for unit tests of the rules: maps instead of LMDB, time set by
//! the test. Each rule call runs on a copy that replaces the original only on success, like an
//! aborted transaction.

use super::{ChannelRecord, LedgerState};
use crate::crypto::FundingId;
use parley_plugin_api::model::{Amount, Asset, ChainEvent, ChainTime, ChannelId};
use parley_plugin_api::PluginResult;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Default)]
pub struct MemoryLedger {
    pub now: ChainTime,
    pub balances: BTreeMap<(Vec<u8>, Asset), Amount>,
    pub holdings: BTreeMap<(FundingId, Asset), Amount>,
    pub records: BTreeMap<ChannelId, ChannelRecord>,
    pub chain_id: u64,
    pub settled: BTreeSet<(ChannelId, Asset)>,
    pub spent: BTreeSet<[u8; 32]>,
    pub events: Vec<ChainEvent>,
}

impl MemoryLedger {
    /// Runs `rule` as one transaction: its writes are kept only if it succeeds.
    pub fn run<T>(
        &mut self,
        rule: impl FnOnce(&mut MemoryLedger) -> PluginResult<T>,
    ) -> PluginResult<T> {
        let mut copy = self.clone();
        let value = rule(&mut copy)?;
        *self = copy;
        Ok(value)
    }
}

impl LedgerState for MemoryLedger {
    fn now(&self) -> ChainTime {
        self.now
    }

    fn balance(&self, owner: &[u8], asset: &Asset) -> PluginResult<Amount> {
        Ok(self
            .balances
            .get(&(owner.to_vec(), asset.clone()))
            .copied()
            .unwrap_or_default())
    }

    fn set_balance(&mut self, owner: &[u8], asset: &Asset, amount: Amount) -> PluginResult<()> {
        self.balances
            .insert((owner.to_vec(), asset.clone()), amount);
        Ok(())
    }

    fn holding(&self, funding: &FundingId, asset: &Asset) -> PluginResult<Amount> {
        Ok(self
            .holdings
            .get(&(*funding, asset.clone()))
            .copied()
            .unwrap_or_default())
    }

    fn set_holding(
        &mut self,
        funding: &FundingId,
        asset: &Asset,
        amount: Amount,
    ) -> PluginResult<()> {
        self.holdings.insert((*funding, asset.clone()), amount);
        Ok(())
    }

    fn record(&self, channel: &ChannelId) -> PluginResult<Option<ChannelRecord>> {
        Ok(self.records.get(channel).cloned())
    }

    fn set_record(&mut self, record: &ChannelRecord) -> PluginResult<()> {
        self.records.insert(record.channel_id(), record.clone());
        Ok(())
    }

    fn is_settled(&self, channel: &ChannelId, asset: &Asset) -> PluginResult<bool> {
        Ok(self.settled.contains(&(*channel, asset.clone())))
    }

    fn set_settled(&mut self, channel: &ChannelId, asset: &Asset) -> PluginResult<()> {
        self.settled.insert((*channel, asset.clone()));
        Ok(())
    }

    fn is_spent(&self, authorisation: &[u8; 32]) -> PluginResult<bool> {
        Ok(self.spent.contains(authorisation))
    }

    fn set_spent(&mut self, authorisation: &[u8; 32]) -> PluginResult<()> {
        self.spent.insert(*authorisation);
        Ok(())
    }

    fn chain_id(&self) -> u64 {
        self.chain_id
    }

    fn log(&mut self, event: ChainEvent) -> PluginResult<()> {
        self.events.push(event);
        Ok(())
    }
}
