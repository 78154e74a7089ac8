//! The asset holders' rules: deposits into funding ids, setting a concluded channel's outcome,
//! and authorised withdrawals.

use super::{reject, LedgerState};
use crate::crypto::{funding_id, keccak256, FundingId, WithdrawalAuth};
use parley_plugin_api::codec::Encode;
use parley_plugin_api::model::{Amount, Asset, ChainEvent, ChannelId, Participant, Sig};
use parley_plugin_api::PluginResult;

/// Moves `amount` of `asset` from `from`'s balance into `participant`'s holding in `channel`
/// and returns the new holding. Refused if `from` cannot pay.
pub fn deposit(
    ledger: &mut impl LedgerState,
    from: &Participant,
    channel: &ChannelId,
    participant: &Participant,
    asset: &Asset,
    amount: Amount,
) -> PluginResult<Amount> {
    let balance = ledger.balance(from.as_bytes(), asset)?;
    let rest = balance.checked_sub(amount).ok_or_else(|| {
        reject(format!(
            "deposit refused: {from} has {balance} of asset {asset}, the deposit needs {amount}"
        ))
    })?;
    let funding = funding_id(channel, participant);
    let total = ledger
        .holding(&funding, asset)?
        .checked_add(amount)
        .ok_or_else(|| reject("deposit refused: the holding would overflow 256 bits"))?;
    ledger.set_balance(from.as_bytes(), asset, rest)?;
    ledger.set_holding(&funding, asset, total)?;
    ledger.log(ChainEvent::Deposited {
        channel_id: *channel,
        participant: participant.clone(),
        asset: asset.clone(),
        total,
    })?;
    Ok(total)
}

/// The Adjudicator pushing an outcome to the asset holders, and each holder's `setOutcome`.
///
/// Only assets of this chain with a holder are paid out here (the Adjudicator skips the
/// others, as Perun's does); each of those holders is marked settled for the channel. Per
/// asset, if what the participants deposited covers the outcome, their holdings become the
/// outcome (whoever over-funded loses the excess); otherwise (an under-funded channel) the
/// holdings stay as deposited, so everybody gets back what it put in. A participant listed
/// twice has one holding: it is counted once, and its payouts add up.
///
/// `outcome[a][p]` is participant `p`'s payout of `assets[a]`, sub-channels already folded in.
pub(super) fn set_outcome(
    ledger: &mut impl LedgerState,
    channel: &ChannelId,
    participants: &[Participant],
    assets: &[Asset],
    outcome: &[Vec<Amount>],
) -> PluginResult<()> {
    let mut fundings: Vec<FundingId> = Vec::with_capacity(participants.len());
    for participant in participants {
        let funding = funding_id(channel, participant);
        if !fundings.contains(&funding) {
            fundings.push(funding);
        }
    }
    let chain_id = ledger.chain_id();
    for (asset, payouts) in assets.iter().zip(outcome) {
        if asset.chain_id != chain_id || asset.holder.as_bytes().iter().all(|&b| b == 0) {
            continue;
        }
        let held = fundings
            .iter()
            .map(|funding| ledger.holding(funding, asset))
            .collect::<PluginResult<Vec<_>>>()?;
        let overflow = || {
            reject(format!(
                "the outcome of channel {channel} overflows 256 bits"
            ))
        };
        let held = Amount::checked_sum(&held).ok_or_else(overflow)?;
        let owed = Amount::checked_sum(payouts).ok_or_else(overflow)?;
        if owed <= held {
            let mut paid: Vec<(FundingId, Amount)> =
                fundings.iter().map(|f| (*f, Amount::ZERO)).collect();
            for (participant, payout) in participants.iter().zip(payouts) {
                let funding = funding_id(channel, participant);
                if let Some((_, total)) = paid.iter_mut().find(|(f, _)| *f == funding) {
                    *total = total.checked_add(*payout).ok_or_else(overflow)?;
                }
            }
            for (funding, total) in paid {
                ledger.set_holding(&funding, asset, total)?;
            }
        } else {
            tracing::info!(
                "channel {channel} is under-funded in asset {asset} (holds {held}, outcome {owed}): \
                 the deposits stay as they are"
            );
        }
        ledger.set_settled(channel, asset)?;
    }
    Ok(())
}

/// The AssetHolder's `withdraw`: pays `auth.amount` of the participant's holding to the
/// receiver, if the holder of the asset knows the channel's outcome, the participant signed the
/// authorisation, and this very authorisation was not paid before (so nobody can replay a
/// signed authorisation to drain the rest of a holding; to withdraw in parts, sign one
/// authorisation per part). Returns the amount paid.
pub fn withdraw(
    ledger: &mut impl LedgerState,
    auth: &WithdrawalAuth,
    sig: &Sig,
) -> PluginResult<Amount> {
    let channel = &auth.channel_id;
    if !ledger.is_settled(channel, &auth.asset)? {
        return Err(reject(format!(
            "withdraw refused: the holder of asset {} has no outcome for channel {channel}; \
             conclude it first (conclude after the dispute timeout, or conclude_final)",
            auth.asset
        )));
    }
    if auth.signer(sig).as_ref() != Some(&auth.participant) {
        return Err(reject(format!(
            "withdraw refused: the authorisation is not signed by participant {}",
            auth.participant
        )));
    }
    // What the contract records: the hash of the whole authorisation (its signed message).
    let hash = keccak256(&[&auth.encode()]);
    if ledger.is_spent(&hash)? {
        return Err(reject(format!(
            "withdraw refused: this authorisation ({} of asset {} to {}) was already paid out; \
             each authorisation is paid once",
            auth.amount, auth.asset, auth.receiver
        )));
    }
    let funding = funding_id(channel, &auth.participant);
    let holding = ledger.holding(&funding, &auth.asset)?;
    let rest = holding.checked_sub(auth.amount).ok_or_else(|| {
        reject(format!(
            "withdraw refused: {} holds {holding} of asset {} in channel {channel}, the \
             authorisation asks for {}",
            auth.participant, auth.asset, auth.amount
        ))
    })?;
    let receiver = auth.receiver.as_bytes();
    let paid = ledger
        .balance(receiver, &auth.asset)?
        .checked_add(auth.amount)
        .ok_or_else(|| reject("withdraw refused: the receiver's balance would overflow"))?;
    ledger.set_spent(&hash)?;
    ledger.set_holding(&funding, &auth.asset, rest)?;
    ledger.set_balance(receiver, &auth.asset, paid)?;
    Ok(auth.amount)
}
