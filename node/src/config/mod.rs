//! `node.toml`: parsed and validated in this one place (DESIGN §7).
//!
//! Every error names the file, the key and what is expected. Sections that belong to a plugin
//! (`[chain]`, `[wire]`, `[store]`) hold `plugin = "name or path"`, the node's own keys for that
//! section, and the plugin's table; the plugin validates its own keys and reports them with the
//! section name.
//!
//! `[testing]` is read here like every section, but defined and checked in
//! [`crate::testing`], beside every other switch a real node must never have on.

mod apps;
mod hub;
mod limits;
mod plugin_ref;
mod policy;

pub use crate::testing::TestingSection;
pub use apps::AppSection;
pub use hub::HubSection;
pub use limits::LimitsSection;
pub use plugin_ref::{PluginRef, PLUGIN_DIR_ENV};
pub use policy::{Answerer, IncomingUpdates, PolicySection, MAX_TIMEOUT_SECONDS};

use parley_plugin_api::PluginKind;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A node's configuration, with every path made absolute.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The file it was read from.
    pub file: PathBuf,
    /// `[node]`.
    pub node: NodeSection,
    /// `[chain]`.
    pub chain: PluginSection,
    /// `[wire]`.
    pub wire: WireSection,
    /// `[store]`.
    pub store: PluginSection,
    /// `[[apps]]`: the apps this node can run channels of.
    pub apps: Vec<AppSection>,
    /// `[api]`.
    pub api: ApiSection,
    /// `[policy]`.
    pub policy: PolicySection,
    /// `[limits]`: what one peer may make this node hold or do.
    pub limits: LimitsSection,
    /// `[hub]`: whether and how far this node carries virtual channels between its peers.
    pub hub: HubSection,
    /// `[testing]`: misbehaviour for tests ([`crate::testing`]); off unless the file says
    /// otherwise.
    pub testing: TestingSection,
}

/// `[api]`: where the JSON-RPC API listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSection {
    /// The address to bind (`127.0.0.1:0` picks a free port; the node writes the bound address
    /// to `<data_dir>/api.addr` for the CLI).
    pub listen: SocketAddr,
    /// Whether a non-loopback `listen` is allowed (off: the token travels in clear text).
    pub allow_non_loopback: bool,
}

impl ApiSection {
    /// The default API address: loopback, any free port.
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:0";

    /// The server settings this section stands for.
    pub fn server_config(&self) -> crate::api::ApiServerConfig {
        crate::api::ApiServerConfig {
            listen: self.listen,
            allow_non_loopback: self.allow_non_loopback,
        }
    }
}

/// `[node]`: where the node keeps its files and how it logs.
#[derive(Debug, Clone)]
pub struct NodeSection {
    /// The data directory (absolute).
    pub data_dir: PathBuf,
    /// The node's identity key (absolute; default `<data_dir>/node.key`), created owner-only on
    /// first start.
    pub key_file: PathBuf,
    /// The log filter (`info`, `debug`, `parley=debug,warn`, ...), checked by
    /// [`crate::logging::parse_filter`].
    pub log_level: String,
    /// Text or JSON log lines.
    pub log_format: LogFormat,
    /// A file the log lines also go to (appended, created owner-only; absolute), besides
    /// stderr.
    pub log_file: Option<PathBuf>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A section that names a plugin.
#[derive(Debug, Clone)]
pub struct PluginSection {
    /// The section's name in `node.toml`.
    pub section: &'static str,
    /// The plugin kind this section needs.
    pub kind: PluginKind,
    /// Which library.
    pub plugin: PluginRef,
    /// The plugin's own table, as TOML text, without the node's keys.
    pub table: String,
}

/// `[wire]`: the transport plugin plus where the node listens.
#[derive(Debug, Clone)]
pub struct WireSection {
    /// The plugin.
    pub plugin: PluginSection,
    /// The address the node listens on (`127.0.0.1:0` picks a free port).
    pub listen: String,
}

/// A configuration error: which file, which key, what is wrong and what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// The key, dotted (`store.plugin`), or empty for the file as a whole.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: `{}`: {}",
                self.file.display(),
                self.key,
                self.message
            )
        }
    }
}

