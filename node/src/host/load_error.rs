//! Why a plugin did not load, in one sentence each, with abi_stable's long reports kept aside
//! for `--verbose`.

use parley_plugin_api::{PluginError, PluginKind, API_CRATE_VERSION, PLUGIN_ABI_VERSION};
use std::fmt;
use std::path::PathBuf;

/// A plugin that could not be loaded or instantiated.
#[derive(Debug)]
pub struct LoadError {
    /// The library file.
    pub path: PathBuf,
    /// What went wrong (boxed: errors travel far and should stay small).
    pub reason: Box<LoadFailure>,
    /// Long diagnostics (abi_stable's layout report), shown only with `--verbose`.
    pub details: Option<String>,
}

/// The ways loading fails.
#[derive(Debug)]
pub enum LoadFailure {
    /// No file at the path.
    Missing {
        /// The `plugin` value as written, if it was a bare name.
        bare_name: Option<String>,
    },
    /// The dynamic loader refused the file.
    NotALibrary(String),
    /// A shared library without a Parley descriptor.
    NotAPlugin,
    /// A descriptor this node cannot read.
    BadDescriptor(String),
    /// Built against another plugin ABI version.
    AbiVersion {
        /// The plugin's name.
        name: String,
        /// The plugin's own version.
        version: String,
        /// The ABI version it was built for.
        found: u32,
        /// The plugin-api crate version it was built with.
        api_crate_version: String,
    },
    /// The right ABI version but a layout abi_stable refuses (or another abi_stable failure).
    Layout {
        /// The plugin's name.
        name: String,
        /// One line from abi_stable.
        summary: String,
    },
    /// A plugin of another kind than the section needs.
    WrongKind {
        /// The section.
        section: String,
        /// The plugin's name.
        name: String,
        /// What the section needs.
        expected: PluginKind,
        /// What the plugin is.
        found: PluginKind,
    },
    /// The plugin's constructor returned an error (usually its table in node.toml).
    Instantiate {
        /// The section.
        section: String,
        /// The plugin's name.
        name: String,
        /// The plugin's error.
        error: PluginError,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.reason.as_ref() {
            LoadFailure::Missing {
                bare_name: Some(name),
            } => write!(
                f,
                "plugin `{name}` not found: expected {path}; build the built-in plugins with \
                 `cargo build --workspace`, set {} to the directory holding them, or give the \
                 library's path in node.toml",
                crate::config::PLUGIN_DIR_ENV
            ),
            LoadFailure::Missing { bare_name: None } => write!(
                f,
                "plugin library {path} does not exist; check the `plugin` path in node.toml"
            ),
            LoadFailure::NotALibrary(why) => write!(
                f,
                "{path} cannot be loaded as a shared library ({why}); a plugin must be a \
                 cdylib built for this platform"
            ),
            LoadFailure::NotAPlugin => write!(
                f,
                "{path} is a shared library but not a Parley plugin: it exports no \
                 PARLEY_PLUGIN_DESCRIPTOR; plugins are built with \
                 parley_plugin_api::export_plugin!"
            ),
            LoadFailure::BadDescriptor(why) => write!(
                f,
                "{path} has a Parley plugin descriptor this node cannot read ({why}); rebuild \
                 the plugin against this node's parley-plugin-api"
            ),
            LoadFailure::AbiVersion {
                name,
                version,
                found,
                api_crate_version,
            } => write!(
                f,
                "plugin `{name}` {version} ({path}) was built for plugin ABI {found} \
                 (parley-plugin-api {api_crate_version}), this node speaks ABI \
                 {PLUGIN_ABI_VERSION} (parley-plugin-api {API_CRATE_VERSION}); rebuild the \
                 plugin against parley-plugin-api {API_CRATE_VERSION}",
            ),
            LoadFailure::Layout { name, summary } => write!(
                f,
                "plugin `{name}` ({path}) declares ABI {PLUGIN_ABI_VERSION} but its interface \
                 does not match this node's ({summary}); rebuild it against this node's \
                 parley-plugin-api (run with --verbose for the layout report)"
            ),
            LoadFailure::WrongKind {
                section,
                name,
                expected,
                found,
            } => write!(
                f,
                "[{section}] names plugin `{name}` ({path}), which is a {found} plugin, not a \
                 {expected} plugin; name a {expected} plugin there"
            ),
            LoadFailure::Instantiate {
                section,
                name,
                error,
            } => write!(f, "plugin `{name}` for [{section}] did not start: {error}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// The first line of a long abi_stable report, for the one-sentence summary.
pub(crate) fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut line = line.to_string();
    if line.len() > 160 {
        line.truncate(157);
        line.push_str("...");
    }
    line
}
