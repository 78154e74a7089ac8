//! `progress` enforces an app the node offers through the host, by the node's own rules, as
//! it enforces its built-in ones.

use super::*;
use crate::test_apps::{offering_none, offering_tally, Tally};
use parley_plugin_api::Host;

fn tally_state(p: &Params, version: u64, tally: u8) -> State {
    let mut s = state(p, version, &[5, 5]);
    s.app_data = Bytes(vec![tally]);
    s
}

/// A ledger with a tally channel registered at version 0 (tally 0), past its dispute timeout,
/// so that it may be progressed.
fn registered_tally(nonce: u8) -> (MemoryLedger, Params, State) {
    let mut ledger = ledger();
    let p = params(&[0, 1], Some(Tally::address()), nonce);
    let v0 = tally_state(&p, 0, 0);
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &v0), &[]))
        .unwrap();
    ledger.now += CHALLENGE;
    (ledger, p, v0)
}

#[test]
fn progress_enforces_the_app_the_node_offers_with_its_reason() {
    let apps = Apps::with_host(Host::new(offering_tally()));
    let (mut ledger, p, v0) = registered_tally(30);

    let wrong = tally_state(&p, 1, 1);
    rejected(
        ledger.run(|l| progress(l, &apps, &p, &v0, &wrong, 0, &sign_state(&key(0), &wrong))),
        &format!(
            "progress refused by the node's app at {}: the tally must grow by 2, from 0, not to 1",
            Tally::address()
        ),
    );
    assert_eq!(ledger.records[&v0.channel_id].state.version, 0);

    let v1 = tally_state(&p, 1, 2);
    ledger
        .run(|l| progress(l, &apps, &p, &v0, &v1, 0, &sign_state(&key(0), &v1)))
        .unwrap();
    let record = &ledger.records[&v0.channel_id];
    assert_eq!(
        (record.phase, record.state.version),
        (DisputePhase::ForceExec, 1)
    );
    // The app's other refusals reach the caller too.
    let mut steal = tally_state(&p, 2, 4);
    steal.allocation.balances = vec![amounts(&[10, 0])];
    rejected(
        ledger.run(|l| progress(l, &apps, &p, &v1, &steal, 1, &sign_state(&key(1), &steal))),
        "moves no funds",
    );
}

#[test]
fn the_built_in_apps_come_first_with_a_host() {
    let apps = Apps::with_host(Host::new(offering_tally()));
    let mut ledger = ledger();
    let p = params(&[0, 1], Some(TurnCounter::address()), 31);
    let v0 = counter_state(&p, 0, 0, &[5, 5]);
    ledger
        .run(|l| register(l, &signed(&p, &[0, 1], &v0), &[]))
        .unwrap();
    ledger.now += CHALLENGE;
    let skip = counter_state(&p, 1, 2, &[5, 5]);
    rejected(
        ledger.run(|l| progress(l, &apps, &p, &v0, &skip, 0, &sign_state(&key(0), &skip))),
        "progress refused by the counter app: the counter must go from 0 to 1",
    );
}

#[test]
fn without_the_node_s_app_the_refusal_names_the_missing_app() {
    for apps in [
        Apps::built_in(),
        Apps::with_host(Host::new(offering_none())),
    ] {
        let (mut ledger, p, v0) = registered_tally(32);
        let v1 = tally_state(&p, 1, 2);
        rejected(
            ledger.run(|l| progress(l, &apps, &p, &v0, &v1, 0, &sign_state(&key(0), &v1))),
            &format!("progress refused: no app at {}", Tally::address()),
        );
        rejected(
            ledger.run(|l| progress(l, &apps, &p, &v0, &v1, 0, &sign_state(&key(0), &v1))),
            "built-in apps are: counter at 0x",
        );
        rejected(
            ledger.run(|l| progress(l, &apps, &p, &v0, &v1, 0, &sign_state(&key(0), &v1))),
            "the node has no app there",
        );
    }
}
