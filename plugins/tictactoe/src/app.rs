//! [`TicTacToe`]: the [`App`] the plugin exports, the JSON people play with around the rules of
//! `rules.rs`.

use crate::grid::Position;
use crate::json;
use crate::rules;
use parley_plugin_api::model::{Amount, Params, State};
use parley_plugin_api::{App, AppSamples, Host, PluginError, PluginResult, SampleMove};

/// The form `apply` takes, for error messages.
const ACTION_FORM: &str = r#"expected {"cell": n} with n from 0 to 8 (row by row, 0 top left)"#;
/// The form `init` takes, for error messages.
const SETUP_FORM: &str = r#"expected {} or {"first": 0} or {"first": 1} (who moves first)"#;

/// Two-party tic-tac-toe, the off-chain twin of `contracts/src/TicTacToeApp.sol`.
///
/// - **Setup** (`init`): `{}` or `{"first": 0|1}`, who moves first (participant 0 by default).
/// - **Action** (`apply`): `{"cell": n}`, `n` from 0 to 8, row by row from the top left.
///   Participant 0 marks `X`, participant 1 marks `O`.
/// - **Description** (`describe`), a JSON object with these keys in this order:
///   `{"turn":0,"rows":["X.O",".X.","..O"],"winner":null,"draw":false,"over":false}`.
///   `turn` is whose move it is (0 or 1; after the end, who would have moved next); `rows` are
///   the three rows top to bottom with `X` (participant 0), `O` (participant 1) and `.`
///   (empty); `winner` is the winner's participant index or `null`; `draw` is true when the grid
///   is full without a winner; `over` is true when no move may follow.
///
/// The plugin takes no configuration: its `node.toml` table must be empty.
#[derive(Debug, Default, Clone, Copy)]
pub struct TicTacToe;

impl TicTacToe {
    /// The plugin's constructor: refuses any key in its table (`InvalidConfig`).
    pub fn new(config: &str, _host: Host) -> PluginResult<TicTacToe> {
        let keys: Vec<&str> = config
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect();
        match keys.first() {
            None => Ok(TicTacToe),
            Some(line) => Err(PluginError::config(format!(
                "the tictactoe app takes no settings; remove `{line}` from its table"
            ))),
        }
    }
}

/// Who moves first, from the setup JSON.
fn parse_setup(setup: &str) -> PluginResult<u8> {
    let members = json::parse_object(setup)
        .map_err(|why| PluginError::invalid(format!("tic-tac-toe setup: {why}; {SETUP_FORM}")))?;
    match members.as_slice() {
        [] => Ok(0),
        [(key, first)] if key == "first" && *first <= 1 => Ok(*first as u8),
        [(key, first)] if key == "first" => Err(PluginError::invalid(format!(
            "tic-tac-toe setup: \"first\" is {first}, not a player; {SETUP_FORM}"
        ))),
        _ => Err(PluginError::invalid(format!(
            "tic-tac-toe setup: unexpected keys; {SETUP_FORM}"
        ))),
    }
}

/// The cell of an action.
fn parse_action(action: &str) -> PluginResult<usize> {
    let members = json::parse_object(action)
        .map_err(|why| PluginError::invalid(format!("tic-tac-toe move: {why}; {ACTION_FORM}")))?;
    match members.as_slice() {
        [(key, cell)] if key == "cell" && *cell <= 8 => Ok(*cell as usize),
        [(key, cell)] if key == "cell" => Err(PluginError::invalid(format!(
            "tic-tac-toe move: there is no cell {cell}; {ACTION_FORM}"
        ))),
        _ => Err(PluginError::invalid(format!(
            "tic-tac-toe move: {action:?} is not a move; {ACTION_FORM}"
        ))),
    }
}

/// The description of a position (see [`TicTacToe`] for its form).
fn describe(position: &Position) -> String {
    let symbol = |cell: &u8| match cell {
        1 => 'X',
        2 => 'O',
        _ => '.',
    };
    let rows: Vec<String> = position
        .grid
        .chunks(3)
        .map(|row| format!("\"{}\"", row.iter().map(symbol).collect::<String>()))
        .collect();
    let winner = position
        .winner()
        .map_or_else(|| "null".to_string(), |w| w.to_string());
    let draw = position.winner().is_none() && position.is_full();
    format!(
        "{{\"turn\":{},\"rows\":[{}],\"winner\":{winner},\"draw\":{draw},\"over\":{}}}",
        position.turn,
        rows.join(","),
        position.is_over()
    )
}

impl App for TicTacToe {
    fn init(&self, params: &Params, setup: &str) -> PluginResult<Vec<u8>> {
        rules::check_players(params)?;
        Ok(Position::opening(parse_setup(setup)?).encode())
    }

