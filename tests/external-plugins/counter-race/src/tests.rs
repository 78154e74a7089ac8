//! The rules against hand-made states: a whole race, and each refusal with its reason.

use super::*;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Address, Allocation, Asset, ChannelId, Participant};
use parley_plugin_api::ErrorKind;

fn params() -> Params {
    Params {
        participants: vec![Participant(vec![1; 20]), Participant(vec![2; 20])],
        challenge_duration: 60,
        nonce: [3; 32],
        app: Some(Address(vec![4; 20])),
        ledger_channel: true,
        virtual_channel: false,
    }
}

/// The opening state of a race with `setup`, alice (0) staking 10 and bob (1) 6 in one asset.
fn opening(setup: &str) -> State {
    State {
        channel_id: ChannelId([5; 32]),
        version: 0,
        allocation: Allocation {
            assets: vec![Asset {
                chain_id: 1337,
                holder: Address(vec![6; 20]),
            }],
            balances: vec![vec![Amount::from(10), Amount::from(6)]],
            locked: Vec::new(),
        },
        app_data: Bytes(CounterRace.init(&params(), setup).unwrap()),
        is_final: false,
    }
}

fn add(state: &State, n: u8, actor: u16) -> PluginResult<State> {
    CounterRace.apply(&params(), state, &format!("{{\"add\": {n}}}"), actor)
}

/// `state` with its app data replaced by `data`, one version on.
fn with_data(state: &State, data: [u8; 3]) -> State {
    let mut next = state.clone();
    next.version += 1;
    next.app_data = Bytes(data.to_vec());
    next
}

fn refusal(result: PluginResult<impl std::fmt::Debug>) -> String {
    let error = result.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Rejected, "{}", error.message());
    error.message().to_string()
}

#[test]
fn setup_gives_goal_and_first_player() {
    assert_eq!(CounterRace.init(&params(), "{}").unwrap(), vec![21, 0, 0]);
    assert_eq!(
        CounterRace
            .init(&params(), r#"{"goal": 10, "first": 1}"#)
            .unwrap(),
        vec![10, 0, 1]
    );
    for bad in [
        "",
        r#"{"goal": 0}"#,
        r#"{"goal": 256}"#,
        r#"{"first": 2}"#,
        r#"{"target": 5}"#,
    ] {
        let error = CounterRace.init(&params(), bad).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidArgument, "{bad}");
        assert!(
            error.message().contains("expected {}"),
            "{}",
            error.message()
        );
    }
}

#[test]
fn a_race_to_five_won_by_alice_gives_her_the_pot() {
    let start = opening(r#"{"goal": 5}"#);
    CounterRace.valid_init(&params(), &start).unwrap();
    let mut states = vec![start];
    for (n, actor) in [(2, 0), (2, 1)] {
        let next = add(states.last().unwrap(), n, actor).unwrap();
        assert!(!next.is_final);
        assert_eq!(next.allocation, states[0].allocation);
        states.push(next);
    }
    // At 4, alice may add only 1, which reaches the goal.
    let overshoot = refusal(add(states.last().unwrap(), 2, 0));
    assert!(overshoot.contains("passes the goal 5"), "{overshoot}");
    let won = add(states.last().unwrap(), 1, 0).unwrap();
    assert!(won.is_final);
    assert_eq!(
        won.allocation.balances,
        vec![vec![Amount::from(16), Amount::ZERO]]
    );
    states.push(won);
    for (pair, actor) in states.windows(2).zip([0, 1, 0]) {
        CounterRace
            .valid_transition(&params(), &pair[0], &pair[1], actor)
            .unwrap();
    }
    let last = states.last().unwrap();
    assert_eq!(
        CounterRace.describe(&params(), last).unwrap(),
        r#"{"goal":5,"count":5,"turn":1,"winner":0,"over":true}"#
    );
    assert!(refusal(add(last, 1, 1)).contains("over"));
}

#[test]
fn describe_says_who_adds_next() {
    let start = opening(r#"{"first": 1}"#);
    assert_eq!(
        CounterRace.describe(&params(), &start).unwrap(),
        r#"{"goal":21,"count":0,"turn":1,"winner":null,"over":false}"#
    );
}

#[test]
fn valid_transition_refuses_each_broken_rule_with_its_reason() {
    let start = opening(r#"{"goal": 5}"#);
    let check = |to: &State, actor: u16| {
        refusal(CounterRace.valid_transition(&params(), &start, to, actor))
    };
    let good = with_data(&start, [5, 2, 1]);
    CounterRace
        .valid_transition(&params(), &start, &good, 0)
        .unwrap();
    assert!(check(&good, 1).contains("not your turn"));
    assert!(check(&with_data(&start, [6, 2, 1]), 0).contains("goal stays 5"));
    assert!(check(&with_data(&start, [5, 2, 0]), 0).contains("turn passes"));
    assert!(check(&with_data(&start, [5, 0, 1]), 0).contains("adds 1 to 3"));
    assert!(check(&with_data(&start, [5, 4, 1]), 0).contains("adds 1 to 3"));
    let mut early_final = good.clone();
    early_final.is_final = true;
    assert!(check(&early_final, 0).contains("final only once"));
    let mut paid = good.clone();
    paid.allocation.balances = vec![vec![Amount::from(9), Amount::from(7)]];
    assert!(check(&paid, 0).contains("moves funds"));

    let at_three = with_data(&with_data(&start, [5, 2, 1]), [5, 3, 0]);
    let mut reached = with_data(&at_three, [5, 5, 1]);
    let check_from_three =
        |to: &State| refusal(CounterRace.valid_transition(&params(), &at_three, to, 0));
    assert!(check_from_three(&reached).contains("makes the state final"));
    reached.is_final = true;
    assert!(check_from_three(&reached).contains("whole pot"));
    reached.allocation.balances = vec![vec![Amount::from(16), Amount::ZERO]];
    CounterRace
        .valid_transition(&params(), &at_three, &reached, 0)
        .unwrap();
    let after = with_data(&reached, [5, 5, 0]);
    assert!(
        refusal(CounterRace.valid_transition(&params(), &reached, &after, 1))
            .contains("already won")
    );
}

#[test]
fn malformed_app_data_is_an_invalid_argument() {
    let start = opening("{}");
    let mut bad = with_data(&start, [21, 1, 1]);
    bad.app_data = Bytes(vec![21, 1]);
    let error = CounterRace
        .valid_transition(&params(), &start, &bad, 0)
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidArgument);
}

#[test]
fn an_opening_must_start_at_zero_with_two_players() {
    let mut started = opening("{}");
    started.app_data = Bytes(vec![21, 3, 0]);
    assert!(refusal(CounterRace.valid_init(&params(), &started)).contains("starts at 0"));
    let mut three = params();
    three.participants.push(Participant(vec![9; 20]));
    assert!(refusal(CounterRace.valid_init(&three, &opening("{}"))).contains("not 3"));
}
