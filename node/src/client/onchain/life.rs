//! The rules of a channel's chain side (sans-IO: no clock, no chain, no tasks; time is an
//! input, like quinn-proto's `Connection`).
//!
//! [`ChainLife`] is told what happens (the phase the channel task entered, a chain event about
//! the channel, how the last duty ended) and answers what to do next ([`ChainLife::poll`]) and
//! when to ask again at the latest ([`ChainLife::poll_timeout`]). The owner task
//! ([`super::owner`]) carries the duties out and reports back; it has no rules of its own.
//!
//! The rules, phase by phase:
//! - every phase from `Funding` to `Disputed` keeps the channel watched on chain (a peer that
//!   registers while we fund must be seen); `Closed` stops watching. A failed watch is tried
//!   again after [`RETRY`] whatever its kind: a channel with funds on chain is always watched;
//! - `Opening`: abandoned when [`LifeRules::funding_timeout`] passes without the opening
//!   completing (counted from when this run saw it opening, so a restart never ends it early);
//! - `Funding`: fund our share, once; a channel whose peer is unknown is not funded but
//!   recovered through a dispute; a test node may withhold its deposit;
//! - `Funding` or `Active` with a registration seen on chain: stop the channel's updates (the
//!   channel task then moves to `Disputed`). This preempts a funding in progress;
//! - `Closing`: settle (look at the record; conclude and withdraw, or wait for the peer);
//! - `Disputed`: dispute rounds until the channel is closed, and before the next round each
//!   move on chain a person asked for (force execution of an app channel);
//! - a failed duty is taken again after [`RETRY`] if the failure is transient; otherwise the
//!   failure stays in the status and the duty is decided afresh on the next chain event about
//!   the channel, or after [`REEXAMINE`].

use super::failure::ChainFailure;
use crate::protocol::Phase;
use std::time::{Duration, Instant};

/// The pause before a duty that failed transiently (the chain unreachable) is taken again.
pub const RETRY: Duration = Duration::from_secs(2);

/// The pause before a duty that failed for good (the ledger refused it) is decided afresh,
/// unless a chain event about the channel comes first.
pub const REEXAMINE: Duration = Duration::from_secs(60);

/// The node's settings the rules depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LifeRules {
    /// How long an opening may take (`[policy] funding_timeout_seconds`).
    pub funding_timeout: Duration,
    /// Whether this node knows the channel's peer (a lost link: it cannot be used).
    pub peer_known: bool,
    /// Whether this (test) node withholds its deposit (`[testing]`).
    pub withhold_deposit: bool,
}

/// What the owner is to do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duty {
    /// Follow the channel's events on chain.
    Watch,
    /// Stop following them (the channel is closed).
    Unwatch,
    /// The opening took longer than the funding timeout: abandon it.
    Abandon {
        /// The timeout that passed.
        after: Duration,
    },
    /// Deposit our share and wait for the peer's (or recover ours if it never comes).
    Fund,
    /// The peer is unknown, so the channel can never be used: move it to `Disputed`, which
    /// recovers what was deposited.
    RecoverUnusable,
    /// A registration was seen on chain: stop the channel's updates (it moves to `Disputed`).
    StopForDispute {
        /// The registered version.
        version: u64,
    },
    /// One look at the chain for the cooperative close.
    Settle {
        /// How long this run has been settling the channel.
        waited: Duration,
    },
    /// A move on chain a person asked for (force execution of an app channel).
    Progress,
    /// One round of the dispute.
    DisputeRound {
        /// How long this run has been disputing the channel.
        waited: Duration,
    },
}

impl Duty {
    /// Whether the duty waits on the chain for long (funding waits for the peer's deposit up
    /// to the funding timeout) and must give way when the phase changes or a dispute starts.
    pub fn preemptible(&self) -> bool {
        matches!(self, Duty::Fund)
    }
}

/// How a duty ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It is complete: nothing more to do in this phase.
    Done,
    /// It made progress: take the next step at once.
    Again,
    /// Nothing to do now: look again after this pause, or at a chain event.
    Later(Duration),
    /// It failed.
    Failed(ChainFailure),
}

/// When the phase's duty is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Due {
    /// Now.
    Now,
    /// At this instant, or at a chain event about the channel, whichever comes first.
    At(Instant),
    /// Never again in this phase (the duty is complete).
    Never,
}

