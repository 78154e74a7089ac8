//! Tests of whole instances: the conformance suite in-process, ledgers shared between
//! instances, key files and configuration errors.

use crate::SimChain;
use parley_plugin_api::conformance::{chain, Report, TestHost};
use parley_plugin_api::model::{
    Allocation, Amount, Asset, ChainEvent, ChannelId, DepositRequest, Dispute, DisputePhase,
    Params, PluginEvent, RegisterRequest, SignedState, State,
};
use parley_plugin_api::{ChainBackend, ChainLedger, ChainSigner, ErrorKind, Host, TestClock};
use std::path::Path;
use std::time::Duration;

fn print(report: &Report) {
    for check in &report.checks {
        match &check.result {
            Ok(()) => println!("ok   {} ({:?})", check.contract, check.elapsed),
            Err(why) => println!("FAIL {}: {why}", check.contract),
        }
    }
}

fn run_suite(table: &str) {
    let report = chain::run(&|context| {
        Ok(Box::new(SimChain::new(table, Host::new(context))?) as Box<dyn ChainBackend>)
    });
    print(&report);
    assert!(
        report.passed(),
        "the chain conformance suite failed (see above)"
    );
    assert!(
        report.checks.len() >= 15,
        "only {} checks ran",
        report.checks.len()
    );
}

#[test]
fn conformance_suite_passes_on_an_embedded_ledger() {
    // What `parley plugin check` uses.
    run_suite("accounts = 2");
}

#[test]
fn conformance_suite_passes_on_a_shared_ledger_with_manual_time() {
    let dir = tempfile::tempdir().unwrap();
    let table = format!(
        "accounts = 2\nblock_time = 0\nledger = \"{}\"\n",
        dir.path().join("ledger").display()
    );
    run_suite(&table);
}

#[test]
fn conformance_suite_passes_through_the_ffi_wrappers() {
    // The path `parley plugin check` takes: every call encoded across the plugin boundary.
    let report = chain::run(&|context| {
        let host = Host::new(context);
        let chain = SimChain::new("accounts = 2", host.clone())?;
        let exported = parley_plugin_api::chain::export_chain(chain, host);
        Ok(Box::new(parley_plugin_api::LoadedChain::new(exported)) as Box<dyn ChainBackend>)
    });
    print(&report);
    assert!(
        report.passed(),
        "the chain conformance suite failed (see above)"
    );
}

fn instance(host: &TestHost, table: &str) -> SimChain {
    SimChain::new(table, Host::new(host.context())).unwrap()
}

fn shared_table(ledger: &Path) -> String {
    format!("block_time = 0\nledger = \"{}\"\n", ledger.display())
}

fn eth(chain: &SimChain) -> Asset {
    chain.info().unwrap().assets[0].asset.clone()
}

#[test]
fn two_instances_on_one_ledger_path_see_each_others_deposits_and_events() {
    let ledger = tempfile::tempdir().unwrap();
    let (host_a, host_b) = (TestHost::new("chain"), TestHost::new("chain"));
    let a = instance(&host_a, &shared_table(ledger.path()));
    let b = instance(&host_b, &shared_table(ledger.path()));
    let (alice, bob) = (
        a.accounts().unwrap()[0].clone(),
        b.accounts().unwrap()[0].clone(),
    );
    assert_ne!(alice, bob, "each instance has its own keys");
    let asset = eth(&a);
    let channel = ChannelId([0x5a; 32]);

    a.watch(&channel).unwrap();
    let before = a.balance(&bob, &asset).unwrap();
    b.deposit(&DepositRequest {
        from: bob.clone(),
        channel_id: channel,
        participant: bob.clone(),
        asset: asset.clone(),
        amount: Amount::from(77u64),
    })
    .unwrap();
    assert_eq!(
        a.holdings(&channel, &bob, &asset).unwrap(),
        Amount::from(77u64)
    );
    assert_eq!(
        before.checked_sub(a.balance(&bob, &asset).unwrap()),
        Some(Amount::from(77u64))
    );
    let event = host_a.wait_for(Duration::from_secs(5), |event| match event {
        PluginEvent::Chain(ChainEvent::Deposited {
            channel_id, total, ..
        }) if channel_id == channel => Some(total),
        _ => None,
    });
    assert_eq!(
        event,
        Some(Amount::from(77u64)),
        "A must see B's deposit as an event"
    );

    let t0 = a.now().unwrap();
    assert_eq!(b.advance_time(3600).unwrap(), t0 + 3600);
    assert_eq!(a.now().unwrap(), t0 + 3600);
    a.unwatch(&channel).unwrap();
}

