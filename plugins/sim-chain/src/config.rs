//! The `[chain]` table of `node.toml` for the sim chain, parsed and validated in one place.

use crate::crypto::asset_holder;
use crate::wallet::default_key_dir;
use parley_plugin_api::config::parse_table;
use parley_plugin_api::model::{Amount, Asset, AssetInfo};
use parley_plugin_api::{Host, PluginError, PluginResult};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The keys of the sim chain's table. Every key is optional; an empty table gives an embedded
/// ledger with one funded account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimChainConfig {
    /// The chain id (default 1337).
    #[serde(default = "default_chain_id")]
    pub chain_id: u64,
    /// Directory of a ledger shared by every process and instance naming it; relative to the
    /// directory of `node.toml`. Absent: a private ledger in a temporary directory.
    #[serde(default)]
    pub ledger: Option<PathBuf>,
    /// Asset names (default `["ETH", "TOK"]`).
    #[serde(default = "default_assets")]
    pub assets: Vec<String>,
    /// How many wallet keys (default 1).
    #[serde(default = "default_accounts")]
    pub accounts: usize,
    /// Where the keys are kept (default `<data_dir>/sim-chain`).
    #[serde(default)]
    pub key_dir: Option<PathBuf>,
    /// Asset name -> amount credited to each of our accounts the first time the ledger sees
    /// it (default 1000 * 10^18 of every asset).
    #[serde(default)]
    pub prefund: Option<BTreeMap<String, Amount>>,
    /// Seconds per simulated block; 0 = time only moves by `advance_time` (default 1).
    #[serde(default = "default_block_time")]
    pub block_time: u64,
    /// How often the event log is polled, in milliseconds (default 50).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
}

fn default_chain_id() -> u64 {
    1337
}

fn default_assets() -> Vec<String> {
    vec!["ETH".into(), "TOK".into()]
}

fn default_accounts() -> usize {
    1
}

fn default_block_time() -> u64 {
    1
}

fn default_poll_interval_ms() -> u64 {
    50
}

/// 1000 whole units with 18 decimals.
fn default_prefund() -> Amount {
    Amount::from_u128(1000 * 10u128.pow(18))
}

/// The most accounts one instance may ask for; a guard against a typo creating a million files.
const MAX_ACCOUNTS: usize = 1000;

/// The validated configuration with paths resolved and assets derived.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The chain id.
    pub chain_id: u64,
    /// The shared ledger directory, or `None` for an embedded ledger.
    pub ledger: Option<PathBuf>,
    /// The assets, in configuration order.
    pub assets: Vec<AssetInfo>,
    /// Number of wallet keys.
    pub accounts: usize,
    /// The key directory.
    pub key_dir: PathBuf,
    /// What each new account of ours is credited with.
    pub prefund: Vec<(Asset, Amount)>,
    /// Seconds per block (0: manual time).
    pub block_time: u64,
    /// Event log polling interval.
    pub poll_interval: Duration,
}

impl Settings {
    /// Parses and validates the table; errors name the section and the key.
    pub fn parse(text: &str, host: &Host) -> PluginResult<Settings> {
        let config: SimChainConfig = parse_table(text, host.section())?;
        let section = host.section();
        let bad = |key: &str, what: String| {
            PluginError::config(format!("[{section}] in node.toml: `{key}` {what}"))
        };
        if config.accounts == 0 || config.accounts > MAX_ACCOUNTS {
            return Err(bad(
                "accounts",
                format!(
                    "must be between 1 and {MAX_ACCOUNTS}, got {}",
                    config.accounts
                ),
            ));
        }
        if config.poll_interval_ms == 0 {
            return Err(bad("poll_interval_ms", "must be at least 1".into()));
        }
        if config.assets.is_empty() {
            return Err(bad("assets", "must name at least one asset".into()));
        }
        for (i, name) in config.assets.iter().enumerate() {
            if name.trim().is_empty() {
                return Err(bad("assets", format!("entry {i} is an empty name")));
            }
            if config.assets[..i].contains(name) {
                return Err(bad("assets", format!("names `{name}` twice")));
            }
        }
        let assets: Vec<AssetInfo> = config
            .assets
            .iter()
            .map(|name| AssetInfo {
                name: name.clone(),
                decimals: 18,
                asset: Asset {
                    chain_id: config.chain_id,
                    holder: asset_holder(name),
                },
            })
            .collect();
        let prefund = match &config.prefund {
            None => assets
                .iter()
                .map(|info| (info.asset.clone(), default_prefund()))
                .collect(),
            Some(table) => table
                .iter()
                .map(|(name, amount)| {
                    let info = assets
                        .iter()
                        .find(|info| &info.name == name)
                        .ok_or_else(|| {
                            bad(
                                "prefund",
                                format!(
                                    "names asset `{name}`, which is not in `assets` ({})",
                                    config.assets.join(", ")
                                ),
                            )
                        })?;
                    Ok((info.asset.clone(), *amount))
                })
                .collect::<PluginResult<Vec<_>>>()?,
        };
        Ok(Settings {
            chain_id: config.chain_id,
            ledger: config.ledger.map(|path| host.resolve_path(path)),
            assets,
            accounts: config.accounts,
            key_dir: config
                .key_dir
                .map(|path| host.resolve_path(path))
                .unwrap_or_else(|| default_key_dir(&host.data_dir())),
            prefund,
            block_time: config.block_time,
            poll_interval: Duration::from_millis(config.poll_interval_ms),
        })
    }

