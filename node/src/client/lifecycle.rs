//! The chain side of a channel's life, driven by the phases its task reports:
//! - from `Funding` on, the channel is watched on chain (again after every restart, since a
//!   restored channel reports its phase once);
//! - `Funding`: fund our share; if the peer's deposit never comes, recover ours through a
//!   dispute (the channel moves to `Disputed`);
//! - `Closing`: conclude with the final state (or let the peer do it) and withdraw our share
//!   ([`super::closing`]);
//! - `Disputed`: the watcher's dispute driver takes over;
//! - `Closed`: stop watching.
//!
//! Each step runs the chain backend's waiting calls on blocking threads and reports back to
//! the channel task (`funded`, `concluded`); a failure is recorded in the channel's status for
//! the API to show, and the channel stays where it was.
//!
//! Restarting is safe at any point: funding skips what is already deposited, concluding
//! first reads whether the channel concluded already, and withdrawing a zero holding is not
//! an error.

use super::core::{blocking, NodeCore};
use crate::protocol::Phase;
use parley_plugin_api::model::{ChannelId, FundingOutcome, FundingRequest};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// Runs the lifecycle for every phase report on `phases` until the node is gone.
pub fn spawn_lifecycle(
    core: Weak<NodeCore>,
    mut phases: UnboundedReceiver<(ChannelId, Phase)>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some((id, phase)) = phases.recv().await {
            let Some(core) = core.upgrade() else { return };
            super::core::lock(&core.registry).set_phase(&id, phase);
            match phase {
                Phase::Opening => {}
                Phase::Funding => {
                    tokio::spawn(watch(core.clone(), id, true));
                    if core.testing.withhold_deposits {
                        tracing::warn!(channel = %id, "[testing] withhold_deposits: not depositing our share");
                    } else {
                        tokio::spawn(fund(core, id));
                    }
                }
                Phase::Active => {
                    tokio::spawn(watch(core, id, true));
                }
                Phase::Closing => {
                    tokio::spawn(watch(core.clone(), id, true));
                    tokio::spawn(super::closing::close(core, id));
                }
                Phase::Disputed => {
                    tokio::spawn(watch(core.clone(), id, true));
                    crate::watcher::driver::spawn_dispute(&core, id);
                }
                Phase::Closed => {
                    tokio::spawn(watch(core, id, false));
                }
            }
        }
    })
}

/// Starts (`on`) or stops following channel `id`'s events on chain. Idempotent.
async fn watch(core: Arc<NodeCore>, id: ChannelId, on: bool) {
    let chain = core.chain.clone();
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
            super::core::lock(&core.registry).set_problem(
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
async fn fund(core: Arc<NodeCore>, id: ChannelId) {
    retrying(
        Arc::downgrade(&core),
        id,
        Phase::Funding,
        |core| async move { try_fund(&core, id).await.map(|()| Progress::Done) },
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
pub async fn retrying<F, Fut>(core: Weak<NodeCore>, id: ChannelId, phase: Phase, step: F)
where
    F: Fn(Arc<NodeCore>) -> Fut,
    Fut: std::future::Future<Output = Result<Progress, String>>,
{
    loop {
        let Some(node) = core.upgrade() else { return };
        let pause = match step(node.clone()).await {
            Ok(Progress::Done) => return,
            Ok(Progress::Later(pause)) => pause,
            Err(problem) => {
                let problem = format!("{problem} (trying again in {} s)", RETRY.as_secs());
                tracing::warn!(channel = %id, "{problem}");
                super::core::lock(&node.registry).set_problem(&id, problem);
                RETRY
            }
        };
        let nudge = super::core::lock(&node.registry)
            .get(&id)
            .map(|entry| entry.nudge.clone());
        drop(node);
        match nudge {
            Some(nudge) => {
                let _ = tokio::time::timeout(pause, nudge.notified()).await;
            }
            None => tokio::time::sleep(pause).await,
        }
        let Some(node) = core.upgrade() else { return };
        let current = super::core::lock(&node.registry)
            .get(&id)
            .map(|entry| entry.status.borrow().phase);
        if current != Some(phase) {
            return;
        }
    }
}

async fn try_fund(core: &NodeCore, id: ChannelId) -> Result<(), String> {
    let handle = channel_handle(core, id)?;
    let snapshot = handle
        .snapshot()
        .await
        .map_err(|e| format!("cannot fund: {e}"))?
        .snapshot;
    let from = core
        .account()
        .map_err(|e| format!("cannot fund: {}", e.message))?
        .clone();
    let timeout = core.policy.funding_timeout.as_secs();
    let request = FundingRequest {
        params: snapshot.channel.params,
        state: snapshot.latest.state,
        index: snapshot.channel.my_index,
        from,
        timeout_secs: timeout,
    };
    tracing::info!(channel = %id, "funding: depositing our share and waiting for the peer's");
    let chain = core.chain.clone();
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
            Err(_) if still_funding(core, id) == Some(false) => Ok(()),
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
            super::core::lock(&core.registry).set_reason(&id, note);
            match handle.dispute().await {
                Ok(()) => Ok(()),
                Err(_) if still_funding(core, id) == Some(false) => Ok(()),
                Err(e) => Err(format!(
                    "funding timed out, and the channel refused the dispute that recovers our deposit: {e}"
                )),
            }
        }
    }
}

/// Whether channel `id` is still in `Funding` (`None`: not running).
fn still_funding(core: &NodeCore, id: ChannelId) -> Option<bool> {
    super::core::lock(&core.registry)
        .get(&id)
        .map(|entry| entry.status.borrow().phase == Phase::Funding)
}

/// The task handle of running channel `id`.
pub fn channel_handle(
    core: &NodeCore,
    id: ChannelId,
) -> Result<super::channel_task::ChannelHandle, String> {
    super::core::lock(&core.registry)
        .get(&id)
        .map(|entry| entry.handle.clone())
        .ok_or_else(|| format!("channel {id} is not running"))
}
