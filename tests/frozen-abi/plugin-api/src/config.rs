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

