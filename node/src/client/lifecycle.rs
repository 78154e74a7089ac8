//! The chain side of a channel's life, driven by what its task reports (a proven peer fault
//! it reports becomes the channel's reason, before the dispute it causes starts):
//! - `Opening`: the opening must complete within the funding timeout, or the channel is
//!   abandoned (nothing of ours is deposited before `Funding`; a peer that got further recovers
//!   its deposit through its own funding timeout);
//! - from `Funding` on, the channel is watched on chain (again after every restart, since a
//!   restored channel reports its phase once);
//! - `Funding`: fund our share; if the peer's deposit never comes, recover ours through a
//!   dispute (the channel moves to `Disputed`). A channel whose peer is unknown (its link was
//!   lost) cannot be used: it is not funded, and what is deposited is recovered at once;
//! - `Closing`: conclude with the final state (or let the peer do it) and withdraw our share
//!   ([`super::closing`]);
//! - `Disputed`: the watcher's dispute driver takes over;
//! - `Closed`: stop watching; once the task reports the channel archived, it leaves the
//!   registry (no task, no redial, no watch);
//! - a store outage or its end goes into the channel's status.
//!
//! Each step runs the chain backend's waiting calls on blocking threads and reports back to
//! the channel task (`funded`, `concluded`); a failure is recorded in the channel's status for
//! the API to show, and the channel stays where it was.
//!
//! Restarting is safe at any point: funding skips what is already deposited, concluding
//! first reads whether the channel concluded already, and withdrawing a zero holding is not
//! an error.

use super::chain::{blocking, ChainAccess};
use super::channel_task::{ChannelHandle, ChannelReport};
use super::registry::Registry;
use crate::config::{PolicySection, TestingSection};
use crate::protocol::Phase;
use parley_plugin_api::model::{ChannelId, FundingOutcome, FundingRequest};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// The chain side of the channels: what funding, the cooperative close and the watchtower's
/// dispute driver ([`crate::watcher`]) work with.
pub struct ChainSide {
    /// The running channels, whose status the chain side keeps.
    pub registry: Arc<Registry>,
    /// The chain, and our account on it.
    pub chain: Arc<ChainAccess>,
    /// `[policy]`: the funding timeout and the patience with a peer that should conclude.
    pub policy: PolicySection,
    /// `[testing]`: what a test node withholds on chain (all off on real nodes).
    pub testing: TestingSection,
}

/// Runs the lifecycle for every report on `reports` until the node is gone.
pub fn spawn_lifecycle(
    side: Weak<ChainSide>,
    mut reports: UnboundedReceiver<(ChannelId, ChannelReport)>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some((id, report)) = reports.recv().await {
            let Some(side) = side.upgrade() else { return };
            let phase = match report {
                ChannelReport::Phase(phase) => phase,
                ChannelReport::StoreFailed(outage) => {
                    side.registry.set_store(&id, Some(outage));
                    continue;
                }
                ChannelReport::StoreRecovered => {
                    side.registry.set_store(&id, None);
                    continue;
                }
                ChannelReport::Archived => {
                    side.registry.remove(&id);
                    tracing::info!(channel = %id, "channel closed and archived (`parley channel list --closed` shows it)");
                    continue;
                }
                ChannelReport::PeerFault(reason) => {
                    side.registry.set_reason(&id, reason);
                    continue;
                }
            };
            side.registry.set_phase(&id, phase);
            match phase {
                Phase::Opening => {
                    tokio::spawn(expire_opening(Arc::downgrade(&side), id));
                }
                Phase::Funding => {
                    tokio::spawn(watch(side.clone(), id, true));
                    if peer_unknown(&side, id) {
                        tokio::spawn(recover_unusable(side, id));
                    } else if !side.testing.withholds_deposit(id) {
                        tokio::spawn(fund(side, id));
                    }
                }
                Phase::Active => {
                    tokio::spawn(watch(side, id, true));
                }
                Phase::Closing => {
                    tokio::spawn(watch(side.clone(), id, true));
                    tokio::spawn(super::closing::close(side, id));
                }
                Phase::Disputed => {
                    tokio::spawn(watch(side.clone(), id, true));
                    crate::watcher::driver::spawn_dispute(&side, id);
                }
                Phase::Closed => {
                    tokio::spawn(watch(side, id, false));
                }
            }
        }
    })
}

