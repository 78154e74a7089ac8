//! The plugin's table of `node.toml`, parsed and validated in one place. Errors name the section
//! and the key; no error or log line ever contains key material.

use crate::abi::{eth_address, model_address};
use crate::crypto::read_key_file;
use crate::rpc::check_url;
use crate::tx::{GasPricing, TxSettings};
use ethers_core::types::H160;
use k256::ecdsa::SigningKey;
use parley_plugin_api::config::parse_table;
use parley_plugin_api::model::{Amount, Asset, AssetInfo};
use parley_plugin_api::{Host, PluginError, PluginResult};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The keys of the table, as written (see the crate doc for their meaning).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EthereumConfig {
    rpc_url: String,
    chain_id: u64,
    adjudicator: String,
    #[serde(default)]
    eth_holder: Option<String>,
    #[serde(default)]
    erc20: Vec<Erc20Config>,
    #[serde(default)]
    key_file: Option<PathBuf>,
    #[serde(default)]
    key_files: Vec<PathBuf>,
    #[serde(default = "default_confirmations")]
    confirmations: u64,
    #[serde(default)]
    max_fee_per_gas: Option<Amount>,
    #[serde(default)]
    max_priority_fee_per_gas: Option<Amount>,
    #[serde(default)]
    gas_price: Option<Amount>,
    #[serde(default = "default_gas_limit_multiplier")]
    gas_limit_multiplier: f64,
    #[serde(default = "default_tx_timeout_seconds")]
    tx_timeout_seconds: u64,
    #[serde(default = "default_poll_interval_ms")]
    poll_interval_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Erc20Config {
    name: String,
    token: String,
    holder: String,
    #[serde(default = "default_decimals")]
    decimals: u8,
}

fn default_confirmations() -> u64 {
    1
}
fn default_gas_limit_multiplier() -> f64 {
    1.2
}
fn default_tx_timeout_seconds() -> u64 {
    120
}
fn default_poll_interval_ms() -> u64 {
    500
}
fn default_decimals() -> u8 {
    18
}

/// How an asset is paid in and out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetKind {
    /// Ether, sent as the deposit's value.
    Eth,
    /// An ERC20 token at this address, approved to the holder before the deposit.
    Erc20(H160),
}

/// A configured asset with its holder contract.
#[derive(Debug, Clone)]
pub struct AssetConfig {
    /// What `info` reports.
    pub info: AssetInfo,
    /// The asset holder contract.
    pub holder: H160,
    /// Ether or which token.
    pub kind: AssetKind,
}

/// The validated configuration.
pub struct Settings {
    /// The JSON-RPC endpoint.
    pub rpc_url: String,
    /// The chain id the node must report.
    pub chain_id: u64,
    /// The Adjudicator contract.
    pub adjudicator: H160,
    /// The assets, ETH first if configured, then the ERC20 tokens in order.
    pub assets: Vec<AssetConfig>,
    /// The wallet keys, in configuration order.
    pub keys: Vec<SigningKey>,
    /// Blocks a transaction's block must have on top of it, itself included, before a call
    /// returns; events are reported from blocks this deep only.
    pub confirmations: u64,
    /// Fee settings.
    pub gas: GasPricing,
    /// The node's gas estimate is multiplied by this.
    pub gas_limit_multiplier: f64,
    /// How long to wait for a sent transaction to be confirmed.
    pub tx_timeout: Duration,
    /// How often receipts, holdings and logs are polled.
    pub poll_interval: Duration,
}