/// Registers version 1 (zero balances) of a channel between `chain`'s first two accounts with
/// the given nonce; returns the channel id.
fn register_v1(chain: &SimChain, nonce: u8) -> ChannelId {
    let accounts = chain.accounts().unwrap();
    let params = Params {
        participants: accounts[..2].to_vec(),
        challenge_duration: 60,
        nonce: [nonce; 32],
        app: None,
        ledger_channel: true,
        virtual_channel: false,
    };
    let state = State {
        channel_id: chain.channel_id(&params).unwrap(),
        version: 1,
        allocation: Allocation {
            assets: vec![eth(chain)],
            balances: vec![vec![Amount::ZERO, Amount::ZERO]],
            locked: vec![],
        },
        app_data: Default::default(),
        is_final: false,
    };
    let sigs = accounts[..2]
        .iter()
        .map(|account| chain.sign_state(account, &state).unwrap())
        .collect();
    chain
        .register(&RegisterRequest {
            from: accounts[0].clone(),
            channel: SignedState {
                params,
                state: state.clone(),
                sigs,
            },
            sub_channels: vec![],
        })
        .unwrap();
    state.channel_id
}

fn wait_for_dispute(host: &TestHost, channel: ChannelId) -> Option<Dispute> {
    host.wait_for(Duration::from_secs(5), |event| match event {
        PluginEvent::Chain(ChainEvent::Disputed(dispute)) if dispute.channel_id == channel => {
            Some(dispute)
        }
        _ => None,
    })
}

#[test]
fn watch_reports_a_record_made_by_another_instance() {
    let ledger = tempfile::tempdir().unwrap();
    let (host_a, host_b) = (TestHost::new("chain"), TestHost::new("chain"));
    let table = format!("accounts = 2\n{}", shared_table(ledger.path()));
    let a = instance(&host_a, &table);
    let b = instance(&host_b, &table);
    let channel = register_v1(&b, 3);
    a.watch(&channel).unwrap();
    let dispute = wait_for_dispute(&host_a, channel).expect("watch must report the record");
    assert_eq!((dispute.version, dispute.phase), (1, DisputePhase::Dispute));
    assert_eq!(a.dispute(&channel).unwrap(), Some(dispute));
}

/// The environment variable that turns [`child_process_half`] on, naming the config table.
const CHILD_TABLE: &str = "PARLEY_SIM_CHAIN_CHILD_TABLE";

/// The other process's half of [`another_process_sees_deposits_and_registrations`]; does
/// nothing in a normal test run.
#[test]
fn child_process_half() {
    let Ok(table) = std::env::var(CHILD_TABLE) else {
        return;
    };
    let host = TestHost::new("chain");
    let chain = instance(&host, &table);
    let accounts = chain.accounts().unwrap();
    chain
        .deposit(&DepositRequest {
            from: accounts[0].clone(),
            channel_id: ChannelId([0x77; 32]),
            participant: accounts[0].clone(),
            asset: eth(&chain),
            amount: Amount::from(11u64),
        })
        .unwrap();
    register_v1(&chain, 0x77);
}