impl std::error::Error for ConfigError {}

const TOP_LEVEL_SECTIONS: &[&str] = &[
    "node", "api", "policy", "limits", "hub", "chain", "wire", "store", "apps", "testing",
];
const NODE_KEYS: &[&str] = &[
    "data_dir",
    "key_file",
    "log_level",
    "log_format",
    "log_file",
];
const API_KEYS: &[&str] = &["listen", "allow_non_loopback"];

impl NodeConfig {
    /// Reads and validates `file`.
    pub fn load(file: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
            file: file.to_path_buf(),
            key: String::new(),
            message: format!(
                "cannot read the config file: {e} (create one with `parley init <dir>` or pass --config)"
            ),
        })?;
        Self::parse(&text, file)
    }

    /// Validates `text` as if read from `file` (relative paths are relative to its directory).
    pub fn parse(text: &str, file: &Path) -> Result<NodeConfig, ConfigError> {
        let file = absolute(file);
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let err = |key: &str, message: String| ConfigError {
            file: file.clone(),
            key: key.to_string(),
            message,
        };
        let root: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| {
                    format!(
                        " (line {})",
                        text[..s.start.min(text.len())].matches('\n').count() + 1
                    )
                })
                .unwrap_or_default();
            err("", format!("not valid TOML{line}: {}", e.message().trim()))
        })?;

        for key in root.keys() {
            if !TOP_LEVEL_SECTIONS.contains(&key.as_str()) {
                return Err(err(
                    key,
                    format!(
                        "unknown section; expected one of {}",
                        list(TOP_LEVEL_SECTIONS)
                    ),
                ));
            }
        }

        let node = section_table(&root, "node", &err)?;
        for key in node.keys() {
            if !NODE_KEYS.contains(&key.as_str()) {
                return Err(err(
                    &format!("node.{key}"),
                    format!("unknown key; expected one of {}", list(NODE_KEYS)),
                ));
            }
        }
        let data_dir =
            optional_str(&node, "node", "data_dir", &err)?.unwrap_or_else(|| "data".into());
        let key_file = optional_str(&node, "node", "key_file", &err)?;
        let log_level =
            optional_str(&node, "node", "log_level", &err)?.unwrap_or_else(|| "info".into());
        let log_format = match optional_str(&node, "node", "log_format", &err)?.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(err(
                    "node.log_format",
                    format!("`{other}` is not a log format; expected \"text\" or \"json\""),
                ))
            }
        };
        crate::logging::parse_filter(&log_level).map_err(|e| err("node.log_level", e))?;

        let api = api_section(&root, &err)?;
        let policy = policy::policy_section(&section_table(&root, "policy", &err)?, &err)?;
        let limits = limits::limits_section(&section_table(&root, "limits", &err)?, &err)?;
        let hub = hub::hub_section(&section_table(&root, "hub", &err)?, &err)?;
        let testing =
            crate::testing::section::parse(&section_table(&root, "testing", &err)?, &err)?;
        let chain = plugin_section(&root, "chain", PluginKind::Chain, &[], &base, &err)?;
        let store = plugin_section(&root, "store", PluginKind::Store, &[], &base, &err)?;
        let wire_plugin = plugin_section(
            &root,
            "wire",
            PluginKind::Transport,
            &["listen"],
            &base,
            &err,
        )?;
        let apps = apps::apps_sections(&root, &base, &err)?;
        let wire_table = section_table(&root, "wire", &err)?;
        let listen = optional_str(&wire_table, "wire", "listen", &err)?
            .unwrap_or_else(|| "127.0.0.1:0".into());

        Ok(NodeConfig {
            file: file.clone(),
            node: NodeSection {
                key_file: match key_file {
                    Some(path) => base.join(path),
                    None => base.join(&data_dir).join("node.key"),
                },
                data_dir: base.join(data_dir),
                log_level,
                log_format,
                log_file: optional_str(&node, "node", "log_file", &err)?.map(|p| base.join(p)),
            },
            chain,
            wire: WireSection {
                plugin: wire_plugin,
                listen,
            },
            store,
            apps,
            api,
            policy,
            limits,
            hub,
            testing,
        })
    }

    /// The directory of the config file.
    pub fn dir(&self) -> PathBuf {
        self.file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The plugin sections, in load order.
    pub fn plugin_sections(&self) -> [&PluginSection; 3] {
        [&self.store, &self.chain, &self.wire.plugin]
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    }
}

