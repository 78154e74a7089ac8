//! The Adjudicator's rules: register and refute, progress an app channel, conclude after the
//! timeout, conclude at once with a final state.

use super::funding::set_outcome;
use super::{
    check_channel, check_signed, conclusion_time, reject, store_record, ChannelRecord, LedgerState,
};
use crate::apps;
use crate::crypto::state_signer;
use parley_plugin_api::model::{
    Amount, ChannelId, DisputePhase, Params, SignedState, State, SubAlloc,
};
use parley_plugin_api::PluginResult;

/// Registers a fully signed state with the signed states of its sub-channels (pre-order, depth
/// first: each locked sub-channel, then its own sub-channels, then the next).
///
/// Without a record this starts a dispute that ends `challenge_duration` from now. With one,
/// it is a refutation: allowed only in the dispute phase, before the timeout, with a strictly
/// newer version, and it keeps the original timeout.
pub fn register(
    ledger: &mut impl LedgerState,
    channel: &SignedState,
    subs: &[SignedState],
) -> PluginResult<()> {
    let id = check_signed(channel)?;
    let now = ledger.now();
    let version = channel.state.version;
    let timeout = match ledger.record(&id)? {
        None => now.saturating_add(channel.params.challenge_duration),
        Some(record) => {
            if record.phase != DisputePhase::Dispute {
                return Err(reject(format!(
                    "register refused: channel {id} is in phase {:?}; a state can only be \
                     registered or refuted in the dispute phase",
                    record.phase
                )));
            }
            if now >= record.timeout {
                return Err(reject(format!(
                    "refutation too late: the dispute of channel {id} ended at chain time {}, \
                     it is {now}",
                    record.timeout
                )));
            }
            if version <= record.state.version {
                return Err(reject(format!(
                    "refutation needs a newer version: registered {}, got {version}",
                    record.state.version
                )));
            }
            record.timeout
        }
    };
    let mut rest = subs.iter();
    register_sub_channels(ledger, &channel.state, &mut rest, timeout)?;
    if rest.next().is_some() {
        return Err(reject(format!(
            "register refused: more sub-channel states were given than channel {id} locks"
        )));
    }
    store_record(
        ledger,
        ChannelRecord {
            params: channel.params.clone(),
            state: channel.state.clone(),
            phase: DisputePhase::Dispute,
            timeout,
        },
    )
}

/// Registers the sub-channels locked in `parent`, taking their signed states from `rest`.
/// A sub-channel's state must hold exactly what the parent locks for it, in the same assets.
fn register_sub_channels<'a>(
    ledger: &mut impl LedgerState,
    parent: &State,
    rest: &mut impl Iterator<Item = &'a SignedState>,
    timeout: u64,
) -> PluginResult<()> {
    for sub in &parent.allocation.locked {
        let signed = rest.next().ok_or_else(|| {
            reject(format!(
                "register refused: channel {} locks funds in sub-channel {} but its signed \
                 state is missing",
                parent.channel_id, sub.id
            ))
        })?;
        let id = check_signed(signed)?;
        check_sub_state(parent, sub, &signed.params, &signed.state)?;
        register_sub_channels(ledger, &signed.state, rest, timeout)?;
        let version = signed.state.version;
        let sub_timeout = match ledger.record(&id)? {
            None => timeout,
            Some(record) if record.phase == DisputePhase::Concluded => {
                return Err(reject(format!(
                    "register refused: sub-channel {id} is already concluded"
                )))
            }
            Some(record) if record.state == signed.state => continue,
            Some(record) => {
                if record.phase != DisputePhase::Dispute || ledger.now() >= record.timeout {
                    return Err(reject(format!(
                        "register refused: sub-channel {id} is past its dispute phase"
                    )));
                }
                if version <= record.state.version {
                    return Err(reject(format!(
                        "refutation needs a newer version: sub-channel {id} registered {}, got \
                         {version}",
                        record.state.version
                    )));
                }
                record.timeout
            }
        };
        store_record(
            ledger,
            ChannelRecord {
                params: signed.params.clone(),
                state: signed.state.clone(),
                phase: DisputePhase::Dispute,
                timeout: sub_timeout,
            },
        )?;
    }
    Ok(())
}

/// Checks that `state` is the state of sub-channel `sub` locked in `parent`.
fn check_sub_state(
    parent: &State,
    sub: &SubAlloc,
    params: &Params,
    state: &State,
) -> PluginResult<()> {
    let id = sub.id;
    if state.channel_id != id {
        return Err(reject(format!(
            "expected the state of sub-channel {id} (locked in {}), got one of channel {}",
            parent.channel_id, state.channel_id
        )));
    }
    if state.allocation.assets != parent.allocation.assets {
        return Err(reject(format!(
            "sub-channel {id} must hold the same assets, in the same order, as its parent"
        )));
    }
    if sub.index_map.len() != params.participants.len() {
        return Err(reject(format!(
            "the index map of sub-channel {id} has {} entries for {} participants",
            sub.index_map.len(),
            params.participants.len()
        )));
    }
    let totals = state
        .allocation
        .totals()
        .map_err(|e| reject(format!("sub-channel {id}: {e}")))?;
    if totals != sub.balances {
        return Err(reject(format!(
            "sub-channel {id} holds {totals:?} at version {} but its parent locks {:?}",
            state.version, sub.balances
        )));
    }
    Ok(())
}