/// Gives an opening until the funding timeout: a channel still `Opening` then is abandoned.
/// Nothing of ours is deposited before `Funding`, so nothing is lost; a peer that reached
/// `Funding` and deposited recovers its deposit through its own funding timeout. (After a
/// restart the time counts again from the start, so an opening never ends early.)
async fn expire_opening(side: Weak<ChainSide>, id: ChannelId) {
    let Some(timeout) = side.upgrade().map(|node| node.policy.funding_timeout) else {
        return;
    };
    tokio::time::sleep(timeout).await;
    let Some(side) = side.upgrade() else { return };
    if still_in(&side, id, Phase::Opening) != Some(true) {
        return;
    }
    let Ok(handle) = channel_handle(&side, id) else {
        return;
    };
    let reason = format!(
        "the opening did not complete within {} s ([policy] funding_timeout_seconds): the peer's \
         signature on version 0 never arrived; the channel was abandoned, and this node \
         deposited nothing",
        timeout.as_secs()
    );
    tracing::warn!(channel = %id, "{reason}");
    side.registry.set_reason(&id, reason.clone());
    if let Err(error) = handle.abandon(reason).await {
        tracing::debug!(channel = %id, "the opening ended meanwhile: {error}");
    }
}

/// Whether channel `id` runs without a known peer (its link was lost).
fn peer_unknown(side: &ChainSide, id: ChannelId) -> bool {
    side.registry
        .get(&id)
        .is_some_and(|entry| entry.peer.is_none())
}

/// A channel in `Funding` whose peer is unknown can never be used: it is not funded, and what
/// either side deposited is recovered through a dispute (version 0 registered, then the
/// deposits withdrawn).
async fn recover_unusable(side: Arc<ChainSide>, id: ChannelId) {
    let reason = "this node does not know the channel's peer (its record was lost), so the \
                  channel cannot be used: not depositing, and recovering what was deposited \
                  through a dispute"
        .to_string();
    tracing::error!(channel = %id, "{reason}");
    side.registry.set_reason(&id, reason);
    let Ok(handle) = channel_handle(&side, id) else {
        return;
    };
    if let Err(error) = handle.dispute().await {
        tracing::warn!(channel = %id, "cannot start the dispute that recovers the deposits: {error}");
    }
}

/// Starts (`on`) or stops following channel `id`'s events on chain. Idempotent.
async fn watch(side: Arc<ChainSide>, id: ChannelId, on: bool) {
    let chain = side.chain.ledger.clone();
    let result = blocking(move || {
        if on {
            chain.watch(&id)
        } else {
            chain.unwatch(&id)
        }
    })
    .await;
    if let Err(error) = result {
        // Without events the dispute driver still polls the chain once a dispute runs, but an
        // active channel would miss a registration: say so loudly.
        tracing::error!(channel = %id, "cannot {} the channel on chain: {error}", if on { "watch" } else { "unwatch" });
        if on {
            side.registry.set_problem(
                &id,
                format!("the chain backend cannot watch the channel: {error}"),
            );
        }
    }
}

/// The pause before a failed funding or cooperative close is tried again.
const RETRY: Duration = Duration::from_secs(5);

/// Deposits our share and waits for the peer's; then tells the task the channel is funded.
/// A failure (the chain unreachable, a transaction refused) is retried while the channel is
/// still funding: depositing skips what is already held, so a retry never pays twice.
async fn fund(side: Arc<ChainSide>, id: ChannelId) {
    retrying(
        Arc::downgrade(&side),
        id,
        Phase::Funding,
        |side| async move { try_fund(&side, id).await.map(|()| Progress::Done) },
    )
    .await;
}

/// How far a step of the chain side got.
pub enum Progress {
    /// The step is complete.
    Done,
    /// Nothing more to do now: take the step again after this pause, or earlier when a chain
    /// event concerns the channel.
    Later(Duration),
}

