//! Parsing a plugin's table from `node.toml` with errors that name the key.

use crate::error::{PluginError, PluginResult};
use serde::de::DeserializeOwned;
use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Parses the plugin's table (the text the constructor receives) into `T`.
///
/// Give `T` `#[serde(deny_unknown_fields)]` so that a misspelled key is an error, and defaults
/// for everything optional. Every error names the `node.toml` section and the offending key
/// (dotted for nested tables, with an index for arrays) and says what was expected, for
/// example:
/// `[store] in node.toml: unknown field `map_sise`, expected `path` or `map_size``, or
/// `[store] in node.toml: `map_size`: invalid type: string "big", expected u64`.
pub fn parse_table<T: DeserializeOwned>(text: &str, section: &str) -> PluginResult<T> {
    toml::from_str(text).map_err(|error| {
        let message = error.message().trim();
        // No line number: the node hands plugins their table re-encoded, so lines would not
        // match the user's file; the key name is what locates the mistake. serde names the key
        // itself only for unknown and missing fields; a wrong type or value is found by where
        // the error points.
        let key = error
            .span()
            .and_then(|span| key_at(text, &span))
            .filter(|key| !message.contains(&format!("`{}`", key.leaf)));
        match key {
            Some(key) => PluginError::config(format!(
                "[{section}] in node.toml: `{}`: {message}",
                key.path
            )),
            None => PluginError::config(format!("[{section}] in node.toml: {message}")),
        }
    })
}

/// The largest `max_frame_size` [`frame_sizes`] accepts: 1 GiB. A frame is held in memory
/// whole on both sides, so anything near the 4 GiB a u32 length header allows would be a
/// memory hazard long before it is a wire limit.
pub const MAX_FRAME_SIZE_LIMIT: u64 = 1 << 30;

/// The outbox [`frame_sizes`] gives a connection when `max_outbox_bytes` is not set (unless
/// `max_frame_size` is larger): room for two frames of a 16 MiB `max_frame_size`, or thousands
/// of channel messages.
pub const DEFAULT_MAX_OUTBOX_BYTES: u64 = 32 << 20;

/// A transport's frame and outbox sizes, checked ([`frame_sizes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSizes {
    /// The largest frame `send` accepts and the reader delivers.
    pub max_frame_size: usize,
    /// The most one connection's outbox holds before `send` answers `Unavailable`; at least
    /// `max_frame_size`, so that one frame always fits an empty outbox.
    pub max_outbox_bytes: usize,
}

/// Checks the `max_frame_size` and `max_outbox_bytes` keys of a transport's table in
/// `section`, the way the built-in transports read them: `max_frame_size` from 1 to
/// [`MAX_FRAME_SIZE_LIMIT`]; `max_outbox_bytes` from `max_frame_size` to 4 GiB, or, when
/// `None`, the larger of [`DEFAULT_MAX_OUTBOX_BYTES`] and `max_frame_size`. An error names
/// the section and the key.
pub fn frame_sizes(
    section: &str,
    max_frame_size: u64,
    max_outbox_bytes: Option<u64>,
) -> PluginResult<FrameSizes> {
    let bad = |key: &str, problem: String| {
        PluginError::config(format!("[{section}] in node.toml: `{key}` {problem}"))
    };
    if max_frame_size == 0 || max_frame_size > MAX_FRAME_SIZE_LIMIT {
        return Err(bad(
            "max_frame_size",
            format!(
                "is {max_frame_size} bytes; it must be between 1 and {MAX_FRAME_SIZE_LIMIT} (1 GiB)"
            ),
        ));
    }
    let outbox = match max_outbox_bytes {
        None => max_frame_size.max(DEFAULT_MAX_OUTBOX_BYTES),
        Some(bytes) if bytes < max_frame_size || bytes > MAX_FRAME_SIZE_LIMIT * 4 => {
            return Err(bad(
                "max_outbox_bytes",
                format!(
                    "is {bytes} bytes; it must be at least max_frame_size ({max_frame_size}) so \
                     that one frame fits, and at most {} (4 GiB)",
                    MAX_FRAME_SIZE_LIMIT * 4
                ),
            ))
        }
        Some(bytes) => bytes,
    };
    Ok(FrameSizes {
        max_frame_size: usize::try_from(max_frame_size).unwrap_or(usize::MAX),
        max_outbox_bytes: usize::try_from(outbox).unwrap_or(usize::MAX),
    })
}

/// A key found in a table's text.
struct KeyPath {
    /// Dotted from the table's top, with array indexes: `prefund.ETH`, `assets[1]`.
    path: String,
    /// The last key's own name (`ETH`, `assets`), which an error message may already quote.
    leaf: String,
}

