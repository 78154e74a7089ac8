//! The peer's update that waits for the user's answer (`[policy]` asked the user instead of
//! answering it): its deadline, and the checks an answer must pass. Pure, with time as an
//! input: the channel task holds one [`Asked`], wakes at [`Asked::deadline`], and declines the
//! update that [`Asked::lapsed`] names, so that the peer is never left waiting.
//!
//! Memory is bounded by the protocol's own rule: at most one of the peer's updates awaits our
//! answer per channel, so there is one asked update and one remembered answer.

use parley_plugin_api::model::State;
use std::fmt;
use std::time::Duration;
use thiserror::Error;
use tokio::time::Instant;

/// The reason an update the user did not answer in time is declined with (told to the peer).
pub const NOT_ANSWERED: &str = "not answered in time";

/// How the user's last asked update was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answered {
    /// The user accepted it.
    Accepted,
    /// The user rejected it.
    Rejected,
    /// Nobody answered before its deadline: it was declined.
    Lapsed,
}

impl fmt::Display for Answered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Answered::Accepted => "accepted",
            Answered::Rejected => "rejected",
            Answered::Lapsed => "rejected at its deadline (not answered in time)",
        })
    }
}

/// Why the user's answer cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AnswerError {
    /// No update of the peer awaits an answer.
    #[error("no update of the peer awaits an answer")]
    NothingAwaits,
    /// The update of `version` was answered already.
    #[error("the update to version {version} was already {how}")]
    AlreadyAnswered {
        /// The version the answer names.
        version: u64,
        /// How it was answered.
        how: Answered,
    },
    /// The update to `given` is not the one that awaits an answer.
    #[error("the update awaiting an answer is version {awaiting}, not {given}")]
    OtherVersion {
        /// The version that awaits.
        awaiting: u64,
        /// The version the answer names.
        given: u64,
    },
}

/// The update the user was asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
struct AskedUpdate {
    state: State,
    deadline: Instant,
    expires_at: u64,
}

/// The one update the user is asked about, and how the one before it was answered.
#[derive(Debug, Default)]
pub struct Asked {
    update: Option<AskedUpdate>,
    last: Option<(u64, Answered)>,
}

impl Asked {
    /// The user is asked about `state` at `now` (`now_unix` in Unix seconds) and has `within`
    /// to answer; returns the deadline in Unix seconds. Replaces an earlier asked update: the
    /// protocol lets only one await our answer, so an earlier one is gone.
    pub fn ask(&mut self, state: State, now: Instant, now_unix: u64, within: Duration) -> u64 {
        let expires_at = now_unix.saturating_add(within.as_secs());
        self.update = Some(AskedUpdate {
            state,
            // `[policy]` bounds every timeout to a year, so this never overflows.
            deadline: now + within,
            expires_at,
        });
        expires_at
    }

    /// When the asked update lapses unanswered, if one is asked.
    pub fn deadline(&self) -> Option<Instant> {
        self.update.as_ref().map(|u| u.deadline)
    }

    /// The deadline (Unix seconds) of `awaiting`, the update that awaits our answer now, if
    /// the user was asked about it.
    pub fn expires_at(&self, awaiting: Option<&State>) -> Option<u64> {
        let update = self.update.as_ref()?;
        (Some(&update.state) == awaiting).then_some(update.expires_at)
    }

    /// At `now`: the asked update whose deadline has passed, taken out (the task declines it if
    /// it still awaits an answer, and records that with [`Asked::answered`]).
    pub fn lapsed(&mut self, now: Instant) -> Option<State> {
        match &self.update {
            Some(update) if update.deadline <= now => self.update.take().map(|u| u.state),
            _ => None,
        }
    }

    /// Checks the user's answer to version `given` (`None`: to whatever awaits) against the
    /// update that awaits our answer (`awaiting`); returns the version it answers.
    pub fn check(&self, awaiting: Option<&State>, given: Option<u64>) -> Result<u64, AnswerError> {
        let answered = |version| match self.last {
            Some((last, how)) if last == version => {
                Some(AnswerError::AlreadyAnswered { version, how })
            }
            _ => None,
        };
        match (awaiting.map(|s| s.version), given) {
            (Some(awaiting), None) => Ok(awaiting),
            (Some(awaiting), Some(given)) if given == awaiting => Ok(awaiting),
            (Some(awaiting), Some(given)) => {
                Err(answered(given).unwrap_or(AnswerError::OtherVersion { awaiting, given }))
            }
            (None, Some(given)) => Err(answered(given).unwrap_or(AnswerError::NothingAwaits)),
            (None, None) => Err(AnswerError::NothingAwaits),
        }
    }