    fn valid_init(&self, params: &Params, state: &State) -> PluginResult<()> {
        rules::valid_init(params, state)
    }

    fn valid_transition(
        &self,
        params: &Params,
        from: &State,
        to: &State,
        actor: u16,
    ) -> PluginResult<()> {
        rules::valid_transition(params, from, to, actor)
    }

    fn describe(&self, _params: &Params, state: &State) -> PluginResult<String> {
        Ok(describe(&Position::decode(&state.app_data.0)?))
    }

    fn apply(
        &self,
        params: &Params,
        state: &State,
        action: &str,
        actor: u16,
    ) -> PluginResult<State> {
        let cell = parse_action(action)?;
        rules::play(params, state, cell, actor)
    }

    /// Participant 1 opens and wins on the diagonal 2-4-6 after five moves:
    ///
    /// ```text
    /// X X O
    /// . O .
    /// O . .
    /// ```
    fn samples(&self) -> PluginResult<AppSamples> {
        let step = |actor: u16, cell: u8| SampleMove {
            actor,
            action: format!("{{\"cell\": {cell}}}"),
        };
        let refused = |actor: u16, action: &str| SampleMove {
            actor,
            action: action.to_string(),
        };
        Ok(AppSamples {
            setup: r#"{"first": 1}"#.to_string(),
            balances: vec![Amount::from(5), Amount::from(7)],
            moves: vec![step(1, 4), step(0, 0), step(1, 2), step(0, 1), step(1, 6)],
            refused: vec![
                refused(0, r#"{"cell": 4}"#),
                refused(1, r#"{"cell": 9}"#),
                refused(1, r#"{"cell": -1}"#),
                refused(1, r#"{"cell": "4"}"#),
                refused(1, r#"{"cell": 4"#),
                refused(1, r#"{"row": 1, "column": 1}"#),
                refused(1, "cell 4"),
                refused(2, r#"{"cell": 4}"#),
            ],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::ErrorKind;

    #[test]
    fn setup_says_who_moves_first() {
        assert_eq!(parse_setup("{}").unwrap(), 0);
        assert_eq!(parse_setup(" { \"first\" : 1 } ").unwrap(), 1);
        assert_eq!(parse_setup("{\"first\":0}").unwrap(), 0);
        for bad in [
            "",
            "{\"first\":2}",
            "{\"first\":1,\"x\":0}",
            "{\"second\":1}",
            "[]",
        ] {
            let error = parse_setup(bad).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidArgument, "{bad}");
            assert!(
                error.message().contains("expected {}"),
                "{}",
                error.message()
            );
        }
    }

    #[test]
    fn actions_name_one_cell_from_0_to_8() {
        for cell in 0..=8 {
            assert_eq!(parse_action(&format!("{{\"cell\":{cell}}}")).unwrap(), cell);
        }
        assert_eq!(parse_action("\n{ \"cell\" :\t7 }\r\n").unwrap(), 7);
        for bad in [
            "{\"cell\":9}",
            "{}",
            "{\"cell\":1,\"again\":2}",
            "{\"Cell\":1}",
            "{\"cell\":1.0}",
            "cell 4",
        ] {
            let error = parse_action(bad).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidArgument, "{bad}");
            assert!(
                error.message().contains("{\"cell\": n}"),
                "{}",
                error.message()
            );
        }
    }

    #[test]
    fn describe_shows_rows_turn_and_outcome() {
        let mut position = Position::opening(0);
        assert_eq!(
            describe(&position),
            r#"{"turn":0,"rows":["...","...","..."],"winner":null,"draw":false,"over":false}"#
        );
        position.grid = [1, 1, 2, 0, 2, 0, 2, 0, 0];
        position.turn = 0;
        assert_eq!(
            describe(&position),
            r#"{"turn":0,"rows":["XXO",".O.","O.."],"winner":1,"draw":false,"over":true}"#
        );
        position.grid = [1, 2, 1, 1, 2, 2, 2, 1, 1];
        position.turn = 1;
        assert_eq!(
            describe(&position),
            r#"{"turn":1,"rows":["XOX","XOO","OXX"],"winner":null,"draw":true,"over":true}"#
        );
    }

    #[test]
    fn the_constructor_refuses_settings() {
        let host = parley_plugin_api::conformance::TestHost::new("app");
        let new = |table: &str| TicTacToe::new(table, Host::new(host.context()));
        assert!(new("").is_ok());
        assert!(new("\n# a comment\n").is_ok());
        let error = new("first = 1\n").unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidConfig);
        assert!(error.message().contains("first = 1"), "{}", error.message());
    }
}
