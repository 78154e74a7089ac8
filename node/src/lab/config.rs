//! The `node.toml` of a lab node: the plugins and plugin settings of a base config (the user's
//! `--config` for the bench, the built-in plugins for the demo and the tests), with what makes
//! it one node of the lab: its own data directory, the shared sim-chain ledger, loopback
//! addresses with free ports, and the [`NodeSettings`] of this node.
//!
//! The text goes through [`NodeConfig::parse`], the same validation a user's file gets, before
//! anything starts on it (see [`super::Workspace::write_config`]).

use super::LabError;
use crate::config::{LogFormat, NodeConfig, PluginRef, PluginSection};
use parley_plugin_api::model::Amount;
use std::path::{Path, PathBuf};

/// What one lab node adds to the base config; the default adds nothing (the node asks before
/// accepting any channel, with the default timeouts).
#[derive(Clone, Debug, Default)]
pub struct NodeSettings {
    /// Whose channel proposals the node accepts on its own (`[policy] auto_accept_from` and
    /// `max_auto_deposit`).
    pub auto_accept: Option<AutoAccept>,
    /// `[policy] proposal_timeout_seconds`, when not the default.
    pub proposal_timeout_seconds: Option<u64>,
    /// Whether an lmdb store syncs every commit (`[store] durable`), when not the base's.
    pub durable: Option<bool>,
    /// More `[policy]` keys, as they are written (`("incoming_payments", "ask")`).
    pub more_policy: Vec<(&'static str, toml::Value)>,
    /// Whether the node carries virtual channels between its peers (`[hub] serve`).
    pub serve_hub: bool,
    /// `[hub] hold_seconds`, when not the default.
    pub hub_hold_seconds: Option<u64>,
    /// `[limits]` keys, as they are written (`("frames_in_flight", 1200)`).
    pub limits: Vec<(&'static str, toml::Value)>,
}

/// Which peer a node accepts channel proposals from on its own, and up to what deposit.
#[derive(Debug, Clone)]
pub struct AutoAccept {
    /// The proposer: a node id, an alias, or `"*"` for any peer.
    pub from: String,
    /// The most this node deposits into such a channel, per asset.
    pub max_deposit: Amount,
}

impl AutoAccept {
    /// Any peer's proposals, up to `max_deposit`.
    pub fn anyone(max_deposit: Amount) -> AutoAccept {
        AutoAccept {
            from: "*".into(),
            max_deposit,
        }
    }
}

/// Keys of plugin tables that name one node's own files: they are dropped so each node gets
/// its own default under its data dir (two nodes on one store path, key dir or certificate dir
/// would share state they must not share).
const PER_NODE_KEYS: &[(&str, &[&str])] = &[
    ("chain", &["key_dir", "ledger"]),
    ("wire", &["cert_dir"]),
    ("store", &["path"]),
];

/// The first line of every lab node's `node.toml`.
const HEADER: &str =
    "# A node of a Parley lab (`parley demo`, `parley bench channels`, the tests), written for one run.";

/// Loopback, any free port: where a lab node's API and transport listen.
const LOOPBACK: &str = "127.0.0.1:0";

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

/// The `node.toml` text of one lab node with data under `data_dir`: the plugins and plugin
/// settings of `base`, except that
/// - every per-node path key is dropped ([`PER_NODE_KEYS`]), so keys, certificates and the
///   store go under `data_dir`;
/// - the sim chain uses the shared `ledger`;
/// - the API and the transport listen on 127.0.0.1 with a free port;
/// - `[policy]`, `[hub] serve` and the lmdb store's `durable` are as `settings` say.
///
/// The chain must be the sim chain ([`require_sim_chain`]).
pub fn node_config_text(
    base: &NodeConfig,
    data_dir: &Path,
    ledger: &Path,
    settings: &NodeSettings,
) -> Result<String, LabError> {
    require_sim_chain(base)?;
    let mut root = toml::Table::new();
    let log_format = match base.node.log_format {
        LogFormat::Text => "text",
        LogFormat::Json => "json",
    };
    root.insert(
        "node".into(),
        table([
            ("data_dir", path_value(data_dir)),
            ("log_level", string(&base.node.log_level)),
            ("log_format", string(log_format)),
        ]),
    );
    root.insert("api".into(), table([("listen", string(LOOPBACK))]));
    let policy = policy_table(settings);
    if !policy.is_empty() {
        root.insert("policy".into(), toml::Value::Table(policy));
    }
    if settings.serve_hub {
        let mut hub = toml::Table::new();
        hub.insert("serve".into(), toml::Value::Boolean(true));
        if let Some(seconds) = settings.hub_hold_seconds {
            let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
            hub.insert("hold_seconds".into(), toml::Value::Integer(seconds));
        }
        root.insert("hub".into(), toml::Value::Table(hub));
    }
    if !settings.limits.is_empty() {
        let limits: toml::Table = settings
            .limits
            .iter()
            .map(|(key, value)| ((*key).to_string(), value.clone()))
            .collect();
        root.insert("limits".into(), toml::Value::Table(limits));
    }
    for section in base.plugin_sections() {
        let mut entries: toml::Table = toml::from_str(&section.table).map_err(|e| {
            LabError::failed(format!(
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
            PluginRef::Name(name) => string(name),
            PluginRef::Path(path) => path_value(path),
        };
        entries.insert("plugin".into(), plugin);
        match section.section {
            "chain" => {
                entries.insert("ledger".into(), path_value(ledger));
            }
            "store" if is_plugin(section, "lmdb") => {
                if let Some(durable) = settings.durable {
                    entries.insert("durable".into(), toml::Value::Boolean(durable));
                }
            }
            "wire" => {
                entries.insert("listen".into(), string(LOOPBACK));
            }
            _ => {}
        }
        root.insert(section.section.into(), toml::Value::Table(entries));
    }
    let text = toml::to_string(&root)
        .map_err(|e| LabError::failed(format!("cannot write a lab node's config: {e}")))?;
    Ok(format!("{HEADER}\n\n{text}"))
}

/// `[policy]` as `settings` say; empty for the defaults.
fn policy_table(settings: &NodeSettings) -> toml::Table {
    let mut policy = toml::Table::new();
    if let Some(accept) = &settings.auto_accept {
        policy.insert(
            "auto_accept_from".into(),
            toml::Value::Array(vec![string(&accept.from)]),
        );
        policy.insert(
            "max_auto_deposit".into(),
            string(&accept.max_deposit.to_string()),
        );
    }
    if let Some(seconds) = settings.proposal_timeout_seconds {
        let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
        policy.insert(
            "proposal_timeout_seconds".into(),
            toml::Value::Integer(seconds),
        );
    }
    for (key, value) in &settings.more_policy {
        policy.insert((*key).into(), value.clone());
    }
    policy
}

/// A base config of the built-in plugins (`sim-chain`, `quic`, `lmdb`) by name, found beside
/// the `parley` binary or in `$PARLEY_PLUGIN_DIR` (see [`PluginRef::resolve`]), each with its
/// defaults, the nodes logging at `log_level` as text. `file` is where the base is said to come
/// from, in messages; nothing is read from it.
pub fn built_in_plugins(file: &Path, log_level: &str) -> Result<NodeConfig, LabError> {
    let text = format!(
        "[node]\nlog_level = {}\nlog_format = \"text\"\n\n[chain]\nplugin = \"sim-chain\"\n\n\
         [wire]\nplugin = \"quic\"\n\n[store]\nplugin = \"lmdb\"\n",
        string(log_level)
    );
    NodeConfig::parse(&text, file).map_err(|e| {
        LabError::failed(format!(
            "the built-in plugins make no valid base config: {e}"
        ))
    })
}

/// Refuses a `base` whose chain is not the sim chain: a lab funds its channels from the
/// prefunded accounts of one shared sim-chain ledger.
pub fn require_sim_chain(base: &NodeConfig) -> Result<(), LabError> {
    if is_plugin(&base.chain, "sim-chain") {
        return Ok(());
    }
    Err(LabError::NotSimChain {
        file: base.file.clone(),
        plugin: describe(&base.chain.plugin),
    })
}

fn table<const N: usize>(entries: [(&str, toml::Value); N]) -> toml::Value {
    toml::Value::Table(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
}

fn string(text: &str) -> toml::Value {
    toml::Value::String(text.to_owned())
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

    /// The bench's settings: any peer's proposal up to 5,000, the store as durable as asked.
    fn settings(durable: bool) -> NodeSettings {
        NodeSettings {
            auto_accept: Some(AutoAccept::anyone(Amount::from(5_000u64))),
            durable: Some(durable),
            ..NodeSettings::default()
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

    #[test]
    fn the_built_in_configs_load_and_only_the_accepting_side_has_a_policy() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("led\"ger");
        let base = built_in_plugins(&dir.path().join("base.toml"), "info").unwrap();
        let text = |name: &str, settings: &NodeSettings| {
            node_config_text(
                &base,
                &dir.path().join(name).join("data"),
                &ledger,
                settings,
            )
            .unwrap()
        };
        let plain = NodeConfig::parse(
            &text("a", &NodeSettings::default()),
            &dir.path().join("a/node.toml"),
        )
        .unwrap();
        assert!(plain.policy.auto_accept_from.is_empty());
        assert_eq!(plain.node.data_dir, dir.path().join("a/data"));
        let table: toml::Table = toml::from_str(&plain.chain.table).unwrap();
        assert_eq!(
            table["ledger"].as_str().unwrap(),
            ledger.display().to_string()
        );

        let accept = AutoAccept {
            from: "0x02ab".into(),
            max_deposit: Amount::from_u128(10u128.pow(21)),
        };
        let bob = NodeSettings {
            auto_accept: Some(accept.clone()),
            ..NodeSettings::default()
        };
        let bob = NodeConfig::parse(&text("b", &bob), &dir.path().join("b/node.toml")).unwrap();
        assert!(bob.policy.auto_accepts(None, "0x02ab"));
        assert!(!bob.policy.auto_accepts(Some("mallory"), "0x03cd"));
        assert_eq!(bob.policy.max_auto_deposit, accept.max_deposit);
    }

    #[test]
    fn the_built_in_plugins_are_named_and_a_proposal_timeout_is_kept() {
        let base = built_in_plugins(Path::new("/lab/base.toml"), "warn").unwrap();
        assert_eq!(base.chain.plugin, PluginRef::Name("sim-chain".into()));
        assert_eq!(base.wire.plugin.plugin, PluginRef::Name("quic".into()));
        assert_eq!(base.store.plugin, PluginRef::Name("lmdb".into()));
        let settings = NodeSettings {
            proposal_timeout_seconds: Some(10),
            ..NodeSettings::default()
        };
        let text = node_config_text(&base, Path::new("/d"), Path::new("/l"), &settings).unwrap();
        assert!(text.starts_with(HEADER), "{text}");
        let config = NodeConfig::parse(&text, Path::new("/n/node.toml")).unwrap();
        assert_eq!(
            config.policy.proposal_timeout,
            std::time::Duration::from_secs(10)
        );
        assert!(config.policy.auto_accept_from.is_empty());
        assert_eq!(config.node.log_level, "warn");
        // The base's store settings stay: durability is the plugin's default unless asked.
        let store: toml::Table = toml::from_str(&config.store.table).unwrap();
        assert!(!store.contains_key("durable"));
    }
}
