//! The rules every new state must keep relative to the state it follows (DESIGN §2), and the
//! construction of payments, which are updates that move balance between participants.
//!
//! Amounts are unsigned, so "no negative balance" holds by construction; what remains to check
//! is that no sum overflows and that each asset's total is conserved.
//!
//! Funds first: the node signs and accepts only states whose every part it can check. No state
//! may lock funds in sub-channels yet. In a payment channel the app data never changes (nothing
//! interprets it); in an app channel every change must pass the app's rules
//! ([`check_app_transition`]), and without the rules only the final state that closes the
//! channel as it stands may follow.

use parley_plugin_api::model::{Address, AllocationError, Amount, ChannelId, Params, State};
use parley_plugin_api::App;
use thiserror::Error;

/// Why `new` may not follow `old`. One variant per rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransitionError {
    /// The new state names another channel.
    #[error("the state is for channel {found}, not {expected}")]
    ChannelId {
        /// The channel's id.
        expected: ChannelId,
        /// The id in the new state.
        found: ChannelId,
    },
    /// The old state is final: nothing may follow it.
    #[error("version {version} is final; no state may follow it")]
    OldStateFinal {
        /// The final version.
        version: u64,
    },
    /// The version is not exactly the old version plus one.
    #[error("version {found} does not follow version {old} (expected {expected})")]
    Version {
        /// The old version.
        old: u64,
        /// old + 1.
        expected: u64,
        /// The new state's version.
        found: u64,
    },
    /// The old state's version is the largest `u64`; there is no next one.
    #[error("version {0} is the last possible version")]
    VersionExhausted(u64),
    /// The assets (or their order) changed.
    #[error("the assets of a channel never change")]
    AssetsChanged,
    /// The new allocation is malformed (rows, columns, sub-allocations, a total overflows).
    #[error("malformed allocation: {0}")]
    Shape(AllocationError),
    /// The state changes the funds locked in sub-channels outside a lock or merge this node
    /// checked (see [`super::tree`]): it could not enforce the new locks on chain.
    #[error(
        "the state changes the funds locked in sub-channels ({count} lock(s) after it); only \
         locking a new sub-channel this node holds, or merging back a closed one, may change them"
    )]
    Locked {
        /// How many sub-allocations the new state has.
        count: usize,
    },
    /// A final state that still locks funds in sub-channels: `concludeFinal` refuses it, so
    /// it could never settle.
    #[error(
        "a final state may not lock funds in sub-channels ({count} still locked); they are \
         settled and merged back first"
    )]
    FinalWithLocks {
        /// How many locks it has.
        count: usize,
    },
    /// A lock or merge of a sub-channel that does not match what this node holds of it.
    #[error("the change of sub-channel {child}'s lock is refused: {reason}")]
    TreeChange {
        /// The sub-channel.
        child: ChannelId,
        /// What does not match.
        reason: String,
    },
    /// The channel names an app, whose rules this node cannot check: only the final state
    /// that closes the channel as it stands may follow.
    #[error(
        "the channel runs app {app}, whose rules this node cannot check; only the final state \
         with the same allocation and app data can be signed"
    )]
    AppChannel {
        /// The app's address.
        app: Address,
    },
    /// An asset's total (balances plus locked) changed: funds were created or destroyed.
    #[error("the total of asset {asset} changed from {before} to {after}")]
    TotalChanged {
        /// The asset's index.
        asset: usize,
        /// The old total.
        before: Amount,
        /// The new total.
        after: Amount,
    },
    /// The app data changed: this node runs no apps, so nothing could interpret the new data.
    #[error("the app data cannot change; this node runs no apps and cannot interpret it")]
    AppDataChanged,
    /// The channel's app refused the move.
    #[error("the app refuses the move: {reason}")]
    AppRefused {
        /// The app's reason.
        reason: String,
    },
}

