//! `parley hostile flood`: an authenticated peer that sends as fast as it can (see the module
//! doc of `hostile`).

use super::super::{CliError, CliResult};
use crate::client::peers::{Intake, PeerEvent, Peers, PeersConfig};
use crate::protocol::{ChannelMessage, ProposalId, ProposalReject};
use crate::wire::{NodeId, NodeKey};
use clap::Args;
use parley_plugin_api::model::ConnectionId;
use parley_plugin_api::ErrorKind;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Arguments of `parley hostile flood`.
#[derive(Debug, Args)]
pub struct FloodArgs {
    /// The node's transport address (`parley info`).
    addr: String,
    /// The node's id (`parley info`), which its handshake must prove.
    #[arg(long, value_parser = super::super::node_cmd::args::node_id)]
    peer: NodeId,
    /// How long to flood.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The size of each message's text, in bytes: each frame is a little larger.
    #[arg(long, default_value_t = 1024)]
    frame_bytes: usize,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    json: bool,
}

/// What the flood did.
#[derive(Default)]
struct Tally {
    frames: u64,
    bytes: u64,
    /// Connections that got through the handshake.
    connections: u64,
    /// Why each ended, as this side saw it (the node's goodbye, when it sent one).
    ends: Vec<String>,
}

pub fn run(args: FloodArgs, verbose: bool) -> CliResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
    let tally = runtime.block_on(flood(&args, verbose))?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "frames_sent": tally.frames,
                "bytes_sent": tally.bytes,
                "connections": tally.connections,
                "disconnects": tally.ends,
            })
        );
    } else {
        println!(
            "sent {} frames ({} bytes) over {} connections in {} s",
            tally.frames, tally.bytes, tally.connections, args.seconds
        );
        for end in &tally.ends {
            println!("  disconnected: {end}");
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(ExitCode::SUCCESS)
}

async fn flood(args: &FloodArgs, verbose: bool) -> Result<Tally, CliError> {
    let config = PeersConfig::default();
    let (intake, inbound) = Intake::new(config.limits);
    let (transport, _dir) = super::quic("", intake.clone(), verbose)?;
    let key = NodeKey::generate().map_err(|e| CliError::new(format!("no node key: {e}")))?;
    let (peers, mut events) = Peers::start(key, transport.clone(), (intake, inbound), config);
    let ends = Arc::new(Mutex::new(Vec::new()));
    let recorded = ends.clone();
    let target = args.peer;
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let PeerEvent::Disconnected(peer, reason) = event {
                if peer == target {
                    recorded
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(reason.to_string());
                }
            }
        }
    });

    let mut proposal_id = [0u8; 32];
    getrandom::fill(&mut proposal_id)
        .map_err(|e| CliError::new(format!("the OS random source failed: {e}")))?;
    // Valid on the wire and cheap to make: an answer to a proposal the node never made, which
    // it must decode, route and drop.
    let message = ChannelMessage::ProposalReject(ProposalReject {
        proposal_id: ProposalId(proposal_id),
        reason: "x".repeat(args.frame_bytes),
    });
    let mut tally = Tally::default();
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut current: Option<(ConnectionId, Vec<u8>)> = None;
    while Instant::now() < deadline {
        let Some((connection, frame)) = &current else {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, peers.connect(args.peer, &args.addr)).await {
                Ok(Ok(())) => match peers.frame_for(args.peer, &message) {
                    Ok(encoded) => {
                        tally.connections += 1;
                        current = Some(encoded);
                    }
                    Err(_) => continue,
                },
                Ok(Err(error)) => {
                    if verbose {
                        eprintln!("reconnect failed: {error}");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(_) => break,
            }
            continue;
        };
        // One frame, encoded once, sent again and again: as fast as this side can go.
        match transport.send(*connection, frame) {
            Ok(()) => {
                tally.frames += 1;
                tally.bytes += frame.len() as u64;
                if tally.frames % 256 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            // Our own outbox is full: the node reads slower than we write.
            Err(error) if error.kind == ErrorKind::Unavailable => {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Err(_) => {
                // Cut: wait until the peer manager has seen the end, then reconnect.
                current = None;
                while peers.is_connected(&args.peer) && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }
    peers.shutdown().await;
    tally.ends = std::mem::take(&mut *ends.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(tally)
}