/// Whether the channel is followed on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Watching {
    /// Unknown or not yet asked for.
    No,
    /// The backend follows it.
    Yes,
}

/// The chain side of one channel: its rules and what is due.
#[derive(Debug)]
pub struct ChainLife {
    rules: LifeRules,
    phase: Phase,
    /// When this run saw the channel enter `phase`.
    entered: Instant,
    watching: Watching,
    /// When watching (or unwatching) is tried next, after a failure.
    watch_due: Option<Instant>,
    /// The phase's duty.
    due: Due,
    /// A registration seen while `Funding` or `Active`, not yet acted on.
    registered: Option<u64>,
    /// The duty handed out and not yet reported back, with the phase it belongs to.
    running: Option<(Duty, Phase)>,
    /// The last failure, while it stands.
    problem: Option<ChainFailure>,
    /// Moves on chain asked for and not yet made.
    moves: usize,
}

impl ChainLife {
    /// The chain side of a channel the task reports in `phase` at `now` (just opened, or
    /// restored).
    pub fn new(rules: LifeRules, phase: Phase, now: Instant) -> ChainLife {
        ChainLife {
            rules,
            phase,
            entered: now,
            watching: Watching::No,
            watch_due: None,
            due: Self::due_on_entry(&rules, phase, now),
            registered: None,
            running: None,
            problem: None,
            moves: 0,
        }
    }

    /// When the duty of a phase entered at `now` is first due: an opening's (abandoning it)
    /// at its deadline, every other at once.
    fn due_on_entry(rules: &LifeRules, phase: Phase, now: Instant) -> Due {
        match phase {
            Phase::Opening => Due::At(now + rules.funding_timeout),
            _ => Due::Now,
        }
    }

    /// The phase the channel task last reported.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The failure that stands, if any (cleared by a new phase or a duty that succeeds).
    pub fn problem(&self) -> Option<&ChainFailure> {
        self.problem.as_ref()
    }

    /// The channel task entered `phase`. Repeating the current phase changes nothing.
    pub fn on_phase(&mut self, phase: Phase, now: Instant) {
        if phase == self.phase {
            return;
        }
        self.phase = phase;
        self.entered = now;
        self.due = Self::due_on_entry(&self.rules, phase, now);
        self.problem = None;
        if !matches!(phase, Phase::Funding | Phase::Active) {
            self.registered = None;
        }
    }

    /// The chain reports a change of the channel's record (a registration of `version`, or a
    /// conclusion): a channel in use stops for the dispute; one settling or disputing looks at
    /// the chain again at once, even after a failure.
    pub fn on_chain_event(&mut self, version: u64) {
        match self.phase {
            Phase::Funding | Phase::Active => self.registered = Some(version),
            Phase::Closing | Phase::Disputed => {
                if self.due != Due::Never {
                    self.due = Due::Now;
                }
            }
            Phase::Opening | Phase::Closed => {}
        }
    }

    /// A person asked for a move on chain (the owner queues it): it is made before the next
    /// dispute round, one at a time, while the channel is `Disputed`.
    pub fn on_move_requested(&mut self) {
        self.moves += 1;
    }

    /// Whether the duty in progress must give way (it was handed out in another phase, or a
    /// registration calls for the dispute): the owner then drops it and reports
    /// [`ChainLife::on_preempted`].
    pub fn preempts_running(&self) -> bool {
        match self.running {
            Some((duty, phase)) if duty.preemptible() => {
                phase != self.phase || self.registered.is_some()
            }
            _ => false,
        }
    }

    /// The duty in progress was dropped before it ended: decide again.
    pub fn on_preempted(&mut self) {
        if let Some((_, phase)) = self.running.take() {
            if phase == self.phase && self.due != Due::Never {
                self.due = Due::Now;
            }
        }
    }

    /// What to do now, if anything. A duty handed out must be reported back with
    /// [`ChainLife::on_outcome`] (or [`ChainLife::on_preempted`]) before the next is asked for.
    pub fn poll(&mut self, now: Instant) -> Option<Duty> {
        if self.running.is_some() {
            return None;
        }
        let duty = self.next_duty(now)?;
        self.running = Some((duty, self.phase));
        Some(duty)
    }

