//! The app suite: checks the contract written on [`App`] with the sample game the app gives
//! ([`App::samples`]): the opening state is valid; every sample move is accepted, its result
//! passes `valid_transition`, keeps the version and the totals and is refused to any other
//! actor; every refused move is refused (as `Rejected` or `InvalidArgument`) without harm;
//! answers are deterministic across calls and across two instances; `describe` gives JSON
//! (checked as a JSON value's outline: an object, an array, a string, a number, a literal).

use super::{call, Factory, Report, TestHost};
use crate::ensure;
use crate::model::{Address, Allocation, Amount, Asset, ChannelId, Params, Participant, State};
use crate::{App, AppSamples, ErrorKind};

/// The `node.toml` section the instances under test believe they are in.
const SECTION: &str = "app";

/// Runs every app check against instances made by `new`.
pub fn run(new: &Factory<'_, Box<dyn App>>) -> Report {
    let mut report = Report::default();
    let mut game = None;
    report.check("app: gives a sample game with two or more players", || {
        let host = TestHost::new(SECTION);
        let app = call("creating the app", new(host.context()))?;
        let samples = call("samples", app.samples())?;
        ensure!(
            samples.balances.len() >= 2,
            "the sample game has {} players; a channel has at least two",
            samples.balances.len()
        );
        ensure!(
            !samples.moves.is_empty(),
            "the sample game has no moves, so nothing of the rules can be checked"
        );
        game = Some(samples);
        Ok(())
    });
    let Some(samples) = game else {
        return report;
    };
    let host = TestHost::new(SECTION);
    let app = match new(host.context()) {
        Ok(app) => app,
        Err(error) => {
            report.check("app: can be created", || Err(error.to_string()));
            return report;
        }
    };
    let params = sample_params(samples.balances.len());
    report.check("app: init gives a valid opening state", || {
        let opening = opening(&*app, &params, &samples)?;
        call("valid_init", app.valid_init(&params, &opening))
    });
    report.check(
        "app: every sample move is accepted, passes valid_transition and keeps the totals",
        || play(&*app, &params, &samples).map(|_| ()),
    );
    report.check("app: a sample move is refused to every other actor", || {
        other_actors_refused(&*app, &params, &samples)
    });
    report.check(
        "app: every refused sample move is refused as Rejected or InvalidArgument",
        || refused_moves(&*app, &params, &samples),
    );
    report.check(
        "app: a move after the last one of a finished game is refused",
        || after_the_end(&*app, &params, &samples),
    );
    report.check(
        "app: describe gives JSON for every state of the game",
        || {
            for state in play(&*app, &params, &samples)? {
                let json = call("describe", app.describe(&params, &state))?;
                ensure!(
                    looks_like_json(&json),
                    "describe gave {json:?} for version {}, which is not a JSON value",
                    state.version
                );
            }
            Ok(())
        },
    );
    report.check(
        "app: answers are deterministic (the same twice, and the same from a second instance)",
        || {
            let other_host = TestHost::new(SECTION);
            let other = call("creating a second instance", new(other_host.context()))?;
            let first = play(&*app, &params, &samples)?;
            ensure!(
                first == play(&*app, &params, &samples)?,
                "playing the sample game twice gave different states"
            );
            ensure!(
                first == play(&*other, &params, &samples)?,
                "two instances gave different states for the same game"
            );
            for state in &first {
                ensure!(
                    app.describe(&params, state).ok() == other.describe(&params, state).ok(),
                    "two instances describe version {} differently",
                    state.version
                );
            }
            Ok(())
        },
    );
    report
}

/// Parameters of a sample app channel with `players` participants.
fn sample_params(players: usize) -> Params {
    Params {
        participants: (0..players)
            .map(|i| Participant(vec![i as u8 + 1; 20]))
            .collect(),
        challenge_duration: 60,
        nonce: [7; 32],
        app: Some(Address(vec![0xaa; 20])),
        ledger_channel: false,
        virtual_channel: false,
    }
}

