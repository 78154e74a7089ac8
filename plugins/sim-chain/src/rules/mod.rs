//! The ledger's rules: the Adjudicator (register, refute, progress, conclude, conclude_final)
//! and AssetHolder (deposit, setOutcome, withdraw) of the project's contracts
//! (contracts/src/Adjudicator.sol and AssetHolder.sol), as plain functions over a
//! [`LedgerState`]. They do no I/O and read the time from the state, so they run the same over
//! the LMDB ledger and over the in-memory map the unit tests use.
//!
//! The rules are the contracts' rule for rule (a change to one is a change to both), with
//! these differences of form: hashes are over the canonical encoding instead of `abi.encode`;
//! the record keeps the state and parameters instead of their hashes; registering the ledger
//! channel's recorded state again is refused as not newer (the `ChainBackend` contract; the
//! Adjudicator takes it as a no-op); and there is no way to deposit into a channel id itself
//! as a funding id, which the asset holders count towards the channel's funds.
//!
//! Every refusal is [`ErrorKind::Rejected`](parley_plugin_api::ErrorKind::Rejected) with a
//! message naming the rule, and leaves the ledger unchanged (the caller aborts the
//! transaction).

mod dispute;
mod funding;
#[cfg(test)]
mod memory;
#[cfg(test)]
mod tests;

pub use dispute::{conclude, conclude_final, progress, register};
pub use funding::{deposit, withdraw};

use crate::crypto::{channel_id, state_signer, FundingId};
use parley_plugin_api::model::{
    Amount, Asset, ChainEvent, ChainTime, ChannelId, Dispute, DisputePhase, Params, SignedState,
    State,
};
use parley_plugin_api::{PluginError, PluginResult};

/// What the rules read and write: balances, holdings, channel records, the settled flags and
/// the event log, at one instant of chain time. One value of this is one ledger transaction.
pub trait LedgerState {
    /// Chain time of this transaction.
    fn now(&self) -> ChainTime;
    /// What `owner` holds of `asset` outside channels.
    fn balance(&self, owner: &[u8], asset: &Asset) -> PluginResult<Amount>;
    /// Sets `owner`'s balance of `asset`.
    fn set_balance(&mut self, owner: &[u8], asset: &Asset, amount: Amount) -> PluginResult<()>;
    /// The asset holder's `holdings[funding][asset]`.
    fn holding(&self, funding: &FundingId, asset: &Asset) -> PluginResult<Amount>;
    /// Sets `holdings[funding][asset]`.
    fn set_holding(
        &mut self,
        funding: &FundingId,
        asset: &Asset,
        amount: Amount,
    ) -> PluginResult<()>;
    /// The channel's on-chain record.
    fn record(&self, channel: &ChannelId) -> PluginResult<Option<ChannelRecord>>;
    /// Replaces the channel's record.
    fn set_record(&mut self, record: &ChannelRecord) -> PluginResult<()>;
    /// Whether the holder of `asset` knows the channel's outcome (`settled` in the contracts,
    /// one flag per asset holder).
    fn is_settled(&self, channel: &ChannelId, asset: &Asset) -> PluginResult<bool>;
    /// Marks the channel's outcome as set in the holder of `asset`.
    fn set_settled(&mut self, channel: &ChannelId, asset: &Asset) -> PluginResult<()>;
    /// Whether the withdrawal authorisation with this hash was already paid out.
    fn is_spent(&self, authorisation: &[u8; 32]) -> PluginResult<bool>;
    /// Records that the withdrawal authorisation with this hash was paid out.
    fn set_spent(&mut self, authorisation: &[u8; 32]) -> PluginResult<()>;
    /// The ledger's chain id: only assets of this chain are paid out here.
    fn chain_id(&self) -> u64;
    /// Appends an event to the log.
    fn log(&mut self, event: ChainEvent) -> PluginResult<()>;
}

/// A channel's record on chain: the Adjudicator's `Dispute` plus the registered state and
/// parameters, which the sim chain keeps instead of their hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelRecord {
    /// The channel's parameters.
    pub params: Params,
    /// The registered (or progressed, or concluded) state; its version is the record's.
    pub state: State,
    /// The phase.
    pub phase: DisputePhase,
    /// Chain time at which the phase ends; for a concluded channel, the time it became
    /// concludable (the Adjudicator's `timeout` after `conclude` or `concludeFinal`).
    pub timeout: ChainTime,
}

