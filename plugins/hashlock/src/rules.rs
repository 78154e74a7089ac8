//! The rules, check for check in the order of `HashLockApp.validTransition`, so that a
//! transition the contract refuses is refused here with the same reason (the first rule it
//! breaks). What the contract reverts on for app data that does not follow the layout is
//! `InvalidArgument` here; every other refusal is `Rejected`.

use crate::layout::{
    bytes32, keccak256, malformed, refuse, Bytes32, Status, CLAIMED_LENGTH, OPEN_LENGTH, PAYEE,
    PAYER, STATUS_BYTE,
};
use parley_plugin_api::model::{Amount, Params, State};
use parley_plugin_api::PluginResult;

/// The checks of `validTransition` on the channel and the state moved from, up to who moves:
/// two participants, `from` open (33 bytes, status 0), the payee moves. Returns the lock.
pub fn open_lock(params: &Params, from: &State, actor: u16) -> PluginResult<Bytes32> {
    two_participants(params)?;
    let before = &from.app_data.0;
    if before.len() < OPEN_LENGTH {
        return Err(malformed("appData holds at least the lock and the status"));
    }
    match Status::from_byte(before[STATUS_BYTE]) {
        None => return Err(malformed("invalid status byte")),
        Some(Status::Open) => {}
        Some(Status::Claimed | Status::Released) => {
            return Err(refuse("the payment is already claimed or released"))
        }
    }
    if before.len() != OPEN_LENGTH {
        return Err(malformed("an open state's appData is 33 bytes"));
    }
    if usize::from(actor) != PAYEE {
        return Err(refuse("only the payee moves"));
    }
    Ok(bytes32(before))
}

/// `HashLockApp.validTransition`: the payee claims (the preimage of the lock, final, the
/// payee takes the payer's balances in every asset) or releases (final, balances unchanged)
/// an open payment; nothing else moves.
pub fn valid_transition(params: &Params, from: &State, to: &State, actor: u16) -> PluginResult<()> {
    let lock = open_lock(params, from, actor)?;
    let next = &to.app_data.0;
    if next.len() < OPEN_LENGTH {
        return Err(malformed("appData holds at least the lock and the status"));
    }
    if next[..STATUS_BYTE] != lock {
        return Err(refuse("the hash lock must not change"));
    }
    match Status::from_byte(next[STATUS_BYTE]) {
        Some(Status::Claimed) => {
            if next.len() != CLAIMED_LENGTH {
                return Err(malformed("a claim's appData is 65 bytes"));
            }
            if keccak256(&next[OPEN_LENGTH..CLAIMED_LENGTH]) != lock {
                return Err(refuse("the preimage does not match the lock"));
            }
            if !to.is_final {
                return Err(refuse("a claim must be final"));
            }
            require_payee_takes_all(&from.allocation.balances, &to.allocation.balances)
        }
        Some(Status::Released) => {
            if next.len() != OPEN_LENGTH {
                return Err(malformed("a release's appData is 33 bytes"));
            }
            if !to.is_final {
                return Err(refuse("a release must be final"));
            }
            if to.allocation.balances != from.allocation.balances {
                return Err(refuse("a release leaves the balances unchanged"));
            }
            Ok(())
        }
        // Staying open is no move: the payee either claims or releases.
        Some(Status::Open) => Err(refuse("a move claims or releases")),
        None => Err(malformed("invalid status byte")),
    }
}

/// The contract's reason for a claim that does not pay the payee everything.
const PAYEE_TAKES_ALL: &str = "a claim pays the payee the payer's whole balance";

/// `requirePayeeTakesAll`: in every asset, the payee gets both balances of `from` and the
/// payer nothing. (Where Solidity reverts on the sum's overflow, this refuses with the claim's
/// reason: no balance can be that sum.)
fn require_payee_takes_all(from: &[Vec<Amount>], to: &[Vec<Amount>]) -> PluginResult<()> {
    if from.len() != to.len() {
        return Err(refuse("one balance row per asset"));
    }
    for (before, after) in from.iter().zip(to) {
        if before.len() != 2 || after.len() != 2 {
            return Err(refuse("one balance per participant"));
        }
        let sum = before[PAYER].checked_add(before[PAYEE]);
        if sum != Some(after[PAYEE]) || !after[PAYER].is_zero() {
            return Err(refuse(PAYEE_TAKES_ALL));
        }
    }
    Ok(())
}

/// The balances a claim from `from` pays: in every asset, the payee both balances and the
/// payer nothing. Refused with the contract's reasons for a row that is not one balance per
/// participant and for a sum that overflows.
pub fn claimed_balances(from: &[Vec<Amount>]) -> PluginResult<Vec<Vec<Amount>>> {
    from.iter()
        .map(|row| {
            if row.len() != 2 {
                return Err(refuse("one balance per participant"));
            }
            let sum = row[PAYER]
                .checked_add(row[PAYEE])
                .ok_or_else(|| refuse(PAYEE_TAKES_ALL))?;
            let mut paid = vec![Amount::ZERO; 2];
            paid[PAYEE] = sum;
            Ok(paid)
        })
        .collect()
}

/// `HashLockApp`'s opening state: the contract has no `validInit` and asks nothing of the
/// balances (the payer's balances at opening are the payment at stake, whatever they are, and
/// the payee may hold some of its own, which a claim leaves with it). What it needs is the
/// layout its first move starts from: two participants, an open payment (33 bytes, status 0),
/// not final (an open state is never final, else no claim could follow it), and nothing
/// locked in sub-channels (a claim pays the payee the balances, so funds locked away from them
/// would be out of the payment's reach).
pub fn valid_init(params: &Params, state: &State) -> PluginResult<()> {
    two_participants(params)?;
    let data = &state.app_data.0;
    if data.len() < OPEN_LENGTH {
        return Err(malformed("appData holds at least the lock and the status"));
    }
    match Status::from_byte(data[STATUS_BYTE]) {
        None => return Err(malformed("invalid status byte")),
        Some(Status::Open) => {}
        Some(Status::Claimed | Status::Released) => {
            return Err(refuse("a channel opens with the payment open"))
        }
    }
    if data.len() != OPEN_LENGTH {
        return Err(malformed("an open state's appData is 33 bytes"));
    }
    if state.is_final {
        return Err(refuse("an open state is never final"));
    }
    if !state.allocation.locked.is_empty() {
        return Err(refuse("a hash-lock channel locks nothing in sub-channels"));
    }
    Ok(())
}

fn two_participants(params: &Params) -> PluginResult<()> {
    if params.participants.len() != 2 {
        return Err(refuse("two participants, payer and payee"));
    }
    Ok(())
}
