//! # parley-plugin-tictactoe
//!
//! Parley's built-in app plugin: two-party tic-tac-toe, the off-chain twin of
//! `contracts/src/TicTacToeApp.sol`, rule for rule. It implements [`parley_plugin_api::App`]:
//! the node asks it whether a peer's move is valid before signing (the contract's
//! `validTransition`), and turns a person's `{"cell": 4}` into the next state.
//!
//! The game: ten bytes of app data (whose turn, then the grid row by row; see [`grid`]); a move
//! marks one empty cell and passes the turn; the move that completes a line wins and must be
//! final, with the winner holding, in every asset, both players' balances; the move that fills
//! the grid without a winner is a final draw; no move follows either. The JSON forms people use
//! are documented on [`TicTacToe`].
//!
//! What it is not: it knows nothing of signatures, versions, assets or conservation of funds
//! (the node checks those for every app, as the Adjudicator does), and it keeps no state: every
//! answer is a function of its arguments. It takes no configuration.

mod app;
pub mod grid;
mod json;
pub mod rules;

pub use app::TicTacToe;

parley_plugin_api::export_plugin! {
    kind: App,
    name: "tictactoe",
    description: "Two-party tic-tac-toe, the rules of the TicTacToeApp contract",
    check_config: "",
    new: TicTacToe::new,
}

#[cfg(test)]
mod tests;
