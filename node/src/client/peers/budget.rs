//! What one peer may make this node hold or do ([`PeerLimits`], from `[limits]` in node.toml),
//! and the pure accounting behind it: the frame rate ([`FrameRate`], time is an input) and how
//! a peer went over ([`Overdraft`]). A peer over any limit is disconnected; it may reconnect
//! and start afresh, and every channel with it re-synchronises then.

use std::fmt;
use std::time::Instant;

/// How many frames a connection may have waiting before its peer is authenticated: a handshake
/// needs two (`Hello`, `Auth`), a goodbye one more.
pub const HANDSHAKE_FRAMES_IN_FLIGHT: usize = 8;

/// The limits on one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerLimits {
    /// The largest frame a peer may send before it has proven who it is; the transport holds
    /// anything larger (see `Transport::set_initial_frame_limit`).
    pub handshake_frame: usize,
    /// The frames an authenticated peer may send per second, in bursts of up to one second's
    /// worth.
    pub frames_per_second: u32,
    /// The frames from one connection the node has received but not finished handling.
    pub frames_in_flight: usize,
    /// The bytes of those frames.
    pub bytes_in_flight: usize,
    /// Inbound connections in their handshake at once; one more is closed at once.
    pub pending_handshakes: usize,
}

impl Default for PeerLimits {
    fn default() -> PeerLimits {
        PeerLimits {
            handshake_frame: 4096,
            frames_per_second: 10_000,
            frames_in_flight: 4096,
            bytes_in_flight: 16 << 20,
            pending_handshakes: 64,
        }
    }
}

impl PeerLimits {
    /// What a connection may have in flight before its peer is authenticated.
    pub fn handshake_budget(&self) -> Budget {
        Budget {
            frames: HANDSHAKE_FRAMES_IN_FLIGHT,
            bytes: HANDSHAKE_FRAMES_IN_FLIGHT * self.handshake_frame,
        }
    }

    /// What an authenticated connection may have in flight.
    pub fn budget(&self) -> Budget {
        Budget {
            frames: self.frames_in_flight,
            bytes: self.bytes_in_flight,
        }
    }
}

/// Frames and bytes a connection may have in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Frames.
    pub frames: usize,
    /// Their bytes.
    pub bytes: usize,
}

/// How a peer went over its budget; the reason its connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overdraft {
    /// Its frames waiting to be handled would have gone above the budget.
    InFlight {
        /// Frames waiting, the new one included.
        frames: usize,
        /// Their bytes.
        bytes: usize,
        /// The budget.
        budget: Budget,
        /// Whether the peer was authenticated (the budget before is a handshake's).
        authenticated: bool,
    },
    /// It sent frames faster than `frames_per_second`.
    Rate {
        /// The limit.
        per_second: u32,
    },
    /// It has this many channel proposals waiting for our answer, the most allowed.
    Proposals {
        /// The limit (`open_proposals`).
        max: usize,
    },
    /// It connected while this many inbound connections (anyone's) were in their handshake,
    /// the most allowed.
    PendingHandshakes {
        /// The limit (`pending_handshakes`).
        max: usize,
    },
}

impl fmt::Display for Overdraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Overdraft::InFlight {
                frames,
                bytes,
                budget,
                authenticated: true,
            } => write!(
                f,
                "{frames} frames ({bytes} bytes) received and not yet handled, above the budget \
                 of {} frames and {} bytes ([limits] frames_in_flight, bytes_in_flight)",
                budget.frames, budget.bytes
            ),
            Overdraft::InFlight {
                frames,
                bytes,
                budget,
                authenticated: false,
            } => write!(
                f,
                "{frames} frames ({bytes} bytes) before the handshake finished, more than a \
                 handshake needs ({} frames, {} bytes)",
                budget.frames, budget.bytes
            ),
            Overdraft::Rate { per_second } => write!(
                f,
                "more than {per_second} frames per second ([limits] frames_per_second)"
            ),
            Overdraft::Proposals { max } => write!(
                f,
                "a channel proposal while {max} of its proposals already wait for an answer \
                 ([limits] open_proposals)"
            ),
            Overdraft::PendingHandshakes { max } => write!(
                f,
                "a new connection while {max} others are in their handshake ([limits] \
                 pending_handshakes); try again shortly"
            ),
        }
    }
}

