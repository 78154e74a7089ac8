//! The rules against hand-built states: the contract's cases one by one, the opening state,
//! `apply`, and property tests tying `apply` to `valid_transition`.

use crate::grid::{Position, LINES};
use crate::rules::{play, valid_init, valid_transition};
use crate::TicTacToe;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{
    Address, Allocation, Amount, Asset, ChannelId, Params, Participant, State, SubAlloc,
};
use parley_plugin_api::{App, ErrorKind, PluginResult};
use proptest::prelude::*;

fn params(players: usize) -> Params {
    Params {
        participants: (0..players)
            .map(|i| Participant(vec![i as u8 + 1; 20]))
            .collect(),
        challenge_duration: 60,
        nonce: [3; 32],
        app: Some(Address(vec![0xaa; 20])),
        ledger_channel: true,
        virtual_channel: false,
    }
}

fn amounts(rows: &[[u64; 2]]) -> Vec<Vec<Amount>> {
    rows.iter()
        .map(|row| row.iter().map(|a| Amount::from(*a)).collect())
        .collect()
}

/// A state with app data `data`, balances `rows` (one asset per row).
fn state(version: u64, data: Vec<u8>, rows: &[[u64; 2]], is_final: bool) -> State {
    State {
        channel_id: ChannelId([1; 32]),
        version,
        allocation: Allocation {
            assets: (0..rows.len())
                .map(|i| Asset {
                    chain_id: 1,
                    holder: Address(vec![i as u8; 20]),
                })
                .collect(),
            balances: amounts(rows),
            locked: Vec::new(),
        },
        app_data: Bytes(data),
        is_final,
    }
}

/// App data: `turn`, then the grid written as nine characters `X`, `O` or `.`.
fn data(turn: u8, grid: &str) -> Vec<u8> {
    let mut data = vec![turn];
    data.extend(grid.chars().map(|c| match c {
        'X' => 1,
        'O' => 2,
        '.' => 0,
        other => panic!("bad grid character {other}"),
    }));
    assert_eq!(data.len(), 10, "{grid}");
    data
}

fn transition(
    before: Vec<u8>,
    after: Vec<u8>,
    to_rows: &[[u64; 2]],
    to_final: bool,
    actor: u16,
) -> PluginResult<()> {
    let from = state(4, before, &[[5, 7]], false);
    let to = state(5, after, to_rows, to_final);
    valid_transition(&params(2), &from, &to, actor)
}

#[track_caller]
fn assert_refused(result: PluginResult<()>, kind: ErrorKind, reason: &str) {
    let error = result.expect_err("the move was accepted");
    assert_eq!(error.kind, kind, "{error}");
    assert!(
        error.message().contains(reason),
        "expected a reason with {reason:?}, got {:?}",
        error.message()
    );
}

// --- The contract's cases -------------------------------------------------------------------

#[test]
fn a_win_on_each_of_the_eight_lines_is_final_and_the_winner_takes_all() {
    for line in LINES {
        for player in [0u8, 1] {
            let mark = player + 1;
            let mut before = vec![player; 1];
            before.extend([0; 9]);
            before[1 + line[0]] = mark;
            before[1 + line[1]] = mark;
            let mut after = before.clone();
            after[0] = 1 - player;
            after[1 + line[2]] = mark;
            let pot = if player == 0 { [12, 0] } else { [0, 12] };
            let actor = u16::from(player);
            let context = format!("line {line:?}, player {player}");
            transition(before.clone(), after.clone(), &[pot], true, actor)
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_refused(
                transition(before.clone(), after.clone(), &[pot], false, actor),
                ErrorKind::Rejected,
                "a won game must be final",
            );
            assert_refused(
                transition(before.clone(), after.clone(), &[[5, 7]], true, actor),
                ErrorKind::Rejected,
                "the winner takes all",
            );
            let robbed = if player == 0 { [0, 12] } else { [12, 0] };
            assert_refused(
                transition(before, after, &[robbed], true, actor),
                ErrorKind::Rejected,
                "the winner takes all",
            );
        }
    }
}