    /// The update to `version` was answered `how`: it no longer waits.
    pub fn answered(&mut self, version: u64, how: Answered) {
        if self.update.as_ref().map(|u| u.state.version) == Some(version) {
            self.update = None;
        }
        self.last = Some((version, how));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::codec::Bytes;
    use parley_plugin_api::model::{Allocation, ChannelId};

    fn state(version: u64) -> State {
        State {
            channel_id: ChannelId([1; 32]),
            version,
            allocation: Allocation {
                assets: Vec::new(),
                balances: Vec::new(),
                locked: Vec::new(),
            },
            app_data: Bytes::default(),
            is_final: false,
        }
    }

    #[test]
    fn an_asked_update_lapses_at_its_deadline_and_not_before() {
        let mut asked = Asked::default();
        let start = Instant::now();
        assert_eq!(asked.deadline(), None);
        let expires_at = asked.ask(state(3), start, 1_000, Duration::from_secs(5));
        assert_eq!(expires_at, 1_005);
        assert_eq!(asked.deadline(), Some(start + Duration::from_secs(5)));
        assert_eq!(asked.expires_at(Some(&state(3))), Some(1_005));
        assert_eq!(asked.lapsed(start + Duration::from_secs(4)), None);
        assert_eq!(asked.lapsed(start + Duration::from_secs(5)), Some(state(3)));
        // Taken out: it lapses once, and nothing is left to wake for.
        assert_eq!(asked.lapsed(start + Duration::from_secs(6)), None);
        assert_eq!(asked.deadline(), None);
        assert_eq!(asked.expires_at(Some(&state(3))), None);
    }

    #[test]
    fn a_newer_update_replaces_the_asked_one() {
        let mut asked = Asked::default();
        let start = Instant::now();
        asked.ask(state(3), start, 0, Duration::from_secs(5));
        asked.ask(
            state(4),
            start + Duration::from_secs(2),
            2,
            Duration::from_secs(5),
        );
        assert_eq!(asked.expires_at(Some(&state(3))), None);
        assert_eq!(asked.expires_at(Some(&state(4))), Some(7));
        assert_eq!(asked.lapsed(start + Duration::from_secs(5)), None);
        assert_eq!(asked.lapsed(start + Duration::from_secs(7)), Some(state(4)));
    }

    #[test]
    fn an_answer_names_the_awaiting_version_or_none() {
        let mut asked = Asked::default();
        asked.ask(state(3), Instant::now(), 0, Duration::from_secs(5));
        assert_eq!(asked.check(Some(&state(3)), None), Ok(3));
        assert_eq!(asked.check(Some(&state(3)), Some(3)), Ok(3));
        assert_eq!(
            asked.check(Some(&state(3)), Some(4)),
            Err(AnswerError::OtherVersion {
                awaiting: 3,
                given: 4
            })
        );
        assert_eq!(asked.check(None, None), Err(AnswerError::NothingAwaits));
        assert_eq!(asked.check(None, Some(9)), Err(AnswerError::NothingAwaits));
    }

    #[test]
    fn a_second_answer_to_the_same_version_says_how_it_was_answered() {
        let mut asked = Asked::default();
        let start = Instant::now();
        asked.ask(state(3), start, 0, Duration::from_secs(5));
        asked.answered(3, Answered::Rejected);
        assert_eq!(asked.deadline(), None);
        let again = asked.check(None, Some(3)).unwrap_err();
        assert_eq!(
            again,
            AnswerError::AlreadyAnswered {
                version: 3,
                how: Answered::Rejected
            }
        );
        assert_eq!(
            again.to_string(),
            "the update to version 3 was already rejected"
        );
        // The next update awaits: an answer to the old one still says it was answered.
        asked.ask(state(3), start, 0, Duration::from_secs(5));
        asked.answered(3, Answered::Lapsed);
        assert!(asked
            .check(Some(&state(4)), Some(3))
            .unwrap_err()
            .to_string()
            .contains("not answered in time"));
    }
}
