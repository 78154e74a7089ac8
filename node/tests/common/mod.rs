//! What the integration tests share: the built-in plugins beside the test binaries, and a
//! lab config that loads them. (Each test binary uses part of it.)
#![allow(dead_code)]

use parley_node::config::NodeConfig;
use parley_node::lab::Workspace;
use std::path::{Path, PathBuf};

/// The plugin library `file` next to the `parley` binary (where a bare plugin name finds it).
pub fn plugin(file: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_parley"))
        .parent()
        .expect("the binary has a directory")
        .join(file);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` before the tests",
        path.display()
    );
    path
}

/// The built-in sim-chain, QUIC and LMDB plugins, with small LMDB maps.
pub fn lab_base(workspace: &Workspace) -> NodeConfig {
    let text = format!(
        "[node]\nlog_level = \"warn\"\n[chain]\nplugin = \"{}\"\n[wire]\nplugin = \"{}\"\n\
         [store]\nplugin = \"{}\"\nmap_size_mib = 64\n",
        plugin("libparley_sim_chain.so").display(),
        plugin("libparley_quic.so").display(),
        plugin("libparley_lmdb.so").display(),
    );
    NodeConfig::parse(&text, &workspace.path().join("base.toml")).unwrap()
}

/// A request to open a payment channel of the chain's first asset with `peer` (an alias or a
/// node id) with these deposits; a virtual channel through our ledger channel `via` if given.
pub fn open_request(
    peer: String,
    mine: u64,
    theirs: u64,
    via: Option<parley_plugin_api::model::ChannelId>,
) -> parley_node::api::types::ChannelOpenRequest {
    use parley_node::api::types::ChannelOpenRequest;
    use parley_plugin_api::model::Amount;
    ChannelOpenRequest {
        via,
        ..ChannelOpenRequest::payment(peer, Amount::from(mine), Amount::from(theirs))
    }
}

/// Waits (up to a minute) until `api`'s node sees channel `id` active.
pub async fn wait_active(
    api: &std::sync::Arc<dyn parley_node::api::NodeApi>,
    id: parley_plugin_api::model::ChannelId,
) {
    use parley_node::protocol::Phase;
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.channel_get(id).await.ok().and_then(|c| c.phase) != Some(Phase::Active) {
        assert!(
            Instant::now() < deadline,
            "channel {id} never became active"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
