//! # parley-plugin-counter-race
//!
//! An app plugin built outside the Parley workspace against `parley-plugin-api` alone: the
//! race to a goal (the game of 21). Two players share a counter that starts at 0; in turn each
//! adds 1, 2 or 3; whoever brings it exactly to the goal wins, and that move is final with the
//! winner holding, in every asset, both players' balances. No move may pass the goal.
//!
//! - **App data**: three bytes, goal, count, turn (see [`race`]).
//! - **Setup** (`parley channel open --app-setup`): `{}`, or any of `{"goal": 1..=255,
//!   "first": 0|1}`; the goal is 21 and participant 0 adds first by default.
//! - **Action** (`parley channel move`): `{"add": 1}`, `{"add": 2}` or `{"add": 3}`.
//! - **Description** (`parley channel show`):
//!   `{"goal":21,"count":7,"turn":1,"winner":null,"over":false}`; `turn` is who adds next,
//!   `winner` the winner's participant index once the count reached the goal.
//!
//! It takes no configuration, and it is pure: every answer is a function of its arguments.
//!
//! What it is not: an app enforceable on Ethereum. There is no contract implementing these
//! rules, so a node lists it in `[[apps]]` for the sim chain only, whose `progress` asks the
//! node's own plugin for the rules.

pub mod race;
pub mod rules;

use parley_plugin_api::model::{Amount, Params, State};
use parley_plugin_api::{App, AppSamples, Host, PluginError, PluginResult, SampleMove};
use race::{Race, DEFAULT_GOAL};
use serde::{Deserialize, Serialize};

parley_plugin_api::export_plugin! {
    kind: App,
    name: "counter-race",
    description: "Race a shared counter to a goal, adding 1 to 3 a turn; the winner takes the pot",
    new: CounterRace::new,
}

/// The setup `init` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Setup {
    #[serde(default = "default_goal")]
    goal: u8,
    #[serde(default)]
    first: u8,
}

fn default_goal() -> u8 {
    DEFAULT_GOAL
}

/// The action `apply` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Action {
    add: u8,
}

/// What `describe` gives, its keys in this order.
#[derive(Debug, Serialize)]
struct Description {
    goal: u8,
    count: u8,
    turn: u8,
    winner: Option<u8>,
    over: bool,
}

/// The form of a setup, for error messages.
const SETUP_FORM: &str = r#"expected {} or {"goal": 1..255, "first": 0 or 1}"#;
/// The form of an action, for error messages.
const ACTION_FORM: &str = r#"expected {"add": n} with n from 1 to 3"#;

/// The plugin's table in `node.toml`: no keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoSettings {}

/// The counter race (see the crate documentation).
#[derive(Debug, Default, Clone, Copy)]
pub struct CounterRace;

impl CounterRace {
    /// The constructor: any key in the plugin's table is refused (`InvalidConfig`).
    pub fn new(table: &str, host: Host) -> PluginResult<CounterRace> {
        parley_plugin_api::config::parse_table::<NoSettings>(table, host.section())?;
        Ok(CounterRace)
    }
}

impl App for CounterRace {
    fn init(&self, params: &Params, setup: &str) -> PluginResult<Vec<u8>> {
        rules::check_players(params)?;
        let setup: Setup = serde_json::from_str(setup).map_err(|error| {
            PluginError::invalid(format!("counter race setup: {error}; {SETUP_FORM}"))
        })?;
        if setup.goal == 0 {
            return Err(PluginError::invalid(format!(
                "counter race setup: the goal is at least 1; {SETUP_FORM}"
            )));
        }
        if setup.first > 1 {
            return Err(PluginError::invalid(format!(
                "counter race setup: \"first\" is {}, not a player; {SETUP_FORM}",
                setup.first
            )));
        }
        Ok(Race::opening(setup.goal, setup.first).encode())
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
        let race = Race::decode(&state.app_data.0)?;
        let description = Description {
            goal: race.goal,
            count: race.count,
            turn: race.turn,
            winner: race.winner(),
            over: race.is_won(),
        };
        serde_json::to_string(&description)
            .map_err(|error| PluginError::internal(format!("counter race: {error}")))
    }

    fn apply(
        &self,
        params: &Params,
        state: &State,
        action: &str,
        actor: u16,
    ) -> PluginResult<State> {
        let action: Action = serde_json::from_str(action).map_err(|error| {
            PluginError::invalid(format!("counter race move: {error}; {ACTION_FORM}"))
        })?;
        rules::play(params, state, action.add, actor)
    }

    /// A race to 6 that participant 1 opens and wins: 1 adds 2, 0 adds 1, 1 adds 3.
    fn samples(&self) -> PluginResult<AppSamples> {
        let step = |actor: u16, action: &str| SampleMove {
            actor,
            action: action.to_string(),
        };
        Ok(AppSamples {
            setup: r#"{"goal": 6, "first": 1}"#.to_string(),
            balances: vec![Amount::from(3), Amount::from(4)],
            moves: vec![
                step(1, r#"{"add": 2}"#),
                step(0, r#"{"add": 1}"#),
                step(1, r#"{"add": 3}"#),
            ],
            refused: vec![
                step(0, r#"{"add": 1}"#),
                step(2, r#"{"add": 1}"#),
                step(1, r#"{"add": 0}"#),
                step(1, r#"{"add": 4}"#),
                step(1, r#"{"add": -1}"#),
                step(1, r#"{"add": "2"}"#),
                step(1, r#"{"add": 2, "again": 1}"#),
                step(1, r#"{"step": 2}"#),
                step(1, "add 2"),
            ],
        })
    }
}

#[cfg(test)]
mod tests;
