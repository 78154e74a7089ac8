//! Two real nodes in this process for `parley bench channels`: each with its own data dir,
//! LMDB environment, node key and QUIC endpoint on 127.0.0.1, both on one sim-chain ledger
//! (so each sees the other's deposits), each accepting the other's proposals on its own.
//!
//! Their configs are written as `node.toml` text and go through [`NodeConfig::parse`], the
//! same validation a user's file gets; the plugins and their settings come from the user's
//! `--config`, with the per-node paths and the durability overridden (see [`node_config_text`]).

use super::super::CliError;
use crate::api::types::{PeerAddRequest, PeerInfo};
use crate::api::NodeApi;
use crate::assembly::{Node, NodeError, NodeHandle};
use crate::config::{NodeConfig, PluginRef, PluginSection};
use crate::store::CommitStats;
use parley_plugin_api::model::Amount;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The alias each node knows the other by.
pub const ALIASES: [&str; 2] = ["a", "b"];

/// Keys of plugin tables that name one node's own files: the bench drops them so each node
/// gets its own default under its data dir (two nodes on one store path, key dir or
/// certificate dir would share state they must not share).
const PER_NODE_KEYS: &[(&str, &[&str])] = &[
    ("chain", &["key_dir", "ledger"]),
    ("wire", &["cert_dir"]),
    ("store", &["path"]),
];

/// How the two nodes are set up.
#[derive(Clone, Debug)]
pub struct PairSettings {
    /// LMDB commits reach the disk before they return (the `[store] durable` key of lmdb).
    pub durable: bool,
    /// What each node accepts to deposit into a channel the other proposes.
    pub max_auto_deposit: Amount,
}

/// The two running nodes.
pub struct NodePair {
    /// The nodes, in the order of [`ALIASES`].
    pub nodes: [NodeHandle; 2],
    /// Their API, in the same order.
    pub apis: [Arc<dyn NodeApi>; 2],
}

impl NodePair {
    /// Starts both nodes under `dir` (`dir/a`, `dir/b`, and the shared ledger `dir/ledger`)
    /// with the plugins of `base`, and makes each a peer of the other.
    pub async fn start(
        base: &NodeConfig,
        dir: &Path,
        settings: &PairSettings,
        verbose: bool,
    ) -> Result<NodePair, CliError> {
        let ledger = dir.join("ledger");
        let a = start_node(base, dir, ALIASES[0], &ledger, settings, verbose).await?;
        let b = match start_node(base, dir, ALIASES[1], &ledger, settings, verbose).await {
            Ok(b) => b,
            Err(error) => {
                a.shutdown().await;
                return Err(error);
            }
        };
        let apis = [a.service(), b.service()];
        let pair = NodePair {
            nodes: [a, b],
            apis,
        };
        match pair.introduce().await {
            Ok(()) => Ok(pair),
            Err(error) => {
                pair.shutdown().await;
                Err(error)
            }
        }
    }

    /// Makes each node a peer of the other, so either can (re)connect and pay.
    async fn introduce(&self) -> Result<(), CliError> {
        for (me, other) in [(0, 1), (1, 0)] {
            let info = self.apis[other].node_info().await.map_err(|e| {
                CliError::new(format!("node {}: node_info failed: {e}", ALIASES[other]))
            })?;
            let added: PeerInfo = self.apis[me]
                .peer_add(PeerAddRequest {
                    alias: ALIASES[other].to_string(),
                    node_id: info.node_id,
                    transport_address: info.listen_address,
                })
                .await
                .map_err(|e| {
                    CliError::new(format!(
                        "node {}: cannot add peer {}: {e}",
                        ALIASES[me], ALIASES[other]
                    ))
                })?;
            tracing::debug!(peer = %added.alias, "peer added");
        }
        Ok(())
    }

    /// Both nodes' store committer counters, in the order of [`ALIASES`].
    pub fn store_stats(&self) -> [CommitStats; 2] {
        [self.nodes[0].store_stats(), self.nodes[1].store_stats()]
    }

    /// Stops both nodes (their committers finish queued writes first).
    pub async fn shutdown(self) {
        let [a, b] = self.nodes;
        drop(self.apis);
        a.shutdown().await;
        b.shutdown().await;
    }
}