/// Checks every rule of DESIGN §2 for `new` following `old` in the channel of `params`:
/// same channel, `old` not final, version exactly `old.version + 1`, same assets in the same
/// order, a well-formed allocation, the same funds locked in sub-channels, only the closing final
/// state in a channel with an app, each asset's total conserved, and unchanged app data.
///
/// Signatures are not checked here (see [`super::StateVerifier`]). Every path that signs a
/// state or adopts one of the peer's (an update either way, re-synchronisation) goes through
/// this check.
///
/// `old` is trusted (it is the newest fully signed state, which passed this check itself).
pub fn check_transition(params: &Params, old: &State, new: &State) -> Result<(), TransitionError> {
    check_succession(params, old, new)?;
    check_locks_kept(old, new)?;
    if let Some(app) = &params.app {
        // A channel opened with an app before apps were refused: closing it cooperatively as
        // it stands is the one step whose outcome does not depend on the app's rules (a final
        // state concludes at once; nothing can `progress` it).
        let closes_as_is =
            new.is_final && new.allocation == old.allocation && new.app_data == old.app_data;
        if !closes_as_is {
            return Err(TransitionError::AppChannel { app: app.clone() });
        }
    }
    check_conservation(old, new)
}

/// The rules of [`check_transition`] that hold for every update whatever it does with locked
/// funds or apps: same channel, `old` not final, version exactly `old.version + 1`, same assets
/// in the same order, and a well-formed allocation for the channel's participants. The channel
/// tree's lock and merge ([`super::tree`]) build on this and [`check_conservation`].
pub fn check_succession(params: &Params, old: &State, new: &State) -> Result<(), TransitionError> {
    if new.channel_id != old.channel_id {
        return Err(TransitionError::ChannelId {
            expected: old.channel_id,
            found: new.channel_id,
        });
    }
    if old.is_final {
        return Err(TransitionError::OldStateFinal {
            version: old.version,
        });
    }
    let expected = old
        .version
        .checked_add(1)
        .ok_or(TransitionError::VersionExhausted(old.version))?;
    if new.version != expected {
        return Err(TransitionError::Version {
            old: old.version,
            expected,
            found: new.version,
        });
    }
    if new.allocation.assets != old.allocation.assets {
        return Err(TransitionError::AssetsChanged);
    }
    new.allocation
        .check_shape(params.participants.len())
        .map_err(TransitionError::Shape)
}

/// Checks `new` following `old` in an app channel whose rules are `app`, moved by participant
/// `actor`: every app-independent rule the Adjudicator checks (the same as
/// [`check_transition`]'s, but the app data may change), the same locks, then the app's own
/// rule. The final state that closes the channel as it stands needs no move of the app: every
/// participant signs it, and on chain `concludeFinal` asks no app.
pub fn check_app_transition(
    params: &Params,
    old: &State,
    new: &State,
    app: &dyn App,
    actor: u16,
) -> Result<(), TransitionError> {
    check_succession(params, old, new)?;
    check_locks_kept(old, new)?;
    check_totals(old, new)?;
    let closes_as_is =
        new.is_final && new.allocation == old.allocation && new.app_data == old.app_data;
    if closes_as_is {
        return Ok(());
    }
    app.valid_transition(params, old, new, actor)
        .map_err(|error| TransitionError::AppRefused {
            reason: error.message().to_string(),
        })
}

/// The rules a state every participant signed must keep after `old` (re-synchronisation adopts
/// such a state without replaying the moves in between): those of [`check_transition`] in a
/// payment channel; in an app channel the app-independent ones (the app data may have changed,
/// by moves each participant checked when it signed them).
pub fn check_agreed_transition(
    params: &Params,
    old: &State,
    new: &State,
) -> Result<(), TransitionError> {
    check_succession(params, old, new)?;
    if params.app.is_none() {
        // Locks may have changed: a state with our signature passed our own check of its
        // lock or merge when we signed it. A final one must still lock nothing.
        check_no_final_locks(new)?;
        return check_conservation(old, new);
    }
    check_locks_kept(old, new)?;
    check_totals(old, new)
}

/// A final state locks nothing: `concludeFinal` refuses locked funds, so it could never settle.
pub fn check_no_final_locks(new: &State) -> Result<(), TransitionError> {
    if new.is_final && !new.allocation.locked.is_empty() {
        return Err(TransitionError::FinalWithLocks {
            count: new.allocation.locked.len(),
        });
    }
    Ok(())
}

/// The funds locked in sub-channels are the same as before (a payment or a move keeps them;
/// only a lock or merge changes them, checked against the child by the channel).
pub fn check_locks_kept(old: &State, new: &State) -> Result<(), TransitionError> {
    check_no_final_locks(new)?;
    if new.allocation.locked == old.allocation.locked {
        Ok(())
    } else {
        Err(TransitionError::Locked {
            count: new.allocation.locked.len(),
        })
    }
}