#[test]
fn the_loser_keeps_nothing_and_the_winner_gets_exactly_the_pot() {
    let (before, after) = (data(0, "XX.OO...."), data(1, "XXXOO...."));
    transition(before.clone(), after.clone(), &[[12, 0]], true, 0).unwrap();
    assert_refused(
        transition(before.clone(), after.clone(), &[[11, 1]], true, 0),
        ErrorKind::Rejected,
        "the winner takes all",
    );
    assert_refused(
        transition(before, after, &[[13, 0]], true, 0),
        ErrorKind::Rejected,
        "the winner takes all",
    );
}

#[test]
fn the_winner_takes_all_in_every_asset() {
    let (before, after) = (data(1, "XX.OO.X.."), data(0, "XX.OOOX.."));
    let from = state(4, before, &[[5, 7], [3, 0]], false);
    let won = state(5, after.clone(), &[[0, 12], [0, 3]], true);
    valid_transition(&params(2), &from, &won, 1).unwrap();
    let half = state(5, after.clone(), &[[0, 12], [3, 0]], true);
    assert_refused(
        valid_transition(&params(2), &from, &half, 1),
        ErrorKind::Rejected,
        "the winner takes all",
    );
    let one_row = state(5, after, &[[0, 12]], true);
    assert_refused(
        valid_transition(&params(2), &from, &one_row, 1),
        ErrorKind::Rejected,
        "one balance row per asset",
    );
    // apply gives exactly that state.
    let played = play(&params(2), &from, 5, 1).unwrap();
    assert_eq!(played, won);
}

#[test]
fn a_draw_is_final_exactly_when_the_grid_fills_and_moves_no_funds() {
    let (before, after) = (data(0, "XOXXOOOX."), data(1, "XOXXOOOXX"));
    transition(before.clone(), after.clone(), &[[5, 7]], true, 0).unwrap();
    assert_refused(
        transition(before.clone(), after.clone(), &[[5, 7]], false, 0),
        ErrorKind::Rejected,
        "final exactly when the grid is full",
    );
    assert_refused(
        transition(before, after, &[[6, 6]], true, 0),
        ErrorKind::Rejected,
        "only a win moves funds",
    );
}

#[test]
fn an_ordinary_move_is_not_final_and_moves_no_funds() {
    let (before, after) = (data(0, "........."), data(1, "....X...."));
    transition(before.clone(), after.clone(), &[[5, 7]], false, 0).unwrap();
    assert_refused(
        transition(before.clone(), after.clone(), &[[5, 7]], true, 0),
        ErrorKind::Rejected,
        "final exactly when the grid is full",
    );
    assert_refused(
        transition(before, after, &[[4, 8]], false, 0),
        ErrorKind::Rejected,
        "only a win moves funds",
    );
}

#[test]
fn no_move_follows_a_win_or_a_full_grid() {
    // O has won; it is X's turn.
    assert_refused(
        transition(
            data(0, "OOOXX...."),
            data(1, "OOOXXX..."),
            &[[5, 7]],
            true,
            0,
        ),
        ErrorKind::Rejected,
        "game already over",
    );
    // A full grid without a winner.
    assert_refused(
        transition(
            data(1, "XOXXOOOXX"),
            data(0, "XOXXOOOXX"),
            &[[5, 7]],
            true,
            1,
        ),
        ErrorKind::Rejected,
        "game already over",
    );
}

#[test]
fn a_move_marks_exactly_one_empty_cell_with_the_movers_mark() {
    let before = data(0, "X...O....");
    let cases = [
        (data(1, "XX..O...X"), "a move marks exactly one cell"),
        (data(1, "X...O...."), "a move marks exactly one cell"),
        (data(1, "X.O.O...."), "a move marks one empty cell"), // the other player's mark
        (data(1, "X...X...."), "a move marks one empty cell"), // overwrites O
        (data(1, "....O...X"), "a move marks one empty cell"), // erases X
    ];
    for (after, reason) in cases {
        assert_refused(
            transition(before.clone(), after, &[[5, 7]], false, 0),
            ErrorKind::Rejected,
            reason,
        );
    }
}