/// The opening state of the sample game.
fn opening(app: &dyn App, params: &Params, samples: &AppSamples) -> Result<State, String> {
    let data = call("init", app.init(params, &samples.setup))?;
    Ok(State {
        channel_id: ChannelId([9; 32]),
        version: 0,
        allocation: Allocation {
            assets: vec![Asset {
                chain_id: 1,
                holder: Address(vec![0xbb; 20]),
            }],
            balances: vec![samples.balances.clone()],
            locked: Vec::new(),
        },
        app_data: crate::codec::Bytes(data),
        is_final: false,
    })
}

/// Plays the sample moves from the opening state, checking each; returns every state.
fn play(app: &dyn App, params: &Params, samples: &AppSamples) -> Result<Vec<State>, String> {
    let mut states = vec![opening(app, params, samples)?];
    let opening_total = total(&states[0]);
    for (n, step) in samples.moves.iter().enumerate() {
        let from = states.last().expect("never empty");
        ensure!(
            !from.is_final,
            "sample move {n} follows a final state (version {})",
            from.version
        );
        let to = call(
            &format!("apply of sample move {n} ({})", step.action),
            app.apply(params, from, &step.action, step.actor),
        )?;
        ensure!(
            to.version == from.version + 1,
            "sample move {n} gave version {}, not {}",
            to.version,
            from.version + 1
        );
        ensure!(
            to.channel_id == from.channel_id && to.allocation.assets == from.allocation.assets,
            "sample move {n} changed the channel or its assets"
        );
        ensure!(
            total(&to) == opening_total,
            "sample move {n} changed the total of the balances"
        );
        call(
            &format!("valid_transition of sample move {n}"),
            app.valid_transition(params, from, &to, step.actor),
        )?;
        states.push(to);
    }
    Ok(states)
}

/// The sum of every balance, per asset.
fn total(state: &State) -> Vec<Option<Amount>> {
    state
        .allocation
        .balances
        .iter()
        .map(|row| {
            row.iter()
                .try_fold(Amount::default(), |sum, amount| sum.checked_add(*amount))
        })
        .collect()
}

fn other_actors_refused(
    app: &dyn App,
    params: &Params,
    samples: &AppSamples,
) -> Result<(), String> {
    let states = play(app, params, samples)?;
    let step = &samples.moves[0];
    let players = params.participants.len() as u16;
    for other in (0..players).filter(|p| *p != step.actor) {
        let refused = app.valid_transition(params, &states[0], &states[1], other);
        ensure!(
            refused.is_err(),
            "valid_transition accepted sample move 0 ({}) by participant {other}, but it is \
             participant {}'s move",
            step.action,
            step.actor
        );
    }
    Ok(())
}

fn refused_moves(app: &dyn App, params: &Params, samples: &AppSamples) -> Result<(), String> {
    let start = opening(app, params, samples)?;
    for (n, step) in samples.refused.iter().enumerate() {
        match app.apply(params, &start, &step.action, step.actor) {
            Ok(state) => {
                return Err(format!(
                    "refused sample move {n} ({} by participant {}) was applied, giving \
                     version {}",
                    step.action, step.actor, state.version
                ))
            }
            Err(error) => ensure!(
                error.kind == ErrorKind::Rejected || error.kind == ErrorKind::InvalidArgument,
                "refused sample move {n} ({}) failed as {} instead of rejected or \
                 invalid_argument: {}",
                step.action,
                error.kind.as_str(),
                error.message()
            ),
        }
    }
    Ok(())
}

fn after_the_end(app: &dyn App, params: &Params, samples: &AppSamples) -> Result<(), String> {
    let states = play(app, params, samples)?;
    let last = states.last().expect("never empty");
    if !last.is_final {
        return Ok(());
    }
    let mut after = last.clone();
    after.version += 1;
    after.is_final = true;
    for actor in 0..params.participants.len() as u16 {
        ensure!(
            app.valid_transition(params, last, &after, actor).is_err(),
            "valid_transition accepted a move by participant {actor} after the final state"
        );
    }
    Ok(())
}

/// Whether `text` has the outline of one JSON value (a light check: the node parses it fully).
fn looks_like_json(text: &str) -> bool {
    let text = text.trim();
    let pairs = [('{', '}'), ('[', ']'), ('"', '"')];
    pairs
        .iter()
        .any(|(open, close)| text.len() >= 2 && text.starts_with(*open) && text.ends_with(*close))
        || ["true", "false", "null"].contains(&text)
        || text.parse::<f64>().is_ok()
}