/// Writes the config of node `alias` to `dir/alias/node.toml` and starts the node.
async fn start_node(
    base: &NodeConfig,
    dir: &Path,
    alias: &str,
    ledger: &Path,
    settings: &PairSettings,
    verbose: bool,
) -> Result<NodeHandle, CliError> {
    let node_dir = dir.join(alias);
    crate::cli::run::create_private_dir(&node_dir)?;
    let file = node_dir.join("node.toml");
    let text = node_config_text(base, &node_dir.join("data"), ledger, settings)?;
    std::fs::write(&file, &text)
        .map_err(|e| CliError::new(format!("cannot write {}: {e}", file.display())))?;
    let config = NodeConfig::parse(&text, &file).map_err(|e| {
        CliError::new(format!(
            "the bench's config for node {alias}, built from {}, is refused: {e}",
            base.file.display()
        ))
    })?;
    crate::cli::run::create_private_dir(&config.node.data_dir)?;
    Node::start(&config).await.map_err(|error| match error {
        NodeError::Load(error) => CliError::load(error, verbose),
        other => CliError::new(format!("node {alias} did not start: {other}")),
    })
}

/// Whether `section` loads the built-in plugin `name` (by name, or by a path to its file).
fn is_plugin(section: &PluginSection, name: &str) -> bool {
    match &section.plugin {
        PluginRef::Name(n) => n == name,
        // The file a bare name would load, compared by file name only.
        PluginRef::Path(path) => {
            let file = PluginRef::Name(name.to_string()).resolve();
            path.file_name().is_some() && path.file_name() == file.file_name()
        }
    }
}

/// The `node.toml` text of one bench node with data under `data_dir`: the plugins and plugin
/// settings of `base`, except that
/// - every per-node path key is dropped ([`PER_NODE_KEYS`]), so keys, certificates and the
///   store go under `data_dir`;
/// - the sim chain uses the shared `ledger`, and the lmdb store `durable` as `settings` say;
/// - the API and the transport listen on 127.0.0.1 with a free port;
/// - `[policy]` accepts any peer's proposal up to `settings.max_auto_deposit`.
///
/// The chain must be the sim chain ([`require_sim_chain`]).
pub fn node_config_text(
    base: &NodeConfig,
    data_dir: &Path,
    ledger: &Path,
    settings: &PairSettings,
) -> Result<String, CliError> {
    require_sim_chain(base)?;
    let mut root = toml::Table::new();
    root.insert(
        "node".into(),
        table([
            ("data_dir", path_value(data_dir)),
            (
                "log_level",
                toml::Value::String(base.node.log_level.clone()),
            ),
        ]),
    );
    root.insert(
        "api".into(),
        table([("listen", toml::Value::String("127.0.0.1:0".into()))]),
    );
    root.insert(
        "policy".into(),
        table([
            (
                "auto_accept_from",
                toml::Value::Array(vec![toml::Value::String("*".into())]),
            ),
            (
                "max_auto_deposit",
                toml::Value::String(settings.max_auto_deposit.to_string()),
            ),
        ]),
    );
    for section in base.plugin_sections() {
        let mut entries: toml::Table = toml::from_str(&section.table).map_err(|e| {
            CliError::new(format!(
                "cannot read back the [{}] table of {}: {e}",
                section.section,
                base.file.display()
            ))
        })?;
        for (name, keys) in PER_NODE_KEYS {
            if *name == section.section {
                for key in *keys {
                    entries.remove(*key);
                }
            }
        }
        let plugin = match &section.plugin {
            PluginRef::Name(name) => toml::Value::String(name.clone()),
            PluginRef::Path(path) => path_value(path),
        };
        entries.insert("plugin".into(), plugin);
        match section.section {
            "chain" => {
                entries.insert("ledger".into(), path_value(ledger));
            }
            "store" if is_plugin(section, "lmdb") => {
                entries.insert("durable".into(), toml::Value::Boolean(settings.durable));
            }
            "wire" => {
                entries.insert("listen".into(), toml::Value::String("127.0.0.1:0".into()));
            }
            _ => {}
        }
        root.insert(section.section.into(), toml::Value::Table(entries));
    }
    toml::to_string(&root).map_err(|e| CliError::new(format!("cannot write a bench config: {e}")))
}

/// Refuses a `base` whose chain is not the sim chain: the bench funds a hundred channels and
/// needs both nodes on one ledger.
pub fn require_sim_chain(base: &NodeConfig) -> Result<(), CliError> {
    if is_plugin(&base.chain, "sim-chain") {
        return Ok(());
    }
    Err(CliError::new(format!(
        "`parley bench channels` funds its channels on the sim chain, but [chain] in {} loads {}; \
         point --config at a node.toml with `plugin = \"sim-chain\"` in [chain]",
        base.file.display(),
        describe(&base.chain.plugin)
    )))
}

