//! The chain side of every channel, and the watchtower (DESIGN §4, Fund and Watch): one owner
//! per channel from its opening to its archive, which alone acts on chain for it.
//!
//! - [`router`] starts a channel's owner at the channel's first report and routes to it the
//!   channel task's reports and the chain backend's events about it.
//! - [`owner`] is that task: it feeds [`life`] what happens and carries out the duty it answers.
//! - [`life`] holds the rules, sans-IO with time as an input: which duty is due in which phase
//!   (watch, abandon an opening at the funding timeout, fund, stop for a dispute, settle,
//!   dispute rounds), and after a failure whether and when to try again, by the failure's kind
//!   ([`failure`]).
//! - The duties: [`funding`] (deposit and wait for the peer's), [`closing`] (the cooperative
//!   close: conclude with the final state, withdraw), [`dispute`] (register, refute, wait,
//!   conclude, withdraw), with their pure decisions [`decide`] and [`conclude_final`], what
//!   the chain holds for a disputed channel ([`on_record`]), and moves on chain in an app
//!   channel's force execution ([`force`], asked for by people through [`force::ForceMoves`]).
//!
//! Every channel is watched on chain from `Funding` on (so that a peer recovering its deposit
//! is seen too), again after every restart, and until it is closed.
//!
//! The phase itself lives with the channel task, which writes it into the channel's status in
//! the registry the moment it changes (API calls read it there) and reports it to the owner.
//! The owner writes the rest of the status: what it is doing (note), why the channel left its
//! normal course (reason), the last failure (problem) and the on-chain record.

pub mod closing;
pub mod conclude_final;
pub mod decide;
pub mod dispute;
pub mod failure;
pub mod force;
pub mod funder;
pub mod funding;
pub mod life;
pub mod on_record;
pub mod owner;
pub mod router;
pub mod tree;

use super::apps::Apps;
use super::chain::ChainAccess;
use super::channel_task::ChannelHandle;
use super::registry::Registry;
use crate::config::{PolicySection, TestingSection};
use crate::protocol::{ChannelSnapshot, Phase};
use failure::ChainFailure;
use life::Outcome;
use parley_plugin_api::model::{ChannelId, Participant};
use parley_plugin_api::ErrorKind;
use std::sync::Arc;

pub use router::spawn_chain_side;

/// What the owners of the channels' chain side work with.
pub struct ChainSide {
    /// The running channels, whose status the chain side keeps.
    pub registry: Arc<Registry>,
    /// The chain, and our account on it.
    pub chain: Arc<ChainAccess>,
    /// `[policy]`: the funding timeout and the patience with a peer that should conclude.
    pub policy: PolicySection,
    /// `[testing]`: what a test node withholds on chain (all off on real nodes).
    pub testing: TestingSection,
    /// The store, for the archive: a sub-channel whose parent closed reads it there.
    pub store: Arc<crate::store::ChannelStore>,
    /// The apps of `[[apps]]`, whose rules a move on chain follows.
    pub apps: Arc<Apps>,
    /// The counters an operator scrapes (disputes, failed steps).
    pub metrics: Arc<crate::client::metrics::Metrics>,
}

/// What a duty acts with: the channel's task, the channel as it is now, and our account.
pub struct Acting {
    /// The channel's task.
    pub handle: ChannelHandle,
    /// The channel as its task holds it now.
    pub snapshot: ChannelSnapshot,
    /// The account that sends our transactions and is paid.
    pub me: Participant,
}

impl ChainSide {
    /// Moves channel `id` to `Disputed` (no more updates; its task reports the phase, and the
    /// owner then runs dispute rounds). A refusal because the channel left `Funding`/`Active`
    /// meanwhile (closed, or disputed already) is no failure; any other is, described as `what`.
    pub async fn stop_for_dispute(
        &self,
        id: ChannelId,
        what: &str,
    ) -> Result<Outcome, ChainFailure> {
        let Some(running) = self.registry.get(&id) else {
            return Ok(Outcome::Done);
        };
        match running.handle.dispute().await {
            Ok(()) => {
                self.metrics.dispute();
                Ok(Outcome::Done)
            }
            Err(_)
                if !matches!(
                    self.registry.phase(&id),
                    Some(Phase::Funding | Phase::Active)
                ) =>
            {
                Ok(Outcome::Done)
            }
            Err(error) => Err(ChainFailure::channel(what, &error)),
        }
    }

    /// What a duty to `what` ("fund", "settle") on channel `id` acts with; `None` if the
    /// channel no longer runs. Failing to read the channel or to find our account is a failure
    /// of the duty.
    pub async fn acting(&self, id: ChannelId, what: &str) -> Result<Option<Acting>, ChainFailure> {
        let Some(running) = self.registry.get(&id) else {
            return Ok(None);
        };
        let snapshot = running
            .handle
            .snapshot()
            .await
            .map_err(|e| {
                ChainFailure::channel(format!("cannot {what}: reading the channel failed"), &e)
            })?
            .snapshot;
        let me = self
            .chain
            .account()
            .map_err(|e| {
                ChainFailure::new(ErrorKind::InvalidConfig, format!("cannot {what}: {e}"))
            })?
            .clone();
        Ok(Some(Acting {
            handle: running.handle,
            snapshot,
            me,
        }))
    }
}
