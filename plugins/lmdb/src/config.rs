//! The `[store]` table of `node.toml` for this plugin, parsed and validated in one place.

use parley_plugin_api::config::parse_table;
use parley_plugin_api::{Host, PluginError, PluginResult};
use serde::Deserialize;
use std::path::PathBuf;

/// One mebibyte, the unit of `map_size_mib`.
const MIB: usize = 1024 * 1024;

/// The plugin's table as written in `node.toml`. Every key is optional: an empty table opens a
/// durable store of 1 GiB under `<data_dir>/store`.
///
/// ```toml
/// [store]
/// plugin = "lmdb"
/// path = "data/store"   # default: <data_dir>/store; relative to node.toml
/// map_size_mib = 1024   # the most the store can ever hold; the file grows only as needed
/// durable = true        # false: benchmarks only, see below
/// commit_log = true     # false: every commit is an LMDB transaction of its own
/// max_readers = 126     # concurrent read transactions (LMDB's default)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The directory holding the LMDB environment (`data.mdb`, `lock.mdb`). Created if missing.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The size of the memory map in MiB: the largest the store can grow. LMDB reserves address
    /// space, not disk, so a generous value costs nothing. Must be at least 1.
    #[serde(default = "default_map_size_mib")]
    pub map_size_mib: u64,
    /// `true` (the default): every commit is on disk when it returns.
    ///
    /// **`false` is for benchmarks only.** The environment is then opened with LMDB's `NO_SYNC`:
    /// commits return before the operating system has written them. A crash of the process
    /// loses nothing (the writes are in the OS page cache), but an operating-system crash or
    /// power loss **may lose the most recent commits** (a node could then forget a state it
    /// already signed) and, as LMDB documents for `NO_SYNC`, may even leave the file corrupt.
    #[serde(default = "default_durable")]
    pub durable: bool,
    /// `true` (the default): a durable commit is appended to the store's commit log (files
    /// `log-0`, `log-1` and `log-checkpoint` beside `data.mdb`) and synced once; a background
    /// thread writes the logged commits into LMDB about once a second, and opening the store
    /// replays those it had not written. `false`: each commit is its own LMDB transaction,
    /// which syncs twice. No effect with `durable = false`.
    ///
    /// A store written with the log is read correctly by a node of an earlier version only
    /// after this one closed it cleanly (which writes the log into LMDB), not after a crash.
    #[serde(default = "default_commit_log")]
    pub commit_log: bool,
    /// The most read transactions that may be open at once across all threads (and processes)
    /// using this environment. LMDB's default (126) when absent.
    #[serde(default)]
    pub max_readers: Option<u32>,
}

fn default_map_size_mib() -> u64 {
    1024
}

fn default_durable() -> bool {
    true
}

fn default_commit_log() -> bool {
    true
}

/// What opening the environment needs, with paths resolved and sizes in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The environment directory, as configured (not yet created or canonicalised).
    pub path: PathBuf,
    /// The map size in bytes.
    pub map_size: usize,
    /// Whether commits are synced to disk before they return.
    pub durable: bool,
    /// Whether durable commits go through the commit log.
    pub commit_log: bool,
    /// The reader table size, if configured.
    pub max_readers: Option<u32>,
    /// The `node.toml` section, for messages.
    pub section: String,
}