parley_plugin_api::canonical_struct!(ChannelRecord {
    params,
    state,
    phase,
    timeout
});

impl ChannelRecord {
    /// The channel id.
    pub fn channel_id(&self) -> ChannelId {
        self.state.channel_id
    }

    /// The record as the interface's [`Dispute`].
    pub fn dispute(&self) -> Dispute {
        Dispute {
            channel_id: self.state.channel_id,
            version: self.state.version,
            phase: self.phase,
            timeout: self.timeout,
        }
    }
}

/// A refusal under the rules.
fn reject(message: impl std::fmt::Display) -> PluginError {
    PluginError::rejected(message)
}

/// Writes the record and logs the change, so that watchers see every record update.
fn store_record(ledger: &mut impl LedgerState, record: ChannelRecord) -> PluginResult<()> {
    ledger.set_record(&record)?;
    ledger.log(ChainEvent::Disputed(record.dispute()))
}

/// Checks that `params` describe a channel the Adjudicator can enforce (its
/// `requireValidParams`): at least two participants. (The challenge duration is a `u64` here,
/// so it always fits the 64-bit times.) A virtual channel may run an app: both of its parents
/// fold the one state on record, however it got there, so its intermediary stays even.
fn check_params(params: &Params) -> PluginResult<()> {
    let parties = params.participants.len();
    if parties < 2 {
        return Err(reject(format!(
            "a channel needs at least two participants, the parameters name {parties}"
        )));
    }
    Ok(())
}

/// Checks that `params` are a ledger channel's: only those are registered on their own or
/// concluded (a sub-channel may be anything). `what` names the refused call.
fn check_ledger_channel(params: &Params, what: &str) -> PluginResult<()> {
    if !params.ledger_channel {
        return Err(reject(format!(
            "{what} refused: not a ledger channel (ledger_channel is false); sub-channels are \
             registered and concluded through the ledger channel that funds them"
        )));
    }
    Ok(())
}

/// Checks a state signed by everybody (the Adjudicator's `requireSignedState`): valid
/// parameters, the state belongs to the parameters' channel, a well-formed allocation, no
/// locked funds in a virtual channel, and one valid signature per participant in order.
/// Returns the channel id.
fn check_signed(signed: &SignedState) -> PluginResult<ChannelId> {
    let SignedState {
        params,
        state,
        sigs,
    } = signed;
    check_params(params)?;
    let parties = params.participants.len();
    let id = check_channel(params, state)?;
    state.allocation.check_shape(parties).map_err(|e| {
        reject(format!(
            "state version {} of channel {id}: {e}",
            state.version
        ))
    })?;
    if params.virtual_channel && !state.allocation.locked.is_empty() {
        return Err(reject(format!(
            "virtual channel {id} cannot lock funds in sub-channels"
        )));
    }
    if sigs.len() != parties {
        return Err(reject(format!(
            "channel {id} has {parties} participants but {} signatures were given",
            sigs.len()
        )));
    }
    for (index, (participant, sig)) in params.participants.iter().zip(sigs).enumerate() {
        if state_signer(state, sig).as_ref() != Some(participant) {
            return Err(reject(format!(
                "signature {index} is not participant {index}'s ({participant}) signature on \
                 version {} of channel {id}",
                state.version
            )));
        }
    }
    Ok(id)
}

/// Checks that `state` belongs to the channel of `params` and returns its id.
fn check_channel(params: &Params, state: &State) -> PluginResult<ChannelId> {
    let id = channel_id(params);
    if state.channel_id != id {
        return Err(reject(format!(
            "the state names channel {} but the parameters give channel {id}",
            state.channel_id
        )));
    }
    Ok(id)
}

/// The chain time after which a record can be concluded. An app channel still in the dispute
/// phase also waits out the force-execution window nobody used (timeout + challenge duration),
/// as the Perun Adjudicator does.
fn conclusion_time(record: &ChannelRecord) -> PluginResult<ChainTime> {
    match record.phase {
        // As the Adjudicator: an app channel gets a force-execution window after the dispute,
        // unless its registered state is final (it cannot be progressed).
        DisputePhase::Dispute if record.params.app.is_some() && !record.state.is_final => {
            Ok(record
                .timeout
                .saturating_add(record.params.challenge_duration))
        }
        DisputePhase::Dispute | DisputePhase::ForceExec => Ok(record.timeout),
        DisputePhase::Concluded => Err(reject(format!(
            "channel {} is already concluded",
            record.channel_id()
        ))),
    }
}
