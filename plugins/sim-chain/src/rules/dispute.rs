//! The Adjudicator's rules: register and refute, progress an app channel, conclude after the
//! timeout, conclude at once with a final state.

use super::funding::set_outcome;
use super::{
    check_channel, check_ledger_channel, check_params, check_signed, conclusion_time, reject,
    store_record, ChannelRecord, LedgerState,
};
use crate::apps::Apps;
use crate::crypto::state_signer;
use parley_plugin_api::model::{
    Amount, ChainTime, ChannelId, DisputePhase, Params, SignedState, State, SubAlloc,
};
use parley_plugin_api::PluginResult;

/// Registers a ledger channel's fully signed state with the signed states of its sub-channels
/// (pre-order, depth first: each locked sub-channel, then its own sub-channels, then the next).
///
/// Every channel of the tree is handled alike (the Adjudicator's `registerOne`):
/// - no record yet: a dispute starts; it ends `challenge_duration` from now for the ledger
///   channel, and a sub-channel gets its parent's timeout, so that the tree concludes together;
/// - a record: a refutation, allowed only in the dispute phase, before the timeout, with a
///   strictly newer version; it keeps the timeout;
/// - a final state cannot be refuted, so its timeout is now (it can be concluded at once).
///
/// A sub-channel whose record already holds the very state given is left as it is, whatever
/// its phase (a sub-channel shared by two parents, or named twice in one tree). So is the
/// ledger channel when sub-channel states come with it (the Adjudicator's no-op, which lets a
/// sub-channel be refuted under an unchanged parent); alone, its recorded state registered
/// again is refused as "not newer", as the [`ChainBackend`](parley_plugin_api::ChainBackend)
/// contract says. A state left as it is needs no signatures (see [`register_one`]).
///
/// Records are written parent first, then the sub-channels in the order given, as the
/// contract emits its `ChannelUpdate` events.
pub fn register(
    ledger: &mut impl LedgerState,
    channel: &SignedState,
    subs: &[SignedState],
) -> PluginResult<()> {
    check_ledger_channel(&channel.params, "register")?;
    let fresh = ledger
        .now()
        .saturating_add(channel.params.challenge_duration);
    let recorded = if subs.is_empty() {
        Recorded::Refuse
    } else {
        Recorded::Skip
    };
    let timeout = register_one(ledger, channel, fresh, recorded)?;
    let id = channel.state.channel_id;
    let mut rest = subs.iter();
    register_sub_channels(ledger, &channel.state, &mut rest, timeout)?;
    if rest.next().is_some() {
        return Err(reject(format!(
            "register refused: more sub-channel states were given than channel {id} locks"
        )));
    }
    Ok(())
}

/// What [`register_one`] does with the very state already on record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Recorded {
    /// Leave the record as it is (a sub-channel).
    Skip,
    /// Refuse it as not newer (the ledger channel, per the `ChainBackend` contract).
    Refuse,
}

/// Registers one signed state (see [`register`]) and returns the channel's timeout; `fresh`
/// is the timeout of a first registration.
///
/// The very state on record, left as it is, needs no signatures, as in the Adjudicator: it was
/// checked when it was stored, and a state reached by `progress` carries only its mover's.
/// Asking for all of them would make the second parent of a progressed virtual channel
/// impossible to register, stranding the intermediary's funds there while the first parent
/// paid out. Any other state must be signed by everybody.
fn register_one(
    ledger: &mut impl LedgerState,
    signed: &SignedState,
    fresh: ChainTime,
    recorded: Recorded,
) -> PluginResult<ChainTime> {
    let id = check_channel(&signed.params, &signed.state)?;
    let record = ledger.record(&id)?;
    if let Some(record) = &record {
        if recorded == Recorded::Skip && record.state == signed.state {
            return Ok(record.timeout);
        }
    }
    check_signed(signed)?;
    let now = ledger.now();
    let version = signed.state.version;
    let mut timeout = match record {
        None => fresh,
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
                    "refutation needs a newer version: channel {id} registered {}, got \
                     {version}",
                    record.state.version
                )));
            }
            record.timeout
        }
    };
    if signed.state.is_final {
        timeout = now;
    }
    store_record(
        ledger,
        ChannelRecord {
            params: signed.params.clone(),
            state: signed.state.clone(),
            phase: DisputePhase::Dispute,
            timeout,
        },
    )?;
    Ok(timeout)
}

