//! Parsing a plugin's table from `node.toml` with errors that name the key.

use crate::error::{PluginError, PluginResult};
use serde::de::DeserializeOwned;

/// Parses the plugin's table (the text the constructor receives) into `T`.
///
/// Give `T` `#[serde(deny_unknown_fields)]` so that a misspelled key is an error, and defaults
/// for everything optional. The error names the `node.toml` section and the offending key, line
/// and expectation, for example:
/// `[store] in node.toml: unknown field `map_sise`, expected `path` or `map_size``.
pub fn parse_table<T: DeserializeOwned>(text: &str, section: &str) -> PluginResult<T> {
    toml::from_str(text).map_err(|error| {
        // No line number: the node hands plugins their table re-encoded, so lines would not
        // match the user's file; the key name is what locates the mistake.
        PluginError::config(format!(
            "[{section}] in node.toml: {}",
            error.message().trim()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        path: String,
        #[serde(default)]
        map_size: u64,
    }

    #[test]
    fn unknown_key_is_named() {
        let error = parse_table::<Example>("path = \"x\"\nmap_sise = 3\n", "store").unwrap_err();
        assert!(error.message().contains("map_sise"), "{error}");
        assert!(error.message().contains("[store]"), "{error}");
    }

    #[test]
    fn wrong_type_is_named() {
        let error = parse_table::<Example>("path = 5\n", "store").unwrap_err();
        assert!(error.message().contains("string"), "{error}");
    }
}
