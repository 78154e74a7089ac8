//! Paying the peer over a channel, and the payment history.

use super::chain::overdraft_reason;
use super::channel_task::{CommandError, PaymentTag};
use super::driver::Driver;
use super::error::Error;
use super::overview::{no_channel, ChannelOverview};
use crate::protocol::{ChannelError, PaymentError, Phase};
use crate::store::{Direction, PaymentId, PaymentRecord, PaymentStatus};
use parley_plugin_api::model::{Amount, ChannelId};

/// What a payment is asked to be, besides its channel and amount.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PayOptions {
    /// The asset by name; the channel's only asset when `None`.
    pub asset: Option<String>,
    /// The payment's id, chosen by the caller so that a call that times out can be looked up
    /// (and repeating a call with the same id pays once); a fresh one when `None`.
    pub id: Option<PaymentId>,
    /// The invoice's memo, for an invoice payment.
    pub memo: String,
}

impl Driver {
    /// Pays `amount` of `asset` (by name; the channel's only asset when `None`) to the peer of
    /// channel `id`; returns once the new state is signed by both and durable.
    pub async fn pay(
        &self,
        id: ChannelId,
        amount: Amount,
        asset: Option<&str>,
    ) -> Result<ChannelOverview, Error> {
        let options = PayOptions {
            asset: asset.map(str::to_string),
            ..PayOptions::default()
        };
        self.pay_with(id, amount, options).await
    }

    /// [`Driver::pay`] as `options` say. A payment id already in the history as completed or
    /// pending is not paid again: the call answers with the channel as it is if that payment
    /// completed, and fails saying so if it is pending; one that was rejected or failed may be
    /// tried again under its id. The id of a payment this node received is refused (the payer
    /// chose it, and the payee records under it).
    pub async fn pay_with(
        &self,
        id: ChannelId,
        amount: Amount,
        options: PayOptions,
    ) -> Result<ChannelOverview, Error> {
        let started = std::time::Instant::now();
        let outcome = self.pay_counted(id, amount, options).await;
        self.metrics.payment(started.elapsed(), outcome.is_ok());
        outcome
    }

    /// [`Driver::pay_with`] without the metrics.
    async fn pay_counted(
        &self,
        id: ChannelId,
        amount: Amount,
        options: PayOptions,
    ) -> Result<ChannelOverview, Error> {
        let payment_id = options.id.unwrap_or_else(PaymentId::random);
        let earlier = self.payment_record(&payment_id)?;
        if let Some(done) = earlier
            .filter(|p| matches!(p.status, PaymentStatus::Completed | PaymentStatus::Pending))
        {
            return match (done.status, done.direction) {
                (_, Direction::Received) => Err(Error::conflict(format!(
                    "payment {payment_id} is one this node received (`parley payment {payment_id}`); pay under another id"
                ))),
                (PaymentStatus::Completed, _) if done.channel == id => self.channel(id).await,
                (status, _) => Err(Error::conflict(format!(
                    "payment {payment_id} was already asked for: it is {}{} (`parley payment {payment_id}`); pay again under another id",
                    status.as_str(),
                    status.reason().map(|r| format!(": {r}")).unwrap_or_default()
                ))),
            };
        }
        let asset = options.asset.as_deref();
        let running = self.registry.get(&id).ok_or_else(|| no_channel(id))?;
        let (handle, peer, phase, assets) =
            (running.handle, running.peer, running.phase, running.assets);
        // A quick answer for a channel that is plainly not active (before trying to reach its
        // peer); the channel task checks the phase, the balance and every other rule itself.
        if phase != Phase::Active {
            return Err(Error::conflict(format!(
                "channel {id} is {phase}; payments need an active channel"
            )));
        }
        let index = match asset {
            None if assets.len() == 1 => 0,
            None => {
                return Err(Error::invalid(
                    "asset",
                    "the channel holds several assets; name one",
                ))
            }
            Some(name) => assets
                .iter()
                .position(|a| self.chain.asset_name(a) == name)
                .ok_or_else(|| {
                    Error::invalid("asset", format!("the channel holds no asset `{name}`"))
                })?,
        };
        let Some(peer) = peer else {
            return Err(Error::conflict(format!(
                "channel {id} cannot be used: this node has no record of its peer; settle it with `parley channel settle {id} --force`"
            )));
        };
        if !self.peers.is_connected(&peer) {
            self.dialer.ensure_connected(peer).await?;
        }
        let limit = self.policy.update_timeout;
        let payment = PaymentTag {
            id: payment_id,
            asset: index,
            amount,
            memo: options.memo,
            asked_ms: now_ms(),
        };
        match tokio::time::timeout(limit, handle.pay_tracked(payment)).await {
            Ok(Ok(_version)) => {}
            Ok(Err(CommandError::Channel(ChannelError::Payment(PaymentError::Overdraft {
                available,
                requested,
            })))) => {
                return Err(Error::insufficient_funds(overdraft_reason(
                    &self.chain.info.assets,
                    &assets[index],
                    &requested,
                    &available,
                )));
            }
            Ok(Err(error)) => return Err(error.into()),
            Err(_) if withdrawn(&handle, payment_id).await => {
                return Err(Error::unavailable(format!(
                    "payment {payment_id} waited {} s behind earlier updates the peer has not answered, so it was not made (`parley payment {payment_id}` shows it failed); pay again once the channel is free",
                    limit.as_secs(),
                )))
            }
            Err(_) => {
                return Err(Error::unavailable(format!(
                    "the peer did not answer payment {payment_id} within {} s; it completes or is dropped when the peer answers or the channels re-synchronise (`parley payment {payment_id}` shows where it stands)",
                    limit.as_secs(),
                )))
            }
        }
        self.channel(id).await
    }
}

