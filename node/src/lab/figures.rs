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
}