#[test]
fn the_turn_belongs_to_the_actor_and_passes_to_the_other() {
    let before = data(0, ".........");
    assert_refused(
        transition(before.clone(), data(1, "X........"), &[[5, 7]], false, 1),
        ErrorKind::Rejected,
        "not the actor's turn",
    );
    assert_refused(
        transition(before.clone(), data(1, "X........"), &[[5, 7]], false, 7),
        ErrorKind::Rejected,
        "not the actor's turn",
    );
    assert_refused(
        transition(before, data(0, "X........"), &[[5, 7]], false, 0),
        ErrorKind::Rejected,
        "the turn must pass to the other player",
    );
}

#[test]
fn malformed_data_and_channels_are_refused() {
    let ok_after = data(1, "X........");
    assert_refused(
        transition(vec![0; 9], ok_after.clone(), &[[5, 7]], false, 0),
        ErrorKind::InvalidArgument,
        "appData is 10 bytes",
    );
    assert_refused(
        transition(data(0, "........."), vec![1; 11], &[[5, 7]], false, 0),
        ErrorKind::InvalidArgument,
        "appData is 10 bytes",
    );
    assert_refused(
        transition(
            vec![2, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ok_after,
            &[[5, 7]],
            false,
            0,
        ),
        ErrorKind::InvalidArgument,
        "invalid turn byte",
    );
    assert_refused(
        transition(
            data(0, "........."),
            vec![1, 1, 0, 0, 0, 0, 0, 0, 0, 3],
            &[[5, 7]],
            false,
            0,
        ),
        ErrorKind::InvalidArgument,
        "invalid cell value",
    );
    let from = state(0, data(0, "........."), &[[5, 7]], false);
    let to = state(1, data(1, "X........"), &[[5, 7]], false);
    assert_refused(
        valid_transition(&params(3), &from, &to, 0),
        ErrorKind::Rejected,
        "two players",
    );
}

// --- The opening state --------------------------------------------------------------------

#[test]
fn init_gives_an_empty_grid_with_the_first_player_to_move() {
    let app = TicTacToe;
    assert_eq!(app.init(&params(2), "{}").unwrap(), data(0, "........."));
    assert_eq!(
        app.init(&params(2), r#"{"first": 1}"#).unwrap(),
        data(1, ".........")
    );
    assert_refused(
        app.init(&params(3), "{}").map(|_| ()),
        ErrorKind::Rejected,
        "two players",
    );
    assert_refused(
        app.init(&params(2), r#"{"first": 0, "stake": 5}"#)
            .map(|_| ()),
        ErrorKind::InvalidArgument,
        "expected {}",
    );
}

#[test]
fn valid_init_accepts_only_an_empty_unlocked_two_player_opening() {
    let opening = |data: Vec<u8>| state(0, data, &[[5, 7], [1, 0]], false);
    valid_init(&params(2), &opening(data(0, "........."))).unwrap();
    valid_init(&params(2), &opening(data(1, "........."))).unwrap();
    assert_refused(
        valid_init(&params(3), &opening(data(0, "........."))),
        ErrorKind::Rejected,
        "two players",
    );
    assert_refused(
        valid_init(&params(2), &opening(data(0, "....X...."))),
        ErrorKind::Rejected,
        "empty grid",
    );
    assert_refused(
        valid_init(&params(2), &opening(vec![2, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
        ErrorKind::InvalidArgument,
        "invalid turn byte",
    );
    assert_refused(
        valid_init(&params(2), &opening(vec![0; 4])),
        ErrorKind::InvalidArgument,
        "appData is 10 bytes",
    );
    let mut final_opening = opening(data(0, "........."));
    final_opening.is_final = true;
    assert_refused(
        valid_init(&params(2), &final_opening),
        ErrorKind::Rejected,
        "not final",
    );
    let mut locked = opening(data(0, "........."));
    locked.allocation.locked.push(SubAlloc {
        id: ChannelId([2; 32]),
        balances: vec![Amount::from(1), Amount::ZERO],
        index_map: vec![0, 1],
    });
    assert_refused(
        valid_init(&params(2), &locked),
        ErrorKind::Rejected,
        "nothing is locked",
    );
}

// --- apply ----------------------------------------------------------------------------------

#[test]
fn apply_marks_the_cell_passes_the_turn_and_bumps_the_version() {
    let app = TicTacToe;
    let from = state(4, data(0, "X...O...."), &[[5, 7]], false);
    let to = app.apply(&params(2), &from, r#"{"cell": 8}"#, 0).unwrap();
    assert_eq!(to, state(5, data(1, "X...O...X"), &[[5, 7]], false));
    app.valid_transition(&params(2), &from, &to, 0).unwrap();
}

#[test]
fn apply_refuses_what_the_rules_forbid() {
    let app = TicTacToe;
    let from = state(4, data(0, "X...O...."), &[[5, 7]], false);
    let apply = |state: &State, action: &str, actor| app.apply(&params(2), state, action, actor);
    assert_refused(
        apply(&from, r#"{"cell": 4}"#, 0).map(|_| ()),
        ErrorKind::Rejected,
        "cell 4 is taken",
    );
    assert_refused(
        apply(&from, r#"{"cell": 3}"#, 1).map(|_| ()),
        ErrorKind::Rejected,
        "not the actor's turn",
    );
    assert_refused(
        apply(&from, r#"{"cell": 9}"#, 0).map(|_| ()),
        ErrorKind::InvalidArgument,
        "there is no cell 9",
    );
    assert_refused(
        apply(&from, "{\"cell\": 3", 0).map(|_| ()),
        ErrorKind::InvalidArgument,
        "expected {\"cell\": n}",
    );
    let won = state(7, data(0, "OOOXX...."), &[[0, 12]], true);
    assert_refused(
        apply(&won, r#"{"cell": 8}"#, 0).map(|_| ()),
        ErrorKind::Rejected,
        "game already over",
    );
    assert_refused(
        app.apply(&params(3), &from, r#"{"cell": 3}"#, 0)
            .map(|_| ()),
        ErrorKind::Rejected,
        "two players",
    );
}

#[test]
fn apply_ends_the_game_on_a_win_and_on_a_full_grid() {
    let app = TicTacToe;
    let almost = state(8, data(0, "XX.OO...."), &[[5, 7], [2, 9]], false);
    let won = app.apply(&params(2), &almost, r#"{"cell":2}"#, 0).unwrap();
    assert_eq!(
        won,
        state(9, data(1, "XXXOO...."), &[[12, 0], [11, 0]], true)
    );
    let almost_full = state(8, data(0, "XOXXOOOX."), &[[5, 7]], false);
    let drawn = app
        .apply(&params(2), &almost_full, r#"{"cell":8}"#, 0)
        .unwrap();
    assert_eq!(drawn, state(9, data(1, "XOXXOOOXX"), &[[5, 7]], true));
}

#[test]
fn describe_reads_the_state() {
    let app = TicTacToe;
    let won = state(5, data(1, "XXXOO...."), &[[12, 0]], true);
    assert_eq!(
        app.describe(&params(2), &won).unwrap(),
        r#"{"turn":1,"rows":["XXX","OO.","..."],"winner":0,"draw":false,"over":true}"#
    );
    assert_refused(
        app.describe(&params(2), &state(0, vec![0; 3], &[[1, 1]], false))
            .map(|_| ()),
        ErrorKind::InvalidArgument,
        "appData is 10 bytes",
    );
}

// --- Properties -----------------------------------------------------------------------------

/// Plays cells in `order` (skipping none: every cell in a legal game is empty when reached)
/// until the game ends; returns every state.
fn play_out(first: u8, order: &[usize], rows: &[[u64; 2]]) -> Vec<State> {
    let mut states = vec![state(0, Position::opening(first).encode(), rows, false)];
    for cell in order {
        let from = states.last().unwrap();
        if from.is_final {
            break;
        }
        let actor = u16::from(from.app_data.0[0]);
        states.push(play(&params(2), from, *cell, actor).expect("a legal move"));
    }
    states
}

fn game() -> impl Strategy<Value = (u8, Vec<usize>, Vec<[u64; 2]>)> {
    (
        0u8..2,
        Just((0..9).collect::<Vec<usize>>()).prop_shuffle(),
        prop::collection::vec(any::<[u64; 2]>(), 1..4),
    )
}

proptest! {
    /// Every state `apply` gives passes `valid_transition` for its actor only, keeps every
    /// asset's total, and the game ends exactly on a win or a full grid, after which nothing
    /// moves.
    #[test]
    fn random_legal_games_keep_the_rules_and_the_funds(
        (first, order, rows) in game(),
        late_cell in 0usize..9,
    ) {
        let states = play_out(first, &order, &rows);
        let totals = states[0].allocation.totals().unwrap();
        for pair in states.windows(2) {
            let (from, to) = (&pair[0], &pair[1]);
            let actor = u16::from(from.app_data.0[0]);
            prop_assert!(valid_transition(&params(2), from, to, actor).is_ok());
            prop_assert!(valid_transition(&params(2), from, to, 1 - actor).is_err());
            prop_assert_eq!(to.version, from.version + 1);
            prop_assert_eq!(to.allocation.totals().unwrap(), totals.clone());
            let position = Position::decode(&to.app_data.0).unwrap();
            prop_assert_eq!(to.is_final, position.is_over());
            if let Some(winner) = position.winner() {
                for row in &to.allocation.balances {
                    prop_assert!(row[1 - usize::from(winner)].is_zero());
                }
            } else {
                prop_assert_eq!(&to.allocation.balances, &from.allocation.balances);
            }
        }
        let last = states.last().unwrap();
        prop_assert!(last.is_final);
        for actor in [0, 1] {
            prop_assert!(play(&params(2), last, late_cell, actor).is_err());
        }
    }

    /// `valid_transition` accepts a candidate exactly when it is what `apply` gives for some
    /// cell: the rules leave the mover one choice, the cell, and decide the rest. Candidates
    /// are `apply`'s own answers with zero to two mutations, so that both outcomes are common.
    #[test]
    fn valid_transition_accepts_exactly_the_states_apply_gives(
        (first, order, rows) in game(),
        moves_before in 0usize..9,
        cell in 0usize..9,
        mutations in prop::collection::vec(mutation(), 0..3),
        other_actor in prop::option::weighted(0.2, 0u16..3),
    ) {
        let states = play_out(first, &order[..moves_before], &rows);
        let from = states.last().unwrap();
        let turn = u16::from(from.app_data.0[0]);
        let mut candidate = play(&params(2), from, cell, turn).unwrap_or_else(|_| {
            let mut same = from.clone();
            same.version += 1;
            same
        });
        for mutation in &mutations {
            mutation.apply_to(&mut candidate);
        }
        let actor = other_actor.unwrap_or(turn);
        let accepted = valid_transition(&params(2), from, &candidate, actor).is_ok();
        let given = (0..9)
            .any(|cell| play(&params(2), from, cell, actor).ok() == Some(candidate.clone()));
        prop_assert_eq!(accepted, given);
    }
}

/// One change to a candidate next state.
#[derive(Clone, Debug)]
enum Mutation {
    Turn(u8),
    Cell(usize, u8),
    FlipFinal,
    /// Give participant 0 or 1 everything, in every asset.
    TakeAll(usize),
    SwapBalances,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0u8..3).prop_map(Mutation::Turn),
        (0usize..9, 0u8..3).prop_map(|(cell, value)| Mutation::Cell(cell, value)),
        Just(Mutation::FlipFinal),
        (0usize..2).prop_map(Mutation::TakeAll),
        Just(Mutation::SwapBalances),
    ]
}

impl Mutation {
    fn apply_to(&self, state: &mut State) {
        match self {
            Mutation::Turn(turn) => state.app_data.0[0] = *turn,
            Mutation::Cell(cell, value) => state.app_data.0[1 + cell] = *value,
            Mutation::FlipFinal => state.is_final = !state.is_final,
            Mutation::TakeAll(winner) => {
                for row in &mut state.allocation.balances {
                    if let Some(pot) = row[0].checked_add(row[1]) {
                        row[*winner] = pot;
                        row[1 - winner] = Amount::ZERO;
                    }
                }
            }
            Mutation::SwapBalances => {
                for row in &mut state.allocation.balances {
                    row.swap(0, 1);
                }
            }
        }
    }
}