    fn next_duty(&self, now: Instant) -> Option<Duty> {
        let watch_ready = self.watch_due.is_none_or(|at| at <= now);
        let want_watch = self.phase != Phase::Opening && self.phase != Phase::Closed;
        match (want_watch, self.watching) {
            (true, Watching::No) if watch_ready => return Some(Duty::Watch),
            (false, Watching::Yes) if self.phase == Phase::Closed && watch_ready => {
                return Some(Duty::Unwatch)
            }
            _ => {}
        }
        if let Some(version) = self.registered {
            if matches!(self.phase, Phase::Funding | Phase::Active) {
                return Some(Duty::StopForDispute { version });
            }
        }
        let due = match self.due {
            Due::Now => true,
            Due::At(at) => at <= now,
            Due::Never => false,
        };
        let waited = now.saturating_duration_since(self.entered);
        match self.phase {
            Phase::Opening if due => Some(Duty::Abandon {
                after: self.rules.funding_timeout,
            }),
            Phase::Funding if due && !self.rules.peer_known => Some(Duty::RecoverUnusable),
            Phase::Funding if due && !self.rules.withhold_deposit => Some(Duty::Fund),
            Phase::Closing if due => Some(Duty::Settle { waited }),
            Phase::Disputed if self.moves > 0 => Some(Duty::Progress),
            Phase::Disputed if due => Some(Duty::DisputeRound { waited }),
            _ => None,
        }
    }

    /// The latest instant at which [`ChainLife::poll`] may have something new to say (a
    /// retry, a pause that ends, the opening's deadline); `None`: only an input can change
    /// anything.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.running.is_some() {
            return None;
        }
        let due = match self.due {
            Due::At(at) => Some(at),
            Due::Now | Due::Never => None,
        };
        [self.watch_due, due].into_iter().flatten().min()
    }

    /// How the duty handed out last ended, at `now`.
    pub fn on_outcome(&mut self, duty: Duty, outcome: Outcome, now: Instant) {
        let Some((running, phase)) = self.running.take() else {
            return;
        };
        debug_assert_eq!(running, duty, "an outcome for a duty not handed out");
        match duty {
            Duty::Watch | Duty::Unwatch => {
                match outcome {
                    Outcome::Failed(failure) => {
                        self.watch_due = Some(now + RETRY);
                        self.problem = Some(failure);
                    }
                    _ => {
                        self.watch_due = None;
                        self.watching = if duty == Duty::Watch {
                            Watching::Yes
                        } else {
                            Watching::No
                        };
                    }
                }
                return;
            }
            Duty::Progress => {
                // The move's answer went to the person; the record changed or not: look.
                self.moves = self.moves.saturating_sub(1);
                if self.due != Due::Never {
                    self.due = Due::Now;
                }
                return;
            }
            Duty::StopForDispute { .. } => {
                match outcome {
                    Outcome::Failed(failure) => {
                        self.problem = Some(failure);
                    }
                    // The task moves to `Disputed`, which it reports.
                    _ => self.registered = None,
                }
                return;
            }
            _ => {}
        }
        if phase != self.phase {
            // The phase moved on while the duty ran: its outcome no longer matters.
            return;
        }
        match outcome {
            Outcome::Done => {
                self.due = Due::Never;
                self.problem = None;
            }
            Outcome::Again => {
                self.due = Due::Now;
                self.problem = None;
            }
            Outcome::Later(pause) => {
                self.due = Due::At(now + pause);
                self.problem = None;
            }
            Outcome::Failed(failure) => {
                let pause = if failure.is_transient() {
                    RETRY
                } else {
                    REEXAMINE
                };
                self.due = Due::At(now + pause);
                self.problem = Some(failure);
            }
        }
    }

    /// When a duty that failed with `failure` is taken again, for people.
    pub fn retry_note(failure: &ChainFailure) -> String {
        if failure.is_transient() {
            format!("trying again in {} s", RETRY.as_secs())
        } else {
            format!(
                "not retried as is: decided afresh at the next chain event about the channel, \
                 or in {} s",
                REEXAMINE.as_secs()
            )
        }
    }
}

#[cfg(test)]
#[path = "life_tests.rs"]
mod tests;