impl Settings {
    /// Parses and validates the table `text` for the instance hosted by `host`.
    pub fn from_table(text: &str, host: &Host) -> PluginResult<Settings> {
        let config: StoreConfig = parse_table(text, host.section())?;
        let section = host.section().to_string();
        if config.map_size_mib == 0 {
            return Err(PluginError::config(format!(
                "[{section}] in node.toml: map_size_mib must be at least 1 (the store can hold \
                 at most map_size_mib MiB); the default is 1024"
            )));
        }
        let map_size = usize::try_from(config.map_size_mib)
            .ok()
            .and_then(|mib| mib.checked_mul(MIB))
            .ok_or_else(|| {
                PluginError::config(format!(
                    "[{section}] in node.toml: map_size_mib = {} does not fit in this machine's \
                     address space; use a smaller value",
                    config.map_size_mib
                ))
            })?;
        if config.max_readers == Some(0) {
            return Err(PluginError::config(format!(
                "[{section}] in node.toml: max_readers must be at least 1 (or left out for \
                 LMDB's default of 126)"
            )));
        }
        let path = match &config.path {
            Some(path) if path.as_os_str().is_empty() => {
                return Err(PluginError::config(format!(
                    "[{section}] in node.toml: path is empty; give a directory or leave the key \
                     out for <data_dir>/store"
                )));
            }
            Some(path) => host.resolve_path(path),
            None => host.data_dir().join("store"),
        };
        Ok(Settings {
            path,
            map_size,
            durable: config.durable,
            commit_log: config.commit_log,
            max_readers: config.max_readers,
            section,
        })
    }

    /// `map_size` in MiB, for messages.
    pub fn map_size_mib(&self) -> usize {
        self.map_size / MIB
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::{host_context, ErrorKind, LogLevel};
    use std::path::Path;

    fn host(data_dir: &Path, config_dir: &Path) -> Host {
        Host::new(host_context(
            "store",
            data_dir,
            config_dir,
            LogLevel::Warn,
            |_, _, _| {},
            |_| {},
        ))
    }

    fn settings(text: &str) -> PluginResult<Settings> {
        Settings::from_table(text, &host(Path::new("/data"), Path::new("/etc/parley")))
    }

    #[test]
    fn an_empty_table_gives_the_defaults() {
        let settings = settings("").unwrap();
        assert_eq!(settings.path, Path::new("/data/store"));
        assert_eq!(settings.map_size, 1024 * MIB);
        assert_eq!(settings.map_size_mib(), 1024);
        assert!(settings.durable);
        assert!(settings.commit_log);
        assert_eq!(settings.max_readers, None);
    }

    #[test]
    fn every_key_is_read() {
        let settings = settings(
            "path = \"/var/parley\"\nmap_size_mib = 64\ndurable = false\nmax_readers = 8\n\
             commit_log = false\n",
        )
        .unwrap();
        assert!(!settings.commit_log);
        assert_eq!(settings.path, Path::new("/var/parley"));
        assert_eq!(settings.map_size, 64 * MIB);
        assert!(!settings.durable);
        assert_eq!(settings.max_readers, Some(8));
    }

    #[test]
    fn a_relative_path_is_relative_to_node_toml() {
        let settings = settings("path = \"state/db\"\n").unwrap();
        assert_eq!(settings.path, Path::new("/etc/parley/state/db"));
    }

    #[test]
    fn an_unknown_key_is_named() {
        let error = settings("map_sise_mib = 64\n").unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidConfig);
        assert!(error.message().contains("map_sise_mib"), "{error}");
        assert!(error.message().contains("[store]"), "{error}");
    }

    #[test]
    fn a_zero_map_size_is_refused() {
        let error = settings("map_size_mib = 0\n").unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidConfig);
        assert!(error.message().contains("map_size_mib"), "{error}");
    }

    #[test]
    fn a_map_size_beyond_the_address_space_is_refused() {
        let error = settings(&format!("map_size_mib = {}\n", i64::MAX)).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidConfig);
        assert!(error.message().contains("address space"), "{error}");
    }

    #[test]
    fn zero_readers_and_an_empty_path_are_refused() {
        let error = settings("max_readers = 0\n").unwrap_err();
        assert!(error.message().contains("max_readers"), "{error}");
        let error = settings("path = \"\"\n").unwrap_err();
        assert!(error.message().contains("path is empty"), "{error}");
    }

    #[test]
    fn a_wrong_type_is_refused_naming_the_section_and_key() {
        for (text, key) in [
            ("durable = \"yes\"\n", "`durable`"),
            ("map_size_mib = \"big\"\n", "`map_size_mib`"),
            ("max_readers = -1\n", "`max_readers`"),
        ] {
            let error = settings(text).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidConfig);
            assert!(error.message().contains("[store]"), "{error}");
            assert!(error.message().contains(key), "{text}: {error}");
        }
    }
}
