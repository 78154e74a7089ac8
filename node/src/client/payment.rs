//! Paying the peer over a channel.

use super::channel_task::CommandError;
use super::driver::Driver;
use super::error::Error;
use super::overview::{no_channel, ChannelOverview};
use crate::protocol::{ChannelError, PaymentError, Phase};
use parley_plugin_api::model::{Amount, ChannelId};

impl Driver {
    /// Pays `amount` of `asset` (by name; the channel's only asset when `None`) to the peer of
    /// channel `id`; returns once the new state is signed by both and durable.
    pub async fn pay(
        &self,
        id: ChannelId,
        amount: Amount,
        asset: Option<&str>,
    ) -> Result<ChannelOverview, Error> {
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
        match tokio::time::timeout(limit, handle.pay(index, amount)).await {
            Ok(Ok(_version)) => {}
            Ok(Err(CommandError::Channel(ChannelError::Payment(PaymentError::Overdraft {
                available,
                requested,
            })))) => {
                // The protocol's error knows no asset; the user reads it in the asset's units.
                let show = |amount| self.chain.show(&assets[index], amount);
                return Err(Error::insufficient_funds(format!(
                    "the payment of {} exceeds the available balance of {}",
                    show(&requested),
                    show(&available)
                )));
            }
            Ok(Err(error)) => return Err(error.into()),
            Err(_) => {
                return Err(Error::unavailable(format!(
                    "the peer did not answer within {} s; the payment completes or is dropped when the channels re-synchronise (`parley channel show {id}` then shows the new version and balances if it completed)",
                    limit.as_secs(),
                )))
            }
        }
        self.channel(id).await
    }
}
