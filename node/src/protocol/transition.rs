//! The rules every new state must keep relative to the state it follows (DESIGN §2), and the
//! construction of payments, which are updates that move balance between participants.
//!
//! Amounts are unsigned, so "no negative balance" holds by construction; what remains to check
//! is that no sum overflows and that each asset's total is conserved.

use parley_plugin_api::model::{AllocationError, Amount, ChannelId, Params, State};
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
    /// Funds locked in sub-channels changed. Sub-channels arrive with a later issue; until then
    /// `locked` must stay exactly as it is.
    #[error("locked sub-allocations cannot change yet (sub-channels are not supported)")]
    LockedChanged,
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
    /// A payment channel (no app) changed its app data, which nothing could interpret.
    #[error("the app data of a channel without an app cannot change")]
    AppDataChanged,
}

/// Checks every rule of DESIGN §2 for `new` following `old` in the channel of `params`:
/// same channel, `old` not final, version exactly `old.version + 1`, same assets in the same
/// order, a well-formed allocation, unchanged locked funds, each asset's total conserved, and
/// unchanged app data when the channel has no app.
///
/// Signatures are not checked here (see [`super::StateVerifier`]). An app's own transition rules
/// are not checked either: apps arrive with their issue, and until then a channel with an app may
/// change its app data freely (both parties still have to sign it).
///
/// `old` is trusted (it is the newest fully signed state, which passed this check itself).
pub fn check_transition(params: &Params, old: &State, new: &State) -> Result<(), TransitionError> {
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
        .map_err(TransitionError::Shape)?;
    if new.allocation.locked != old.allocation.locked {
        return Err(TransitionError::LockedChanged);
    }
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
    if params.app.is_none() && new.app_data != old.app_data {
        return Err(TransitionError::AppDataChanged);
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
