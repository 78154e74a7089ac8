//! The owner of one channel's chain side: one task per running channel, from its opening to
//! its archive. It feeds [`ChainLife`] what happens (the channel task's reports, the chain's
//! events about the channel, how each duty ended, the time) and carries out the duty it
//! answers, one at a time; nothing else acts on chain for the channel.
//!
//! A duty that waits long (funding waits for the peer's deposit) runs while the owner keeps
//! reading its inbox, and is dropped when the rules say it must give way (a registration seen,
//! a new phase); the chain call it made finishes on its worker thread and is read again by the
//! next decision. Every duty is safe to repeat, which is also why a node killed at any point
//! resumes where the chain stands.

use super::closing::settle;
use super::dispute::round;
use super::failure::{chain_step, ChainFailure};
use super::force::{self, ForceMove};
use super::funding::fund;
use super::life::{ChainLife, Duty, LifeRules, Outcome};
use super::ChainSide;
use crate::client::channel_task::ChannelReport;
use crate::client::error::Error;
use crate::protocol::Phase;
use parley_plugin_api::model::{ChannelId, Dispute};
use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::Instant;
use tokio::sync::mpsc::UnboundedReceiver;

/// What reaches the owner of a channel.
#[derive(Debug)]
pub enum OwnerInput {
    /// The channel task reported this.
    Report(ChannelReport),
    /// The chain backend reports a change of the channel's record.
    Chain(Dispute),
    /// A person asks for a move on chain (force execution of an app channel).
    Move(ForceMove),
}

/// Whether the owner goes on after an input.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    End,
}

/// Runs the chain side of channel `id`, reported in `phase` first, until the channel is
/// archived or the node is gone.
pub async fn own(
    side: Weak<ChainSide>,
    id: ChannelId,
    phase: Phase,
    mut inbox: UnboundedReceiver<OwnerInput>,
) {
    let Some(rules) = side.upgrade().map(|side| LifeRules {
        funding_timeout: side.policy.funding_timeout,
        peer_known: side
            .registry
            .get(&id)
            .is_some_and(|running| running.members.complete()),
        withhold_deposit: side.testing.withholds_deposit(id),
    }) else {
        return;
    };
    let mut life = ChainLife::new(rules, phase, Instant::now());
    // Moves on chain asked for, made one per `Duty::Progress` in order.
    let mut moves = VecDeque::new();
    loop {
        while let Some(duty) = life.poll(Instant::now()) {
            // The node is only borrowed for one duty, so a shutdown never waits on a pause.
            let Some(node) = side.upgrade() else { return };
            let asked = match duty {
                Duty::Progress => moves.pop_front(),
                _ => None,
            };
            let work = perform(&node, id, duty, asked);
            tokio::pin!(work);
            let outcome = loop {
                tokio::select! {
                    outcome = &mut work => break Some(outcome),
                    input = inbox.recv() => {
                        let Some(input) = input else { return };
                        if take_in(&node, id, &mut life, input, &mut moves) == Flow::End {
                            return;
                        }
                        if life.preempts_running() {
                            break None;
                        }
                    }
                }
            };
            let Some(outcome) = outcome else {
                tracing::debug!(channel = %id, ?duty, "the duty gave way to what the chain or the channel reported");
                life.on_preempted();
                continue;
            };
            let outcome = outcome.unwrap_or_else(Outcome::Failed);
            if let Outcome::Failed(failure) = &outcome {
                let problem = format!("{failure}; {}", ChainLife::retry_note(failure));
                tracing::warn!(channel = %id, ?duty, "{problem}");
                node.metrics.chain_failure();
                node.registry.set_problem(&id, problem);
            }
            life.on_outcome(duty, outcome, Instant::now());
            if !node.registry.contains(&id) {
                return;
            }
        }
        let input = match life.poll_timeout() {
            Some(at) => {
                tokio::select! {
                    input = inbox.recv() => input,
                    () = tokio::time::sleep_until(at.into()) => continue,
                }
            }
            None => inbox.recv().await,
        };
        let Some(input) = input else { return };
        let Some(node) = side.upgrade() else { return };
        if take_in(&node, id, &mut life, input, &mut moves) == Flow::End {
            return;
        }
    }
}