#[test]
fn another_process_sees_deposits_and_registrations() {
    let dir = tempfile::tempdir().unwrap();
    // Both processes use the same keys, so they agree on the channel's participants.
    let table = format!(
        "accounts = 2\nkey_dir = \"{}\"\n{}",
        dir.path().join("keys").display(),
        shared_table(&dir.path().join("ledger"))
    );
    let host = TestHost::new("chain");
    let chain = instance(&host, &table);
    let params = Params {
        participants: chain.accounts().unwrap(),
        challenge_duration: 60,
        nonce: [0x77; 32],
        app: None,
        ledger_channel: true,
        virtual_channel: false,
    };
    let registered = chain.channel_id(&params).unwrap();
    let deposited = ChannelId([0x77; 32]);
    chain.watch(&registered).unwrap();
    chain.watch(&deposited).unwrap();

    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "tests::child_process_half", "--quiet"])
        .env(CHILD_TABLE, &table)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the child process failed: {status}");

    let total = host.wait_for(Duration::from_secs(5), |event| match event {
        PluginEvent::Chain(ChainEvent::Deposited {
            channel_id, total, ..
        }) if channel_id == deposited => Some(total),
        _ => None,
    });
    assert_eq!(total, Some(Amount::from(11u64)));
    let dispute = wait_for_dispute(&host, registered).expect("the other process's register");
    assert_eq!(dispute.version, 1);
}

