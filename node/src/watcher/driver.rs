//! The dispute driver: one task per channel in `Disputed`. Each round it reads the channel
//! (from its task) and the chain (record and time), asks [`decide`] and carries out the
//! answer, until our share is withdrawn and the channel is `Closed`.
//!
//! Every step is safe to repeat, so a node killed at any point resumes the dispute where the
//! chain stands when it restarts: a `Disputed` channel restarts its driver, which reads the
//! record afresh. A failed step is reported in the channel's status and tried again.

use super::conclude_final::{final_step, FinalStep};
use super::decide::{decide, Action, OurSide};
use crate::client::chain::blocking;
use crate::client::channel_task::ChannelHandle;
use crate::client::lifecycle::ChainSide;
use crate::protocol::{ChannelSnapshot, Phase};
use parley_plugin_api::model::{
    ChannelId, ConcludeFinalRequest, ConcludeRequest, Dispute, DisputePhase, Participant,
    RegisterRequest, SignedState, State, WithdrawRequest,
};
use parley_plugin_api::ChainLedger;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How often the chain is read while a dispute waits for its timeout (chain time may also jump,
/// on test ledgers). A chain event wakes the driver earlier.
pub const POLL: Duration = Duration::from_millis(500);

/// The pause after a failed step before it is tried again.
const RETRY: Duration = Duration::from_secs(2);

/// Starts the driver of channel `id` unless one runs already.
pub fn spawn_dispute(side: &Arc<ChainSide>, id: ChannelId) {
    let Some(nudge) = side.registry.start_disputing(&id) else {
        return;
    };
    tracing::info!(channel = %id, "dispute: following the channel on chain until it is closed");
    let side = Arc::downgrade(side);
    tokio::spawn(async move {
        run(&side, id, &nudge).await;
        if let Some(side) = side.upgrade() {
            side.registry.stop_disputing(&id);
        }
    });
}

/// What to do after a step.
enum Next {
    /// Decide again at once (the step changed the chain).
    Again,
    /// Nothing to do before chain time moves on or the record changes.
    Sleep,
    /// The channel is closed (or gone): the driver ends.
    Done,
}

async fn run(side: &Weak<ChainSide>, id: ChannelId, nudge: &Notify) {
    let started = Instant::now();
    loop {
        // The node is only borrowed for one round, so a shutdown never waits on a dispute.
        let next = match side.upgrade() {
            Some(node) => round(&node, id, started.elapsed()).await,
            None => return,
        };
        let pause = match next {
            Ok(Next::Again) => continue,
            Ok(Next::Sleep) => POLL,
            Ok(Next::Done) => return,
            Err(problem) => {
                tracing::warn!(channel = %id, "dispute: {problem}");
                if let Some(node) = side.upgrade() {
                    node.registry.set_problem(&id, problem);
                }
                RETRY
            }
        };
        // A chain event cuts the pause short.
        let _ = tokio::time::timeout(pause, nudge.notified()).await;
    }
}

/// One round: read, decide, act. `waited` is how long this driver has been running.
async fn round(side: &Arc<ChainSide>, id: ChannelId, waited: Duration) -> Result<Next, String> {
    let Some((handle, refute)) = side
        .registry
        .get(&id)
        .map(|running| (running.handle, running.refute))
    else {
        return Ok(Next::Done);
    };
    let Ok(view) = handle.snapshot().await else {
        return Ok(Next::Done);
    };
    let snapshot = view.snapshot;
    if snapshot.phase == Phase::Closed {
        return Ok(Next::Done);
    }
    let chain = side.chain.ledger.clone();
    let (record, now) = blocking(move || Ok((chain.dispute(&id)?, chain.now()?)))
        .await
        .map_err(|e| format!("cannot read the channel's record on chain: {e}"))?;
    side.registry.set_dispute(&id, record.clone(), now);
    let ours = OurSide {
        latest: snapshot.latest.state.version,
        latest_final: snapshot.latest.state.is_final,
        pending: snapshot.pending.as_ref().map(|p| p.state.version),
        refute,
    };
    let me = side
        .chain
        .account()
        .map_err(|e| format!("cannot act on chain: {}", e.message()))?
        .clone();
    let action = decide(&ours, record.as_ref(), now);
    let step = Step {
        side,
        id,
        handle: &handle,
        snapshot: &snapshot,
        me,
    };
    match action {
        Action::Register => step.register(record.map(|r| r.version)).await,
        Action::ConcludeFinal => step.conclude_final(record.as_ref(), waited).await,
        Action::Wait { until } => {
            let version = record.map_or(ours.latest, |r| r.version);
            step.note(format!(
                "dispute: version {version} is registered on chain; the challenge ends at chain \
                 time {until} ({} s from now), then the channel concludes",
                until.saturating_sub(now)
            ));
            Ok(Next::Sleep)
        }
        Action::Conclude {
            version,
            refutation_missed,
        } => {
            if refutation_missed {
                tracing::error!(
                    channel = %id,
                    registered = version,
                    newest = ours.latest,
                    "the dispute ended before this node could refute an older state (was it \
                     down for the whole challenge duration?); the chain pays out version {version}"
                );
            }
            step.conclude(version).await
        }
        Action::Withdraw => step.withdraw().await,
    }
}

/// The context of one action.
struct Step<'a> {
    side: &'a ChainSide,
    id: ChannelId,
    handle: &'a ChannelHandle,
    snapshot: &'a ChannelSnapshot,
    me: Participant,
}