impl std::fmt::Debug for Settings {
    // Never prints the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("rpc_url", &self.rpc_url)
            .field("chain_id", &self.chain_id)
            .field("adjudicator", &self.adjudicator)
            .field("assets", &self.assets)
            .field("keys", &format_args!("{} key(s)", self.keys.len()))
            .field("confirmations", &self.confirmations)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Parses and validates the table, reading the key files.
    pub fn parse(text: &str, host: &Host) -> PluginResult<Settings> {
        let section = host.section().to_string();
        let config: EthereumConfig = parse_table(text, &section)?;
        let bad = |key: &str, what: String| {
            PluginError::config(format!("[{section}] in node.toml: `{key}` {what}"))
        };
        let address = |key: &str, text: &str| -> PluginResult<H160> {
            let digits = text.strip_prefix("0x").unwrap_or(text);
            hex::decode(digits)
                .ok()
                .and_then(|bytes| eth_address(&bytes, key).ok())
                .ok_or_else(|| {
                    bad(
                        key,
                        format!("must be a 20-byte hex address like 0x5FbD...0aa3, got `{text}`"),
                    )
                })
        };

        let url = config.rpc_url.trim().to_string();
        check_url(&url).map_err(|why| bad("rpc_url", format!("`{url}` {why}")))?;
        if config.chain_id == 0 {
            return Err(bad("chain_id", "must not be 0".into()));
        }
        let adjudicator = address("adjudicator", &config.adjudicator)?;

        let mut assets = Vec::new();
        if let Some(holder) = &config.eth_holder {
            let holder = address("eth_holder", holder)?;
            assets.push(asset(config.chain_id, "ETH", 18, holder, AssetKind::Eth));
        }
        for (i, token) in config.erc20.iter().enumerate() {
            let key = format!("erc20[{i}]");
            if token.name.trim().is_empty() {
                return Err(bad(&format!("{key}.name"), "must not be empty".into()));
            }
            if assets
                .iter()
                .any(|a: &AssetConfig| a.info.name == token.name)
            {
                return Err(bad(
                    &format!("{key}.name"),
                    format!("`{}` names an asset twice", token.name),
                ));
            }
            let holder = address(&format!("{key}.holder"), &token.holder)?;
            let contract = address(&format!("{key}.token"), &token.token)?;
            assets.push(asset(
                config.chain_id,
                &token.name,
                token.decimals,
                holder,
                AssetKind::Erc20(contract),
            ));
        }
        if assets.is_empty() {
            return Err(bad(
                "eth_holder",
                "is missing and `erc20` is empty: configure at least one asset".into(),
            ));
        }
        for (i, a) in assets.iter().enumerate() {
            if assets[..i].iter().any(|b| b.holder == a.holder) {
                return Err(PluginError::config(format!(
                    "[{section}] in node.toml: two assets share the holder contract {}",
                    a.info.asset.holder
                )));
            }
        }

        let paths: Vec<(String, PathBuf)> =
            match (&config.key_file, config.key_files.is_empty()) {
                (Some(_), false) => {
                    return Err(bad(
                        "key_file",
                        "and `key_files` are both set; use one of them".into(),
                    ))
                }
                (Some(path), true) => vec![("key_file".into(), host.resolve_path(path))],
                (None, false) => config
                    .key_files
                    .iter()
                    .enumerate()
                    .map(|(i, path)| (format!("key_files[{i}]"), host.resolve_path(path)))
                    .collect(),
                (None, true) => return Err(bad(
                    "key_file",
                    "is missing: name a file holding the account's secret key as 64 hex digits \
                     (mode 0600), or list several in `key_files`"
                        .into(),
                )),
            };
        let keys = paths
            .iter()
            .map(|(key, path)| read_key_file(path).map_err(|why| bad(key, why)))
            .collect::<PluginResult<Vec<_>>>()?;

        if config.confirmations == 0 {
            return Err(bad(
                "confirmations",
                "must be at least 1 (the block holding the transaction)".into(),
            ));
        }
        let gas = match (
            config.gas_price,
            config.max_fee_per_gas,
            config.max_priority_fee_per_gas,
        ) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(bad(
                    "gas_price",
                    "(legacy pricing) cannot be combined with `max_fee_per_gas` or \
                     `max_priority_fee_per_gas` (EIP-1559 pricing)"
                        .into(),
                ))
            }
            (Some(price), None, None) => GasPricing::Legacy(Some(price)),
            (None, max_fee, priority_fee) => {
                if let (Some(max), Some(tip)) = (max_fee, priority_fee) {
                    if tip > max {
                        return Err(bad(
                            "max_priority_fee_per_gas",
                            format!("({tip}) exceeds `max_fee_per_gas` ({max})"),
                        ));
                    }
                }
                GasPricing::Eip1559 {
                    max_fee,
                    priority_fee,
                }
            }
        };
        if !(config.gas_limit_multiplier.is_finite()
            && (1.0..=10.0).contains(&config.gas_limit_multiplier))
        {
            return Err(bad(
                "gas_limit_multiplier",
                format!(
                    "must be between 1.0 and 10.0, got {}",
                    config.gas_limit_multiplier
                ),
            ));
        }
        if config.tx_timeout_seconds == 0 {
            return Err(bad("tx_timeout_seconds", "must be at least 1".into()));
        }
        if config.poll_interval_ms == 0 {
            return Err(bad("poll_interval_ms", "must be at least 1".into()));
        }
        Ok(Settings {
            rpc_url: url,
            chain_id: config.chain_id,
            adjudicator,
            assets,
            keys,
            confirmations: config.confirmations,
            gas,
            gas_limit_multiplier: config.gas_limit_multiplier,
            tx_timeout: Duration::from_secs(config.tx_timeout_seconds),
            poll_interval: Duration::from_millis(config.poll_interval_ms),
        })
    }

    /// How the wallet's transactions are priced and awaited.
    pub fn tx_settings(&self) -> TxSettings {
        TxSettings {
            gas: self.gas.clone(),
            gas_limit_multiplier: self.gas_limit_multiplier,
            timeout: self.tx_timeout,
            poll_interval: self.poll_interval,
        }
    }

    /// The configured asset equal to `asset`, or `InvalidArgument` listing the known ones.
    pub fn asset(&self, asset: &Asset) -> PluginResult<&AssetConfig> {
        self.assets
            .iter()
            .find(|a| &a.info.asset == asset)
            .ok_or_else(|| {
                let known: Vec<String> = self
                    .assets
                    .iter()
                    .map(|a| format!("{} = {}", a.info.name, a.info.asset))
                    .collect();
                PluginError::invalid(format!(
                    "asset {asset} is not configured in this Ethereum plugin ({})",
                    known.join(", ")
                ))
            })
    }
}

