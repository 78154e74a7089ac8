//! The rules: `TicTacToeApp.sol`'s `validTransition`, check for check and in the same order,
//! the opening state, and the one move [`play`] computes.
//!
//! Reasons are the contract's revert strings (with a detail where it helps a person). Data the
//! contract would revert on as malformed (a length other than ten, a turn byte above 1, a cell
//! value above 2) is `InvalidArgument`; every other refusal is `Rejected`.

use crate::grid::{self, Position, EMPTY};
use parley_plugin_api::model::{Amount, Params, State};
use parley_plugin_api::{PluginError, PluginResult};

/// The number of players.
pub const PLAYERS: usize = 2;

fn reject(reason: &str) -> PluginError {
    PluginError::rejected(format!("tic-tac-toe: {reason}"))
}

/// `Rejected` unless the channel has exactly two participants.
pub fn check_players(params: &Params) -> PluginResult<()> {
    if params.participants.len() == PLAYERS {
        Ok(())
    } else {
        Err(PluginError::rejected(format!(
            "tic-tac-toe: two players, not {}",
            params.participants.len()
        )))
    }
}

/// Whether `state` may open a tic-tac-toe channel: two participants, one balance per player in
/// each asset, ten bytes of app data with a turn of 0 or 1 and an empty grid, not final, nothing
/// locked. (The contract has no such check: Perun apps only rule transitions; this is the
/// opening state every sequence of valid moves starts from.)
pub fn valid_init(params: &Params, state: &State) -> PluginResult<()> {
    check_players(params)?;
    let position = Position::decode(&state.app_data.0)?;
    if position.grid != [EMPTY; grid::CELLS] {
        return Err(reject("a game starts on an empty grid"));
    }
    if state.is_final {
        return Err(reject("the opening state is not final"));
    }
    if !state.allocation.locked.is_empty() {
        return Err(reject("nothing is locked in a game's channel"));
    }
    check_balance_rows(&state.allocation.balances)
}

/// `InvalidArgument` unless every asset has one balance per player.
fn check_balance_rows(balances: &[Vec<Amount>]) -> PluginResult<()> {
    match balances.iter().position(|row| row.len() != PLAYERS) {
        None => Ok(()),
        Some(asset) => Err(PluginError::invalid(format!(
            "tic-tac-toe: one balance per player (asset {asset} has {})",
            balances[asset].len()
        ))),
    }
}

/// The contract's `validTransition`: `Ok` exactly when `to` is a valid move by `actor` from
/// `from`. The node has already checked what every app shares (version + 1, assets, locks,
/// totals, `from` not final).
pub fn valid_transition(params: &Params, from: &State, to: &State, actor: u16) -> PluginResult<()> {
    check_players(params)?;
    let (before, next) = (&from.app_data.0, &to.app_data.0);
    grid::check_length(before)?;
    grid::check_length(next)?;
    let turn = before[0];
    if turn > 1 {
        return Err(PluginError::invalid(format!(
            "tic-tac-toe: invalid turn byte {turn} (expected 0 or 1)"
        )));
    }
    if actor != u16::from(turn) {
        return Err(PluginError::rejected(format!(
            "tic-tac-toe: not the actor's turn (participant {turn} moves, not {actor})"
        )));
    }
    if next[0] != 1 - turn {
        return Err(reject("the turn must pass to the other player"));
    }
    let (old_grid, new_grid) = (grid::cells(before), grid::cells(next));
    if grid::winner(old_grid) != EMPTY || grid::is_full(old_grid) {
        return Err(reject("game already over"));
    }

    let mark = grid::mark_of(turn);
    let mut changed = 0;
    for (old_cell, new_cell) in old_grid.iter().zip(new_grid) {
        if *old_cell > 2 || *new_cell > 2 {
            return Err(PluginError::invalid("tic-tac-toe: invalid cell value"));
        }
        if old_cell != new_cell {
            if *old_cell != EMPTY || *new_cell != mark {
                return Err(reject("a move marks one empty cell"));
            }
            changed += 1;
        }
    }
    if changed != 1 {
        return Err(reject("a move marks exactly one cell"));
    }

    match grid::winner(new_grid) {
        EMPTY => {
            if to.is_final != grid::is_full(new_grid) {
                return Err(reject("final exactly when the grid is full"));
            }
            if to.allocation.balances != from.allocation.balances {
                return Err(reject("only a win moves funds"));
            }
        }
        won => {
            if !to.is_final {
                return Err(reject("a won game must be final"));
            }
            check_winner_takes_all(&from.allocation.balances, &to.allocation.balances, won - 1)?;
        }
    }
    Ok(())
}

/// The contract's `requireWinnerTakesAll`: in every asset, `winner` holds both players'
/// balances of `from` and the loser nothing.
fn check_winner_takes_all(
    from: &[Vec<Amount>],
    to: &[Vec<Amount>],
    winner: u8,
) -> PluginResult<()> {
    if from.len() != to.len() {
        return Err(reject("one balance row per asset"));
    }
    check_balance_rows(from)?;
    for row in to {
        if row.len() != PLAYERS {
            return Err(reject("one balance per player"));
        }
    }
    let (winner, loser) = (usize::from(winner), usize::from(1 - winner));
    for (before, after) in from.iter().zip(to) {
        // The contract's checked addition reverts on overflow, so no sum wraps here either.
        let pot = before[0].checked_add(before[1]);
        if pot != Some(after[winner]) || !after[loser].is_zero() {
            return Err(reject("the winner takes all"));
        }
    }
    Ok(())
}

/// The state after `actor` marks `cell` (0..=8, row by row) in `state`: version + 1, the mark
/// set, the turn passed; on a win final with the winner holding every balance, on a full grid
/// final with balances unchanged. `Rejected` when the rules forbid the move.
pub fn play(params: &Params, state: &State, cell: usize, actor: u16) -> PluginResult<State> {
    check_players(params)?;
    let mut position = Position::decode(&state.app_data.0)?;
    check_balance_rows(&state.allocation.balances)?;
    if state.is_final || position.is_over() {
        return Err(reject("game already over"));
    }
    if actor != u16::from(position.turn) {
        return Err(PluginError::rejected(format!(
            "tic-tac-toe: not the actor's turn (participant {} moves, not {actor})",
            position.turn
        )));
    }
    let Some(target) = position.grid.get_mut(cell) else {
        return Err(PluginError::invalid(format!(
            "tic-tac-toe: there is no cell {cell}; cells are 0 to 8, row by row"
        )));
    };
    if *target != EMPTY {
        return Err(PluginError::rejected(format!(
            "tic-tac-toe: a move marks one empty cell (cell {cell} is taken)"
        )));
    }
    *target = grid::mark_of(position.turn);
    position.turn = 1 - position.turn;

    let mut next = state.clone();
    next.version = state
        .version
        .checked_add(1)
        .ok_or_else(|| reject("the channel has no version after this one"))?;
    next.app_data.0 = position.encode();
    if let Some(winner) = position.winner() {
        next.is_final = true;
        let (winner, loser) = (usize::from(winner), usize::from(1 - winner));
        for row in &mut next.allocation.balances {
            row[winner] = row[0]
                .checked_add(row[1])
                .ok_or_else(|| reject("the winner's balance would overflow 256 bits"))?;
            row[loser] = Amount::ZERO;
        }
    } else {
        next.is_final = position.is_full();
    }
    Ok(next)
}
