//! Settling a channel: cooperatively (a final state agreed with the peer, then concluded on
//! chain), or unilaterally through a dispute when forced or when the peer does not answer; and,
//! on test nodes only, registering an old state as a cheating peer would.

use super::chain::{blocking, chain_call};
use super::channel_task::{ChannelHandle, CommandError};
use super::driver::Driver;
use super::error::Error;
use super::onchain::tree::newest_tree;
use super::overview::ChannelOverview;
use crate::protocol::{ChannelError, Funding, Phase};
use crate::wire::NodeId;
use parley_plugin_api::model::{ChannelId, RegisterRequest};
use std::time::Duration;

/// How long settling waits for the chain to pay out (besides the challenge duration).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a cooperative settlement did not happen.
enum Cooperation {
    /// The peer cannot be reached or did not answer in time: settle unilaterally instead.
    Unanswered(Error),
    /// Anything else (the peer refused, the store failed): the caller is told.
    Failed(Error),
}

impl Driver {
    /// Settles channel `id`: agrees a final state with the peer and concludes on chain, or with
    /// `force` (or when the peer does not answer) settles unilaterally through a dispute;
    /// returns once the chain has paid out.
    pub async fn settle(&self, id: ChannelId, force: bool) -> Result<ChannelOverview, Error> {
        let (handle, peer) = self.entry(id)?;
        let view = handle.snapshot().await?;
        let phase = view.snapshot.phase;
        let challenge = view.snapshot.channel.params.challenge_duration;
        match phase {
            Phase::Opening if force => {
                // Nothing is fully signed and nothing of ours deposited: ending it is all
                // there is.
                let reason = "the opening was abandoned (--force); this node deposited nothing";
                self.registry.set_reason(&id, reason.to_string());
                match handle.abandon(reason.to_string()).await {
                    Ok(()) | Err(CommandError::Channel(ChannelError::WrongPhase { .. })) => {}
                    Err(error) => return Err(error.into()),
                }
            }
            Phase::Opening => {
                return Err(Error::conflict(format!(
                    "channel {id} is still opening: nothing is signed to settle with and nothing \
                     of ours is deposited; it ends by itself if the opening does not complete \
                     within [policy] funding_timeout_seconds, or now with `parley channel \
                     settle {id} --force`"
                )))
            }
            Phase::Funding if !force => {
                return Err(Error::conflict(format!(
                    "channel {id} is not funded yet; to get the deposits back now, settle it \
                     unilaterally (`parley channel settle {id} --force`)"
                )))
            }
            Phase::Funding | Phase::Active if force => {
                self.registry
                    .set_reason(&id, "settling unilaterally (--force)".to_string());
                dispute(&handle, id).await?
            }
            Phase::Active => {
                // A parent's final state may lock nothing: its sub-channels settle first, each
                // merging its outcome back into it (deepest first, by recursion).
                for child in &view.snapshot.latest.state.allocation.locked {
                    if self.registry.contains(&child.id) {
                        Box::pin(self.settle(child.id, false)).await.map_err(|e| {
                            Error::conflict(format!(
                                "channel {id} locks funds in sub-channel {}, which did not \
                                 settle: {}",
                                child.id,
                                e.message()
                            ))
                        })?;
                    }
                }
                if let Err(failure) = self.settle_cooperatively(&handle, peer).await {
                    let why = match failure {
                        Cooperation::Failed(why) => return Err(why),
                        Cooperation::Unanswered(why) => why,
                    };
                    tracing::warn!(channel = %id, "{}; settling unilaterally instead", why.message());
                    self.registry.set_reason(
                        &id,
                        format!("{}; settling unilaterally instead", why.message()),
                    );
                    dispute(&handle, id).await?;
                }
            }
            Phase::Funding | Phase::Closing | Phase::Disputed | Phase::Closed => {}
        }
        // A dispute takes the challenge duration (chain time, which moves at least as fast as
        // the wall clock on every ledger) plus the transactions.
        let limit = SETTLE_TIMEOUT + Duration::from_secs(challenge);
        let closed = self.wait_for_phase(id, Phase::Closed, limit).await?;
        // The channel may be archived already: what the node saw on chain is in the status.
        let mut overview = self.channel(id).await?;
        if overview.dispute.is_none() {
            overview.dispute = closed.dispute.clone();
        }
        if overview.status.is_none() {
            overview.status = closed.describe();
        }
        Ok(overview)
    }