/// How long a timed-out payment's withdrawal may take: the task answers at once unless it is
/// stuck (a store commit that hangs), and then the payment is told as possibly pending.
const WITHDRAW_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether payment `id`, whose call timed out, was withdrawn before it started.
async fn withdrawn(handle: &super::channel_task::ChannelHandle, id: PaymentId) -> bool {
    tokio::time::timeout(WITHDRAW_LIMIT, handle.withdraw_payment(id))
        .await
        .unwrap_or(false)
}

impl Driver {
    /// The payment history, newest first: only channel `channel`'s when given, `offset`
    /// records skipped, at most `limit`.
    pub fn payments(
        &self,
        channel: Option<ChannelId>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, Error> {
        let (records, broken) = self
            .store
            .payments()
            .map_err(|e| Error::internal(format!("cannot read the payment history: {e}")))?;
        for problem in broken {
            tracing::warn!("payment history: {problem}");
        }
        Ok(records
            .into_iter()
            .filter(|r| channel.is_none_or(|c| r.channel == c))
            .skip(offset)
            .take(limit)
            .collect())
    }

    /// Payment `id`.
    pub fn payment(&self, id: PaymentId) -> Result<PaymentRecord, Error> {
        self.payment_record(&id)?.ok_or_else(|| {
            Error::not_found(format!(
                "no payment {id} on this node; `parley payments` lists them"
            ))
        })
    }

    /// Payment `id` as [`Driver::payment`] reads it, once a completion its channel still
    /// writes is durable: a payment that returned is then listed as completed.
    pub async fn payment_settled(&self, id: PaymentId) -> Result<PaymentRecord, Error> {
        let record = self.payment(id)?;
        if record.status != crate::store::PaymentStatus::Pending {
            return Ok(record);
        }
        self.flush_channel(record.channel).await;
        self.payment(id)
    }

    /// [`Driver::payments`], once the channels of the pending ones wrote what they queued.
    pub async fn payments_settled(
        &self,
        channel: Option<ChannelId>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, Error> {
        let records = self.payments(channel, offset, limit)?;
        let mut pending: Vec<ChannelId> = records
            .iter()
            .filter(|r| r.status == crate::store::PaymentStatus::Pending)
            .map(|r| r.channel)
            .collect();
        if pending.is_empty() {
            return Ok(records);
        }
        pending.sort_unstable_by_key(|id| id.0);
        pending.dedup();
        for id in pending {
            self.flush_channel(id).await;
        }
        self.payments(channel, offset, limit)
    }

    /// Waits until every running channel wrote everything it queued (a node about to stop),
    /// for at most [`WITHDRAW_LIMIT`] in all.
    pub async fn flush_channels(&self) {
        let handles = self.registry.all();
        let flushed = async {
            for (handle, _) in &handles {
                let _ = handle.flush().await;
            }
        };
        if tokio::time::timeout(WITHDRAW_LIMIT, flushed).await.is_err() {
            tracing::warn!(
                "some channels did not write what they held within {} s as the node stopped",
                WITHDRAW_LIMIT.as_secs()
            );
        }
    }

    /// Waits until channel `id` (if it runs) wrote everything it queued, for at most
    /// [`WITHDRAW_LIMIT`] (a task stuck on a store commit that hangs leaves the record as read).
    async fn flush_channel(&self, id: ChannelId) {
        if let Some(running) = self.registry.get(&id) {
            let _ = tokio::time::timeout(WITHDRAW_LIMIT, running.handle.flush()).await;
        }
    }

    fn payment_record(&self, id: &PaymentId) -> Result<Option<PaymentRecord>, Error> {
        self.store
            .payment(id)
            .map_err(|e| Error::internal(format!("cannot read payment {id}: {e}")))
    }
}

/// Now, in Unix milliseconds.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
