//! When to probe an authenticated connection and when to give up on it (pure: time is an
//! argument).
//!
//! One ping is outstanding at a time. Every `interval` the connection is probed again; a probe
//! that finds the previous ping unanswered counts a miss, and `max_missed` misses in a row
//! declare the peer dead. So a silent peer is dropped `max_missed` intervals after the first
//! unanswered ping, and the bookkeeping is a few integers per connection.

use std::time::{Duration, Instant};

/// What the driver does on a timer tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Nothing is due yet.
    Wait,
    /// Send a ping with this nonce.
    Ping(u64),
    /// The peer missed `missed` pings in a row: close the connection.
    Dead {
        /// Unanswered pings in a row.
        missed: u32,
    },
}

/// The ping schedule of one connection.
#[derive(Debug, Clone)]
pub struct Liveness {
    interval: Duration,
    max_missed: u32,
    next_probe: Instant,
    /// The nonce of the ping not answered yet, if any.
    outstanding: Option<u64>,
    missed: u32,
    next_nonce: u64,
}

impl Liveness {
    /// A schedule whose first ping is due one `interval` after `now`. `max_missed` below 1 is
    /// taken as 1.
    pub fn new(now: Instant, interval: Duration, max_missed: u32) -> Liveness {
        Liveness {
            interval,
            max_missed: max_missed.max(1),
            next_probe: now + interval,
            outstanding: None,
            missed: 0,
            next_nonce: 0,
        }
    }

    /// Advances the schedule to `now`.
    pub fn on_tick(&mut self, now: Instant) -> Probe {
        if now < self.next_probe {
            return Probe::Wait;
        }
        if self.outstanding.is_some() {
            self.missed += 1;
            if self.missed >= self.max_missed {
                return Probe::Dead {
                    missed: self.missed,
                };
            }
        }
        let nonce = self.next_nonce;
        self.next_nonce = self.next_nonce.wrapping_add(1);
        self.outstanding = Some(nonce);
        self.next_probe = now + self.interval;
        Probe::Ping(nonce)
    }

    /// Records a pong; returns whether it answered the outstanding ping (a late answer to an
    /// older ping, or one never asked for, changes nothing).
    pub fn on_pong(&mut self, nonce: u64) -> bool {
        if self.outstanding != Some(nonce) {
            return false;
        }
        self.outstanding = None;
        self.missed = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn pings_every_interval_while_answered() {
        let start = Instant::now();
        let mut live = Liveness::new(start, SECOND, 2);
        assert_eq!(live.on_tick(start), Probe::Wait);
        assert_eq!(live.on_tick(start + SECOND / 2), Probe::Wait);
        for round in 1..=5u32 {
            let now = start + SECOND * round;
            let Probe::Ping(nonce) = live.on_tick(now) else {
                panic!("a ping is due at round {round}");
            };
            assert_eq!(nonce, u64::from(round - 1));
            assert_eq!(live.on_tick(now), Probe::Wait, "one ping per interval");
            assert!(live.on_pong(nonce));
        }
    }

    #[test]
    fn gives_up_after_max_missed_unanswered_pings() {
        let start = Instant::now();
        let mut live = Liveness::new(start, SECOND, 3);
        assert_eq!(live.on_tick(start + SECOND), Probe::Ping(0));
        assert_eq!(live.on_tick(start + SECOND * 2), Probe::Ping(1));
        assert_eq!(live.on_tick(start + SECOND * 3), Probe::Ping(2));
        assert_eq!(live.on_tick(start + SECOND * 4), Probe::Dead { missed: 3 });
    }

    #[test]
    fn an_answer_resets_the_count_and_stale_answers_do_not() {
        let start = Instant::now();
        let mut live = Liveness::new(start, SECOND, 2);
        assert_eq!(live.on_tick(start + SECOND), Probe::Ping(0));
        assert_eq!(live.on_tick(start + SECOND * 2), Probe::Ping(1)); // one miss
        assert!(
            !live.on_pong(0),
            "a late answer to the old ping is not the current one"
        );
        assert!(
            !live.on_pong(7),
            "an answer nobody asked for counts for nothing"
        );
        assert!(live.on_pong(1));
        assert!(!live.on_pong(1), "each ping is answered once");
        assert_eq!(live.on_tick(start + SECOND * 3), Probe::Ping(2));
        assert_eq!(live.on_tick(start + SECOND * 4), Probe::Ping(3)); // one miss again
        assert_eq!(live.on_tick(start + SECOND * 5), Probe::Dead { missed: 2 });
    }

    #[test]
    fn zero_max_missed_means_one() {
        let start = Instant::now();
        let mut live = Liveness::new(start, SECOND, 0);
        assert_eq!(live.on_tick(start + SECOND), Probe::Ping(0));
        assert_eq!(live.on_tick(start + SECOND * 2), Probe::Dead { missed: 1 });
    }
}
