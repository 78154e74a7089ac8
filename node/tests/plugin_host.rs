//! The plugin host against the real built-in plugin libraries (built by
//! `cargo build --workspace`, which the test command runs first).
//!
//! abi_stable caches one root module per type when loading through `RootModule::load_from_file`,
//! which would silently hand back the first library for the second; these tests prove the host
//! loads two different files of one kind side by side, and two instances of one file.

use parley_node::host::{instantiate, node_host_context, LoadFailure, PluginHandle, PluginLibrary};
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{ChainSigner, PluginKind, Store};
use std::path::{Path, PathBuf};

fn plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_parley"))
        .parent()
        .expect("the binary has a directory")
        .to_path_buf()
}

fn library(file: &str) -> PathBuf {
    let path = plugin_dir().join(file);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` before the tests",
        path.display()
    );
    path
}

fn instance(
    library: &PluginLibrary,
    kind: PluginKind,
    table: &str,
    data_dir: &Path,
) -> PluginHandle {
    let (sender, _receiver) = tokio::sync::mpsc::unbounded_channel();
    let context = node_host_context("test", data_dir, data_dir, sender);
    instantiate(library, "test", kind, table, context).unwrap_or_else(|e| panic!("{e}"))
}

fn store(handle: PluginHandle) -> std::sync::Arc<parley_plugin_api::LoadedStore> {
    match handle {
        PluginHandle::Store(store) => store,
        _ => panic!("expected a store"),
    }
}

#[test]
fn two_files_of_one_kind_and_two_instances_of_one_file_are_independent() {
    let original = library("libparley_lmdb.so");
    let temp = tempfile::tempdir().unwrap();
    let copy = temp.path().join("libparley_lmdb_copy.so");
    std::fs::copy(&original, &copy).unwrap();

    let first = PluginLibrary::open(&original, None).unwrap();
    let second = PluginLibrary::open(&copy, None).unwrap();
    assert_eq!(first.path, original);
    assert_eq!(
        second.path, copy,
        "the second file must not be the cached first module"
    );

    let dirs: Vec<PathBuf> = (0..3)
        .map(|i| temp.path().join(format!("store-{i}")))
        .collect();
    let stores = [
        store(instance(&first, PluginKind::Store, "", &dirs[0])),
        store(instance(&first, PluginKind::Store, "", &dirs[1])),
        store(instance(&second, PluginKind::Store, "", &dirs[2])),
    ];
    for (i, s) in stores.iter().enumerate() {
        s.commit(&[WriteOp::put(b"who".to_vec(), vec![i as u8])])
            .unwrap();
    }
    for (i, s) in stores.iter().enumerate() {
        assert_eq!(
            s.get(b"who").unwrap(),
            Some(vec![i as u8]),
            "instance {i} saw another's data"
        );
    }
}

#[test]
fn two_chain_instances_keep_their_own_configuration() {
    let path = library("libparley_sim_chain.so");
    let temp = tempfile::tempdir().unwrap();
    let copy = temp.path().join("libparley_sim_chain_copy.so");
    std::fs::copy(&path, &copy).unwrap();
    let chains: Vec<_> = [(&path, 7u64), (&path, 8), (&copy, 9)]
        .iter()
        .enumerate()
        .map(|(i, (file, chain_id))| {
            let library = PluginLibrary::open(file, None).unwrap();
            let dir = temp.path().join(format!("chain-{i}"));
            match instance(
                &library,
                PluginKind::Chain,
                &format!("chain_id = {chain_id}"),
                &dir,
            ) {
                PluginHandle::Chain(chain) => chain,
                _ => panic!("expected a chain"),
            }
        })
        .collect();
    let ids: Vec<u64> = chains.iter().map(|c| c.info().unwrap().chain_id).collect();
    assert_eq!(ids, vec![7, 8, 9]);
}

#[test]
fn a_section_refuses_a_plugin_of_another_kind() {
    let library = PluginLibrary::open(&library("libparley_quic.so"), None).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let (sender, _receiver) = tokio::sync::mpsc::unbounded_channel();
    let context = node_host_context("store", temp.path(), temp.path(), sender);
    let Err(error) = instantiate(&library, "store", PluginKind::Store, "", context) else {
        panic!("a transport must not load as a store");
    };
    assert!(matches!(*error.reason, LoadFailure::WrongKind { .. }));
    assert!(
        error
            .to_string()
            .contains("which is a transport plugin, not a store plugin"),
        "{error}"
    );
}

#[test]
fn a_bad_plugin_table_is_reported_with_its_section_and_key() {
    let library = PluginLibrary::open(&library("libparley_lmdb.so"), None).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let (sender, _receiver) = tokio::sync::mpsc::unbounded_channel();
    let context = node_host_context("store", temp.path(), temp.path(), sender);
    let Err(error) = instantiate(
        &library,
        "store",
        PluginKind::Store,
        "map_sise_mib = 3\n",
        context,
    ) else {
        panic!("an unknown key must be refused");
    };
    let message = error.to_string();
    assert!(
        message.contains("[store]") && message.contains("map_sise_mib"),
        "{message}"
    );
}

#[test]
fn two_instances_of_one_library_log_under_their_own_sections() {
    use parley_plugin_api::{host_context, LogLevel};
    use std::sync::{Arc, Mutex};
    let library = PluginLibrary::open(&library("libparley_lmdb.so"), None).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let lines: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let handles: Vec<_> = ["store-a", "store-b"]
        .iter()
        .map(|section| {
            let dir = temp.path().join(section);
            let seen = lines.clone();
            let owner = section.to_string();
            let context = host_context(
                section,
                &dir,
                &dir,
                LogLevel::Info,
                move |_, _, message| {
                    seen.lock()
                        .unwrap()
                        .push((owner.clone(), message.to_string()))
                },
                |_| {},
            );
            instantiate(&library, section, PluginKind::Store, "", context)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let lines = lines.lock().unwrap();
    for section in ["store-a", "store-b"] {
        // Each instance's "opened" line names its own directory and reached its own sink,
        // not the sink of the library's first instance.
        let opened: Vec<&String> = lines
            .iter()
            .filter(|(owner, message)| owner == section && message.contains("opened"))
            .map(|(_, message)| message)
            .collect();
        assert_eq!(opened.len(), 1, "{section}: {lines:?}");
        assert!(opened[0].contains(section), "{section}: {}", opened[0]);
    }
    drop(handles);
}

/// The sim chain enforces an app channel by the app plugin the node offers it through the host
/// (`Host::app`), across three libraries: the sim chain asks the node, the node calls the app.
#[test]
fn the_sim_chain_enforces_the_app_the_node_offers() {
    use parley_node::host::{node_host_context_with_apps, OfferedApps};
    use parley_plugin_api::codec::Bytes;
    use parley_plugin_api::model::{
        Address, Allocation, ChannelId, Params, ProgressRequest, RegisterRequest, SignedState,
        State,
    };
    use parley_plugin_api::{App, ChainBackend, ChainLedger, ErrorKind};
    use std::sync::Arc;

    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let hashlock = PluginLibrary::open(&library("libparley_hashlock.so"), None).unwrap();
    let app: Arc<dyn App> = match instance(&hashlock, PluginKind::App, "", dir) {
        PluginHandle::App(app) => app,
        _ => panic!("expected an app"),
    };
    let address = Address(vec![0xaa; 20]);
    let chain_library = PluginLibrary::open(&library("libparley_sim_chain.so"), None).unwrap();
    // Two instances with the same wallet, each on its own embedded ledger.
    let chain = |offered: OfferedApps| {
        let (sender, _receiver) = tokio::sync::mpsc::unbounded_channel();
        let context = node_host_context_with_apps("chain", dir, dir, sender, offered);
        let table = "accounts = 2\nblock_time = 0";
        match instantiate(&chain_library, "chain", PluginKind::Chain, table, context) {
            Ok(PluginHandle::Chain(chain)) => chain,
            _ => panic!("expected a chain"),
        }
    };
    let offered = OfferedApps::new();
    let enforcing = chain(offered.clone());
    offered.fill([(address.clone(), app.clone())]);
    let unaware = chain(OfferedApps::new());

    // The hash-lock's sample game: the opening state, registered, and its first move.
    let samples = app.samples().unwrap();
    let accounts = enforcing.accounts().unwrap();
    let params = Params {
        participants: accounts.clone(),
        challenge_duration: 60,
        nonce: [5; 32],
        app: Some(address.clone()),
        ledger_channel: true,
        virtual_channel: false,
    };
    let opening = State {
        channel_id: enforcing.channel_id(&params).unwrap(),
        version: 0,
        allocation: Allocation {
            assets: vec![enforcing.info().unwrap().assets[0].asset.clone()],
            balances: vec![samples.balances.clone()],
            locked: vec![],
        },
        app_data: Bytes(app.init(&params, &samples.setup).unwrap()),
        is_final: false,
    };
    let sigs = accounts
        .iter()
        .map(|account| enforcing.sign_state(account, &opening).unwrap())
        .collect();
    enforcing
        .register(&RegisterRequest {
            from: accounts[0].clone(),
            channel: SignedState {
                params: params.clone(),
                state: opening.clone(),
                sigs,
            },
            sub_channels: vec![],
        })
        .unwrap();
    enforcing.test_clock().unwrap().advance_time(60).unwrap();
    let first = &samples.moves[0];
    let moved = app
        .apply(&params, &opening, &first.action, first.actor)
        .unwrap();
    let progress = |chain: &dyn ChainBackend, to: &State| {
        let actor = &accounts[usize::from(first.actor)];
        chain.progress(&ProgressRequest {
            from: accounts[0].clone(),
            params: params.clone(),
            old_state: opening.clone(),
            new_state: to.clone(),
            actor: first.actor,
            sig: enforcing.sign_state(actor, to).unwrap(),
        })
    };

    // The same version without the move's payout: the totals hold, the app refuses.
    let mut unpaid = moved.clone();
    unpaid.allocation = opening.allocation.clone();
    let refusal = progress(enforcing.as_ref(), &unpaid).unwrap_err();
    assert_eq!(refusal.kind, ErrorKind::Rejected, "{refusal}");
    assert!(
        refusal
            .message()
            .contains(&format!("progress refused by the node's app at {address}")),
        "{refusal}"
    );
    let unknown = progress(unaware.as_ref(), &moved).unwrap_err();
    assert!(
        unknown.message().contains("the node has no app there"),
        "{unknown}"
    );

    progress(enforcing.as_ref(), &moved).unwrap();
    let channel: ChannelId = opening.channel_id;
    assert_eq!(enforcing.dispute(&channel).unwrap().unwrap().version, 1);
}