fn asset(chain_id: u64, name: &str, decimals: u8, holder: H160, kind: AssetKind) -> AssetConfig {
    AssetConfig {
        info: AssetInfo {
            name: name.to_string(),
            decimals,
            asset: Asset {
                chain_id,
                holder: model_address(holder),
            },
        },
        holder,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::conformance::TestHost;
    use parley_plugin_api::ErrorKind;
    use std::path::Path;

    const SECRET: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const ADJ: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    const HOLDER: &str = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
    const TOKEN: &str = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
    const TOKEN_HOLDER: &str = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9";

    fn write_key(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        path
    }

    fn table(extra: &str) -> String {
        format!(
            "rpc_url = \"http://127.0.0.1:8545\"\nchain_id = 31337\nadjudicator = \"{ADJ}\"\n\
             eth_holder = \"{HOLDER}\"\nkey_file = \"k0\"\n{extra}"
        )
    }

    fn parse_in(host: &TestHost, text: &str) -> PluginResult<Settings> {
        Settings::parse(text, &Host::new(host.context()))
    }

    fn host_with_key() -> TestHost {
        let host = TestHost::new("chain");
        write_key(host.data_dir(), "k0", &format!("0x{SECRET}\n"), 0o600);
        host
    }

    #[test]
    fn a_minimal_table_gives_the_defaults() {
        let host = host_with_key();
        let settings = parse_in(&host, &table("")).unwrap();
        assert_eq!(settings.chain_id, 31337);
        assert_eq!(settings.confirmations, 1);
        assert_eq!(settings.keys.len(), 1);
        assert_eq!(settings.assets.len(), 1);
        assert_eq!(settings.assets[0].info.name, "ETH");
        assert_eq!(settings.assets[0].kind, AssetKind::Eth);
        assert_eq!(
            settings.gas,
            GasPricing::Eip1559 {
                max_fee: None,
                priority_fee: None
            }
        );
        assert_eq!(settings.tx_timeout, Duration::from_secs(120));
        // Debug output never shows the key.
        assert!(!format!("{settings:?}").contains(&SECRET[..16]));
    }

    #[test]
    fn erc20_assets_follow_eth_in_order() {
        let host = host_with_key();
        let extra = format!(
            "[[erc20]]\nname = \"PRN\"\ntoken = \"{TOKEN}\"\nholder = \"{TOKEN_HOLDER}\"\ndecimals = 6\n"
        );
        let settings = parse_in(&host, &table(&extra)).unwrap();
        let names: Vec<&str> = settings
            .assets
            .iter()
            .map(|a| a.info.name.as_str())
            .collect();
        assert_eq!(names, ["ETH", "PRN"]);
        assert_eq!(settings.assets[1].info.decimals, 6);
        assert!(matches!(settings.assets[1].kind, AssetKind::Erc20(_)));
    }

    #[test]
    fn a_key_file_others_can_read_is_refused_naming_the_key() {
        let host = TestHost::new("chain");
        write_key(host.data_dir(), "k0", SECRET, 0o644);
        let error = parse_in(&host, &table("")).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidConfig);
        assert!(error.message().contains("`key_file`"), "{error}");
        assert!(error.message().contains("chmod 600"), "{error}");
        assert!(!error.message().contains(&SECRET[..16]), "{error}");
    }

    #[test]
    fn a_malformed_key_file_is_refused_without_showing_it() {
        let host = TestHost::new("chain");
        write_key(host.data_dir(), "k0", "0x1234secretish", 0o600);
        let error = parse_in(&host, &table("")).unwrap_err();
        assert!(error.message().contains("64 hex digits"), "{error}");
        assert!(!error.message().contains("secretish"), "{error}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let host = host_with_key();
        for (extra, key) in [
            ("confirmations = 0\n", "`confirmations`"),
            ("gas_price = 1\nmax_fee_per_gas = 2\n", "`gas_price`"),
            ("gas_limit_multiplier = 0.5\n", "`gas_limit_multiplier`"),
            ("tx_timeout_seconds = 0\n", "`tx_timeout_seconds`"),
            (
                "max_fee_per_gas = 1\nmax_priority_fee_per_gas = 2\n",
                "`max_priority_fee_per_gas`",
            ),
            ("colour = 1\n", "colour"),
        ] {
            let error = parse_in(&host, &table(extra)).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidConfig, "{extra}");
            assert!(error.message().contains(key), "{extra}: {error}");
        }
        let bad_address = table("").replace(ADJ, "0x1234");
        let error = parse_in(&host, &bad_address).unwrap_err();
        assert!(error.message().contains("`adjudicator`"), "{error}");
        let no_assets = table("").replace(&format!("eth_holder = \"{HOLDER}\"\n"), "");
        let error = parse_in(&host, &no_assets).unwrap_err();
        assert!(error.message().contains("at least one asset"), "{error}");
        let https = table("").replace("http://", "https://");
        if !cfg!(feature = "tls") {
            let error = parse_in(&host, &https).unwrap_err();
            assert!(error.message().contains("`tls` feature"), "{error}");
        }
    }

    #[test]
    fn legacy_pricing_is_recognised() {
        let host = host_with_key();
        let settings = parse_in(&host, &table("gas_price = \"2000000000\"\n")).unwrap();
        assert_eq!(
            settings.gas,
            GasPricing::Legacy(Some(Amount::from(2_000_000_000u64)))
        );
    }
}
