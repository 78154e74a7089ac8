//! What the chain holds for a channel in dispute: its record, the chain's time and, for an app
//! channel, the state on record.
//!
//! The state on record is the chain's truth: after moves on chain (`progress`) it is a state
//! this node may never have seen, signed by its actor only. It is read from the chain (ABI
//! revision 3, [`ChainLedger::registered_state`]) whenever the record's version is one whose
//! state is not known yet, so a node restarted during force execution follows at once; it is
//! never used as a signed state of the channel (no cooperative step takes it).

use super::failure::{chain_step, ChainFailure};
use super::ChainSide;
use parley_plugin_api::model::{ChainTime, ChannelId, Dispute, State};
use parley_plugin_api::{ChainLedger, ErrorKind};
use std::sync::Arc;

/// The chain's side of a channel, read in one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnChain {
    /// The record, if anything was ever registered.
    pub record: Option<Dispute>,
    /// The chain's time of the reading.
    pub now: ChainTime,
    /// The state on record (app channels with a record only), if the backend can read it.
    pub state: Option<State>,
    /// Why the state on record could not be read (a chain plugin built before revision 3, or
    /// a backend that cannot rebuild it).
    pub unreadable: Option<String>,
}

impl OnChain {
    /// Whether the state on record is final, if it is known.
    pub fn state_final(&self) -> Option<bool> {
        self.state.as_ref().map(|state| state.is_final)
    }
}

/// Why a node cannot follow force execution with `error` from the backend.
fn unreadable(error: &ChainFailure) -> String {
    let why = if error.kind() == ErrorKind::Unsupported {
        "the chain plugin cannot read the state on record"
    } else {
        "reading the state on record failed"
    };
    format!(
        "this node cannot follow force execution: {why} ({})",
        error.message()
    )
}

/// Reads channel `id`'s record and the chain's time, and for an app channel (`app`) the state
/// on record, unless the registry already holds the state of the record's version. The state
/// read is kept in the registry (for `channel show` and the next round).
pub async fn read(
    side: &Arc<ChainSide>,
    id: ChannelId,
    app: bool,
) -> Result<OnChain, ChainFailure> {
    let chain = side.chain.ledger.clone();
    let (record, now) = chain_step("reading the channel's record on chain", move || {
        Ok((chain.dispute(&id)?, chain.now()?))
    })
    .await?;
    side.registry.set_dispute(&id, record.clone(), now);
    let mut on_chain = OnChain {
        record,
        now,
        state: None,
        unreadable: None,
    };
    let Some(version) = on_chain.record.as_ref().map(|r| r.version) else {
        side.registry.set_on_record(&id, None);
        return Ok(on_chain);
    };
    if !app {
        return Ok(on_chain);
    }
    let known = side
        .registry
        .status(&id)
        .and_then(|status| status.on_record)
        .filter(|state| state.version == version);
    if let Some(state) = known {
        on_chain.state = Some(state);
        return Ok(on_chain);
    }
    let chain: Arc<dyn ChainLedger> = side.chain.ledger.clone();
    match chain_step("reading the state on record", move || {
        chain.registered_state(&id)
    })
    .await
    {
        Ok(Some(state)) if state.version == version && state.channel_id == id => {
            side.registry.set_on_record(&id, Some(state.clone()));
            on_chain.state = Some(state);
        }
        // The record moved on between the two reads: the next round reads again.
        Ok(_) => {}
        // An unreachable chain fails the round (tried again shortly); any other failure to
        // read the state leaves the dispute to go on without it, and says why.
        Err(error) if error.is_transient() => return Err(error),
        Err(error) => on_chain.unreadable = Some(unreadable(&error)),
    }
    Ok(on_chain)
}
