//! `parley events`: follow what happens on the running node (proposals, updates, phase
//! changes) through its WebSocket subscription, one line per event.

use super::{failure, CliError, CliResult, NodeOptions};
use crate::api::client::ApiClient;
use crate::api::events_client::EventStream;
use crate::api::types::NodeEvent;
use crate::config::NodeConfig;
use clap::Args;
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `parley events`.
#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  parley events --config bob/node.toml
  parley events --config bob/node.toml --json --count 10

Runs until Ctrl-C, the node stops, or --count events were printed. With --json, each event is
one JSON object per line (`{\"kind\": \"update_accepted\", ...}`).")]
pub struct EventsArgs {
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    #[command(flatten)]
    pub(super) options: NodeOptions,
}

impl EventsArgs {
    /// Subscribes and prints events as they arrive.
    pub fn run(self) -> CliResult {
        let config = NodeConfig::load(&self.options.config)?;
        let client =
            ApiClient::from_config(&config).map_err(|e| failure::client_error(e, &config))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(async {
            let mut events = EventStream::subscribe(client.addr(), client.token())
                .await
                .map_err(|e| failure::client_error(e, &config))?;
            let mut printed = 0u64;
            while self.count.is_none_or(|count| printed < count) {
                let event = tokio::select! {
                    event = events.next() => event.map_err(|e| failure::client_error(e, &config))?,
                    _ = tokio::signal::ctrl_c() => break,
                };
                let Some(event) = event else {
                    eprintln!("the node closed the subscription");
                    break;
                };
                let line = if self.options.json {
                    serde_json::to_string(&event).unwrap_or_default()
                } else {
                    human(&event)
                };
                let mut out = std::io::stdout().lock();
                if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                    break; // stdout closed (e.g. piped into `head`)
                }
                printed += 1;
            }
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// One event as a line of text.
fn human(event: &NodeEvent) -> String {
    match event {
        NodeEvent::ProposalReceived { proposal } => {
            let from = proposal
                .proposer_alias
                .clone()
                .unwrap_or_else(|| proposal.proposer.to_string());
            format!("proposal {} from {from}", proposal.id)
        }
        NodeEvent::UpdateReceived { channel, version } => {
            format!("channel {channel}: the peer proposes version {version}")
        }
        NodeEvent::UpdateAwaitsAnswer {
            channel, version, ..
        } => {
            format!("channel {channel}: the peer's version {version} awaits your answer (`parley channel pending {channel}`, then `parley channel accept|reject {channel}`)")
        }
        NodeEvent::UpdateAccepted { channel, version } => {
            format!("channel {channel}: version {version} signed by both")
        }
        NodeEvent::ChannelChanged { channel } => {
            format!(
                "channel {}: now {} at version {}",
                channel.id,
                channel.phase_name(),
                channel.version
            )
        }
        NodeEvent::PhaseChanged { channel, from, to } => {
            format!("channel {channel}: {from} -> {to}")
        }
        NodeEvent::PaymentSent { payment } => format!(
            "payment {}: sent {} {} on channel {} (version {}; mine {}, theirs {})",
            payment.id,
            payment.amount,
            payment.asset,
            payment.channel,
            payment.version,
            payment.mine,
            payment.theirs
        ),
        NodeEvent::PaymentReceived { payment } => format!(
            "payment {}: received {} {} on channel {} (version {}; mine {}, theirs {})",
            payment.id,
            payment.amount,
            payment.asset,
            payment.channel,
            payment.version,
            payment.mine,
            payment.theirs
        ),
        NodeEvent::ChannelSettling { channel, version } => {
            format!("channel {channel}: final state {version} signed by both; settling on chain")
        }
        NodeEvent::PeerFault { channel, reason } => {
            format!("channel {channel}: PEER FAULT: {reason}")
        }
        NodeEvent::EventsMissed { count } => {
            format!("missed {count} events (this terminal fell behind); `parley channel list` shows the state")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Phase;
    use parley_plugin_api::model::ChannelId;

    #[test]
    fn events_read_as_one_line_each() {
        let channel = ChannelId([1; 32]);
        let line = human(&NodeEvent::PhaseChanged {
            channel,
            from: Phase::Funding,
            to: Phase::Active,
        });
        assert_eq!(line, format!("channel {channel}: funding -> active"));
        let line = human(&NodeEvent::UpdateAccepted {
            channel,
            version: 7,
        });
        assert!(line.ends_with("version 7 signed by both"), "{line}");
        assert!(!human(&NodeEvent::EventsMissed { count: 3 }).contains('\n'));
    }
}