/// Runs `step` until it is done, the channel leaves `phase`, or the node is gone. Each failure
/// goes into the channel's status (and the log) and is tried again after [`RETRY`]. The node
/// is only borrowed for one step, so a shutdown never waits on a pause.
pub async fn retrying<F, Fut>(side: Weak<ChainSide>, id: ChannelId, phase: Phase, step: F)
where
    F: Fn(Arc<ChainSide>) -> Fut,
    Fut: std::future::Future<Output = Result<Progress, String>>,
{
    loop {
        let Some(node) = side.upgrade() else { return };
        let pause = match step(node.clone()).await {
            Ok(Progress::Done) => return,
            Ok(Progress::Later(pause)) => pause,
            Err(problem) => {
                let problem = format!("{problem} (trying again in {} s)", RETRY.as_secs());
                tracing::warn!(channel = %id, "{problem}");
                node.registry.set_problem(&id, problem);
                RETRY
            }
        };
        let nudge = node.registry.nudge(&id);
        drop(node);
        match nudge {
            Some(nudge) => {
                let _ = tokio::time::timeout(pause, nudge.notified()).await;
            }
            None => tokio::time::sleep(pause).await,
        }
        let Some(node) = side.upgrade() else { return };
        let current = node.registry.phase(&id);
        if current != Some(phase) {
            return;
        }
    }
}

async fn try_fund(side: &ChainSide, id: ChannelId) -> Result<(), String> {
    let handle = channel_handle(side, id)?;
    let snapshot = handle
        .snapshot()
        .await
        .map_err(|e| format!("cannot fund: {e}"))?
        .snapshot;
    let from = side
        .chain
        .account()
        .map_err(|e| format!("cannot fund: {}", e.message()))?
        .clone();
    let timeout = side.policy.funding_timeout.as_secs();
    let request = FundingRequest {
        params: snapshot.channel.params,
        state: snapshot.latest.state,
        index: snapshot.channel.my_index,
        from,
        timeout_secs: timeout,
    };
    tracing::info!(channel = %id, "funding: depositing our share and waiting for the peer's");
    let chain = side.chain.ledger.clone();
    let outcome = blocking(move || chain.fund(&request))
        .await
        .map_err(|e| format!("funding failed: {e}"))?;
    match outcome {
        FundingOutcome::Funded => match handle.funded().await {
            Ok(()) => {
                tracing::info!(channel = %id, "funded");
                Ok(())
            }
            // A dispute started meanwhile (the peer gave up on the funding first): the
            // dispute driver settles the channel.
            Err(_) if still_funding(side, id) == Some(false) => Ok(()),
            Err(e) => Err(format!("funded on chain, but the channel refused it: {e}")),
        },
        FundingOutcome::TimedOut { missing } => {
            let missing: Vec<String> = missing
                .iter()
                .map(|(participant, asset)| format!("participant {participant} asset {asset}"))
                .collect();
            let note = format!(
                "funding timed out after {timeout} s ([policy] funding_timeout_seconds); missing \
                 deposits: {}; recovering our deposit through a dispute (register version 0, \
                 wait the challenge duration, conclude, withdraw)",
                missing.join(", ")
            );
            tracing::warn!(channel = %id, "{note}");
            side.registry.set_reason(&id, note);
            match handle.dispute().await {
                Ok(()) => Ok(()),
                Err(_) if still_funding(side, id) == Some(false) => Ok(()),
                Err(e) => Err(format!(
                    "funding timed out, and the channel refused the dispute that recovers our deposit: {e}"
                )),
            }
        }
    }
}

/// Whether channel `id` is still in `Funding` (`None`: not running).
fn still_funding(side: &ChainSide, id: ChannelId) -> Option<bool> {
    still_in(side, id, Phase::Funding)
}

/// Whether channel `id` is still in `phase` (`None`: not running).
fn still_in(side: &ChainSide, id: ChannelId, phase: Phase) -> Option<bool> {
    side.registry.phase(&id).map(|now| now == phase)
}

/// The task handle of running channel `id`.
pub fn channel_handle(side: &ChainSide, id: ChannelId) -> Result<ChannelHandle, String> {
    side.registry
        .handle_and_peer(&id)
        .map(|(handle, _)| handle)
        .ok_or_else(|| format!("channel {id} is not running"))
}