pub(crate) fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) type ErrFn<'a> = dyn Fn(&str, String) -> ConfigError + 'a;

fn section_table(
    root: &toml::Table,
    name: &str,
    err: &ErrFn<'_>,
) -> Result<toml::Table, ConfigError> {
    match root.get(name) {
        None => Ok(toml::Table::new()),
        Some(toml::Value::Table(table)) => Ok(table.clone()),
        Some(other) => Err(err(
            name,
            format!("expected a table `[{name}]`, found {}", other.type_str()),
        )),
    }
}

fn optional_str(
    table: &toml::Table,
    section: &str,
    key: &str,
    err: &ErrFn<'_>,
) -> Result<Option<String>, ConfigError> {
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(err(
            &format!("{section}.{key}"),
            format!("expected a string, found {}", other.type_str()),
        )),
    }
}

fn api_section(root: &toml::Table, err: &ErrFn<'_>) -> Result<ApiSection, ConfigError> {
    let table = section_table(root, "api", err)?;
    for key in table.keys() {
        if !API_KEYS.contains(&key.as_str()) {
            return Err(err(
                &format!("api.{key}"),
                format!("unknown key; expected one of {}", list(API_KEYS)),
            ));
        }
    }
    let listen_text = optional_str(&table, "api", "listen", err)?
        .unwrap_or_else(|| ApiSection::DEFAULT_LISTEN.into());
    let listen: SocketAddr = listen_text.trim().parse().map_err(|_| {
        err(
            "api.listen",
            format!("`{listen_text}` is not an IP address and port; expected a form like \"127.0.0.1:7150\" (port 0 picks a free port)"),
        )
    })?;
    let allow_non_loopback = match table.get("allow_non_loopback") {
        None => false,
        Some(toml::Value::Boolean(b)) => *b,
        Some(other) => {
            return Err(err(
                "api.allow_non_loopback",
                format!("expected true or false, found {}", other.type_str()),
            ))
        }
    };
    let section = ApiSection {
        listen,
        allow_non_loopback,
    };
    // The same rule the server applies when it binds, checked here so that a bad config fails
    // before anything starts.
    crate::api::server::check_listen_address(&section.server_config()).map_err(|e| {
        err(
            "api.listen",
            format!("{e}; set `allow_non_loopback = true` in [api] only behind a TLS proxy"),
        )
    })?;
    Ok(section)
}

fn default_plugin(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Chain => "sim-chain",
        PluginKind::Transport => "quic",
        PluginKind::Store => "lmdb",
        PluginKind::App => "tictactoe",
    }
}

fn plugin_section(
    root: &toml::Table,
    name: &'static str,
    kind: PluginKind,
    node_keys: &[&str],
    base: &Path,
    err: &ErrFn<'_>,
) -> Result<PluginSection, ConfigError> {
    let mut table = section_table(root, name, err)?;
    let plugin =
        optional_str(&table, name, "plugin", err)?.unwrap_or_else(|| default_plugin(kind).into());
    let plugin = PluginRef::parse(&plugin, base).map_err(|m| err(&format!("{name}.plugin"), m))?;
    table.remove("plugin");
    for key in node_keys {
        table.remove(*key);
    }
    let text = toml::to_string(&table)
        .map_err(|e| err(name, format!("cannot re-encode the table: {e}")))?;
    Ok(PluginSection {
        section: name,
        kind,
        plugin,
        table: text,
    })
}

#[cfg(test)]
mod tests;