/// Advances a registered app channel by one move of participant `actor` (signed by it alone).
/// The first move is allowed once the dispute timeout passed and opens the force-execution
/// phase (timeout = now + challenge duration); later moves must come before that timeout.
pub fn progress(
    ledger: &mut impl LedgerState,
    params: &Params,
    old: &State,
    new: &State,
    actor: u16,
    sig: &parley_plugin_api::model::Sig,
) -> PluginResult<()> {
    let id = check_channel(params, old)?;
    let address = params.app.as_ref().ok_or_else(|| {
        reject(format!(
            "progress refused: channel {id} has no app, so it cannot be progressed"
        ))
    })?;
    let app = apps::lookup(address).ok_or_else(|| {
        reject(format!(
            "progress refused: no app at {address}; the sim chain's built-in apps are: {}",
            apps::describe()
        ))
    })?;
    let record = registered(ledger, &id)?;
    if record.state != *old {
        return Err(reject(format!(
            "progress refused: the old state (version {}) is not the one registered for channel \
             {id} (version {})",
            old.version, record.state.version
        )));
    }
    let now = ledger.now();
    let timeout = match record.phase {
        DisputePhase::Dispute if now >= record.timeout => {
            now.saturating_add(params.challenge_duration)
        }
        DisputePhase::Dispute => {
            return Err(reject(format!(
                "progress refused: the dispute of channel {id} can be refuted until chain time \
                 {}, it is {now}",
                record.timeout
            )))
        }
        DisputePhase::ForceExec if now < record.timeout => record.timeout,
        DisputePhase::ForceExec => {
            return Err(reject(format!(
                "progress refused: force-execution of channel {id} ended at chain time {}, it is \
                 {now}",
                record.timeout
            )))
        }
        DisputePhase::Concluded => {
            return Err(reject(format!(
                "progress refused: channel {id} is concluded"
            )))
        }
    };
    let participant = params.participants.get(usize::from(actor)).ok_or_else(|| {
        reject(format!(
            "progress refused: actor {actor} is not a participant of channel {id}"
        ))
    })?;
    check_transition(id, params, old, new)?;
    if state_signer(new, sig).as_ref() != Some(participant) {
        return Err(reject(format!(
            "progress refused: the new state is not signed by actor {actor} ({participant})"
        )));
    }
    app.valid_transition(params, old, new, usize::from(actor))
        .map_err(|reason| {
            reject(format!(
                "progress refused by the {} app: {reason}",
                app.name()
            ))
        })?;
    store_record(
        ledger,
        ChannelRecord {
            params: params.clone(),
            state: new.clone(),
            phase: DisputePhase::ForceExec,
            timeout,
        },
    )
}

/// The app-independent rules of one step: same channel, version + 1, the old state not final,
/// same assets, the same locked funds, and per asset the same total.
fn check_transition(id: ChannelId, params: &Params, old: &State, new: &State) -> PluginResult<()> {
    if new.channel_id != id {
        return Err(reject(format!(
            "progress refused: the new state is for channel {}",
            new.channel_id
        )));
    }
    if old.is_final {
        return Err(reject(format!(
            "progress refused: version {} of channel {id} is final",
            old.version
        )));
    }
    if Some(new.version) != old.version.checked_add(1) {
        return Err(reject(format!(
            "progress refused: the new version must be {} + 1, got {}",
            old.version, new.version
        )));
    }
    new.allocation
        .check_shape(params.participants.len())
        .map_err(|e| reject(format!("progress refused: {e}")))?;
    if new.allocation.assets != old.allocation.assets
        || new.allocation.locked != old.allocation.locked
    {
        return Err(reject(
            "progress refused: the assets and locked funds must not change",
        ));
    }
    let totals = |state: &State| state.allocation.totals().ok();
    if totals(new).is_none() || totals(new) != totals(old) {
        return Err(reject(format!(
            "progress refused: the totals per asset must be conserved ({:?} before, {:?} after)",
            totals(old),
            totals(new)
        )));
    }
    Ok(())
}