impl Step<'_> {
    fn chain(&self) -> Arc<dyn ChainLedger> {
        self.side.chain.ledger.clone()
    }

    fn note(&self, note: String) {
        self.side.registry.set_note(&self.id, note);
    }

    /// Our newest fully signed state with the parameters, as `register` needs it.
    fn newest(&self) -> Result<SignedState, String> {
        let sigs = self
            .snapshot
            .latest
            .sigs
            .iter()
            .cloned()
            .collect::<Option<Vec<_>>>()
            .ok_or("our newest state lacks a signature; nothing can be registered")?;
        Ok(SignedState {
            params: self.snapshot.channel.params.clone(),
            state: self.snapshot.latest.state.clone(),
            sigs,
        })
    }

    /// Whether the chain says the channel concluded (after a call that may have lost a race).
    /// A failed read is an error, not a "no".
    async fn concluded(&self) -> Result<bool, String> {
        let chain = self.chain();
        let id = self.id;
        blocking(move || chain.dispute(&id))
            .await
            .map(|record| record.is_some_and(|d| d.phase == DisputePhase::Concluded))
            .map_err(|e| {
                format!(
                    "the channel's record cannot be read to see whether it concluded anyway: {e}"
                )
            })
    }

    /// Whether the chain says the channel concluded after `call` failed with `error`: `Ok` if it
    /// did (the call lost a race, which is what we wanted), else the error.
    async fn concluded_anyway(&self, call: &str, error: String) -> Result<(), String> {
        match self.concluded().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!("{call} failed: {error}")),
            Err(read) => Err(format!("{call} failed ({error}), and {read}")),
        }
    }

    async fn register(&self, registered: Option<u64>) -> Result<Next, String> {
        let signed = self.newest()?;
        let version = signed.state.version;
        let request = RegisterRequest {
            from: self.me.clone(),
            channel: signed,
            sub_channels: Vec::new(),
        };
        let chain = self.chain();
        blocking(move || chain.register(&request))
            .await
            .map_err(|e| format!("registering version {version} on chain failed: {e}"))?;
        match registered {
            Some(old) => {
                tracing::info!(channel = %self.id, refuted = old, version, "refuted an older registered state with our newest");
                self.note(format!(
                    "refuted the registered version {old} with our newest, version {version}"
                ));
            }
            None => {
                tracing::info!(channel = %self.id, version, "registered our newest state on chain");
                self.note(format!(
                    "registered our newest state, version {version}, on chain"
                ));
            }
        }
        Ok(Next::Again)
    }

    /// Concludes with our final state, if it is our turn (see `conclude_final`): without a
    /// record the peer may be concluding already, and we wait for it before sending ours.
    async fn conclude_final(
        &self,
        record: Option<&Dispute>,
        waited: Duration,
    ) -> Result<Next, String> {
        let patience = self.side.policy.peer_conclude_timeout;
        match final_step(record, self.snapshot.channel.my_index, waited, patience) {
            FinalStep::Withdraw => return self.withdraw().await,
            FinalStep::AwaitPeer { within } => {
                self.note(format!(
                    "the peer (the channel's proposer) concludes the channel with the final state; \
                     waiting for its transaction, at most {} s more, before concluding ourselves \
                     ([policy] peer_conclude_timeout_seconds)",
                    within.as_secs_f64().ceil()
                ));
                return Ok(Next::Sleep);
            }
            FinalStep::ConcludeFinal if self.side.testing.withholds_conclude_final(self.id) => {
                return Ok(Next::Sleep);
            }
            FinalStep::ConcludeFinal => {}
        }
        let request = ConcludeFinalRequest {
            from: self.me.clone(),
            channel: self.newest()?,
        };
        let chain = self.chain();
        if let Err(error) = blocking(move || chain.conclude_final(&request)).await {
            self.concluded_anyway("concluding with the final state", error)
                .await?;
        }
        Ok(Next::Again)
    }

    /// The state of `version`: our newest, our pending update, or (test nodes) an older one.
    async fn state_of(&self, version: u64) -> Result<Option<State>, String> {
        if self.snapshot.latest.state.version == version {
            return Ok(Some(self.snapshot.latest.state.clone()));
        }
        if let Some(pending) = self
            .snapshot
            .pending
            .as_ref()
            .filter(|p| p.state.version == version)
        {
            return Ok(Some(pending.state.clone()));
        }
        let older = self
            .handle
            .signed_version(version)
            .await
            .map_err(|e| format!("cannot read the channel: {e}"))?;
        Ok(older.map(|signed| signed.state))
    }

    async fn conclude(&self, version: u64) -> Result<Next, String> {
        let Some(state) = self.state_of(version).await? else {
            // Only the peer can conclude it; the record tells when it did.
            self.note(format!(
                "dispute: version {version} is registered, a state this node does not hold; \
                 waiting for the peer to conclude"
            ));
            return Ok(Next::Sleep);
        };
        let request = ConcludeRequest {
            from: self.me.clone(),
            params: self.snapshot.channel.params.clone(),
            state,
            sub_states: Vec::new(),
        };
        let chain = self.chain();
        if let Err(error) = blocking(move || chain.conclude(&request)).await {
            self.concluded_anyway(&format!("concluding version {version}"), error)
                .await?;
        }
        tracing::info!(channel = %self.id, version, "the channel concluded on chain");
        Ok(Next::Again)
    }

    async fn withdraw(&self) -> Result<Next, String> {
        let request = WithdrawRequest {
            from: self.me.clone(),
            channel_id: self.id,
            participant: self.me.clone(),
            receiver: self.me.clone(),
            assets: self.snapshot.latest.state.allocation.assets.clone(),
        };
        let chain = self.chain();
        let receipt = blocking(move || chain.withdraw(&request))
            .await
            .map_err(|e| format!("withdrawing our share failed: {e}"))?;
        let assets = &self.snapshot.latest.state.allocation.assets;
        let amounts: Vec<String> = assets
            .iter()
            .zip(&receipt.amounts)
            .map(|(asset, amount)| format!("{amount} {}", self.side.chain.asset_name(asset)))
            .collect();
        tracing::info!(channel = %self.id, amounts = ?amounts, "withdrew our share after the dispute");
        self.note(format!(
            "the channel concluded on chain; withdrew our share ({})",
            amounts.join(", ")
        ));
        let ending = self.side.registry.ending(&self.id);
        self.handle
            .concluded(ending)
            .await
            .map_err(|e| format!("withdrew, but the channel refused to close: {e}"))?;
        Ok(Next::Done)
    }
}
