//! The peer manager's settings (`[peers]`-level knobs the node passes in).

use crate::wire::DEFAULT_MAX_FRAME_SIZE;
use std::time::Duration;

/// How [`Peers`](super::Peers) bounds handshakes and watches live connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeersConfig {
    /// A connection that has not authenticated its peer this long after it came up is closed
    /// with a `Timeout` goodbye. Also bounds how long `connect` waits after the dial returned.
    pub handshake_timeout: Duration,
    /// How often an authenticated connection is probed with a ping; `None` sends no pings
    /// (the transport's own keep-alive, if any, is then the only liveness check).
    pub ping_interval: Option<Duration>,
    /// How many pings in a row may go unanswered before the connection is closed. At least 1.
    pub max_missed_pongs: u32,
    /// The largest frame accepted or sent; the transport's own limit applies too (the smaller
    /// of the two wins).
    pub max_frame_size: usize,
}

impl Default for PeersConfig {
    fn default() -> PeersConfig {
        PeersConfig {
            handshake_timeout: Duration::from_secs(5),
            ping_interval: Some(Duration::from_secs(15)),
            max_missed_pongs: 3,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
        }
    }
}

impl PeersConfig {
    /// How often the driver checks deadlines: a fraction of the shortest timer, so that a
    /// deadline is acted on at most about a quarter of its length late, within 10 ms .. 1 s.
    pub(super) fn tick(&self) -> Duration {
        let shortest = match self.ping_interval {
            Some(ping) => ping.min(self.handshake_timeout),
            None => self.handshake_timeout,
        };
        (shortest / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_follows_the_shortest_timer_within_bounds() {
        let default = PeersConfig::default();
        assert_eq!(default.tick(), Duration::from_secs(1));
        let short = PeersConfig {
            handshake_timeout: Duration::from_millis(200),
            ..PeersConfig::default()
        };
        assert_eq!(short.tick(), Duration::from_millis(50));
        let pings = PeersConfig {
            ping_interval: Some(Duration::from_millis(400)),
            ..PeersConfig::default()
        };
        assert_eq!(pings.tick(), Duration::from_millis(100));
        let tiny = PeersConfig {
            handshake_timeout: Duration::from_millis(1),
            ping_interval: None,
            ..PeersConfig::default()
        };
        assert_eq!(tiny.tick(), Duration::from_millis(10));
    }
}