    /// The configured asset equal to `asset`, or `InvalidArgument` listing the known ones.
    pub fn asset(&self, asset: &Asset) -> PluginResult<&AssetInfo> {
        self.assets
            .iter()
            .find(|info| &info.asset == asset)
            .ok_or_else(|| {
                let known: Vec<String> = self
                    .assets
                    .iter()
                    .map(|info| format!("{} = {}", info.name, info.asset))
                    .collect();
                PluginError::invalid(format!(
                    "asset {asset} is not one of this sim chain's assets ({})",
                    known.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::conformance::TestHost;
    use parley_plugin_api::ErrorKind;

    fn parse(text: &str) -> PluginResult<Settings> {
        let host = TestHost::new("chain");
        Settings::parse(text, &Host::new(host.context()))
    }

    #[test]
    fn an_empty_table_gives_the_defaults() {
        let settings = parse("").unwrap();
        assert_eq!(settings.chain_id, 1337);
        assert_eq!(settings.accounts, 1);
        assert_eq!(settings.block_time, 1);
        assert!(settings.ledger.is_none());
        let names: Vec<&str> = settings.assets.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["ETH", "TOK"]);
        assert_eq!(settings.prefund.len(), 2);
        assert_eq!(settings.prefund[0].1, default_prefund());
        assert!(settings.key_dir.ends_with("sim-chain"));
    }

    #[test]
    fn an_unknown_key_is_named() {
        let error = parse("acounts = 2\n").unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidConfig);
        assert!(error.message().contains("acounts"), "{error}");
        assert!(error.message().contains("[chain]"), "{error}");
    }

    #[test]
    fn an_unknown_asset_in_prefund_is_named() {
        let error = parse("prefund = { ETH = \"5\", USD = \"7\" }\n").unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidConfig);
        assert!(error.message().contains("`USD`"), "{error}");
        assert!(error.message().contains("prefund"), "{error}");
    }

    #[test]
    fn prefund_takes_strings_and_integers() {
        let settings = parse("prefund = { ETH = \"5000000000000000000000\", TOK = 7 }\n").unwrap();
        assert_eq!(settings.prefund[0].1.to_string(), "5000000000000000000000");
        assert_eq!(settings.prefund[1].1, Amount::from(7u64));
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        for (text, key) in [
            ("accounts = \"two\"\n", "`accounts`"),
            ("assets = [\"ETH\", 5]\n", "`assets[1]`"),
            ("prefund = { ETH = true }\n", "`prefund.ETH`"),
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidConfig);
            assert!(error.message().contains("[chain]"), "{error}");
            assert!(error.message().contains(key), "{text}: {error}");
        }
    }

    #[test]
    fn zero_accounts_are_refused() {
        let error = parse("accounts = 0\n").unwrap_err();
        assert!(error.message().contains("`accounts`"), "{error}");
    }

    #[test]
    fn relative_paths_resolve_against_the_config_dir() {
        let host = TestHost::new("chain");
        let settings =
            Settings::parse("ledger = \"shared/ledger\"\n", &Host::new(host.context())).unwrap();
        assert_eq!(
            settings.ledger.unwrap(),
            host.data_dir().join("shared/ledger")
        );
    }
}
