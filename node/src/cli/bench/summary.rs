//! The figures of `parley bench channels` as text: a run's rate and latencies, its CPU time
//! by thread, and what the store committers did.

use crate::lab::bench::cpu::CpuUse;
use crate::lab::figures::Latencies;
use crate::store::CommitStats;
use std::fmt;
use std::time::Duration;

/// Milliseconds with three decimals: latencies here range from tenths to tens of ms.
pub struct Millis(pub Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} ms", self.0.as_secs_f64() * 1000.0)
    }
}

/// `1480 updates/s (2000 in 1.35 s); latency p50 0.642 ms, p90 ..., p99 ..., max ...`.
pub fn latency_line(latencies: &Latencies) -> String {
    latency_line_of(latencies, "updates")
}

/// [`latency_line`] of `what` is measured (updates, or payments where several go in one).
pub fn latency_line_of(latencies: &Latencies, what: &str) -> String {
    format!(
        "{:.0} {what}/s ({} in {:.2} s); latency p50 {}, p90 {}, p99 {}, max {}",
        latencies.rate(),
        latencies.count,
        latencies.elapsed.as_secs_f64(),
        Millis(latencies.p50),
        Millis(latencies.p90),
        Millis(latencies.p99),
        Millis(latencies.max)
    )
}

/// One line: the total CPU time against the wall time, then the `shown` largest thread
/// groups.
pub fn cpu_line(cpu: &CpuUse, wall: Duration, shown: usize) -> String {
    if cpu.groups.is_empty() {
        return "CPU time not available (no /proc/self/task)".to_string();
    }
    let wall = wall.as_secs_f64().max(f64::MIN_POSITIVE);
    let parts: Vec<String> = cpu
        .groups
        .iter()
        .take(shown)
        .map(|(name, d)| format!("{name} {:.2} s", d.as_secs_f64()))
        .collect();
    let rest: Duration = cpu.groups.iter().skip(shown).map(|(_, d)| *d).sum();
    let rest = if rest.is_zero() {
        String::new()
    } else {
        format!(", other {:.2} s", rest.as_secs_f64())
    };
    format!(
        "CPU {:.2} s in {:.2} s wall ({:.2} cores busy): {}{rest}",
        cpu.total().as_secs_f64(),
        wall,
        cpu.total().as_secs_f64() / wall,
        parts.join(", ")
    )
}

/// What the store committers of both nodes did during a run, from their counters before and
/// after it: persisted batches, store commits (each one durable sync), batches per commit.
pub fn group_commits(before: &[CommitStats; 2], after: &[CommitStats; 2]) -> String {
    let parts: Vec<String> = before
        .iter()
        .zip(after)
        .zip(["a", "b"])
        .map(|((before, after), node)| {
            let batches = after.batches.saturating_sub(before.batches);
            let commits = after.commits.saturating_sub(before.commits);
            let micros = after.commit_micros.saturating_sub(before.commit_micros);
            let (per_commit, millis_each) = if commits == 0 {
                (0.0, 0.0)
            } else {
                (
                    batches as f64 / commits as f64,
                    micros as f64 / 1000.0 / commits as f64,
                )
            };
            format!(
                "node {node} {batches} persists in {commits} commits ({per_commit:.1} per commit, \
                 {millis_each:.2} ms each)"
            )
        })
        .collect();
    let largest = after.iter().map(|s| s.largest_group).max().unwrap_or(0);
    format!(
        "group commit: {}; largest group since start {largest}",
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_commits_are_counted_over_the_run_only() {
        let stats = |batches, commits, largest_group, commit_micros| CommitStats {
            batches,
            commits,
            largest_group,
            commit_micros,
            ..CommitStats::default()
        };
        let line = group_commits(
            &[stats(10, 10, 1, 900), stats(5, 5, 1, 400)],
            &[stats(310, 110, 7, 45_900), stats(5, 5, 1, 400)],
        );
        assert_eq!(
            line,
            "group commit: node a 300 persists in 100 commits (3.0 per commit, 0.45 ms each), \
             node b 0 persists in 0 commits (0.0 per commit, 0.00 ms each); largest group since start 7"
        );
    }
}
