//! `parley hostile unauthenticated`: connections that never authenticate, each sending one
//! large frame (see the module doc of `hostile`).

use super::super::{CliError, CliResult};
use crate::host::{EventRoute, SectionEvent};
use clap::Args;
use parley_plugin_api::model::{ConnectionId, PluginEvent, TransportEvent};
use parley_plugin_api::ErrorKind;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Arguments of `parley hostile unauthenticated`.
#[derive(Debug, Args)]
pub struct UnauthenticatedArgs {
    /// The node's transport address (`parley info`).
    addr: String,
    /// How many connections to open.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// The size of the frame sent on each, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    frame_bytes: usize,
    /// How long to wait for the node to close them, at most.
    #[arg(long, default_value_t = 60)]
    wait_seconds: u64,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Transport events on a std channel: this command has no async runtime of its own.
struct Events(Mutex<Sender<SectionEvent>>);

impl EventRoute for Events {
    fn route(&self, event: SectionEvent) {
        let _ = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .send(event);
    }
}

pub fn run(args: UnauthenticatedArgs, verbose: bool) -> CliResult {
    let (sender, events) = channel();
    let table = format!("max_frame_size = {}", args.frame_bytes.max(1));
    let (transport, _dir) = super::quic(&table, Events(Mutex::new(sender)), verbose)?;
    let frame = vec![0x5a; args.frame_bytes];
    let mut open = Vec::new();
    for _ in 0..args.connections {
        let connection = transport
            .dial(&args.addr)
            .map_err(|e| CliError::new(format!("cannot dial {}: {e}", args.addr)))?;
        match transport.send(connection, &frame) {
            Ok(()) => {}
            // The node closed it already (too many connections in their handshake): its
            // `Closed` event counts it below.
            Err(error) if error.kind == ErrorKind::NotFound => {}
            Err(error) => {
                return Err(CliError::new(format!(
                    "cannot queue the frame on connection {connection}: {error}"
                )))
            }
        }
        open.push(connection);
    }
    // Everything the node says (its hello, a goodbye) is ignored; only the ends count.
    let mut closed: BTreeMap<ConnectionId, String> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(args.wait_seconds);
    while closed.len() < open.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(event) = events.recv_timeout(left.max(Duration::from_millis(1))) else {
            break;
        };
        if let PluginEvent::Transport(TransportEvent::Closed { connection, reason }) = event.event {
            closed.insert(connection, reason);
        }
    }
    // How many connections ended for each reason.
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for reason in closed.values() {
        *reasons.entry(reason.as_str()).or_default() += 1;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "connections": open.len(),
                "frame_bytes": args.frame_bytes,
                "closed_by_node": closed.len(),
                "reasons": reasons,
            })
        );
    } else {
        println!(
            "{} connections, one {}-byte frame each; the node closed {}",
            open.len(),
            args.frame_bytes,
            closed.len()
        );
        for (reason, count) in reasons {
            println!("  closed ({count}): {reason}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