/// The conservation rules of [`check_transition`]: per asset, the total of balances and locked
/// amounts is unchanged (no funds created or destroyed), and the app data is unchanged (nothing
/// in this node interprets it). `new` must have passed [`check_succession`].
pub fn check_conservation(old: &State, new: &State) -> Result<(), TransitionError> {
    check_totals(old, new)?;
    if new.app_data != old.app_data {
        return Err(TransitionError::AppDataChanged);
    }
    Ok(())
}

/// Per asset, the total of balances and locked amounts is unchanged.
fn check_totals(old: &State, new: &State) -> Result<(), TransitionError> {
    let before = old.allocation.totals().map_err(TransitionError::Shape)?;
    let after = new.allocation.totals().map_err(TransitionError::Shape)?;
    if let Some((asset, (b, a))) = before
        .iter()
        .zip(&after)
        .enumerate()
        .find(|(_, (b, a))| b != a)
    {
        return Err(TransitionError::TotalChanged {
            asset,
            before: *b,
            after: *a,
        });
    }
    Ok(())
}

/// Why a payment cannot be built. One variant per rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaymentError {
    /// The channel has no asset with this index.
    #[error("the channel has no asset {asset} (it has {assets})")]
    UnknownAsset {
        /// The index asked for.
        asset: usize,
        /// How many assets the channel has.
        assets: usize,
    },
    /// The channel has no participant with this index.
    #[error("the channel has no participant {index} (it has {participants})")]
    UnknownParticipant {
        /// The index asked for.
        index: usize,
        /// How many participants the channel has.
        participants: usize,
    },
    /// Payer and payee are the same participant.
    #[error("a participant cannot pay itself")]
    SameParty,
    /// Paying nothing would only burn a version.
    #[error("a payment must move more than 0")]
    ZeroAmount,
    /// The payer does not have enough of the asset.
    #[error("the payment of {requested} exceeds the available balance of {available}")]
    Overdraft {
        /// What the payer has.
        available: Amount,
        /// What it tried to pay.
        requested: Amount,
    },
    /// The payee's balance would not fit in 256 bits.
    #[error("the payee's balance would overflow 256 bits")]
    Overflow,
    /// The latest state is final: no payment can follow it.
    #[error("the channel's state is final; no payment can follow it")]
    Final,
    /// The latest version is the largest `u64`.
    #[error("the channel has used up its versions")]
    VersionExhausted,
}

/// The state after `from` pays `amount` of asset `asset` to `to`, following `latest`: version
/// plus one, the balance moved, everything else unchanged. The result passes
/// [`check_transition`] from `latest` whenever `latest` is well formed.
pub fn payment(
    latest: &State,
    asset: usize,
    from: usize,
    to: usize,
    amount: Amount,
) -> Result<State, PaymentError> {
    if latest.is_final {
        return Err(PaymentError::Final);
    }
    let balances = &latest.allocation.balances;
    let row = balances.get(asset).ok_or(PaymentError::UnknownAsset {
        asset,
        assets: balances.len(),
    })?;
    for index in [from, to] {
        if index >= row.len() {
            return Err(PaymentError::UnknownParticipant {
                index,
                participants: row.len(),
            });
        }
    }
    if from == to {
        return Err(PaymentError::SameParty);
    }
    if amount == Amount::ZERO {
        return Err(PaymentError::ZeroAmount);
    }
    let payer = row[from]
        .checked_sub(amount)
        .ok_or(PaymentError::Overdraft {
            available: row[from],
            requested: amount,
        })?;
    let payee = row[to].checked_add(amount).ok_or(PaymentError::Overflow)?;
    let mut next = latest.clone();
    next.version = latest
        .version
        .checked_add(1)
        .ok_or(PaymentError::VersionExhausted)?;
    next.allocation.balances[asset][from] = payer;
    next.allocation.balances[asset][to] = payee;
    Ok(next)
}

/// The final state following `latest`: version plus one, the same allocation, `is_final` set.
/// Agreeing on it ends the channel's updates and allows a cooperative `conclude_final`.
pub fn final_state(latest: &State) -> Result<State, TransitionError> {
    if latest.is_final {
        return Err(TransitionError::OldStateFinal {
            version: latest.version,
        });
    }
    let mut next = latest.clone();
    next.version = latest
        .version
        .checked_add(1)
        .ok_or(TransitionError::VersionExhausted(latest.version))?;
    next.is_final = true;
    Ok(next)
}

#[cfg(test)]
#[path = "transition_tests.rs"]
mod tests;