/// Registers the sub-channels locked in `parent`, taking their signed states from `rest`.
/// A sub-channel's state must hold exactly what the parent locks for it, in the same assets.
/// `timeout` is the parent's, given to sub-channels registered for the first time; each
/// sub-channel's own timeout is passed on to its sub-channels.
fn register_sub_channels<'a>(
    ledger: &mut impl LedgerState,
    parent: &State,
    rest: &mut impl Iterator<Item = &'a SignedState>,
    timeout: ChainTime,
) -> PluginResult<()> {
    for sub in &parent.allocation.locked {
        let signed = rest.next().ok_or_else(|| {
            reject(format!(
                "register refused: channel {} locks funds in sub-channel {} but its signed \
                 state is missing",
                parent.channel_id, sub.id
            ))
        })?;
        let sub_timeout = register_one(ledger, signed, timeout, Recorded::Skip)?;
        check_sub_state(parent, sub, &signed.params, &signed.state)?;
        register_sub_channels(ledger, &signed.state, rest, sub_timeout)?;
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
/// phase; every move must come before that phase's timeout. Each move restarts the timeout at
/// now + challenge duration, so the others always have a full challenge duration to answer;
/// a final state ends the game, so its timeout is now (it can be concluded at once). The app's
/// rules come from `apps` (built-in, else the node's); the move must pass its
/// `valid_transition`, and its refusal's reason is the error's.
pub fn progress(
    ledger: &mut impl LedgerState,
    apps: &Apps,
    params: &Params,
    old: &State,
    new: &State,
    actor: u16,
    sig: &parley_plugin_api::model::Sig,
) -> PluginResult<()> {
    check_params(params)?;
    let id = check_channel(params, old)?;
    let address = params.app.as_ref().ok_or_else(|| {
        reject(format!(
            "progress refused: channel {id} has no app, so it cannot be progressed"
        ))
    })?;
    let app = apps
        .lookup(address)
        .ok_or_else(|| reject(format!("progress refused: {}", apps.missing(address))))?;
    let record = registered(ledger, &id)?;
    if record.state != *old {
        return Err(reject(format!(
            "progress refused: the old state (version {}) is not the one registered for channel \
             {id} (version {})",
            old.version, record.state.version
        )));
    }
    let now = ledger.now();
    match record.phase {
        DisputePhase::Dispute if now >= record.timeout => {}
        DisputePhase::Dispute => {
            return Err(reject(format!(
                "progress refused: the dispute of channel {id} can be refuted until chain time \
                 {}, it is {now}",
                record.timeout
            )))
        }
        DisputePhase::ForceExec if now < record.timeout => {}
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
    }
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
    app.valid_transition(params, old, new, actor)
        .map_err(|reason| reject(format!("progress refused by {}: {reason}", app.name())))?;
    let timeout = if new.is_final {
        now
    } else {
        now.saturating_add(params.challenge_duration)
    };
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

/// Concludes a registered ledger channel after its timeout: the registered state's outcome,
/// with the sub-channels' registered states folded into the parent's participants, becomes
/// what the asset holders pay out. Each sub-channel must be concludable on its own timeout,
/// and is concluded with it.
///
/// Every concluded record keeps, as its timeout, the time it became concludable. Records are
/// written as the contract emits its events: each sub-channel after its own sub-channels,
/// the ledger channel last.
pub fn conclude(
    ledger: &mut impl LedgerState,
    params: &Params,
    state: &State,
    sub_states: &[State],
) -> PluginResult<()> {
    check_ledger_channel(params, "conclude")?;
    let id = check_channel(params, state)?;
    let record = registered(ledger, &id)?;
    let ready = check_concludable(ledger, &record, state)?;
    let parties = params.participants.len();
    let mut outcome = state.allocation.balances.clone();
    let identity: Vec<usize> = (0..parties).collect();
    let mut rest = sub_states.iter();
    fold_sub_channels(ledger, state, &identity, &mut outcome, &mut rest)?;
    if rest.next().is_some() {
        return Err(reject(format!(
            "conclude refused: more sub-channel states were given than channel {id} locks"
        )));
    }
    mark_concluded(ledger, record, ready)?;
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

/// Checks that `record` holds exactly `state` and can be concluded now; returns the time it
/// became concludable.
fn check_concludable(
    ledger: &impl LedgerState,
    record: &ChannelRecord,
    state: &State,
) -> PluginResult<ChainTime> {
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
    Ok(ready)
}

/// Moves `record` to the concluded phase with `ready`, the time it became concludable, as its
/// timeout.
fn mark_concluded(
    ledger: &mut impl LedgerState,
    mut record: ChannelRecord,
    ready: ChainTime,
) -> PluginResult<()> {
    record.phase = DisputePhase::Concluded;
    record.timeout = ready;
    store_record(ledger, record)
}

/// Adds the payouts of the sub-channels locked in `parent` to `outcome` (indexed by the root
/// channel's participants; `to_root` maps `parent`'s participants there), depth first, and
/// concludes those not concluded yet. A sub-channel locked in two parents (a virtual channel,
/// funded in two ledger channels of its intermediary) is concluded with the first; the second
/// folds the state it was concluded with, as the Adjudicator does, also one reached by
/// `progress`: a concluded record never changes, so the intermediary is paid one state on both
/// sides. Each parent pays out only
/// what it locked itself: `check_sub_state` holds the state's totals to this parent's locked
/// amounts.
fn fold_sub_channels<'a>(
    ledger: &mut impl LedgerState,
    parent: &State,
    to_root: &[usize],
    outcome: &mut [Vec<Amount>],
    rest: &mut impl Iterator<Item = &'a State>,
) -> PluginResult<()> {
    for sub in &parent.allocation.locked {
        let state = rest.next().ok_or_else(|| {
            reject(format!(
                "conclude refused: the registered state of sub-channel {} is missing",
                sub.id
            ))
        })?;
        let record = registered(ledger, &sub.id)?;
        // `None`: concluded before, with another parent.
        let ready = if record.phase == DisputePhase::Concluded {
            if record.state != *state {
                return Err(reject(format!(
                    "conclude refused: version {} of sub-channel {} is not the state it was \
                     concluded with (version {})",
                    state.version, sub.id, record.state.version
                )));
            }
            None
        } else {
            Some(check_concludable(ledger, &record, state)?)
        };
        check_sub_state(parent, sub, &record.params, state)?;
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
        fold_sub_channels(ledger, state, &sub_to_root, outcome, rest)?;
        if let Some(ready) = ready {
            mark_concluded(ledger, record, ready)?;
        }
    }
    Ok(())
}

/// Concludes a ledger channel at once with a final state signed by everybody, also over a
/// running dispute. Refused for a state that is not final, one with funds locked in
/// sub-channels, or a channel already concluded. The record's timeout is now.
pub fn conclude_final(ledger: &mut impl LedgerState, signed: &SignedState) -> PluginResult<()> {
    check_ledger_channel(&signed.params, "conclude_final")?;
    let state = &signed.state;
    let id = check_channel(&signed.params, state)?;
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
    check_signed(signed)?;
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
