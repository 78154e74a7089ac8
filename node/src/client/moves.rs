//! Moves in app channels: the action a person gives (JSON, as the channel's app takes it),
//! made like a payment, answered once the others accepted it; in a channel in dispute, made
//! on chain by the channel's owner (`onchain::force`).

use super::driver::Driver;
use super::error::Error;
use super::overview::ChannelOverview;
use crate::protocol::Phase;
use parley_plugin_api::model::ChannelId;

impl Driver {
    /// Makes the move `action` in app channel `id`; returns the channel once the others
    /// accepted it (or the app's, the channel's or the peer's refusal).
    pub async fn app_move(&self, id: ChannelId, action: String) -> Result<ChannelOverview, Error> {
        let (handle, peer) = self.entry(id)?;
        if self.registry.phase(&id) == Some(Phase::Disputed) {
            // Nobody answers off chain any more: the move goes on chain, made by the
            // channel's owner (force execution).
            self.force_moves.make(id, action).await?;
            return self.channel(id).await;
        }
        let Some(peer) = peer else {
            return Err(Error::conflict(format!(
                "channel {id} cannot be used: this node has no record of its peer; settle it \
                 with `parley channel settle {id} --force`"
            )));
        };
        if !self.peers.is_connected(&peer) {
            self.dialer.ensure_connected(peer).await?;
        }
        let limit = self.policy.update_timeout;
        match tokio::time::timeout(limit, handle.app_move(action)).await {
            Ok(Ok(_version)) => self.channel(id).await,
            Ok(Err(error)) => Err(error.into()),
            Err(_) => Err(Error::unavailable(format!(
                "the peer did not answer the move within {} s ([policy] update_timeout_seconds); \
                 `parley channel show {id}` shows whether it completed",
                limit.as_secs()
            ))),
        }
    }
}