#[test]
fn accounts_are_prefunded_once_and_keys_are_reused() {
    let ledger = tempfile::tempdir().unwrap();
    let host = TestHost::new("chain");
    let table = shared_table(ledger.path());
    let first = instance(&host, &table);
    let account = first.accounts().unwrap()[0].clone();
    let asset = eth(&first);
    let funded = first.balance(&account, &asset).unwrap();
    assert_eq!(funded, Amount::from_u128(1000 * 10u128.pow(18)));
    first
        .deposit(&DepositRequest {
            from: account.clone(),
            channel_id: ChannelId([1; 32]),
            participant: account.clone(),
            asset: asset.clone(),
            amount: Amount::from(1u64),
        })
        .unwrap();
    drop(first);

    let again = instance(&host, &table);
    assert_eq!(
        again.accounts().unwrap()[0],
        account,
        "the key file must be reused"
    );
    assert_eq!(
        again.balance(&account, &asset).unwrap(),
        funded.checked_sub(Amount::from(1u64)).unwrap(),
        "an account the ledger has seen is not prefunded again"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = host.data_dir().join("sim-chain/account-0.key");
        let mode = std::fs::metadata(key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_shared_ledger_refuses_a_different_block_time() {
    let ledger = tempfile::tempdir().unwrap();
    let host = TestHost::new("chain");
    let _first = instance(&host, &shared_table(ledger.path()));
    let other = format!("block_time = 5\nledger = \"{}\"\n", ledger.path().display());
    let error = SimChain::new(&other, Host::new(host.context()))
        .err()
        .unwrap();
    assert_eq!(error.kind, ErrorKind::InvalidConfig);
    assert!(error.message().contains("block_time = 0"), "{error}");
}

#[test]
fn configuration_errors_name_the_key() {
    let host = TestHost::new("chain");
    let error = SimChain::new("acounts = 2\n", Host::new(host.context()))
        .err()
        .unwrap();
    assert_eq!(error.kind, ErrorKind::InvalidConfig);
    assert!(error.message().contains("acounts"), "{error}");
    let error = SimChain::new("prefund = { GOLD = \"1\" }\n", Host::new(host.context()))
        .err()
        .unwrap();
    assert!(error.message().contains("GOLD"), "{error}");
}

#[test]
fn the_embedded_ledger_is_private_and_removed_on_drop() {
    let host = TestHost::new("chain");
    let a = instance(&host, "");
    let b = instance(&host, "");
    let account = a.accounts().unwrap()[0].clone();
    assert_eq!(
        a.accounts().unwrap(),
        b.accounts().unwrap(),
        "same key dir, same keys"
    );
    let asset = eth(&a);
    a.deposit(&DepositRequest {
        from: account.clone(),
        channel_id: ChannelId([2; 32]),
        participant: account.clone(),
        asset: asset.clone(),
        amount: Amount::from(5u64),
    })
    .unwrap();
    assert_eq!(
        b.holdings(&ChannelId([2; 32]), &account, &asset).unwrap(),
        Amount::ZERO
    );
    let place = std::path::PathBuf::from(a.ledger_place());
    assert!(place.exists());
    drop(a);
    assert!(
        !place.exists(),
        "the embedded ledger's directory must be removed"
    );
}

#[test]
fn progress_enforces_the_app_the_node_offers_through_the_host() {
    use crate::test_apps::{offering_none, offering_tally, Tally};
    use parley_plugin_api::codec::Bytes;
    use parley_plugin_api::model::ProgressRequest;

    let chain = SimChain::new("accounts = 2\nblock_time = 0", Host::new(offering_tally())).unwrap();
    let accounts = chain.accounts().unwrap();
    let params = Params {
        participants: accounts[..2].to_vec(),
        challenge_duration: 60,
        nonce: [33; 32],
        app: Some(Tally::address()),
        ledger_channel: true,
        virtual_channel: false,
    };
    let tally = |version: u64, value: u8| State {
        channel_id: chain.channel_id(&params).unwrap(),
        version,
        allocation: Allocation {
            assets: vec![eth(&chain)],
            balances: vec![vec![Amount::ZERO, Amount::ZERO]],
            locked: vec![],
        },
        app_data: Bytes(vec![value]),
        is_final: false,
    };
    let v0 = tally(0, 0);
    assert_eq!(chain.registered_state(&v0.channel_id).unwrap(), None);
    let sigs = accounts[..2]
        .iter()
        .map(|account| chain.sign_state(account, &v0).unwrap())
        .collect();
    chain
        .register(&RegisterRequest {
            from: accounts[0].clone(),
            channel: SignedState {
                params: params.clone(),
                state: v0.clone(),
                sigs,
            },
            sub_channels: vec![],
        })
        .unwrap();
    assert_eq!(
        chain.registered_state(&v0.channel_id).unwrap(),
        Some(v0.clone())
    );
    chain.advance_time(60).unwrap();
    let progress = |chain: &SimChain, to: &State| {
        chain.progress(&ProgressRequest {
            from: accounts[0].clone(),
            params: params.clone(),
            old_state: v0.clone(),
            new_state: to.clone(),
            actor: 0,
            sig: chain.sign_state(&accounts[0], to).unwrap(),
        })
    };

    let refusal = progress(&chain, &tally(1, 3)).unwrap_err();
    assert_eq!(refusal.kind, ErrorKind::Rejected, "{refusal}");
    assert!(
        refusal
            .message()
            .contains("the tally must grow by 2, from 0, not to 3"),
        "{refusal}"
    );

    // An instance whose node offers no app refuses the same move for want of the app.
    let unaware =
        SimChain::new("accounts = 2\nblock_time = 0", Host::new(offering_none())).unwrap();
    let refusal = progress(&unaware, &tally(1, 2)).unwrap_err();
    assert_eq!(refusal.kind, ErrorKind::Rejected, "{refusal}");
    assert!(
        refusal.message().contains("the node has no app there"),
        "{refusal}"
    );

    progress(&chain, &tally(1, 2)).unwrap();
    let dispute = chain.dispute(&v0.channel_id).unwrap().unwrap();
    assert_eq!(
        (dispute.version, dispute.phase),
        (1, DisputePhase::ForceExec)
    );
    // The state progressed to, signed by its actor only, is the state on record.
    assert_eq!(
        chain.registered_state(&v0.channel_id).unwrap(),
        Some(tally(1, 2))
    );
}
