//! The state on record of a channel ([`ChainLedger::registered_state`]): the Adjudicator keeps
//! only its hash, so the state is read from the call data of the transaction that emitted the
//! channel's newest `ChannelUpdate` ([`crate::calldata`]) and returned only if its hash is the
//! record's. A record written by a call made through another contract (whose call data is not
//! the Adjudicator's) cannot be read this way and is an error, never a guess.
//!
//! [`ChainLedger::registered_state`]: parley_plugin_api::ChainLedger::registered_state

use crate::abi::{self, events, functions, DisputeRecord};
use crate::calldata::state_on_record;
use crate::events::{topic, MAX_RANGE};
use crate::rpc::Rpc;
use ethers_core::abi::Token;
use ethers_core::types::{Filter, H160, H256};
use parley_plugin_api::model::{ChannelId, State};
use parley_plugin_api::{PluginError, PluginResult};

/// The state on record of `channel` at the newest confirmed block; `None` without a record.
pub fn read_state_on_record(
    rpc: &Rpc,
    adjudicator: H160,
    channel: &ChannelId,
) -> PluginResult<Option<State>> {
    let head = rpc.confirmed_block()?;
    let data = abi::call_data(
        functions::DISPUTES,
        &[Token::FixedBytes(channel.0.to_vec())],
    );
    let record = DisputeRecord::decode(&rpc.call(adjudicator, data, Some(head))?)?;
    if !record.exists() {
        return Ok(None);
    }
    let unreadable = |why: String| {
        PluginError::internal(format!(
            "cannot read the state on record of channel {channel} (version {}): {why}",
            record.version
        ))
    };
    // The newest ChannelUpdate of the channel, searched back from the head a range at a time.
    let mut to = head;
    loop {
        let from = to.saturating_sub(MAX_RANGE - 1);
        let filter = Filter::new()
            .address(adjudicator)
            .from_block(from)
            .to_block(to)
            .topic0(topic(events::CHANNEL_UPDATE))
            .topic1(H256(channel.0));
        let newest = rpc
            .logs(&filter)?
            .into_iter()
            .filter(|log| log.removed != Some(true))
            .max_by_key(|log| (log.block_number, log.log_index));
        if let Some(log) = newest {
            let hash = log
                .transaction_hash
                .ok_or_else(|| unreadable("its ChannelUpdate log names no transaction".into()))?;
            let input = rpc.transaction_input(hash)?.ok_or_else(|| {
                unreadable(format!("the node does not know transaction {hash:?}"))
            })?;
            return state_on_record(&input, channel, &record.state_hash)?
                .map(Some)
                .ok_or_else(|| {
                    unreadable(format!(
                        "transaction {hash:?} names no state with the record's hash (was it \
                         sent through another contract?)"
                    ))
                });
        }
        if from == 0 {
            return Err(unreadable(
                "no ChannelUpdate of the channel was found".into(),
            ));
        }
        to = from - 1;
    }
}