    /// Agrees the final state with the peer.
    async fn settle_cooperatively(
        &self,
        handle: &ChannelHandle,
        peer: Option<NodeId>,
    ) -> Result<(), Cooperation> {
        let Some(peer) = peer else {
            return Err(Cooperation::Unanswered(Error::unavailable(
                "this node has no record of the channel's peer",
            )));
        };
        self.dialer
            .ensure_connected(peer)
            .await
            .map_err(Cooperation::Unanswered)?;
        let limit = self.policy.update_timeout;
        match tokio::time::timeout(limit, handle.propose_final()).await {
            Ok(Ok(_)) => Ok(()),
            // A store that fails is no reason to go on chain: it says nothing about the peer.
            Ok(Err(error)) => Err(Cooperation::Failed(error.into())),
            Err(_) => Err(Cooperation::Unanswered(Error::unavailable(format!(
                "the peer did not answer the final update within {} s ([policy] update_timeout_seconds)",
                limit.as_secs()
            )))),
        }
    }

    /// Registers an old state (`version`) of channel `id` on chain and keeps this node from
    /// refuting it: what a cheating peer does. Test nodes only.
    pub async fn misbehave_register(
        &self,
        id: ChannelId,
        version: u64,
    ) -> Result<ChannelOverview, Error> {
        self.testing
            .allow_cheating()
            .map_err(|refused| Error::conflict(refused.to_string()))?;
        let (handle, _) = self.entry(id)?;
        let signed = handle.signed_version(version).await?.ok_or_else(|| {
            Error::invalid(
                "version",
                format!(
                    "this node holds no fully signed version {version} of channel {id} (it keeps \
                     the versions signed since it started)"
                ),
            )
        })?;
        let me = self.chain.account()?.clone();
        // A sub-channel goes on chain with its whole tree, from the root: our newest states,
        // but the old one for this sub-channel.
        let (root, register) = if handle.snapshot().await?.snapshot.funding == Funding::Ledger {
            let register = RegisterRequest {
                from: me,
                channel: signed,
                sub_channels: Vec::new(),
            };
            (id, register)
        } else {
            let (root, mut subs) = newest_tree(&self.registry, id)
                .await
                .map_err(Error::conflict)?;
            for sub in subs.iter_mut().filter(|s| s.state.channel_id == id) {
                *sub = signed.clone();
            }
            let root_id = root.state.channel_id;
            let register = RegisterRequest {
                from: me,
                channel: root,
                sub_channels: subs,
            };
            (root_id, register)
        };
        self.registry.set_refute(&id, false);
        self.registry.set_refute(&root, false);
        let chain = self.chain.ledger.clone();
        if let Err(error) =
            chain_call("register the old state", move || chain.register(&register)).await
        {
            self.registry.set_refute(&id, true);
            self.registry.set_refute(&root, true);
            return Err(error);
        }
        let note = crate::testing::registered_old_state(id, version);
        self.registry.set_reason(&id, note);
        let chain = self.chain.ledger.clone();
        if let Ok((record, now)) = blocking(move || Ok((chain.dispute(&id)?, chain.now()?))).await {
            self.registry.set_dispute(&id, record, now);
        }
        dispute(&handle, id).await?;
        self.channel(id).await
    }
}

/// Stops the channel's updates and hands it to the dispute driver, which registers our newest
/// state.
async fn dispute(handle: &ChannelHandle, id: ChannelId) -> Result<(), Error> {
    match handle.dispute().await {
        Ok(()) => Ok(()),
        // The channel moved on meanwhile (a final state, or already disputed or closed):
        // settling continues from there.
        Err(CommandError::Channel(ChannelError::WrongPhase { .. })) => Ok(()),
        Err(error) => Err(error.into()),
    }
    .inspect(|()| tracing::info!(channel = %id, "settling unilaterally"))
}
