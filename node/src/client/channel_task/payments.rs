//! The payments of one channel, as the task records them: sans-IO, with the time as an input.
//!
//! Each persist batch is shown to [`PaymentLog::on_batch`] before it is written, and the
//! payment records it returns go into that same batch: a payment costs no commit of its own.
//! - Our payment is recorded `pending` with the batch that holds its pending update (the
//!   version it proposes), and `completed` with the batch that makes that version the newest
//!   state. An update may make several of our payments (queued ones batched): each has its
//!   record, with the balances of that update's state.
//! - A state that follows the newest one by a transfer to us in a payment channel is a
//!   received payment: recorded with the batch that makes it durable (our accept, or a
//!   re-synchronisation), under the id the peer's proposal carried (so both nodes know it
//!   by one id) if no record holds that id yet, or else [`PaymentId::derived`]. A proposal
//!   that names several payments ([`Offered`]) is recorded as those payments if their
//!   amounts add up to the transfer, and as one payment under the derived id otherwise.
//! - A final state is no payment: it is told as [`Event::ChannelSettling`].
//! - Our payment whose update was pending when the node restarted ([`PaymentLog::restore`],
//!   from its `pending` record) completes with the state that makes its version the newest
//!   (re-synchronisation brought the peer's signature), or ends as the task records it when its
//!   update is rejected or dropped.
//!
//! The events are published once the batch is durable.

use super::super::events::Event;
use crate::protocol::PersistRecord;
use crate::store::payments::payment_op;
use crate::store::{Direction, PaymentId, PaymentRecord, PaymentStatus};
use parley_plugin_api::model::{Amount, ChannelId, State, WriteOp};

/// A payment of ours as it was asked for: what the channel task keeps with the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentTag {
    /// Its id.
    pub id: PaymentId,
    /// Asset index in the channel's allocation.
    pub asset: usize,
    /// How much.
    pub amount: Amount,
    /// The invoice's memo, for an invoice payment.
    pub memo: String,
    /// When it was asked for, in Unix milliseconds.
    pub asked_ms: u64,
}

/// A payment the peer's proposal names, checked by the task (its id free, its memo short).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offered {
    /// Its id.
    pub id: PaymentId,
    /// Its part of the transfer when the proposal makes several; `None`: the whole transfer.
    pub amount: Option<Amount>,
    /// The invoice's memo, for an invoice payment.
    pub memo: String,
}

/// What a batch adds: records to write with it, events to publish once it is durable.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Logged {
    /// Payment records, in the batch.
    pub ops: Vec<WriteOp>,
    /// Published after the batch is durable.
    pub events: Vec<Event>,
}

/// One channel's payment bookkeeping.
#[derive(Debug)]
pub struct PaymentLog {
    channel: ChannelId,
    me: usize,
    /// App channels make moves, not payments.
    is_app: bool,
    /// The newest state the store holds (or is about to hold): what a new one is compared
    /// with.
    durable: State,
    /// The payments the peer's proposal of this version named.
    offered: Option<(u64, Vec<Offered>)>,
    /// Our payments whose update was pending when the node restarted (their requests, and
    /// the callers, are gone; their `pending` records are in the store): the version it
    /// proposes.
    restored: Option<(u64, Vec<PaymentTag>)>,
}

impl PaymentLog {
    /// The log of `channel`, where we are participant `me`, whose newest durable state is
    /// `durable`.
    pub fn new(channel: ChannelId, me: usize, is_app: bool, durable: State) -> PaymentLog {
        PaymentLog {
            channel,
            me,
            is_app,
            durable,
            offered: None,
            restored: None,
        }
    }

    /// Our update of `version`, pending when the node restarted, makes payments `tags`: they
    /// complete (or end) without a request behind them.
    pub fn restore(&mut self, version: u64, tags: Vec<PaymentTag>) {
        self.restored = Some((version, tags));
    }

    /// The restored payments of `version`, taken out: their update ended without completing.
    pub fn take_restored(&mut self, version: u64) -> Vec<PaymentTag> {
        match &self.restored {
            Some((v, _)) if *v == version => self.restored.take().map(|(_, tags)| tags),
            _ => None,
        }
        .unwrap_or_default()
    }