fn table<const N: usize>(entries: [(&str, toml::Value); N]) -> toml::Value {
    toml::Value::Table(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
}

fn path_value(path: &Path) -> toml::Value {
    toml::Value::String(path.to_string_lossy().into_owned())
}

fn describe(plugin: &PluginRef) -> String {
    match plugin {
        PluginRef::Name(name) => format!("`{name}`"),
        PluginRef::Path(path) => PathBuf::from(path).display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(text: &str) -> NodeConfig {
        NodeConfig::parse(text, Path::new("/somewhere/node.toml")).unwrap()
    }

    fn settings(durable: bool) -> PairSettings {
        PairSettings {
            durable,
            max_auto_deposit: Amount::from(5_000u64),
        }
    }

    const USER: &str = r#"
[node]
data_dir = "data"
log_level = "warn"
[chain]
plugin = "sim-chain"
chain_id = 99
block_time = 1
key_dir = "keys"
ledger = "their-ledger"
[wire]
plugin = "quic"
listen = "127.0.0.1:7000"
idle_timeout_ms = 9
[store]
plugin = "lmdb"
map_size_mib = 64
durable = false
path = "their-store"
"#;

    #[test]
    fn the_bench_config_keeps_plugin_settings_and_overrides_per_node_paths() {
        let text = node_config_text(
            &base(USER),
            Path::new("/tmp/x/a/data"),
            Path::new("/tmp/x/ledger"),
            &settings(true),
        )
        .unwrap();
        let config = NodeConfig::parse(&text, Path::new("/tmp/x/a/node.toml")).unwrap();
        assert_eq!(config.node.data_dir, Path::new("/tmp/x/a/data"));
        assert_eq!(config.wire.listen, "127.0.0.1:0");
        assert!(config.policy.auto_accepts(None, "any node"));
        assert_eq!(config.policy.max_auto_deposit, Amount::from(5_000u64));
        let chain: toml::Table = toml::from_str(&config.chain.table).unwrap();
        assert_eq!(chain["chain_id"].as_integer(), Some(99));
        assert_eq!(chain["ledger"].as_str(), Some("/tmp/x/ledger"));
        assert!(!chain.contains_key("key_dir"));
        let wire: toml::Table = toml::from_str(&config.wire.plugin.table).unwrap();
        assert_eq!(wire["idle_timeout_ms"].as_integer(), Some(9));
        let store: toml::Table = toml::from_str(&config.store.table).unwrap();
        assert_eq!(store["durable"].as_bool(), Some(true));
        assert_eq!(store["map_size_mib"].as_integer(), Some(64));
        assert!(!store.contains_key("path"));
    }

    #[test]
    fn durability_can_be_turned_off_for_comparison() {
        let text = node_config_text(
            &base(USER),
            Path::new("/d"),
            Path::new("/l"),
            &settings(false),
        )
        .unwrap();
        let config = NodeConfig::parse(&text, Path::new("/n/node.toml")).unwrap();
        let store: toml::Table = toml::from_str(&config.store.table).unwrap();
        assert_eq!(store["durable"].as_bool(), Some(false));
    }

    #[test]
    fn a_plugin_given_by_path_stays_that_path() {
        let user = USER.replace(
            "plugin = \"lmdb\"",
            "plugin = \"/opt/parley/libparley_lmdb.so\"",
        );
        let text = node_config_text(
            &base(&user),
            Path::new("/d"),
            Path::new("/l"),
            &settings(true),
        )
        .unwrap();
        let config = NodeConfig::parse(&text, Path::new("/n/node.toml")).unwrap();
        assert_eq!(
            config.store.plugin,
            PluginRef::Path(PathBuf::from("/opt/parley/libparley_lmdb.so"))
        );
        // Recognised as lmdb by its file name, so durability is still set.
        let store: toml::Table = toml::from_str(&config.store.table).unwrap();
        assert_eq!(store["durable"].as_bool(), Some(true));
    }

    #[test]
    fn another_chain_is_refused_with_the_fix() {
        let user = USER.replace("plugin = \"sim-chain\"", "plugin = \"ethereum\"");
        let error = node_config_text(
            &base(&user),
            Path::new("/d"),
            Path::new("/l"),
            &settings(true),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("sim chain"), "{error}");
        assert!(error.contains("/somewhere/node.toml"), "{error}");
        assert!(error.contains("ethereum"), "{error}");
    }
}
