//! Latency percentiles and rates of a measured run, computed the same way for every figure.

use crate::lab::figures::percentile;
use crate::store::CommitStats;
use std::fmt;
use std::time::Duration;

/// What a run of timed operations amounts to.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Operations timed.
    pub count: usize,
    /// Wall time of the whole run (not the sum of latencies: concurrent operations overlap).
    pub elapsed: Duration,
    /// Median latency.
    pub p50: Duration,
    /// 90th percentile latency.
    pub p90: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// The slowest operation.
    pub max: Duration,
}

impl Summary {
    /// Summarises `latencies` (in any order) of operations that took `elapsed` of wall time
    /// together. `None` when nothing was timed.
    pub fn of(mut latencies: Vec<Duration>, elapsed: Duration) -> Option<Summary> {
        if latencies.is_empty() {
            return None;
        }
        latencies.sort_unstable();
        Some(Summary {
            count: latencies.len(),
            elapsed,
            p50: percentile(&latencies, 50.0),
            p90: percentile(&latencies, 90.0),
            p99: percentile(&latencies, 99.0),
            max: latencies[latencies.len() - 1],
        })
    }

    /// Operations per second of wall time.
    pub fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Milliseconds with three decimals: latencies here range from tenths to tens of ms.
pub struct Millis(pub Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} ms", self.0.as_secs_f64() * 1000.0)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.0} updates/s ({} in {:.2} s); latency p50 {}, p90 {}, p99 {}, max {}",
            self.rate(),
            self.count,
            self.elapsed.as_secs_f64(),
            Millis(self.p50),
            Millis(self.p90),
            Millis(self.p99),
            Millis(self.max)
        )
    }
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
            let per_commit = if commits == 0 {
                0.0
            } else {
                batches as f64 / commits as f64
            };
            format!(
                "node {node} {batches} persists in {commits} commits ({per_commit:.1} per commit)"
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
        let stats = |batches, commits, largest_group| CommitStats {
            batches,
            commits,
            largest_group,
            ..CommitStats::default()
        };
        let line = group_commits(
            &[stats(10, 10, 1), stats(5, 5, 1)],
            &[stats(310, 110, 7), stats(5, 5, 1)],
        );
        assert_eq!(
            line,
            "group commit: node a 300 persists in 100 commits (3.0 per commit), \
             node b 0 persists in 0 commits (0.0 per commit); largest group since start 7"
        );
    }

    fn micros(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_micros).collect()
    }

    #[test]
    fn nothing_timed_gives_no_summary() {
        assert_eq!(Summary::of(Vec::new(), Duration::from_secs(1)), None);
    }

    #[test]
    fn percentiles_are_nearest_rank_whatever_the_input_order() {
        // 1..=100 µs shuffled: the p-th percentile is exactly p µs.
        let mut values: Vec<u64> = (1..=100).collect();
        values.reverse();
        values.swap(3, 71);
        let summary = Summary::of(micros(values), Duration::from_secs(1)).unwrap();
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50, Duration::from_micros(50));
        assert_eq!(summary.p90, Duration::from_micros(90));
        assert_eq!(summary.p99, Duration::from_micros(99));
        assert_eq!(summary.max, Duration::from_micros(100));
    }

    #[test]
    fn a_single_slow_outlier_shows_in_p99_only_when_it_is_over_one_percent() {
        // 1,000 values: 989 fast and 11 slow: the slow ones are 1.1% so p99 is slow.
        let mut values = vec![100u64; 989];
        values.extend([9_000u64; 11]);
        let summary = Summary::of(micros(values), Duration::from_secs(1)).unwrap();
        assert_eq!(summary.p50, Duration::from_micros(100));
        assert_eq!(summary.p99, Duration::from_micros(9_000));
        // 991 fast and 9 slow: under 1%, p99 stays fast.
        let mut values = vec![100u64; 991];
        values.extend([9_000u64; 9]);
        let summary = Summary::of(micros(values), Duration::from_secs(1)).unwrap();
        assert_eq!(summary.p99, Duration::from_micros(100));
        assert_eq!(summary.max, Duration::from_micros(9_000));
    }

    #[test]
    fn small_runs_take_their_own_values() {
        let summary = Summary::of(micros([7]), Duration::from_millis(1)).unwrap();
        assert_eq!(
            (summary.p50, summary.p99, summary.max),
            (
                Duration::from_micros(7),
                Duration::from_micros(7),
                Duration::from_micros(7)
            )
        );
        let summary = Summary::of(micros([5, 1]), Duration::from_millis(1)).unwrap();
        assert_eq!(summary.p50, Duration::from_micros(1));
        assert_eq!(summary.p99, Duration::from_micros(5));
    }

    #[test]
    fn the_rate_is_over_wall_time_not_summed_latency() {
        // 100 operations of 10 ms each that overlapped within 0.5 s: 200/s, not 100/s.
        let summary = Summary::of(micros([10_000; 100]), Duration::from_millis(500)).unwrap();
        assert!((summary.rate() - 200.0).abs() < 1e-9, "{}", summary.rate());
    }
}
