//! Timing figures, printed rather than asserted (run with `--ignored --nocapture`).

use super::{connected_pair, Node};
use parley_plugin_api::model::{PluginEvent, TransportEvent};
use parley_plugin_api::Transport;
use std::sync::Arc;
use std::time::{Duration, Instant};

const FRAME: [u8; 200] = [0x5a; 200];

/// B answers every frame with the same bytes until A goes quiet for a second.
fn echo(b: Arc<Node>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while let Some(event) = b.host.next_event(Duration::from_secs(1)) {
            if let PluginEvent::Transport(TransportEvent::Frame { connection, frame }) = event {
                let _ = b.transport.send(connection, &frame);
            }
        }
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
#[ignore = "prints timing figures; run with --ignored --nocapture"]
fn round_trip_and_pipelining_figures() {
    let (a, b, a_id, _) = connected_pair("");
    let echoing = echo(Arc::new(b));

    let mut samples = Vec::new();
    for i in 0..5_200 {
        let started = Instant::now();
        a.transport.send(a_id, &FRAME).unwrap();
        let (_, frame) = a.frame();
        let elapsed = started.elapsed();
        assert_eq!(frame.len(), FRAME.len());
        if i >= 200 {
            samples.push(elapsed);
        }
    }
    samples.sort();
    println!(
        "200-byte round trip over {} samples: p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.90),
        percentile(&samples, 0.99),
        samples[samples.len() - 1]
    );

    for _ in 0..5 {
        let started = Instant::now();
        for _ in 0..1_000 {
            a.transport.send(a_id, &FRAME).unwrap();
        }
        let queued = started.elapsed();
        for _ in 0..1_000 {
            a.frame();
        }
        println!(
            "1,000 pipelined 200-byte frames: queued in {queued:?}, all echoed back in {:?}",
            started.elapsed()
        );
    }
    drop(a);
    echoing.join().unwrap();
}

#[test]
#[ignore = "prints timing figures; run with --ignored --nocapture"]
fn one_way_pipelining_and_bulk_figures() {
    let (a, b, a_id, _) = connected_pair("");
    for _ in 0..5 {
        let started = Instant::now();
        for _ in 0..1_000 {
            a.transport.send(a_id, &FRAME).unwrap();
        }
        for _ in 0..1_000 {
            b.frame();
        }
        println!(
            "1,000 pipelined 200-byte frames arrived in {:?}",
            started.elapsed()
        );
    }
    let big = vec![7u8; 8 << 20];
    let started = Instant::now();
    for _ in 0..8 {
        a.transport.send(a_id, &big).unwrap();
    }
    for _ in 0..8 {
        b.frame();
    }
    let elapsed = started.elapsed();
    println!(
        "64 MiB in 8 MiB frames: {elapsed:?} ({:.0} MiB/s)",
        64.0 / elapsed.as_secs_f64()
    );
}
