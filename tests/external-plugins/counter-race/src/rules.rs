//! The rules: which opening states and which moves are valid, and the one move [`play`] makes.
//!
//! [`valid_transition`] is the whole rule the node (and the sim chain's `progress`) relies on;
//! [`play`] only computes the state a person's move leads to, and every state it returns passes
//! [`valid_transition`]. Refusals of the rules are `Rejected`; data that is no position at all
//! is `InvalidArgument` (from [`Race::decode`]).
//!
//! What is not checked here, because the node checks it for every app before asking: the same
//! channel and assets, version + 1, nothing locked, each asset's total conserved, and `from`
//! not final.

use crate::race::{Race, MAX_ADD};
use parley_plugin_api::model::{Amount, Params, State};
use parley_plugin_api::{PluginError, PluginResult};

/// The number of players.
const PLAYERS: usize = 2;

fn reject(reason: impl std::fmt::Display) -> PluginError {
    PluginError::rejected(format!("counter race: {reason}"))
}

/// `Rejected` unless the channel has exactly two participants.
pub fn check_players(params: &Params) -> PluginResult<()> {
    match params.participants.len() {
        PLAYERS => Ok(()),
        n => Err(reject(format!("two players race, not {n}"))),
    }
}

/// `Rejected` unless every asset has one balance per player.
fn check_rows(balances: &[Vec<Amount>]) -> PluginResult<()> {
    match balances.iter().position(|row| row.len() != PLAYERS) {
        None => Ok(()),
        Some(asset) => Err(reject(format!(
            "one balance per player (asset {asset} has {})",
            balances[asset].len()
        ))),
    }
}

/// Whether `state` may open a race: two players, one balance each per asset, a position with
/// the count at 0, not final, nothing locked.
pub fn valid_init(params: &Params, state: &State) -> PluginResult<()> {
    check_players(params)?;
    let race = Race::decode(&state.app_data.0)?;
    if race.count != 0 {
        return Err(reject(format!(
            "a race starts at 0, not {} (goal {})",
            race.count, race.goal
        )));
    }
    if state.is_final {
        return Err(reject("the opening state is not final"));
    }
    if !state.allocation.locked.is_empty() {
        return Err(reject("nothing is locked in a race's channel"));
    }
    check_rows(&state.allocation.balances)
}

/// Whether `to` is a valid move by `actor` from `from`: the actor's turn, the same goal, the
/// turn passed, 1 to [`MAX_ADD`] added; reaching the goal is final and gives the actor, in
/// every asset, both players' balances; any other move is not final and moves no funds.
pub fn valid_transition(params: &Params, from: &State, to: &State, actor: u16) -> PluginResult<()> {
    check_players(params)?;
    let (before, after) = (
        Race::decode(&from.app_data.0)?,
        Race::decode(&to.app_data.0)?,
    );
    if before.is_won() {
        return Err(reject(format!(
            "the race is already won (the count is at the goal {})",
            before.goal
        )));
    }
    check_turn(&before, actor)?;
    if after.goal != before.goal {
        return Err(reject(format!(
            "the goal stays {} (the move makes it {})",
            before.goal, after.goal
        )));
    }
    if after.turn != 1 - before.turn {
        return Err(reject("the turn passes to the other player"));
    }
    // A count that went down adds nothing (0), which is refused below.
    let added = after.count.saturating_sub(before.count);
    if added == 0 || added > MAX_ADD {
        return Err(reject(format!(
            "a move adds 1 to {MAX_ADD} (from {} to {})",
            before.count, after.count
        )));
    }
    if after.is_won() {
        if !to.is_final {
            return Err(reject(
                "the move that reaches the goal makes the state final",
            ));
        }
        check_winner_takes_all(&from.allocation.balances, &to.allocation.balances, actor)
    } else {
        if to.is_final {
            return Err(reject("the state is final only once the goal is reached"));
        }
        if to.allocation.balances != from.allocation.balances {
            return Err(reject("only the move that reaches the goal moves funds"));
        }
        Ok(())
    }
}

/// `Rejected` unless it is `actor`'s turn in `race`.
fn check_turn(race: &Race, actor: u16) -> PluginResult<()> {
    if actor == u16::from(race.turn) {
        Ok(())
    } else {
        Err(reject(format!(
            "not your turn (participant {} adds next, not {actor})",
            race.turn
        )))
    }
}

/// In every asset, `winner` holds both players' balances of `from`, the loser nothing.
fn check_winner_takes_all(
    from: &[Vec<Amount>],
    to: &[Vec<Amount>],
    winner: u16,
) -> PluginResult<()> {
    check_rows(from)?;
    check_rows(to)?;
    if from.len() != to.len() {
        return Err(reject("one balance row per asset"));
    }
    let (winner, loser) = (usize::from(winner), usize::from(1 - winner));
    for (asset, (before, after)) in from.iter().zip(to).enumerate() {
        let pot = before[0].checked_add(before[1]);
        if pot != Some(after[winner]) || !after[loser].is_zero() {
            return Err(reject(format!(
                "the winner takes the whole pot (asset {asset})"
            )));
        }
    }
    Ok(())
}

/// The state after `actor` adds `add` in `state`: version + 1, the count raised, the turn
/// passed; reaching the goal makes it final with the pot to the actor. `Rejected` when the
/// rules forbid the move.
pub fn play(params: &Params, state: &State, add: u8, actor: u16) -> PluginResult<State> {
    check_players(params)?;
    check_rows(&state.allocation.balances)?;
    let mut race = Race::decode(&state.app_data.0)?;
    if state.is_final || race.is_won() {
        return Err(reject("the race is over"));
    }
    check_turn(&race, actor)?;
    if add == 0 || add > MAX_ADD {
        return Err(reject(format!("a move adds 1 to {MAX_ADD}, not {add}")));
    }
    let left = race.goal - race.count;
    if add > left {
        return Err(reject(format!(
            "adding {add} passes the goal {} (the count is {}; add at most {left})",
            race.goal, race.count
        )));
    }
    race.count += add;
    race.turn = 1 - race.turn;

    let mut next = state.clone();
    next.version = state
        .version
        .checked_add(1)
        .ok_or_else(|| reject("the channel has no version after this one"))?;
    next.app_data.0 = race.encode();
    next.is_final = race.is_won();
    if race.is_won() {
        let (winner, loser) = (usize::from(actor), usize::from(1 - actor));
        for row in &mut next.allocation.balances {
            row[winner] = row[0]
                .checked_add(row[1])
                .ok_or_else(|| reject("the pot does not fit 256 bits"))?;
            row[loser] = Amount::ZERO;
        }
    }
    Ok(next)
}