    /// The store failed and the channel fell back to `durable`: compare what follows with it.
    pub fn fell_back(&mut self, durable: State) {
        self.durable = durable;
        self.offered = None;
    }

    /// Whether the peer's proposal of `version` named payments.
    pub fn has_offer(&self, version: u64) -> bool {
        matches!(&self.offered, Some((v, _)) if *v == version)
    }

    /// The payments the peer's proposal of `version` names, if they make up a transfer of
    /// `amount` to us (see [`consistent`]).
    pub fn offered_for(&self, version: u64, amount: Amount) -> Option<&[Offered]> {
        match &self.offered {
            Some((v, offered)) if *v == version && consistent(offered, amount) => {
                Some(offered.as_slice())
            }
            _ => None,
        }
    }

    /// The peer's proposal of `version` names these payments (an invoice's id and memo; the
    /// amounts of a batch).
    pub fn offer(&mut self, version: u64, offered: Vec<Offered>) {
        self.offered = Some((version, offered));
    }

    /// The records and events of `records`, about to be persisted as one batch; `ours` is our
    /// update in flight (its version) with the payments it makes, if it makes any.
    pub fn on_batch(
        &mut self,
        records: &[PersistRecord],
        ours: Option<(u64, &[&PaymentTag])>,
        now_ms: u64,
    ) -> Logged {
        let restored = self.restored.clone();
        let restored: Option<(u64, Vec<&PaymentTag>)> = restored
            .as_ref()
            .map(|(version, tags)| (*version, tags.iter().collect()));
        let ours = ours.or(restored
            .as_ref()
            .map(|(version, tags)| (*version, tags.as_slice())));
        let mut logged = Logged::default();
        for record in records {
            match record {
                PersistRecord::Pending(Some(pending)) => {
                    if let Some((version, tags)) = ours {
                        if version == pending.state.version {
                            for tag in tags {
                                let record = self.record(
                                    tag,
                                    &pending.state,
                                    PaymentStatus::Pending,
                                    now_ms,
                                );
                                logged.ops.push(payment_op(&record));
                            }
                        }
                    }
                }
                PersistRecord::Latest(latest) => {
                    let next = &latest.state;
                    // The next state, which may skip spent versions (one update, or after
                    // re-synchronisation the ones it brought, seen as one).
                    if next.version > self.durable.version {
                        self.follow(next, ours, now_ms, &mut logged);
                    }
                    if next.version > self.durable.version {
                        self.durable = next.clone();
                    }
                }
                _ => {}
            }
        }
        logged
    }

    /// The record of our payment `tag` that did not happen (`status`), for a write of its own.
    pub fn ended(
        &self,
        tag: &PaymentTag,
        version: Option<u64>,
        status: PaymentStatus,
        now_ms: u64,
    ) -> PaymentRecord {
        let mut record = self.record(tag, &self.durable, status, now_ms);
        record.version = version.unwrap_or(self.durable.version + 1);
        record
    }

    fn follow(
        &mut self,
        next: &State,
        ours: Option<(u64, &[&PaymentTag])>,
        now_ms: u64,
        logged: &mut Logged,
    ) {
        if next.is_final {
            logged.events.push(Event::ChannelSettling {
                channel: self.channel,
                version: next.version,
            });
            return;
        }
        if self.is_app {
            return;
        }
        let Some((asset, direction, amount)) = transfer(&self.durable, next, self.me) else {
            return;
        };
        let records = match (direction, ours) {
            (Direction::Sent, Some((version, tags))) if version == next.version => {
                if self.restored.as_ref().is_some_and(|(v, _)| *v == version) {
                    self.restored = None;
                }
                tags.iter()
                    .map(|tag| self.record(tag, next, PaymentStatus::Completed, now_ms))
                    .collect()
            }
            // Ours without a payment behind it: not asked for as a payment.
            (Direction::Sent, _) => return,
            (Direction::Received, _) => self.received(next, asset, amount, now_ms),
        };
        for record in records {
            logged.ops.push(payment_op(&record));
            logged.events.push(Event::Payment(Box::new(record)));
        }
    }

