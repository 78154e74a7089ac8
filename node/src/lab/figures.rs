//! Rates and latency percentiles, computed the same way for every figure the demo and the
//! channel bench report.

use std::time::Duration;

/// `count / elapsed`, 0 before any time has passed.
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// The nearest-rank `p`-th percentile (0 < p <= 100) of `sorted`: the smallest value that at
/// least `p` percent of the values are not above; zero when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What a run of timed operations amounts to.
#[derive(Clone, Debug, PartialEq)]
pub struct Latencies {
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

impl Latencies {
    /// Summarises `latencies` (in any order) of operations that took `elapsed` of wall time
    /// together. `None` when nothing was timed.
    pub fn of(mut latencies: Vec<Duration>, elapsed: Duration) -> Option<Latencies> {
        if latencies.is_empty() {
            return None;
        }
        latencies.sort_unstable();
        Some(Latencies {
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

/// Milliseconds with two decimals, for JSON and text.
pub fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 100_000.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&sorted, 100.0), Duration::from_millis(100));
        assert_eq!(
            percentile(&[Duration::from_millis(7)], 99.0),
            Duration::from_millis(7)
        );
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
        assert_eq!(millis(Duration::from_micros(1234)), 1.23);
    }

    #[test]
    fn rates_need_elapsed_time() {
        assert_eq!(per_second(100, Duration::ZERO), 0.0);
        assert_eq!(per_second(100, Duration::from_millis(500)), 200.0);
    }

    fn micros(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_micros).collect()
    }

    #[test]
    fn nothing_timed_gives_no_summary() {
        assert_eq!(Latencies::of(Vec::new(), Duration::from_secs(1)), None);
    }

    #[test]
    fn percentiles_are_nearest_rank_whatever_the_input_order() {
        // 1..=100 µs shuffled: the p-th percentile is exactly p µs.
        let mut values: Vec<u64> = (1..=100).collect();
        values.reverse();
        values.swap(3, 71);
        let summary = Latencies::of(micros(values), Duration::from_secs(1)).unwrap();
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
        let summary = Latencies::of(micros(values), Duration::from_secs(1)).unwrap();
        assert_eq!(summary.p50, Duration::from_micros(100));
        assert_eq!(summary.p99, Duration::from_micros(9_000));
        // 991 fast and 9 slow: under 1%, p99 stays fast.
        let mut values = vec![100u64; 991];
        values.extend([9_000u64; 9]);
        let summary = Latencies::of(micros(values), Duration::from_secs(1)).unwrap();
        assert_eq!(summary.p99, Duration::from_micros(100));
        assert_eq!(summary.max, Duration::from_micros(9_000));
    }

    #[test]
    fn small_runs_take_their_own_values() {
        let summary = Latencies::of(micros([7]), Duration::from_millis(1)).unwrap();
        assert_eq!(
            (summary.p50, summary.p99, summary.max),
            (
                Duration::from_micros(7),
                Duration::from_micros(7),
                Duration::from_micros(7)
            )
        );
        let summary = Latencies::of(micros([5, 1]), Duration::from_millis(1)).unwrap();
        assert_eq!(summary.p50, Duration::from_micros(1));
        assert_eq!(summary.p99, Duration::from_micros(5));
    }

    #[test]
    fn the_rate_is_over_wall_time_not_summed_latency() {
        // 100 operations of 10 ms each that overlapped within 0.5 s: 200/s, not 100/s.
        let summary = Latencies::of(micros([10_000; 100]), Duration::from_millis(500)).unwrap();
        assert!((summary.rate() - 200.0).abs() < 1e-9, "{}", summary.rate());
    }
}
