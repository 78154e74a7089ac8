//! `[[apps]]`: the apps this node can run channels of. Each entry names an App plugin and
//! where the app's contract lives on each chain (an app channel's parameters name the app by
//! that address; the chain enforces the app there):
//!
//! ```toml
//! [[apps]]
//! plugin = "tictactoe"                # a built-in name or a path, like every plugin
//! name = "tictactoe"                  # optional: what users call it (`--app tictactoe`);
//!                                     # the plugin's own name when absent
//! [apps.addresses]                    # chain id = the app contract's address there
//! 31337 = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
//! ```
//!
//! Any other key of the entry is the plugin's own table, handed to it like `[chain]`'s.

use super::plugin_ref::PluginRef;
use super::{list, ConfigError, ErrFn};
use parley_plugin_api::model::Address;
use std::collections::BTreeMap;
use std::path::Path;

/// The node's keys in an `[[apps]]` entry; the rest is the plugin's table.
const NODE_KEYS: &[&str] = &["plugin", "name", "addresses"];

/// One `[[apps]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSection {
    /// Its place in `node.toml`, for messages (`apps[0]`).
    pub section: String,
    /// The name users give (`--app NAME`); `None`: the plugin's own name.
    pub name: Option<String>,
    /// Which library.
    pub plugin: PluginRef,
    /// The app contract's address per chain id.
    pub addresses: BTreeMap<u64, Address>,
    /// The plugin's own table, as TOML text.
    pub table: String,
}

/// Parses every `[[apps]]` entry of `root`.
pub fn apps_sections(
    root: &toml::Table,
    base: &Path,
    err: &ErrFn<'_>,
) -> Result<Vec<AppSection>, ConfigError> {
    let entries = match root.get("apps") {
        None => return Ok(Vec::new()),
        Some(toml::Value::Array(entries)) => entries,
        Some(other) => {
            return Err(err(
                "apps",
                format!(
                    "expected `[[apps]]` entries (an array of tables), found {}",
                    other.type_str()
                ),
            ))
        }
    };
    let mut sections = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let at = format!("apps[{index}]");
        let toml::Value::Table(table) = entry else {
            return Err(err(
                &at,
                format!("expected a table, found {}", entry.type_str()),
            ));
        };
        sections.push(app_section(table, &at, base, err)?);
    }
    let mut names = std::collections::HashSet::new();
    for section in &sections {
        if let Some(name) = &section.name {
            if !names.insert(name.clone()) {
                return Err(err(
                    &format!("{}.name", section.section),
                    format!("two apps are called `{name}`; give each a name of its own"),
                ));
            }
        }
    }
    Ok(sections)
}

fn app_section(
    table: &toml::Table,
    at: &str,
    base: &Path,
    err: &ErrFn<'_>,
) -> Result<AppSection, ConfigError> {
    let text = |key: &str| -> Result<Option<String>, ConfigError> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(err(
                &format!("{at}.{key}"),
                format!("expected a string, found {}", other.type_str()),
            )),
        }
    };
    let plugin = text("plugin")?.ok_or_else(|| {
        err(
            &format!("{at}.plugin"),
            format!(
                "an app needs its plugin (a built-in name such as \"tictactoe\", or a path); \
                 the node's keys here are {}",
                list(NODE_KEYS)
            ),
        )
    })?;
    let plugin = PluginRef::parse(&plugin, base).map_err(|m| err(&format!("{at}.plugin"), m))?;
    let name = text("name")?;
    if let Some(name) = &name {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            return Err(err(
                &format!("{at}.name"),
                format!("`{name}` is not a name: use letters, digits, `-` and `_`"),
            ));
        }
    }
    let addresses = match table.get("addresses") {
        None => BTreeMap::new(),
        Some(toml::Value::Table(addresses)) => addresses
            .iter()
            .map(|(chain, address)| parse_address(at, chain, address, err))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(err(
                &format!("{at}.addresses"),
                format!(
                    "expected a table of chain id = \"0x...\" address, found {}",
                    other.type_str()
                ),
            ))
        }
    };
    let mut own = table.clone();
    for key in NODE_KEYS {
        own.remove(*key);
    }
    let table =
        toml::to_string(&own).map_err(|e| err(at, format!("cannot re-encode the table: {e}")))?;
    Ok(AppSection {
        section: at.to_string(),
        name,
        plugin,
        addresses,
        table,
    })
}

fn parse_address(
    at: &str,
    chain: &str,
    address: &toml::Value,
    err: &ErrFn<'_>,
) -> Result<(u64, Address), ConfigError> {
    let key = format!("{at}.addresses.{chain}");
    let chain_id: u64 = chain.parse().map_err(|_| {
        err(
            &key,
            format!("`{chain}` is not a chain id (a number, such as 31337)"),
        )
    })?;
    let toml::Value::String(text) = address else {
        return Err(err(
            &key,
            format!(
                "expected an address \"0x...\", found {}",
                address.type_str()
            ),
        ));
    };
    let address: Address = text
        .parse()
        .map_err(|e| err(&key, format!("`{text}` is not an address: {e}")))?;
    if address.0.is_empty() {
        return Err(err(&key, "the address is empty".to_string()));
    }
    Ok((chain_id, address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<AppSection>, ConfigError> {
        let root: toml::Table = toml::from_str(text).unwrap();
        let err = |key: &str, message: String| ConfigError {
            file: "node.toml".into(),
            key: key.to_string(),
            message,
        };
        apps_sections(&root, Path::new("/etc/parley"), &err)
    }

    #[test]
    fn an_app_names_its_plugin_its_addresses_and_keeps_its_own_table() {
        let apps = parse(
            r#"
            [[apps]]
            plugin = "tictactoe"
            name = "ttt"
            level = 3
            [apps.addresses]
            31337 = "0x00000000000000000000000000000000000000aa"
            "#,
        )
        .unwrap();
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].section, "apps[0]");
        assert_eq!(apps[0].name.as_deref(), Some("ttt"));
        assert_eq!(apps[0].plugin, PluginRef::Name("tictactoe".into()));
        assert_eq!(
            apps[0].addresses[&31337].0,
            [vec![0; 19], vec![0xaa]].concat()
        );
        assert_eq!(apps[0].table.trim(), "level = 3");
    }

    #[test]
    fn no_apps_is_fine() {
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn mistakes_name_the_key_and_say_what_is_expected() {
        let cases = [
            ("[apps]\nplugin = \"x\"", "apps", "[[apps]]"),
            (
                "[[apps]]\nname = \"x\"",
                "apps[0].plugin",
                "needs its plugin",
            ),
            (
                "[[apps]]\nplugin = 3",
                "apps[0].plugin",
                "expected a string",
            ),
            (
                "[[apps]]\nplugin = \"x\"\nname = \"a b\"",
                "apps[0].name",
                "not a name",
            ),
            (
                "[[apps]]\nplugin = \"x\"\n[apps.addresses]\nmainnet = \"0x01\"",
                "apps[0].addresses.mainnet",
                "not a chain id",
            ),
            (
                "[[apps]]\nplugin = \"x\"\n[apps.addresses]\n1 = \"0xzz\"",
                "apps[0].addresses.1",
                "not an address",
            ),
            (
                "[[apps]]\nplugin = \"x\"\nname = \"a\"\n[[apps]]\nplugin = \"y\"\nname = \"a\"",
                "apps[1].name",
                "two apps are called `a`",
            ),
        ];
        for (text, key, says) in cases {
            let error = parse(text).unwrap_err();
            assert_eq!(error.key, key, "{text}");
            assert!(error.message.contains(says), "{text}: {}", error.message);
        }
    }
}