    /// The records of the payments that `next` makes to us, `amount` of asset index `asset`
    /// in all: those the peer's proposal named if they add up, or one under the derived id.
    fn received(
        &mut self,
        next: &State,
        asset: usize,
        amount: Amount,
        now_ms: u64,
    ) -> Vec<PaymentRecord> {
        let offered = match self.offered.take() {
            Some((version, offered)) if version == next.version && consistent(&offered, amount) => {
                offered
            }
            _ => vec![Offered {
                id: PaymentId::derived(&self.channel, next.version),
                amount: None,
                memo: String::new(),
            }],
        };
        offered
            .into_iter()
            .map(|payment| {
                let tag = PaymentTag {
                    id: payment.id,
                    asset,
                    amount: payment.amount.unwrap_or(amount),
                    memo: payment.memo,
                    asked_ms: now_ms,
                };
                let mut record = self.record(&tag, next, PaymentStatus::Completed, now_ms);
                record.direction = Direction::Received;
                record
            })
            .collect()
    }

    /// Our payment `tag` in `state`.
    fn record(
        &self,
        tag: &PaymentTag,
        state: &State,
        status: PaymentStatus,
        now_ms: u64,
    ) -> PaymentRecord {
        let them = 1 - self.me.min(1);
        let row = state.allocation.balances.get(tag.asset);
        let balance = |p: usize| row.and_then(|r| r.get(p)).copied().unwrap_or_default();
        PaymentRecord {
            id: tag.id,
            channel: self.channel,
            direction: Direction::Sent,
            asset: state
                .allocation
                .assets
                .get(tag.asset)
                .or(self.durable.allocation.assets.first())
                .cloned()
                .unwrap_or_default(),
            amount: tag.amount,
            version: state.version,
            status,
            mine: balance(self.me),
            theirs: balance(them),
            created_ms: tag.asked_ms,
            updated_ms: now_ms,
            memo: tag.memo.clone(),
        }
    }
}

/// Whether the payments a proposal names make up its transfer of `amount`: one payment
/// without an amount of its own (the whole transfer), or several whose amounts add up to it.
pub fn consistent(offered: &[Offered], amount: Amount) -> bool {
    match offered {
        [] => false,
        [one] if one.amount.is_none() => true,
        several => {
            several.iter().all(|o| o.amount.is_some())
                && Amount::checked_sum(several.iter().filter_map(|o| o.amount.as_ref()))
                    == Some(amount)
        }
    }
}

/// `next` as a transfer between the two participants of `prev` in one asset: its index, the
/// direction seen from participant `me`, and the amount. `None` for anything else (several
/// assets moved, locked funds or app data changed, more than two participants).
pub fn transfer(prev: &State, next: &State, me: usize) -> Option<(usize, Direction, Amount)> {
    let (a, b) = (&prev.allocation, &next.allocation);
    if a.assets != b.assets
        || a.locked != b.locked
        || prev.app_data != next.app_data
        || a.balances.len() != b.balances.len()
    {
        return None;
    }
    let mut moved = None;
    for (index, (before, after)) in a.balances.iter().zip(&b.balances).enumerate() {
        if before == after {
            continue;
        }
        if moved.is_some() || before.len() != 2 || after.len() != 2 {
            return None;
        }
        let them = 1 - me.min(1);
        let (mine_before, mine_after) = (before[me], after[me]);
        let (theirs_before, theirs_after) = (before[them], after[them]);
        moved = if let Some(paid) = mine_before.checked_sub(mine_after) {
            (theirs_after.checked_sub(theirs_before) == Some(paid)).then_some((
                index,
                Direction::Sent,
                paid,
            ))
        } else {
            let got = mine_after.checked_sub(mine_before)?;
            (theirs_before.checked_sub(theirs_after) == Some(got)).then_some((
                index,
                Direction::Received,
                got,
            ))
        };
        moved?;
    }
    moved
}

#[cfg(test)]
#[path = "payments_tests.rs"]
mod tests;