/// Concludes a registered channel after its timeout: the registered state's outcome, with the
/// sub-channels' registered states folded into the parent's participants, becomes what the
/// asset holders pay out. The sub-channels are concluded with it.
pub fn conclude(
    ledger: &mut impl LedgerState,
    params: &Params,
    state: &State,
    sub_states: &[State],
) -> PluginResult<()> {
    let id = check_channel(params, state)?;
    let record = registered(ledger, &id)?;
    check_concludable(ledger, &record, state)?;
    let parties = params.participants.len();
    let mut outcome = state.allocation.balances.clone();
    let identity: Vec<usize> = (0..parties).collect();
    let mut rest = sub_states.iter();
    let mut concluded = vec![record];
    fold_sub_channels(
        ledger,
        state,
        &identity,
        &mut outcome,
        &mut rest,
        &mut concluded,
    )?;
    if rest.next().is_some() {
        return Err(reject(format!(
            "conclude refused: more sub-channel states were given than channel {id} locks"
        )));
    }
    for mut record in concluded {
        record.phase = DisputePhase::Concluded;
        store_record(ledger, record)?;
    }
    set_outcome(
        ledger,
        &id,
        &params.participants,
        &state.allocation.assets,
        &outcome,
    )
}

/// The record of `id`, or a refusal saying it was never registered.
fn registered(ledger: &impl LedgerState, id: &ChannelId) -> PluginResult<ChannelRecord> {
    ledger.record(id)?.ok_or_else(|| {
        reject(format!(
            "channel {id} has no registered state: register one first (or conclude_final with a \
             final state)"
        ))
    })
}

/// Checks that `record` holds exactly `state` and that its timeout passed.
fn check_concludable(
    ledger: &impl LedgerState,
    record: &ChannelRecord,
    state: &State,
) -> PluginResult<()> {
    let id = record.channel_id();
    let ready = conclusion_time(record)?;
    if record.state != *state {
        return Err(reject(format!(
            "conclude refused: version {} of channel {id} is not the registered state (version {})",
            state.version, record.state.version
        )));
    }
    let now = ledger.now();
    if now < ready {
        return Err(reject(format!(
            "conclude refused: the dispute of channel {id} ends at chain time {ready}, it is {now}"
        )));
    }
    Ok(())
}

/// Adds the payouts of the sub-channels locked in `parent` to `outcome` (indexed by the root
/// channel's participants; `to_root` maps `parent`'s participants there), depth first.
fn fold_sub_channels<'a>(
    ledger: &impl LedgerState,
    parent: &State,
    to_root: &[usize],
    outcome: &mut [Vec<Amount>],
    rest: &mut impl Iterator<Item = &'a State>,
    concluded: &mut Vec<ChannelRecord>,
) -> PluginResult<()> {
    for sub in &parent.allocation.locked {
        let state = rest.next().ok_or_else(|| {
            reject(format!(
                "conclude refused: the registered state of sub-channel {} is missing",
                sub.id
            ))
        })?;
        let record = registered(ledger, &sub.id)?;
        check_sub_state(parent, sub, &record.params, state)?;
        check_concludable(ledger, &record, state)?;
        let sub_to_root: Vec<usize> = sub
            .index_map
            .iter()
            .map(|&i| to_root[usize::from(i)])
            .collect();
        for (row, payouts) in state.allocation.balances.iter().zip(outcome.iter_mut()) {
            for (amount, &root_index) in row.iter().zip(&sub_to_root) {
                payouts[root_index] = payouts[root_index]
                    .checked_add(*amount)
                    .ok_or_else(|| reject("conclude refused: an outcome overflows 256 bits"))?;
            }
        }
        fold_sub_channels(ledger, state, &sub_to_root, outcome, rest, concluded)?;
        concluded.push(record);
    }
    Ok(())
}

/// Concludes a channel at once with a final state signed by everybody, also over a running
/// dispute. Refused for a state that is not final, one with funds locked in sub-channels, or a
/// channel already concluded.
pub fn conclude_final(ledger: &mut impl LedgerState, signed: &SignedState) -> PluginResult<()> {
    let id = check_signed(signed)?;
    let state = &signed.state;
    if !state.is_final {
        return Err(reject(format!(
            "conclude_final refused: version {} of channel {id} is not final",
            state.version
        )));
    }
    if !state.allocation.locked.is_empty() {
        return Err(reject(format!(
            "conclude_final refused: channel {id} still locks funds in {} sub-channels",
            state.allocation.locked.len()
        )));
    }
    if let Some(record) = ledger.record(&id)? {
        if record.phase == DisputePhase::Concluded {
            return Err(reject(format!(
                "conclude_final refused: channel {id} is already concluded"
            )));
        }
    }
    let now = ledger.now();
    store_record(
        ledger,
        ChannelRecord {
            params: signed.params.clone(),
            state: state.clone(),
            phase: DisputePhase::Concluded,
            timeout: now,
        },
    )?;
    set_outcome(
        ledger,
        &id,
        &signed.params.participants,
        &state.allocation.assets,
        &state.allocation.balances,
    )
}