/// One frame's allowance, in the bucket's units: a frame is a billion units, and a second
/// refills `per_second` billion, so refills are exact in nanoseconds.
const FRAME: u128 = 1_000_000_000;

/// A token bucket of frames: it holds one second's worth and refills continuously.
#[derive(Debug, Clone)]
pub struct FrameRate {
    per_second: u32,
    /// Units left (see [`FRAME`]).
    tokens: u128,
    last: Instant,
}

impl FrameRate {
    /// A full bucket at `now`.
    pub fn new(per_second: u32, now: Instant) -> FrameRate {
        FrameRate {
            per_second,
            tokens: Self::capacity(per_second),
            last: now,
        }
    }

    fn capacity(per_second: u32) -> u128 {
        u128::from(per_second) * FRAME
    }

    /// Takes one frame's allowance at `now`; `false` if the peer is over its rate (nothing is
    /// taken then). A `now` before the last one refills nothing.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_nanos();
        self.last = self.last.max(now);
        let refill = elapsed.saturating_mul(u128::from(self.per_second));
        self.tokens = self
            .tokens
            .saturating_add(refill)
            .min(Self::capacity(self.per_second));
        if self.tokens < FRAME {
            return false;
        }
        self.tokens -= FRAME;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_of_one_seconds_worth_passes_and_the_next_frame_does_not() {
        let start = Instant::now();
        let mut rate = FrameRate::new(100, start);
        for n in 0..100 {
            assert!(rate.take(start), "frame {n} of the burst");
        }
        assert!(!rate.take(start));
        assert!(!rate.take(start + Duration::from_millis(9)));
        assert!(rate.take(start + Duration::from_millis(10)));
        assert!(!rate.take(start + Duration::from_millis(10)));
    }

    #[test]
    fn the_bucket_refills_at_the_rate_and_never_beyond_one_second() {
        let start = Instant::now();
        let mut rate = FrameRate::new(1000, start);
        for _ in 0..1000 {
            assert!(rate.take(start));
        }
        let half = start + Duration::from_millis(500);
        let taken = (0..2000).take_while(|_| rate.take(half)).count();
        assert_eq!(taken, 500);
        let much_later = half + Duration::from_secs(3600);
        let taken = (0..5000).take_while(|_| rate.take(much_later)).count();
        assert_eq!(taken, 1000);
    }

    #[test]
    fn a_sustained_rate_just_under_the_limit_is_never_refused() {
        let start = Instant::now();
        let mut rate = FrameRate::new(1000, start);
        // 999 frames per second for a minute, evenly spaced.
        let gap = Duration::from_nanos(1_000_000_000 / 999);
        for n in 0..60 * 999 {
            assert!(rate.take(start + gap * n), "frame {n}");
        }
    }

    #[test]
    fn time_going_backwards_refills_nothing() {
        let start = Instant::now() + Duration::from_secs(10);
        let mut rate = FrameRate::new(1, start);
        assert!(rate.take(start));
        assert!(!rate.take(start - Duration::from_secs(5)));
        assert!(!rate.take(start + Duration::from_millis(999)));
        assert!(rate.take(start + Duration::from_secs(1)));
    }

    #[test]
    fn overdrafts_name_the_limit_the_peer_broke() {
        let budget = PeerLimits::default().budget();
        let text = Overdraft::InFlight {
            frames: 4097,
            bytes: 10,
            budget,
            authenticated: true,
        }
        .to_string();
        assert!(text.contains("frames_in_flight"), "{text}");
        let text = Overdraft::Rate { per_second: 7 }.to_string();
        assert!(text.contains("7 frames per second"), "{text}");
        let text = Overdraft::Proposals { max: 3 }.to_string();
        assert!(text.contains("open_proposals"), "{text}");
    }
}
