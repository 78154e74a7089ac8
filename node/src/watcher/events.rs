//! Routes the chain backend's events to the channels they concern.

use crate::client::chain::blocking;
use crate::client::lifecycle::ChainSide;
use crate::host::SectionEvent;
use crate::protocol::Phase;
use parley_plugin_api::model::{ChainEvent, Dispute, PluginEvent};
use std::sync::{Arc, Weak};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// Follows the plugins' events (other than the transport's) until the node is gone.
pub fn spawn_chain_events(
    side: Weak<ChainSide>,
    mut events: UnboundedReceiver<SectionEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event.event {
                PluginEvent::Chain(ChainEvent::Disputed(dispute)) => {
                    let Some(side) = side.upgrade() else { return };
                    on_record(&side, dispute);
                }
                other => {
                    tracing::debug!(section = event.section, event = ?other, "plugin event")
                }
            }
        }
    })
}

/// A channel's on-chain record changed: stop its updates if a dispute started, or wake what
/// follows it on chain (its dispute driver, or its cooperative close).
fn on_record(side: &Arc<ChainSide>, dispute: Dispute) {
    let id = dispute.channel_id;
    if let Some(damaged) = side.registry.damaged(&id) {
        tracing::error!(
            channel = %id,
            version = dispute.version,
            phase = ?dispute.phase,
            timeout = dispute.timeout,
            "version {} of a channel with a DAMAGED RECORD was registered on chain; this node \
             cannot refute it ({})",
            dispute.version,
            damaged.problem
        );
        let side = side.clone();
        tokio::spawn(async move {
            let chain = side.chain.ledger.clone();
            // Without the chain's time, the record still says when its phase ends.
            let now = blocking(move || chain.now())
                .await
                .unwrap_or(dispute.timeout);
            side.registry.set_damaged_dispute(&id, dispute, now);
        });
        return;
    }
    let Some(running) = side.registry.get(&id) else {
        tracing::debug!(channel = %id, "a chain event for a channel this node does not run");
        return;
    };
    tracing::info!(
        channel = %id,
        version = dispute.version,
        phase = ?dispute.phase,
        timeout = dispute.timeout,
        "the channel's on-chain record changed"
    );
    match running.phase {
        Phase::Funding | Phase::Active => {
            side.registry.set_reason(
                &id,
                format!(
                    "version {} was registered on chain by the peer (or another party)",
                    dispute.version
                ),
            );
            let handle = running.handle;
            tokio::spawn(async move {
                // The task moves to `Disputed`; the lifecycle then starts the driver.
                if let Err(error) = handle.dispute().await {
                    tracing::warn!(channel = %id, "cannot stop the channel for the dispute: {error}");
                }
            });
        }
        // The dispute driver, or the cooperative close, looks at the record again: the peer's
        // `concludeFinal` may have landed, or a registration calls for ours at once.
        Phase::Disputed | Phase::Closing => {
            if let Some(nudge) = side.registry.nudge(&id) {
                nudge.notify_one();
            }
        }
        Phase::Opening | Phase::Closed => {}
    }
}
