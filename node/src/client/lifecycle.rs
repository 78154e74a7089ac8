//! The chain side of a channel's life, driven by the phases its task reports (a proven peer
//! fault it reports becomes the channel's reason, before the dispute it causes starts):
//! - from `Funding` on, the channel is watched on chain (again after every restart, since a
//!   restored channel reports its phase once);
//! - `Funding`: fund our share; if the peer's deposit never comes, recover ours through a
//!   dispute (the channel moves to `Disputed`);
//! - `Closing`: conclude with the final state and withdraw our share;
//! - `Disputed`: the watcher's dispute driver takes over;
//! - `Closed`: stop watching.
//!
//! Each step runs the chain backend's waiting calls on blocking threads and reports back to
//! the channel task (`funded`, `concluded`); a failure is recorded in the channel's status for
//! the API to show, and the channel stays where it was.
//!
//! Restarting is safe at any point: funding skips what is already deposited, concluding
//! first checks whether the channel concluded already, and withdrawing a zero holding is not
//! an error.

use super::channel_task::ChannelReport;
use super::core::{blocking, NodeCore};
use crate::protocol::Phase;
use parley_plugin_api::model::{
    ChannelId, ConcludeFinalRequest, DisputePhase, FundingOutcome, FundingRequest, SignedState,
    TxReceipt, WithdrawRequest,
};
use parley_plugin_api::{ChainBackend, PluginError};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// Runs the lifecycle for every report on `reports` until the node is gone.
pub fn spawn_lifecycle(
    core: Weak<NodeCore>,
    mut reports: UnboundedReceiver<(ChannelId, ChannelReport)>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some((id, report)) = reports.recv().await {
            let Some(core) = core.upgrade() else { return };
            let phase = match report {
                ChannelReport::Phase(phase) => phase,
                ChannelReport::PeerFault(reason) => {
                    super::core::lock(&core.registry).set_reason(&id, reason);
                    continue;
                }
            };
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
                    tokio::spawn(close(core, id));
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
        |core| async move { try_fund(&core, id).await },
    )
    .await;
}

/// Runs `step` until it succeeds, the channel leaves `phase`, or the node is gone. Each failure
/// goes into the channel's status (and the log) and is tried again after [`RETRY`].
async fn retrying<F, Fut>(core: Weak<NodeCore>, id: ChannelId, phase: Phase, step: F)
where
    F: Fn(Arc<NodeCore>) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    loop {
        let Some(node) = core.upgrade() else { return };
        let Err(problem) = step(node.clone()).await else {
            return;
        };
        let problem = format!("{problem} (trying again in {} s)", RETRY.as_secs());
        tracing::warn!(channel = %id, "{problem}");
        super::core::lock(&node.registry).set_problem(&id, problem);
        drop(node);
        tokio::time::sleep(RETRY).await;
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
    let handle = handle(core, id)?;
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

/// Concludes the channel with its final state (unless it concluded already) and withdraws
/// our share; then tells the task the channel is closed.
/// A failure (the chain unreachable, a transaction refused) is retried while the channel is
/// closing: concluding checks first whether the channel concluded already, and withdrawing a
/// zero holding pays nothing.
async fn close(core: Arc<NodeCore>, id: ChannelId) {
    retrying(
        Arc::downgrade(&core),
        id,
        Phase::Closing,
        |core| async move { try_close(&core, id).await },
    )
    .await;
}

async fn try_close(core: &NodeCore, id: ChannelId) -> Result<(), String> {
    let handle = handle(core, id)?;
    let snapshot = handle
        .snapshot()
        .await
        .map_err(|e| format!("cannot settle: {e}"))?
        .snapshot;
    let me = core
        .account()
        .map_err(|e| format!("cannot settle: {}", e.message))?
        .clone();
    let sigs = snapshot
        .latest
        .sigs
        .iter()
        .cloned()
        .collect::<Option<Vec<_>>>()
        .ok_or("cannot settle: the final state lacks a signature")?;
    let assets = snapshot.latest.state.allocation.assets.clone();
    let signed = SignedState {
        params: snapshot.channel.params,
        state: snapshot.latest.state,
        sigs,
    };
    let chain = core.chain.clone();
    let receipt = blocking(move || conclude_and_withdraw(&*chain, id, signed, me, assets))
        .await
        .map_err(|e| format!("settling on chain failed: {e}"))?;
    tracing::info!(channel = %id, amounts = ?receipt.amounts, "concluded and withdrew our share");
    handle
        .concluded()
        .await
        .map_err(|e| format!("settled on chain, but the channel refused it: {e}"))
}

/// The blocking part of settling: conclude (the peer may have done it already) and withdraw.
fn conclude_and_withdraw(
    chain: &dyn ChainBackend,
    id: ChannelId,
    signed: SignedState,
    me: parley_plugin_api::model::Participant,
    assets: Vec<parley_plugin_api::model::Asset>,
) -> Result<TxReceipt, PluginError> {
    let concluded =
        || matches!(chain.dispute(&id), Ok(Some(d)) if d.phase == DisputePhase::Concluded);
    if !concluded() {
        let request = ConcludeFinalRequest {
            from: me.clone(),
            channel: signed,
        };
        if let Err(error) = chain.conclude_final(&request) {
            // Both parties conclude; the second finds it done, which is what we wanted.
            if !concluded() {
                return Err(error);
            }
        }
    }
    chain.withdraw(&WithdrawRequest {
        from: me.clone(),
        channel_id: id,
        participant: me.clone(),
        receiver: me,
        assets,
    })
}

/// Whether channel `id` is still in `Funding` (`None`: not running).
fn still_funding(core: &NodeCore, id: ChannelId) -> Option<bool> {
    super::core::lock(&core.registry)
        .get(&id)
        .map(|entry| entry.status.borrow().phase == Phase::Funding)
}

fn handle(core: &NodeCore, id: ChannelId) -> Result<super::channel_task::ChannelHandle, String> {
    super::core::lock(&core.registry)
        .get(&id)
        .map(|entry| entry.handle.clone())
        .ok_or_else(|| format!("channel {id} is not running"))
}
