//! Routes what concerns a channel's chain side to its owner: the channel tasks' reports and
//! the chain backend's events, and the moves on chain people ask for. The first report of a channel starts its owner
//! ([`super::owner`]); the owner ends when the channel is archived. A chain event for a
//! channel whose record is damaged (no task, no owner) is logged loudly and shown.

use super::force::ForceMove;
use super::owner::{own, OwnerInput};
use super::ChainSide;
use crate::client::channel_task::ChannelReport;
use crate::client::error::Error;
use crate::host::SectionEvent;
use parley_plugin_api::model::{ChainEvent, ChannelId, Dispute, PluginEvent};
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

/// Routes `reports` and the plugins' `events` (other than the transport's) until the node is
/// gone.
pub fn spawn_chain_side(
    side: Weak<ChainSide>,
    mut reports: UnboundedReceiver<(ChannelId, ChannelReport)>,
    mut events: UnboundedReceiver<SectionEvent>,
    mut moves: UnboundedReceiver<ForceMove>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut owners = Owners::default();
        loop {
            tokio::select! {
                report = reports.recv() => {
                    let Some((id, report)) = report else { return };
                    owners.report(&side, id, report);
                }
                request = moves.recv() => {
                    let Some(request) = request else { return };
                    owners.force_move(request);
                }
                event = events.recv() => {
                    let Some(event) = event else { return };
                    match event.event {
                        PluginEvent::Chain(ChainEvent::Disputed(dispute)) => {
                            let Some(side) = side.upgrade() else { return };
                            owners.chain_event(&side, dispute);
                        }
                        other => {
                            tracing::debug!(section = event.section, event = ?other, "plugin event")
                        }
                    }
                }
            }
        }
    })
}

/// The inbox of each channel's owner.
#[derive(Default)]
struct Owners {
    inboxes: HashMap<ChannelId, UnboundedSender<OwnerInput>>,
}

impl Owners {
    fn report(&mut self, side: &Weak<ChainSide>, id: ChannelId, report: ChannelReport) {
        let archived = report == ChannelReport::Archived;
        if let Some(inbox) = self.inboxes.get(&id) {
            if inbox.send(OwnerInput::Report(report)).is_ok() {
                if archived {
                    self.inboxes.remove(&id);
                }
                return;
            }
            self.inboxes.remove(&id);
            return;
        }
        // A channel's first report is its phase, sent when it starts (see `ChannelStarter`).
        let ChannelReport::Phase(phase) = report else {
            tracing::debug!(channel = %id, ?report, "a report for a channel without an owner");
            return;
        };
        let (inbox, input) = unbounded_channel();
        self.inboxes.insert(id, inbox);
        tokio::spawn(own(side.clone(), id, phase, input));
    }

    /// Hands a move on chain to its channel's owner (it alone acts on chain for the channel).
    fn force_move(&mut self, request: ForceMove) {
        let id = request.channel;
        let Some(inbox) = self.inboxes.get(&id) else {
            let _ = request.reply.send(Err(Error::not_found(format!(
                "channel {id} has no chain side running on this node"
            ))));
            return;
        };
        if let Err(returned) = inbox.send(OwnerInput::Move(request)) {
            self.inboxes.remove(&id);
            if let OwnerInput::Move(request) = returned.0 {
                let _ = request.reply.send(Err(Error::not_found(format!(
                    "channel {id} closed meanwhile"
                ))));
            }
        }
    }

    fn chain_event(&mut self, side: &Arc<ChainSide>, dispute: Dispute) {
        let id = dispute.channel_id;
        if let Some(damaged) = side.registry.damaged(&id) {
            on_damaged(side, damaged.problem, dispute);
            return;
        }
        let delivered = self
            .inboxes
            .get(&id)
            .is_some_and(|inbox| inbox.send(OwnerInput::Chain(dispute)).is_ok());
        if !delivered {
            self.inboxes.remove(&id);
            tracing::debug!(channel = %id, "a chain event for a channel this node does not run");
        }
    }
}

/// A registration of a channel whose record is damaged: this node cannot refute it, so it
/// says so loudly and shows what the chain holds.
fn on_damaged(side: &Arc<ChainSide>, problem: String, dispute: Dispute) {
    let id = dispute.channel_id;
    tracing::error!(
        channel = %id,
        version = dispute.version,
        phase = ?dispute.phase,
        timeout = dispute.timeout,
        "version {} of a channel with a DAMAGED RECORD was registered on chain; this node \
         cannot refute it ({problem})",
        dispute.version,
    );
    let side = side.clone();
    tokio::spawn(async move {
        let chain = side.chain.ledger.clone();
        // Without the chain's time, the record still says when its phase ends.
        let now = crate::client::chain::blocking(move || chain.now())
            .await
            .unwrap_or(dispute.timeout);
        side.registry.set_damaged_dispute(&id, dispute, now);
    });
}
