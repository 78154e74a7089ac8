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