/// Applies one input to the rules and the channel's status; a move on chain joins `moves`.
fn take_in(
    side: &ChainSide,
    id: ChannelId,
    life: &mut ChainLife,
    input: OwnerInput,
    moves: &mut VecDeque<ForceMove>,
) -> Flow {
    match input {
        OwnerInput::Move(request) => {
            // The registry has the phase the moment the task enters it; its report to us may
            // still be on its way, and the move is made once it arrives.
            match side.registry.phase(&id) {
                Some(Phase::Disputed) => {
                    moves.push_back(request);
                    life.on_move_requested();
                }
                phase => {
                    let phase = phase.map_or_else(|| "gone".to_string(), |p| p.to_string());
                    let _ = request.reply.send(Err(Error::conflict(format!(
                        "channel {id} is {phase}, not in dispute: moves go to the peer off chain"
                    ))));
                }
            }
        }
        OwnerInput::Report(ChannelReport::Phase(phase)) => life.on_phase(phase, Instant::now()),
        OwnerInput::Report(ChannelReport::StoreFailed(outage)) => {
            side.registry.set_store(&id, Some(outage));
        }
        OwnerInput::Report(ChannelReport::StoreRecovered) => side.registry.set_store(&id, None),
        OwnerInput::Report(ChannelReport::PeerFault(reason)) => {
            side.registry.set_reason(&id, reason);
        }
        OwnerInput::Report(ChannelReport::Archived) => {
            side.registry.remove(&id);
            tracing::info!(channel = %id, "channel closed and archived (`parley channel list --closed` shows it)");
            return Flow::End;
        }
        OwnerInput::Chain(dispute) => {
            tracing::info!(
                channel = %id,
                version = dispute.version,
                phase = ?dispute.phase,
                timeout = dispute.timeout,
                "the channel's on-chain record changed"
            );
            if matches!(life.phase(), Phase::Funding | Phase::Active) {
                side.registry.set_reason(
                    &id,
                    format!(
                        "version {} was registered on chain by the peer (or another party)",
                        dispute.version
                    ),
                );
            }
            life.on_chain_event(dispute.version);
        }
    }
    Flow::Continue
}

/// Carries out `duty` for channel `id` (`asked`: the move on chain of a `Progress`).
async fn perform(
    side: &Arc<ChainSide>,
    id: ChannelId,
    duty: Duty,
    asked: Option<ForceMove>,
) -> Result<Outcome, ChainFailure> {
    match duty {
        Duty::Progress => {
            if let Some(request) = asked {
                let result = force::progress(side, id, &request.action).await;
                let _ = request.reply.send(result);
            }
            Ok(Outcome::Again)
        }
        Duty::Watch => {
            let chain = side.chain.ledger.clone();
            chain_step("watching the channel on chain", move || chain.watch(&id))
                .await
                .map_err(|failure| {
                    // Without events a dispute is still followed by polling once it runs, but
                    // an active channel would miss a registration: say so loudly.
                    tracing::error!(channel = %id, "{failure}");
                    failure
                })?;
            Ok(Outcome::Done)
        }
        Duty::Unwatch => {
            let chain = side.chain.ledger.clone();
            chain_step("no longer watching the closed channel", move || {
                chain.unwatch(&id)
            })
            .await?;
            Ok(Outcome::Done)
        }
        Duty::Abandon { after } => {
            abandon(side, id, after).await;
            Ok(Outcome::Done)
        }
        Duty::Fund => fund(side, id).await,
        Duty::RecoverUnusable => {
            let reason = "this node does not know the channel's peer (its record was lost), so \
                          the channel cannot be used: not depositing, and recovering what was \
                          deposited through a dispute";
            tracing::error!(channel = %id, "{reason}");
            side.registry.set_reason(&id, reason.to_string());
            side.stop_for_dispute(
                id,
                "cannot stop the channel's updates to recover the deposits",
            )
            .await
        }
        Duty::StopForDispute { .. } => {
            side.stop_for_dispute(id, "cannot stop the channel's updates for the dispute")
                .await
        }
        Duty::Settle { waited } => settle(side, id, waited).await,
        Duty::DisputeRound { waited } => round(side, id, waited).await,
    }
}

/// Gives up an opening that did not complete within the funding timeout. Nothing of ours is
/// deposited before `Funding`, so nothing is lost; a peer that reached `Funding` and deposited
/// recovers its deposit through its own funding timeout.
async fn abandon(side: &ChainSide, id: ChannelId, after: std::time::Duration) {
    let Some(running) = side.registry.get(&id) else {
        return;
    };
    let reason = format!(
        "the opening did not complete within {} s ([policy] funding_timeout_seconds): the peer's \
         signature on version 0 never arrived; the channel was abandoned, and this node \
         deposited nothing",
        after.as_secs()
    );
    tracing::warn!(channel = %id, "{reason}");
    side.registry.set_reason(&id, reason.clone());
    if let Err(error) = running.handle.abandon(reason).await {
        tracing::debug!(channel = %id, "the opening ended meanwhile: {error}");
    }
}
