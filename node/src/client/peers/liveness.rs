//! When to probe an authenticated connection and when to give up on it (pure: time is an
//! argument).
//!
//! One ping is outstanding at a time. Every `interval` the connection is probed again; a probe
//! that finds the previous ping unanswered counts a miss, and `max_missed` misses in a row
//! declare the peer dead. So a silent peer is dropped `max_missed` intervals after the first
//! unanswered ping, and the bookkeeping is a few integers per connection.
//!
//! That is slow on purpose, and too slow for one case: the peer dials us again while we still
//! hold a connection to it that died without a word (a network cut that only the peer
//! noticed). A peer that restarted is told apart by its new incarnation and replaces the old
//! connection at once (see `dedupe`); otherwise, when the newcomer loses to the old connection,
//! the driver marks the old one [`suspect`](Liveness::suspect): it is pinged at once and
//! declared dead if that ping is not answered within a short grace, so the peer's next dial
//! gets through.

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
    /// The connection was suspect and its probe went unanswered for the whole grace: close it.
    SuspectUnanswered,
}

/// The ping schedule of one connection.
#[derive(Debug, Clone)]
pub struct Liveness {
    /// `None`: no periodic pings, only the probes of [`Liveness::suspect`].
    interval: Option<Duration>,
    max_missed: u32,
    next_probe: Option<Instant>,
    /// The nonce of the ping not answered yet, if any.
    outstanding: Option<u64>,
    missed: u32,
    next_nonce: u64,
    /// While suspect: when the outstanding probe must have been answered by.
    suspect_until: Option<Instant>,
}

impl Liveness {
    /// A schedule whose first ping is due one `interval` after `now`, or that never pings on
    /// its own if `interval` is `None`. `max_missed` below 1 is taken as 1.
    pub fn new(now: Instant, interval: Option<Duration>, max_missed: u32) -> Liveness {
        Liveness {
            interval,
            max_missed: max_missed.max(1),
            next_probe: interval.map(|interval| now + interval),
            outstanding: None,
            missed: 0,
            next_nonce: 0,
            suspect_until: None,
        }
    }

