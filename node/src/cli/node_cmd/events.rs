//! `parley events`: follow what happens on the running node (proposals, updates, phase
//! changes, payments) through its WebSocket subscription, one line per event; a node that
//! restarts is subscribed to again.

use super::{failure, CliError, CliResult, NodeOptions};
use crate::api::client::{ApiClient, ClientError};
use crate::api::events_client::EventStream;
use crate::api::types::NodeEvent;
use crate::config::NodeConfig;
use clap::Args;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `parley events`.
#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  parley events --config bob/node.toml
  parley events --config bob/node.toml --json --count 10

Runs until Ctrl-C or --count events were printed. When the node stops, it says so on stderr and
reconnects once the node is back (retrying with a growing pause of up to 5 s; events published
meanwhile are missed); with --no-reconnect it ends instead. With --json, each event is one JSON
object per line (`{\"kind\": \"update_accepted\", ...}`).")]
pub struct EventsArgs {
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// End when the node stops, instead of waiting for it to come back.
    #[arg(long)]
    no_reconnect: bool,
    #[command(flatten)]
    pub(super) options: NodeOptions,
}

/// The longest pause between two attempts to reach a restarting node.
const MOST_BACKOFF: Duration = Duration::from_secs(5);

impl EventsArgs {
    /// Subscribes and prints events as they arrive, subscribing again after a node restart.
    pub fn run(self) -> CliResult {
        let config = NodeConfig::load(&self.options.config)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(async {
            // The first subscription must work: a node that is not running is an error.
            let mut events = subscribe(&config)
                .await
                .map_err(|e| failure::client_error(e, &config))?;
            let mut printed = 0u64;
            while self.count.is_none_or(|count| printed < count) {
                let event = tokio::select! {
                    event = events.next() => event,
                    _ = tokio::signal::ctrl_c() => break,
                };
                let event = match event {
                    Ok(Some(event)) => event,
                    Ok(None) if self.no_reconnect => {
                        eprintln!("the node closed the subscription");
                        break;
                    }
                    Err(error) if self.no_reconnect => {
                        return Err(failure::client_error(error, &config))
                    }
                    lost => {
                        let why = match lost {
                            Err(error) => error.to_string(),
                            _ => "it closed the subscription".to_string(),
                        };
                        eprintln!("lost the node ({why}); reconnecting");
                        match resubscribe(&config).await {
                            Some(again) => {
                                eprintln!("reconnected to the node; events published meanwhile were missed (`parley channel list` shows the state)");
                                events = again;
                                continue;
                            }
                            None => break, // Ctrl-C
                        }
                    }
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

/// A subscription to the node `config` describes, found afresh: a restarted node may listen
/// on another port (it writes the new one to its data directory).
async fn subscribe(config: &NodeConfig) -> Result<EventStream, ClientError> {
    let client = ApiClient::from_config(config)?;
    EventStream::subscribe(client.addr(), client.token()).await
}

/// Subscribes again, pausing longer after each failed attempt; `None` on Ctrl-C.
async fn resubscribe(config: &NodeConfig) -> Option<EventStream> {
    let mut pause = Duration::from_millis(200);
    loop {
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = tokio::signal::ctrl_c() => return None,
        }
        match subscribe(config).await {
            Ok(events) => return Some(events),
            Err(error) => {
                tracing::debug!("the node is not back yet: {error}");
                pause = (pause * 2).min(MOST_BACKOFF);
            }
        }
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