/// The innermost key whose name or value covers `span` of `text`, if any.
fn key_at(text: &str, span: &Range<usize>) -> Option<KeyPath> {
    let table = DeTable::parse(text).ok()?;
    in_table(table.get_ref(), "", span)
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

fn in_table(table: &DeTable<'_>, prefix: &str, span: &Range<usize>) -> Option<KeyPath> {
    table.iter().find_map(|(key, value)| {
        let name = key.get_ref().to_string();
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        // Deeper keys first: a table's span may cover all of its entries.
        in_value(value, &path, &name, span).or_else(|| {
            (covers(&key.span(), span) || covers(&value.span(), span))
                .then_some(KeyPath { path, leaf: name })
        })
    })
}

/// A key inside `value` (a table or an array) covering `span`.
fn in_value(
    value: &Spanned<DeValue<'_>>,
    path: &str,
    leaf: &str,
    span: &Range<usize>,
) -> Option<KeyPath> {
    match value.get_ref() {
        DeValue::Table(table) => in_table(table, path, span),
        DeValue::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            let path = format!("{path}[{index}]");
            in_value(item, &path, leaf, span).or_else(|| {
                covers(&item.span(), span).then(|| KeyPath {
                    path,
                    leaf: leaf.to_string(),
                })
            })
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        path: String,
        #[serde(default)]
        map_size: u64,
        #[serde(default)]
        durable: bool,
        #[serde(default)]
        names: Vec<String>,
        #[serde(default)]
        limits: BTreeMap<String, u32>,
    }

    fn message(text: &str) -> String {
        parse_table::<Example>(text, "store")
            .unwrap_err()
            .message()
            .to_string()
    }

    #[test]
    fn unknown_key_is_named() {
        let error = message("path = \"x\"\nmap_sise = 3\n");
        assert!(error.contains("map_sise"), "{error}");
        assert!(error.contains("[store]"), "{error}");
        // Named once: serde's message already quotes it.
        assert_eq!(error.matches("map_sise").count(), 1, "{error}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let error = message("path = 5\n");
        assert!(error.contains("string"), "{error}");
        assert!(error.contains("`path`"), "{error}");
        for (text, key, expected) in [
            ("path = \"x\"\nmap_size = \"big\"\n", "`map_size`", "u64"),
            (
                "path = \"x\"\ndurable = \"yes\"\n",
                "`durable`",
                "a boolean",
            ),
            ("path = \"x\"\nmap_size = -1\n", "`map_size`", "u64"),
        ] {
            let error = message(text);
            assert!(error.starts_with("[store] in node.toml: "), "{error}");
            assert!(error.contains(key), "{text}: {error}");
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn nested_keys_are_dotted_and_indexed() {
        let error = message("path = \"x\"\nnames = [\"a\", 7]\n");
        assert!(error.contains("`names[1]`"), "{error}");
        let error = message("path = \"x\"\n[limits]\nreaders = \"many\"\n");
        assert!(error.contains("`limits.readers`"), "{error}");
        let error = message("path = \"x\"\nlimits = { readers = true }\n");
        assert!(error.contains("`limits.readers`"), "{error}");
    }

    #[test]
    fn a_missing_key_is_named_by_serde() {
        let error = message("map_size = 3\n");
        assert!(error.contains("missing field `path`"), "{error}");
    }

    #[test]
    fn a_valid_table_parses() {
        let example: Example = parse_table(
            "path = \"x\"\nmap_size = 3\ndurable = true\nnames = [\"a\"]\n[limits]\nr = 2\n",
            "store",
        )
        .unwrap();
        assert_eq!(example.map_size, 3);
        assert_eq!(example.limits["r"], 2);
    }

    #[test]
    fn frame_sizes_default_the_outbox_and_name_a_bad_key() {
        let sizes = frame_sizes("wire", 16 << 20, None).unwrap();
        assert_eq!(
            (sizes.max_frame_size, sizes.max_outbox_bytes),
            (16 << 20, 32 << 20)
        );
        let sizes = frame_sizes("wire", 64 << 20, None).unwrap();
        assert_eq!(sizes.max_outbox_bytes, 64 << 20);
        for (frame, outbox, key) in [
            (0, None, "`max_frame_size`"),
            (MAX_FRAME_SIZE_LIMIT + 1, None, "`max_frame_size`"),
            (1000, Some(999), "`max_outbox_bytes`"),
        ] {
            let error = frame_sizes("wire", frame, outbox).unwrap_err();
            assert!(
                error.message().starts_with("[wire] in node.toml: "),
                "{error}"
            );
            assert!(error.message().contains(key), "{error}");
        }
    }
}
