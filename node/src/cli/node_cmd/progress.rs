//! The progress bar of `channel settle` while a dispute runs: how much of the challenge
//! duration has passed on chain time, read from `channel_get` twice a second. Before a state is
//! registered (or for a cooperative settle) it shows the node's status next to the time.
//!
//! Like the spinner it is drawn only when stderr is a terminal, and erased when the call ends.

use crate::api::client::ApiClient;
use crate::api::types::{ChannelInfo, ChannelRef};
use parley_plugin_api::model::ChannelId;
use std::future::Future;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often the channel is read.
const TICK: Duration = Duration::from_millis(500);

/// Cells of the bar.
const WIDTH: usize = 24;

/// Moves to the start of the line and erases it.
const CLEAR_LINE: &str = "\r\x1b[2K";

/// One frame for `channel` after `elapsed` of waiting, without the line control characters.
pub fn frame(channel: &ChannelInfo, elapsed: Duration) -> String {
    let waited = elapsed.as_secs();
    match &channel.dispute {
        Some(dispute) if dispute.phase == "dispute" || dispute.phase == "force_exec" => {
            let total = channel.challenge_seconds.max(1);
            let left = dispute.timeout.saturating_sub(dispute.chain_time);
            let done = total.saturating_sub(left.min(total));
            let filled = (done as usize * WIDTH) / total as usize;
            format!(
                "[{}{}] {:>3}% version {} registered; {left} s of chain time left ({waited}s)",
                "#".repeat(filled),
                "-".repeat(WIDTH - filled),
                done * 100 / total,
                dispute.version,
            )
        }
        Some(dispute) => format!(
            "[{}] concluded at version {}; withdrawing ({waited}s)",
            "#".repeat(WIDTH),
            dispute.version
        ),
        None => match &channel.status {
            Some(status) => format!("settling ({}): {status} ({waited}s)", channel.phase_name()),
            None => format!("settling ({}) ({waited}s)", channel.phase_name()),
        },
    }
}

/// Awaits `future` (the settle call), drawing the progress of channel `id` on stderr meanwhile
/// if it is a terminal.
pub async fn while_settling<F: Future>(client: &ApiClient, id: ChannelId, future: F) -> F::Output {
    let mut stderr = std::io::stderr();
    if !stderr.is_terminal() {
        return future.await;
    }
    let start = Instant::now();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(future);
    let params = serde_json::to_value(ChannelRef { id }).unwrap_or_default();
    let output = loop {
        tokio::select! {
            biased;
            output = &mut future => break output,
            _ = ticker.tick() => {
                // A failed read only skips a frame; the settle call goes on.
                if let Ok(channel) = client.call::<ChannelInfo>("channel_get", params.clone()).await {
                    let _ = write!(stderr, "{CLEAR_LINE}{}", frame(&channel, start.elapsed()));
                    let _ = stderr.flush();
                }
            }
        }
    };
    let _ = write!(stderr, "{CLEAR_LINE}");
    let _ = stderr.flush();
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn channel(dispute: serde_json::Value, status: Option<&str>) -> ChannelInfo {
        serde_json::from_value(json!({
            "id": format!("0x{}", "ab".repeat(32)),
            "peer": "0x02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5",
            "peer_alias": "bob",
            "phase": "disputed",
            "version": 12,
            "challenge_seconds": 600,
            "balances": [],
            "status": status,
            "dispute": dispute,
        }))
        .unwrap()
    }

    #[test]
    fn the_bar_fills_with_the_chain_time_that_passed() {
        let at = |chain_time: u64| {
            channel(
                json!({"version": 12, "phase": "dispute", "timeout": 1600, "chain_time": chain_time}),
                None,
            )
        };
        let start = frame(&at(1000), Duration::from_secs(2));
        assert!(
            start.starts_with(&format!("[{}]   0% ", "-".repeat(WIDTH))),
            "{start}"
        );
        assert!(start.contains("600 s of chain time left (2s)"), "{start}");
        let half = frame(&at(1300), Duration::ZERO);
        assert!(
            half.starts_with(&format!("[{}{}]  50% ", "#".repeat(12), "-".repeat(12))),
            "{half}"
        );
        let over = frame(&at(1700), Duration::ZERO);
        assert!(
            over.starts_with(&format!("[{}] 100% ", "#".repeat(WIDTH))),
            "{over}"
        );
        assert!(over.contains("0 s of chain time left"), "{over}");
    }

    #[test]
    fn before_a_registration_the_status_is_shown() {
        let waiting = channel(serde_json::Value::Null, Some("registered our newest state"));
        assert_eq!(
            frame(&waiting, Duration::from_secs(3)),
            "settling (disputed): registered our newest state (3s)"
        );
        let concluded = channel(
            json!({"version": 12, "phase": "concluded", "timeout": 1600, "chain_time": 1700}),
            None,
        );
        assert!(frame(&concluded, Duration::ZERO).contains("concluded at version 12; withdrawing"));
    }
}