    /// Advances the schedule to `now`.
    pub fn on_tick(&mut self, now: Instant) -> Probe {
        if let Some(deadline) = self.suspect_until {
            // The suspect probe decides alone: a periodic ping now would replace it as the
            // outstanding one, and the answer to the probe would then count for nothing.
            return if now >= deadline {
                Probe::SuspectUnanswered
            } else {
                Probe::Wait
            };
        }
        let (Some(interval), Some(next_probe)) = (self.interval, self.next_probe) else {
            return Probe::Wait;
        };
        if now < next_probe {
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
        self.next_probe = Some(now + interval);
        Probe::Ping(self.issue_ping())
    }

    /// Marks the connection suspect: the peer has just connected again over another
    /// connection, so this one may be dead without anyone having said so. Returns the nonce
    /// of a ping to send now; unless it is answered before `now + grace`, [`on_tick`]
    /// reports [`Probe::SuspectUnanswered`]. Returns `None` if the connection is suspect
    /// already: the first deadline stands, so a peer that keeps redialing cannot postpone it.
    ///
    /// [`on_tick`]: Liveness::on_tick
    pub fn suspect(&mut self, now: Instant, grace: Duration) -> Option<u64> {
        if self.suspect_until.is_some() {
            return None;
        }
        self.suspect_until = Some(now + grace);
        Some(self.issue_ping())
    }

    /// Records a pong; returns whether it answered the outstanding ping (a late answer to an
    /// older ping, or one never asked for, changes nothing). An answer clears a suspicion.
    pub fn on_pong(&mut self, nonce: u64) -> bool {
        if self.outstanding != Some(nonce) {
            return false;
        }
        self.outstanding = None;
        self.missed = 0;
        self.suspect_until = None;
        true
    }

    /// A fresh nonce, now the one outstanding.
    fn issue_ping(&mut self) -> u64 {
        let nonce = self.next_nonce;
        self.next_nonce = self.next_nonce.wrapping_add(1);
        self.outstanding = Some(nonce);
        nonce
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn pings_every_interval_while_answered() {
        let start = Instant::now();
        let mut live = Liveness::new(start, Some(SECOND), 2);
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
        let mut live = Liveness::new(start, Some(SECOND), 3);
        assert_eq!(live.on_tick(start + SECOND), Probe::Ping(0));
        assert_eq!(live.on_tick(start + SECOND * 2), Probe::Ping(1));
        assert_eq!(live.on_tick(start + SECOND * 3), Probe::Ping(2));
        assert_eq!(live.on_tick(start + SECOND * 4), Probe::Dead { missed: 3 });
    }

    #[test]
    fn an_answer_resets_the_count_and_stale_answers_do_not() {
        let start = Instant::now();
        let mut live = Liveness::new(start, Some(SECOND), 2);
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
        let mut live = Liveness::new(start, Some(SECOND), 0);
        assert_eq!(live.on_tick(start + SECOND), Probe::Ping(0));
        assert_eq!(live.on_tick(start + SECOND * 2), Probe::Dead { missed: 1 });
    }

    #[test]
    fn without_an_interval_nothing_is_sent_on_its_own() {
        let start = Instant::now();
        let mut live = Liveness::new(start, None, 3);
        for hours in [0, 1, 1_000] {
            assert_eq!(live.on_tick(start + SECOND * 3600 * hours), Probe::Wait);
        }
    }

    #[test]
    fn an_unanswered_suspect_probe_is_dead_at_the_end_of_the_grace() {
        let start = Instant::now();
        let grace = SECOND / 10;
        for interval in [None, Some(SECOND)] {
            let mut live = Liveness::new(start, interval, 3);
            assert_eq!(live.suspect(start, grace), Some(0), "a ping at once");
            assert_eq!(live.on_tick(start + grace / 2), Probe::Wait);
            assert_eq!(live.on_tick(start + grace), Probe::SuspectUnanswered);
            assert_eq!(
                live.on_tick(start + grace * 2),
                Probe::SuspectUnanswered,
                "stays dead until the driver ends it"
            );
        }
    }

    #[test]
    fn an_answered_suspect_probe_clears_the_suspicion() {
        let start = Instant::now();
        let grace = SECOND / 10;
        let mut live = Liveness::new(start, Some(SECOND), 2);
        let nonce = live.suspect(start, grace).unwrap();
        assert!(live.on_pong(nonce));
        assert_eq!(
            live.on_tick(start + grace * 2),
            Probe::Wait,
            "no longer suspect"
        );
        // The periodic schedule goes on as before.
        assert_eq!(live.on_tick(start + SECOND), Probe::Ping(nonce + 1));
        // And a later duplicate makes it suspect again, with a fresh probe.
        let later = start + SECOND * 2;
        assert_eq!(live.suspect(later, grace), Some(nonce + 2));
        assert_eq!(live.on_tick(later + grace), Probe::SuspectUnanswered);
    }

    #[test]
    fn suspecting_again_keeps_the_first_deadline() {
        let start = Instant::now();
        let grace = SECOND;
        let mut live = Liveness::new(start, None, 1);
        assert_eq!(live.suspect(start, grace), Some(0));
        assert_eq!(
            live.suspect(start + grace / 2, grace),
            None,
            "no second probe"
        );
        assert_eq!(live.on_tick(start + grace), Probe::SuspectUnanswered);
    }

    #[test]
    fn a_suspect_probe_replaces_the_periodic_ping_and_holds_the_schedule() {
        let start = Instant::now();
        let grace = SECOND / 2;
        let mut live = Liveness::new(start, Some(SECOND), 3);
        assert_eq!(live.on_tick(start + SECOND), Probe::Ping(0));
        let probed = start + SECOND * 2 - grace / 2;
        let probe = live.suspect(probed, grace).unwrap();
        // The periodic ping due meanwhile waits, so it cannot displace the probe...
        assert_eq!(live.on_tick(start + SECOND * 2), Probe::Wait);
        // ...whose answer is the one that counts; the old ping's answer is stale.
        assert!(!live.on_pong(0));
        assert!(live.on_pong(probe));
        assert_eq!(live.on_tick(probed + grace), Probe::Ping(probe + 1));
    }
}
