//! The app data: whose turn it is and the grid, exactly as `TicTacToeApp.sol` lays them out.
//!
//! Ten bytes: byte 0 is the index (0 or 1) of the participant whose turn it is; bytes 1..=9 are
//! the grid row by row (byte 1 top left, byte 9 bottom right), each cell [`EMPTY`], 1
//! (participant 0's mark) or 2 (participant 1's mark).
//!
//! [`winner`] and [`is_full`] read raw bytes, as the contract's helpers do, so that the rules in
//! `rules.rs` can follow the contract's checks in the contract's order, even on bytes no valid
//! game produces.

use parley_plugin_api::{PluginError, PluginResult};

/// The length of the app data.
pub const DATA_LENGTH: usize = 10;
/// An empty cell.
pub const EMPTY: u8 = 0;
/// The number of cells.
pub const CELLS: usize = 9;

/// The eight lines (three rows, three columns, two diagonals) as cell indexes 0..=8, in the
/// contract's order.
pub const LINES: [[usize; 3]; 8] = [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
    [0, 3, 6],
    [1, 4, 7],
    [2, 5, 8],
    [0, 4, 8],
    [2, 4, 6],
];

/// The mark participant `player` (0 or 1) puts in a cell.
pub fn mark_of(player: u8) -> u8 {
    player + 1
}

/// The grid part (nine cells) of app data that is [`DATA_LENGTH`] bytes long.
pub fn cells(data: &[u8]) -> &[u8] {
    &data[1..DATA_LENGTH]
}

/// The mark that fills a line of `grid` (the first such line in [`LINES`] order), or
/// [`EMPTY`]. `grid` is nine cells.
pub fn winner(grid: &[u8]) -> u8 {
    LINES
        .iter()
        .map(|line| line.map(|cell| grid[cell]))
        .find(|[a, b, c]| *a != EMPTY && a == b && a == c)
        .map_or(EMPTY, |[a, _, _]| a)
}

/// Whether no cell of `grid` (nine cells) is empty.
pub fn is_full(grid: &[u8]) -> bool {
    grid.iter().all(|cell| *cell != EMPTY)
}

/// A well-formed position: a turn byte of 0 or 1 and cells of 0, 1 or 2. Any such position
/// decodes, reachable in a game or not; the rules decide what may follow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// The participant whose turn it is (0 or 1).
    pub turn: u8,
    /// The cells, row by row.
    pub grid: [u8; CELLS],
}

impl Position {
    /// The opening position: an empty grid, `first` to move.
    pub fn opening(first: u8) -> Position {
        Position {
            turn: first,
            grid: [EMPTY; CELLS],
        }
    }

    /// Reads app data; `InvalidArgument` unless it is ten bytes with a valid turn and cells.
    pub fn decode(data: &[u8]) -> PluginResult<Position> {
        check_length(data)?;
        let turn = data[0];
        if turn > 1 {
            return Err(PluginError::invalid(format!(
                "tic-tac-toe: invalid turn byte {turn} (expected 0 or 1)"
            )));
        }
        let mut grid = [EMPTY; CELLS];
        for (n, (cell, byte)) in grid.iter_mut().zip(cells(data)).enumerate() {
            if *byte > 2 {
                return Err(PluginError::invalid(format!(
                    "tic-tac-toe: invalid cell value {byte} in cell {n} (expected 0, 1 or 2)"
                )));
            }
            *cell = *byte;
        }
        Ok(Position { turn, grid })
    }

    /// The ten bytes of app data.
    pub fn encode(&self) -> Vec<u8> {
        let mut data = Vec::with_capacity(DATA_LENGTH);
        data.push(self.turn);
        data.extend_from_slice(&self.grid);
        data
    }

    /// The winner's participant index, if a line is filled.
    pub fn winner(&self) -> Option<u8> {
        match winner(&self.grid) {
            EMPTY => None,
            mark => Some(mark - 1),
        }
    }

    /// Whether every cell is marked.
    pub fn is_full(&self) -> bool {
        is_full(&self.grid)
    }

    /// Whether no move may follow: a line is filled or the grid is full.
    pub fn is_over(&self) -> bool {
        self.winner().is_some() || self.is_full()
    }
}

/// `InvalidArgument` unless `data` is [`DATA_LENGTH`] bytes.
pub fn check_length(data: &[u8]) -> PluginResult<()> {
    if data.len() == DATA_LENGTH {
        Ok(())
    } else {
        Err(PluginError::invalid(format!(
            "tic-tac-toe: appData is 10 bytes, not {}",
            data.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::ErrorKind;

    #[test]
    fn every_line_wins_for_either_mark_and_nothing_else_does() {
        for line in LINES {
            for mark in [1, 2] {
                let mut grid = [EMPTY; CELLS];
                line.iter().for_each(|cell| grid[*cell] = mark);
                assert_eq!(winner(&grid), mark, "line {line:?}");
            }
        }
        // Two in a row and mixed lines win nothing.
        assert_eq!(winner(&[1, 1, 0, 2, 2, 0, 0, 0, 0]), EMPTY);
        assert_eq!(winner(&[1, 2, 1, 2, 1, 2, 2, 1, 2]), EMPTY);
    }

    #[test]
    fn full_means_no_empty_cell() {
        assert!(is_full(&[1, 2, 1, 2, 1, 2, 2, 1, 2]));
        assert!(!is_full(&[1, 2, 1, 2, 0, 2, 2, 1, 2]));
    }

    #[test]
    fn decode_accepts_ten_well_formed_bytes_and_round_trips() {
        let data = [1, 1, 0, 2, 0, 0, 0, 0, 0, 2];
        let position = Position::decode(&data).unwrap();
        assert_eq!(position.turn, 1);
        assert_eq!(position.encode(), data);
    }

    #[test]
    fn decode_refuses_malformed_data_as_invalid_argument() {
        for (data, says) in [
            (vec![0; 9], "10 bytes, not 9"),
            (vec![0; 11], "10 bytes, not 11"),
            (vec![2, 0, 0, 0, 0, 0, 0, 0, 0, 0], "invalid turn byte 2"),
            (
                vec![0, 0, 0, 0, 3, 0, 0, 0, 0, 0],
                "invalid cell value 3 in cell 3",
            ),
        ] {
            let error = Position::decode(&data).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidArgument, "{data:?}");
            assert!(error.message().contains(says), "{}", error.message());
        }
    }
}
