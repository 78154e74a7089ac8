//! What an operator's Prometheus scrapes (`GET /metrics` on the API port, with the token):
//! counters the node keeps as it works (payments and their latency, disputes, failed chain
//! steps) and gauges read when scraped (channels by phase, connected peers, store commits).
//! Lock-free: a counter is one atomic add on the path it counts.

use crate::protocol::Phase;
use crate::store::CommitStats;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the payment latency histogram's buckets, in seconds.
const LATENCY_BOUNDS: [f64; 12] = [
    0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The node's counters, shared by the parts that count.
#[derive(Debug, Default)]
pub struct Metrics {
    payments_completed: AtomicU64,
    payments_failed: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BOUNDS.len()],
    latency_sum_micros: AtomicU64,
    disputes: AtomicU64,
    chain_failures: AtomicU64,
}

/// What is read at scrape time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Running channels per phase.
    pub channels: Vec<(Phase, u64)>,
    /// Peers connected now.
    pub peers_connected: u64,
    /// The store committer's counters.
    pub store: CommitStats,
}

impl Metrics {
    /// A payment of ours ended after `took`: completed (both signed it) or not.
    pub fn payment(&self, took: Duration, completed: bool) {
        if !completed {
            self.payments_failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.payments_completed.fetch_add(1, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        if let Some(bucket) = LATENCY_BOUNDS.iter().position(|bound| seconds <= *bound) {
            self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// A channel moved to `Disputed` (the chain side stopped it for a dispute).
    pub fn dispute(&self) {
        self.disputes.fetch_add(1, Ordering::Relaxed);
    }

    /// A step of a channel's chain side failed (a chain call, a plugin error).
    pub fn chain_failure(&self) {
        self.chain_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Everything in Prometheus's text format (version 0.0.4).
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let completed = load(&self.payments_completed);
        counter(
            &mut out,
            "parley_payments_total",
            "Payments this node made, by outcome.",
            &[
                ("outcome=\"completed\"", completed),
                ("outcome=\"failed\"", load(&self.payments_failed)),
            ],
        );
        let _ = writeln!(
            out,
            "# HELP parley_payment_seconds Time from a payment request until both parties signed it and it is durable.\n# TYPE parley_payment_seconds histogram"
        );
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BOUNDS.iter().zip(&self.latency_buckets) {
            cumulative += load(bucket);
            let _ = writeln!(
                out,
                "parley_payment_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "parley_payment_seconds_bucket{{le=\"+Inf\"}} {completed}"
        );
        let sum = load(&self.latency_sum_micros) as f64 / 1e6;
        let _ = writeln!(out, "parley_payment_seconds_sum {sum}");
        let _ = writeln!(out, "parley_payment_seconds_count {completed}");
        counter(
            &mut out,
            "parley_disputes_total",
            "Channels this node stopped for a dispute on chain.",
            &[("", load(&self.disputes))],
        );
        counter(
            &mut out,
            "parley_chain_step_failures_total",
            "Failed steps of the channels' chain side (chain calls, plugin errors).",
            &[("", load(&self.chain_failures))],
        );
        let phases: Vec<(String, u64)> = gauges
            .channels
            .iter()
            .map(|(phase, count)| (format!("phase=\"{phase}\""), *count))
            .collect();
        let phases: Vec<(&str, u64)> = phases.iter().map(|(l, c)| (l.as_str(), *c)).collect();
        gauge(
            &mut out,
            "parley_channels",
            "Running channels by phase.",
            &phases,
        );
        gauge(
            &mut out,
            "parley_peers_connected",
            "Peers connected now, whichever side dialled.",
            &[("", gauges.peers_connected)],
        );
        let store = &gauges.store;
        counter(
            &mut out,
            "parley_store_commits_total",
            "Durable store commits (each a group of persist batches), by outcome.",
            &[
                (
                    "outcome=\"ok\"",
                    store.commits - store.failed_commits.min(store.commits),
                ),
                ("outcome=\"failed\"", store.failed_commits),
            ],
        );
        counter(
            &mut out,
            "parley_store_batches_total",
            "Persist batches (a channel step's writes) answered by the store.",
            &[("", store.batches)],
        );
        out
    }
}

fn counter(out: &mut String, name: &str, help: &str, values: &[(&str, u64)]) {
    series(out, name, help, "counter", values)
}

fn gauge(out: &mut String, name: &str, help: &str, values: &[(&str, u64)]) {
    series(out, name, help, "gauge", values)
}

fn series(out: &mut String, name: &str, help: &str, kind: &str, values: &[(&str, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in values {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> String {
        text.lines()
            .find_map(|line| {
                line.strip_prefix(series)?
                    .strip_prefix(' ')
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    }

    #[test]
    fn payments_fill_cumulative_buckets_and_failures_count_apart() {
        let metrics = Metrics::default();
        metrics.payment(Duration::from_micros(1_500), true);
        metrics.payment(Duration::from_millis(30), true);
        metrics.payment(Duration::from_secs(60), true);
        metrics.payment(Duration::from_millis(1), false);
        let text = metrics.render(&Gauges::default());
        assert_eq!(
            value(&text, "parley_payments_total{outcome=\"completed\"}"),
            "3"
        );
        assert_eq!(
            value(&text, "parley_payments_total{outcome=\"failed\"}"),
            "1"
        );
        assert_eq!(
            value(&text, "parley_payment_seconds_bucket{le=\"0.001\"}"),
            "0"
        );
        assert_eq!(
            value(&text, "parley_payment_seconds_bucket{le=\"0.002\"}"),
            "1"
        );
        assert_eq!(
            value(&text, "parley_payment_seconds_bucket{le=\"0.05\"}"),
            "2"
        );
        assert_eq!(
            value(&text, "parley_payment_seconds_bucket{le=\"10\"}"),
            "2"
        );
        assert_eq!(
            value(&text, "parley_payment_seconds_bucket{le=\"+Inf\"}"),
            "3"
        );
        assert_eq!(value(&text, "parley_payment_seconds_count"), "3");
        assert_eq!(value(&text, "parley_payment_seconds_sum"), "60.0315");
    }

    #[test]
    fn gauges_are_rendered_with_help_and_type() {
        let metrics = Metrics::default();
        metrics.dispute();
        metrics.chain_failure();
        let gauges = Gauges {
            channels: vec![(Phase::Active, 3), (Phase::Disputed, 1)],
            peers_connected: 2,
            store: CommitStats {
                commits: 10,
                failed_commits: 1,
                batches: 12,
                ..CommitStats::default()
            },
        };
        let text = metrics.render(&gauges);
        assert_eq!(value(&text, "parley_channels{phase=\"active\"}"), "3");
        assert_eq!(value(&text, "parley_channels{phase=\"disputed\"}"), "1");
        assert_eq!(value(&text, "parley_peers_connected"), "2");
        assert_eq!(value(&text, "parley_disputes_total"), "1");
        assert_eq!(value(&text, "parley_chain_step_failures_total"), "1");
        assert_eq!(
            value(&text, "parley_store_commits_total{outcome=\"ok\"}"),
            "9"
        );
        assert!(text.contains("# TYPE parley_channels gauge"));
        assert!(text.contains("# TYPE parley_payment_seconds histogram"));
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert_eq!(line.split(' ').count(), 2, "{line}");
        }
    }
}
