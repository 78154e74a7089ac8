//! A race as the bytes of a state's `app_data`, and back.
//!
//! The encoding is exactly three bytes, the same in every state of a channel but for the count
//! and the turn:
//!
//! | byte | name  | values                                                               |
//! |------|-------|----------------------------------------------------------------------|
//! | 0    | goal  | 1 to 255: the count that wins; fixed when the channel opens           |
//! | 1    | count | 0 to goal: the shared counter                                         |
//! | 2    | turn  | 0 or 1: the participant who adds next (once won: the one who lost)    |
//!
//! Anything else (another length, a goal of 0, a count past the goal, a turn above 1) is
//! malformed: `InvalidArgument`, never a position.

use parley_plugin_api::{PluginError, PluginResult};

/// The length of the app data.
pub const LENGTH: usize = 3;
/// The most one move may add.
pub const MAX_ADD: u8 = 3;
/// The goal when the setup names none: the classic game of 21.
pub const DEFAULT_GOAL: u8 = 21;

/// One position of the race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Race {
    /// The count that wins.
    pub goal: u8,
    /// The shared counter, never past `goal`.
    pub count: u8,
    /// Whose move it is: participant 0 or 1.
    pub turn: u8,
}

impl Race {
    /// The opening position: nothing counted yet, `first` to move.
    pub fn opening(goal: u8, first: u8) -> Race {
        Race {
            goal,
            count: 0,
            turn: first,
        }
    }

    /// Whether somebody reached the goal, so that no move may follow.
    pub fn is_won(&self) -> bool {
        self.count == self.goal
    }

    /// The winner's participant index once the race is won: who moved last.
    pub fn winner(&self) -> Option<u8> {
        self.is_won().then_some(1 - self.turn)
    }

    /// The three bytes of the app data.
    pub fn encode(&self) -> Vec<u8> {
        vec![self.goal, self.count, self.turn]
    }

    /// Reads the app data; `InvalidArgument` when it is not a position (see the module
    /// documentation).
    pub fn decode(data: &[u8]) -> PluginResult<Race> {
        let &[goal, count, turn] = data else {
            return Err(PluginError::invalid(format!(
                "counter race: the app data is {LENGTH} bytes (goal, count, turn), not {}",
                data.len()
            )));
        };
        if goal == 0 {
            return Err(PluginError::invalid("counter race: the goal is at least 1"));
        }
        if count > goal {
            return Err(PluginError::invalid(format!(
                "counter race: the count {count} is past the goal {goal}"
            )));
        }
        if turn > 1 {
            return Err(PluginError::invalid(format!(
                "counter race: the turn byte is {turn}, not a player (0 or 1)"
            )));
        }
        Ok(Race { goal, count, turn })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::ErrorKind;

    #[test]
    fn a_position_round_trips_through_three_bytes() {
        let race = Race {
            goal: 21,
            count: 7,
            turn: 1,
        };
        assert_eq!(race.encode(), vec![21, 7, 1]);
        assert_eq!(Race::decode(&race.encode()).unwrap(), race);
    }

    #[test]
    fn malformed_data_is_an_invalid_argument() {
        for bad in [
            &[][..],
            &[21, 0],
            &[21, 0, 0, 0],
            &[0, 0, 0],
            &[5, 6, 0],
            &[5, 1, 2],
        ] {
            let error = Race::decode(bad).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn the_winner_is_who_moved_last() {
        let mut race = Race::opening(4, 0);
        assert_eq!(race.winner(), None);
        race.count = 4;
        race.turn = 0;
        assert_eq!(race.winner(), Some(1));
    }
}
