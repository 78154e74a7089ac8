//! The peer manager's settings (`[peers]`-level knobs the node passes in).

use super::budget::PeerLimits;
use crate::client::peer_names::PeerNames;
use crate::wire::DEFAULT_MAX_FRAME_SIZE;
use std::time::Duration;

/// How [`Peers`](super::Peers) bounds handshakes and watches live connections.
#[derive(Debug, Clone)]
pub struct PeersConfig {
    /// A connection that has not authenticated its peer this long after it came up is closed
    /// with a `Timeout` goodbye. Also bounds how long `connect` waits after the dial returned.
    pub handshake_timeout: Duration,
    /// How often an authenticated connection is probed with a ping; `None` sends no pings
    /// (the transport's own keep-alive, if any, is then the only liveness check).
    pub ping_interval: Option<Duration>,
    /// How many pings in a row may go unanswered before the connection is closed. At least 1.
    pub max_missed_pongs: u32,
    /// How long an authenticated connection may take to answer the ping it is sent when the
    /// peer connects again over a new connection that `dedupe` refuses in favour of this one
    /// (the peer did not restart: a restarted peer's new connection always wins). Unanswered,
    /// the old connection is ended, so the peer's next dial gets through: it most likely died
    /// without a word, and without this the peer would be refused until pings or the
    /// transport's idle timeout found it dead (tens of seconds).
    /// Set it well above the round-trip time: a live connection that answers late is ended
    /// too (the peer then reconnects).
    pub suspect_grace: Duration,
    /// The largest frame accepted or sent; the transport's own limit applies too (the smaller
    /// of the two wins).
    pub max_frame_size: usize,
    /// What one peer may make this node hold or do (`[limits]`).
    pub limits: PeerLimits,
    /// The aliases log lines call peers by (the peer book's, shared).
    pub names: PeerNames,
}

impl Default for PeersConfig {
    fn default() -> PeersConfig {
        PeersConfig {
            handshake_timeout: Duration::from_secs(5),
            ping_interval: Some(Duration::from_secs(15)),
            max_missed_pongs: 3,
            suspect_grace: Duration::from_secs(1),
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            limits: PeerLimits::default(),
            names: PeerNames::default(),
        }
    }
}

impl PeersConfig {
    /// How often the driver checks deadlines: a fraction of the shortest timer, so that a
    /// deadline is acted on at most about a quarter of its length late, within 10 ms .. 1 s.
    pub(super) fn tick(&self) -> Duration {
        let shortest = [
            Some(self.handshake_timeout),
            self.ping_interval,
            Some(self.suspect_grace),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(self.handshake_timeout);
        (shortest / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_follows_the_shortest_timer_within_bounds() {
        let default = PeersConfig::default();
        assert_eq!(
            default.tick(),
            Duration::from_millis(250),
            "a quarter of the grace"
        );
        let long = PeersConfig {
            suspect_grace: Duration::from_secs(10),
            ..PeersConfig::default()
        };
        assert_eq!(long.tick(), Duration::from_secs(1));
        let short = PeersConfig {
            handshake_timeout: Duration::from_millis(200),
            ..long.clone()
        };
        assert_eq!(short.tick(), Duration::from_millis(50));
        let pings = PeersConfig {
            ping_interval: Some(Duration::from_millis(400)),
            ..long.clone()
        };
        assert_eq!(pings.tick(), Duration::from_millis(100));
        let grace = PeersConfig {
            suspect_grace: Duration::from_millis(120),
            ping_interval: None,
            ..long.clone()
        };
        assert_eq!(grace.tick(), Duration::from_millis(30));
        let tiny = PeersConfig {
            handshake_timeout: Duration::from_millis(1),
            ping_interval: None,
            ..long
        };
        assert_eq!(tiny.tick(), Duration::from_millis(10));
    }
}
