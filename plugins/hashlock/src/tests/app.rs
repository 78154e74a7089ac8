//! The app's JSON side and its opening state: `init`, `valid_init`, `apply`, `describe`,
//! `samples` and the constructor.

use super::*;
use crate::json::to_hex;
use crate::HashLockApp;
use parley_plugin_api::conformance::TestHost;
use parley_plugin_api::model::SubAlloc;
use parley_plugin_api::{App, Host};

fn app() -> HashLockApp {
    HashLockApp
}

fn claim_action(preimage: &Bytes32) -> String {
    format!(r#"{{"claim": "{}"}}"#, to_hex(preimage))
}

/// The opening state `init` gives for the fixture's lock, as the node would build it.
fn opening() -> State {
    let setup = format!(r#"{{"lock": "{}"}}"#, to_hex(&lock()));
    let mut state = open();
    state.version = 0;
    state.app_data = Bytes(app().init(&params(), &setup).unwrap());
    state
}

const SETUP_FORM: &str = r#"hash-lock: the setup is {"lock": "0x<64 hex digits>"}: the payee's hash lock, keccak256 of its 32-byte preimage"#;
const ACTION_FORM: &str = r#"hash-lock: an action is {"claim": "0x<64 hex digits>"} (the payee reveals the 32-byte preimage of the lock) or {"release": true} (the payee gives the payment up)"#;

// ---- init ----

#[test]
fn init_gives_an_open_payment_of_the_lock() {
    assert_eq!(opening().app_data.0, lock_data(lock(), OPEN));
    app().valid_init(&params(), &opening()).unwrap();
}

#[test]
fn init_reads_the_lock_in_any_case_and_whitespace() {
    let hex = to_hex(&lock());
    for setup in [
        format!(
            "{{\n  \"lock\" : \"{}\"\n}}",
            hex.to_uppercase().replacen("0X", "0x", 1)
        ),
        format!(r#"{{"lock":"{}"}}"#, &hex[2..]),
    ] {
        assert_eq!(
            app().init(&params(), &setup).unwrap(),
            lock_data(lock(), OPEN),
            "{setup}"
        );
    }
}

#[test]
fn init_refuses_any_other_setup_with_the_expected_form() {
    let hex = to_hex(&lock());
    for setup in [
        "{}".to_string(),
        String::new(),
        format!(r#"{{"lock": "{}"}}"#, &hex[..64]),
        format!(r#"{{"lock": "{hex}00"}}"#),
        format!(r#"{{"hash": "{hex}"}}"#),
        format!(r#"{{"lock": "{hex}", "amount": "1"}}"#),
        format!(r#"["{hex}"]"#),
    ] {
        expect_error(
            app().init(&params(), &setup),
            ErrorKind::InvalidArgument,
            SETUP_FORM,
        );
    }
}

// ---- valid_init ----

#[test]
fn any_balances_may_open_a_payment() {
    let mut state = opening();
    for balances in [
        vec![amounts(&[0, 0]), amounts(&[0, 0])],
        vec![amounts(&[5, 0])],
        vec![amounts(&[0, 9]), amounts(&[1, 1])],
    ] {
        state.allocation.balances = balances.clone();
        state.allocation.assets.truncate(balances.len());
        app().valid_init(&params(), &state).unwrap();
    }
}

#[test]
fn valid_init_refuses_three_participants() {
    expect_error(
        app().valid_init(&params_of(3), &opening()),
        ErrorKind::Rejected,
        "hash-lock: two participants, payer and payee",
    );
}

#[test]
fn valid_init_refuses_a_payment_that_is_not_open() {
    let mut state = opening();
    state.app_data = Bytes(claim_data(lock(), preimage()));
    let reason = "hash-lock: a channel opens with the payment open";
    expect_error(
        app().valid_init(&params(), &state),
        ErrorKind::Rejected,
        reason,
    );
    state.app_data = Bytes(lock_data(lock(), RELEASED));
    expect_error(
        app().valid_init(&params(), &state),
        ErrorKind::Rejected,
        reason,
    );
}

#[test]
fn valid_init_refuses_app_data_off_the_layout() {
    let mut state = opening();
    for (data, reason) in [
        (
            vec![0; 32],
            "hash-lock: appData holds at least the lock and the status",
        ),
        (
            vec![0; 34],
            "hash-lock: an open state's appData is 33 bytes",
        ),
        (lock_data(lock(), 7), "hash-lock: invalid status byte"),
    ] {
        state.app_data = Bytes(data);
        expect_error(
            app().valid_init(&params(), &state),
            ErrorKind::InvalidArgument,
            reason,
        );
    }
}

#[test]
fn valid_init_refuses_a_final_opening() {
    let mut state = opening();
    state.is_final = true;
    expect_error(
        app().valid_init(&params(), &state),
        ErrorKind::Rejected,
        "hash-lock: an open state is never final",
    );
}

#[test]
fn valid_init_refuses_locked_funds() {
    let mut state = opening();
    state.allocation.locked.push(SubAlloc {
        id: ChannelId([3; 32]),
        balances: amounts(&[1, 0]),
        index_map: vec![0, 1],
    });
    expect_error(
        app().valid_init(&params(), &state),
        ErrorKind::Rejected,
        "hash-lock: a hash-lock channel locks nothing in sub-channels",
    );
}

// ---- apply ----

#[test]
fn the_payee_claims_with_the_preimage_in_every_asset() {
    let open = open();
    let next = app()
        .apply(&params(), &open, &claim_action(&preimage()), PAYEE as u16)
        .unwrap();
    assert_eq!(next, claim(&open));
    assert_eq!(
        next.allocation.balances,
        vec![amounts(&[0, 7]), amounts(&[0, 3])]
    );
}

#[test]
fn a_claim_reads_the_preimage_in_any_case_and_whitespace() {
    let open = open();
    let hex = to_hex(&preimage()).to_uppercase().replacen("0X", "0x", 1);
    let action = format!("\t{{ \"claim\" :\n\"{hex}\" }}\n");
    let next = app()
        .apply(&params(), &open, &action, PAYEE as u16)
        .unwrap();
    assert_eq!(next, claim(&open));
}

#[test]
fn the_payee_releases_and_the_balances_stay() {
    let open = open();
    let next = app()
        .apply(&params(), &open, r#"{ "release" : true }"#, PAYEE as u16)
        .unwrap();
    assert_eq!(next, release(&open));
}

#[test]
fn apply_refuses_what_the_contract_refuses_with_its_reason() {
    let open = open();
    let claim = claim_action(&preimage());
    let cases = [
        (
            &open,
            claim.as_str(),
            PAYER,
            "hash-lock: only the payee moves",
        ),
        (
            &open,
            r#"{"release": true}"#,
            PAYER,
            "hash-lock: only the payee moves",
        ),
        (
            &open,
            &claim_action(&keccak256(b"a guess")),
            PAYEE,
            "hash-lock: the preimage does not match the lock",
        ),
        (
            &open,
            &claim_action(&lock()),
            PAYEE,
            "hash-lock: the preimage does not match the lock",
        ),
    ];
    for (from, action, actor, reason) in cases {
        expect_error(
            app().apply(&params(), from, action, actor as u16),
            ErrorKind::Rejected,
            reason,
        );
    }
    let claimed = super::claim(&open);
    for action in [claim.as_str(), r#"{"release": true}"#] {
        expect_error(
            app().apply(&params(), &claimed, action, PAYEE as u16),
            ErrorKind::Rejected,
            "hash-lock: the payment is already claimed or released",
        );
    }
    expect_error(
        app().apply(&params_of(3), &open, &claim, PAYEE as u16),
        ErrorKind::Rejected,
        "hash-lock: two participants, payer and payee",
    );
}

#[test]
fn apply_refuses_malformed_actions_with_the_expected_form() {
    let open = open();
    let hex = to_hex(&preimage());
    for action in [
        "",
        "{}",
        r#"{"claim": "#,
        r#"{"release": false}"#,
        r#"{"release": "true"}"#,
        r#"{"refund": true}"#,
        r#"{"claim": true}"#,
        &format!(r#"{{"claim": "{hex}", "release": true}}"#),
        &format!(r#"{{"claim": ["{hex}"]}}"#),
    ] {
        expect_error(
            app().apply(&params(), &open, action, PAYEE as u16),
            ErrorKind::InvalidArgument,
            ACTION_FORM,
        );
    }
    for preimage in [&hex[..65], &format!("{hex}0"), "0xzz"] {
        expect_error(
            app().apply(
                &params(),
                &open,
                &format!(r#"{{"claim": "{preimage}"}}"#),
                PAYEE as u16,
            ),
            ErrorKind::InvalidArgument,
            &format!(
                "hash-lock: a claim's preimage is 32 bytes as 64 hex digits; {}",
                &ACTION_FORM["hash-lock: ".len()..]
            ),
        );
    }
}

#[test]
fn a_refusal_never_echoes_the_action() {
    // A mistyped preimage is close to the secret; it must not reach a log.
    let open = open();
    let hex = to_hex(&preimage());
    let action = format!(r#"{{"claim": "{}"}}"#, &hex[..60]);
    let error = app()
        .apply(&params(), &open, &action, PAYEE as u16)
        .unwrap_err();
    assert!(
        !error.message().contains(&hex[2..60]),
        "{}",
        error.message()
    );
}

// ---- describe ----

#[test]
fn describe_shows_the_lock_the_status_and_the_preimage() {
    let open = open();
    let lock = to_hex(&lock());
    let described = |state: &State| app().describe(&params(), state).unwrap();
    assert_eq!(
        described(&open),
        format!(r#"{{"lock":"{lock}","status":"open","preimage":null}}"#)
    );
    assert_eq!(
        described(&release(&open)),
        format!(r#"{{"lock":"{lock}","status":"released","preimage":null}}"#)
    );
    assert_eq!(
        described(&claim(&open)),
        format!(
            r#"{{"lock":"{lock}","status":"claimed","preimage":"{}"}}"#,
            to_hex(&preimage())
        )
    );
}

#[test]
fn describe_refuses_app_data_off_the_layout() {
    let mut state = open();
    state.app_data = Bytes(lock_data(lock(), 5));
    expect_error(
        app().describe(&params(), &state),
        ErrorKind::InvalidArgument,
        "hash-lock: invalid status byte",
    );
}

// ---- samples and the constructor ----

#[test]
fn the_sample_game_is_the_forge_tests_lock_and_a_claim_by_the_payee() {
    let samples = app().samples().unwrap();
    assert_eq!(
        samples.setup,
        format!(r#"{{"lock": "{}"}}"#, to_hex(&lock()))
    );
    assert_eq!(samples.balances, amounts(&[7, 3]));
    assert_eq!(samples.moves.len(), 1);
    assert_eq!(samples.moves[0].actor, PAYEE as u16);
    assert_eq!(samples.moves[0].action, claim_action(&preimage()));
    assert!(samples.refused.iter().any(|m| m.actor == PAYER as u16));
}

#[test]
fn the_constructor_takes_no_settings() {
    let test_host = TestHost::new("app");
    let host = || Host::new(test_host.context());
    HashLockApp::new("", host()).unwrap();
    HashLockApp::new("\n# nothing here\n", host()).unwrap();
    let error = HashLockApp::new("fee = 1\n", host()).unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidConfig);
}
