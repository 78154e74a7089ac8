//! What `parley eth deploy` prints: the `[chain]` table of node.toml for the Ethereum plugin
//! (its key names and nesting, see `plugins/ethereum/src/config.rs`) followed by one `[[apps]]`
//! entry per app contract (see `node/src/config/apps.rs`), or with `--json` one document with
//! the same facts and the deployment's details.
//!
//! The `[[apps]]` entries come after the whole `[chain]` table: a table header ends the one
//! before it, so the operator pastes both and every key lands where it belongs.

use super::deploy::Deployed;
use ethers_core::types::{H160, U256};
use ethers_core::utils::to_checksum;
use serde_json::{json, Value};
use std::path::PathBuf;

/// Printed for `key_file` when `--node-key-file` is not given: each node has its own account.
pub const KEY_FILE_PLACEHOLDER: &str =
    "<path to this node's own key file: 64 hex digits, mode 0600>";

/// The facts of the `[chain]` table.
#[derive(Debug, Clone)]
pub struct ChainTable {
    /// The JSON-RPC endpoint.
    pub rpc_url: String,
    /// The chain id the node reported.
    pub chain_id: u64,
    /// The Adjudicator.
    pub adjudicator: H160,
    /// AssetHolderETH.
    pub eth_holder: H160,
    /// The node's own key file, if the operator named it.
    pub key_file: Option<PathBuf>,
    /// The confirmation depth.
    pub confirmations: u64,
    /// The token and its holder.
    pub erc20: Erc20,
}

/// One `[[chain.erc20]]` entry.
#[derive(Debug, Clone)]
pub struct Erc20 {
    /// The asset's name in Parley.
    pub name: String,
    /// The token contract.
    pub token: H160,
    /// AssetHolderERC20 for it.
    pub holder: H160,
    /// The token's decimals.
    pub decimals: u8,
}

/// One app contract on chain: its `[[apps]]` entry.
#[derive(Debug, Clone)]
pub struct AppEntry {
    /// The contract's name (`TicTacToeApp`).
    pub contract: &'static str,
    /// The built-in App plugin with its rules (`tictactoe`).
    pub plugin: &'static str,
    /// The contract's address.
    pub address: H160,
}

impl AppEntry {
    /// The `[[apps]]` entry naming the contract's address on chain `chain_id`.
    pub fn to_toml(&self, chain_id: u64) -> String {
        format!(
            "[[apps]]\n\
             plugin = {}\n\
             [apps.addresses]\n\
             {chain_id} = \"{}\"\n",
            quoted(self.plugin),
            address(self.address),
        )
    }

    /// The entry in `--json`'s `apps` list.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.contract,
            "plugin": self.plugin,
            "address": address(self.address),
        })
    }
}

/// What goes to stdout without `--json`: the `[chain]` table, then each app's entry, each
/// after a blank line.
pub fn to_toml(table: &ChainTable, apps: &[AppEntry]) -> String {
    let mut text = table.to_toml();
    for app in apps {
        text.push('\n');
        text.push_str(&app.to_toml(table.chain_id));
    }
    text
}

/// An address as EIP-55 mixed-case hex.
pub fn address(a: H160) -> String {
    to_checksum(&a, None)
}

/// A TOML basic string, escaped.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

impl ChainTable {
    /// The table as TOML, ready to paste into node.toml.
    pub fn to_toml(&self) -> String {
        let key_file = match &self.key_file {
            Some(path) => path.display().to_string(),
            None => KEY_FILE_PLACEHOLDER.to_owned(),
        };
        let t = &self.erc20;
        format!(
            "[chain]\n\
             plugin = \"ethereum\"\n\
             rpc_url = {}\n\
             chain_id = {}\n\
             adjudicator = \"{}\"\n\
             eth_holder = \"{}\"\n\
             key_file = {}\n\
             confirmations = {}\n\
             [[chain.erc20]]\n\
             name = {}\n\
             token = \"{}\"\n\
             holder = \"{}\"\n\
             decimals = {}\n",
            quoted(&self.rpc_url),
            self.chain_id,
            address(self.adjudicator),
            address(self.eth_holder),
            quoted(&key_file),
            self.confirmations,
            quoted(&t.name),
            address(t.token),
            address(t.holder),
            t.decimals,
        )
    }

    /// The table as JSON (the same keys; `key_file` is null when not named).
    pub fn to_json(&self) -> Value {
        let t = &self.erc20;
        json!({
            "plugin": "ethereum",
            "rpc_url": self.rpc_url,
            "chain_id": self.chain_id,
            "adjudicator": address(self.adjudicator),
            "eth_holder": address(self.eth_holder),
            "key_file": self.key_file.as_ref().map(|p| p.display().to_string()),
            "confirmations": self.confirmations,
            "erc20": [{
                "name": t.name,
                "token": address(t.token),
                "holder": address(t.holder),
                "decimals": t.decimals,
            }],
        })
    }
}

/// The `--json` document: the table under `chain`, the app contracts under `apps`, then who
/// deployed what and the token supply.
pub fn report_json(
    table: &ChainTable,
    apps: &[AppEntry],
    deployer: H160,
    deployed: &[Deployed],
    supplied: &[H160],
    amount: U256,
) -> Value {
    json!({
        "chain": table.to_json(),
        "apps": apps.iter().map(AppEntry::to_json).collect::<Vec<_>>(),
        "deployer": address(deployer),
        "contracts": deployed.iter().map(|d| json!({
            "name": d.name,
            "address": address(d.address),
            "transaction": format!("{:?}", d.transaction),
            "block": d.block,
            "gas_used": d.gas_used,
        })).collect::<Vec<_>>(),
        "token_supply": {
            "accounts": supplied.iter().map(|a| address(*a)).collect::<Vec<_>>(),
            "amount_each": amount.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PluginRef;
    use std::path::Path;

    fn table(key_file: Option<&str>) -> ChainTable {
        ChainTable {
            rpc_url: "http://127.0.0.1:8545".into(),
            chain_id: 31337,
            adjudicator: "0x5fbdb2315678afecb367f032d93f642f64180aa3"
                .parse()
                .unwrap(),
            eth_holder: H160::repeat_byte(2),
            key_file: key_file.map(PathBuf::from),
            confirmations: 1,
            erc20: Erc20 {
                name: "T\"OK".into(),
                token: H160::repeat_byte(3),
                holder: H160::repeat_byte(4),
                decimals: 18,
            },
        }
    }

    #[test]
    fn the_toml_has_the_plugins_keys_and_round_trips() {
        let text = table(None).to_toml();
        assert!(
            text.starts_with("[chain]\nplugin = \"ethereum\"\n"),
            "{text}"
        );
        assert!(
            text.contains("adjudicator = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\""),
            "{text}"
        );
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        let chain = parsed["chain"].as_table().unwrap();
        let mut keys: Vec<&str> = chain.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "adjudicator",
                "chain_id",
                "confirmations",
                "erc20",
                "eth_holder",
                "key_file",
                "plugin",
                "rpc_url"
            ]
        );
        assert_eq!(chain["key_file"].as_str(), Some(KEY_FILE_PLACEHOLDER));
        assert_eq!(chain["chain_id"].as_integer(), Some(31337));
        let token = &chain["erc20"].as_array().unwrap()[0];
        assert_eq!(token["name"].as_str(), Some("T\"OK"));
        assert_eq!(token["decimals"].as_integer(), Some(18));

        // The JSON form states the same facts.
        let json = table(Some("/keys/node.key")).to_json();
        assert_eq!(json["key_file"], "/keys/node.key");
        assert_eq!(json["adjudicator"], chain["adjudicator"].as_str().unwrap());
        assert_eq!(
            json["erc20"][0]["holder"],
            token["holder"].as_str().unwrap()
        );
        assert_eq!(table(None).to_json()["key_file"], Value::Null);
    }

    fn apps() -> Vec<AppEntry> {
        vec![
            AppEntry {
                contract: "TicTacToeApp",
                plugin: "tictactoe",
                address: H160::repeat_byte(5),
            },
            AppEntry {
                contract: "HashLockApp",
                plugin: "hashlock",
                address: H160::repeat_byte(6),
            },
        ]
    }

    #[test]
    fn the_apps_follow_the_chain_table_and_each_key_lands_where_it_belongs() {
        let text = to_toml(&table(None), &apps());
        assert!(
            text.contains(
                "\n\n[[apps]]\nplugin = \"tictactoe\"\n[apps.addresses]\n\
                 31337 = \"0x0505050505050505050505050505050505050505\"\n"
            ),
            "{text}"
        );
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        // The [chain] table kept its keys and its one token; no app key leaked into it.
        let chain = parsed["chain"].as_table().unwrap();
        assert_eq!(chain.len(), 8, "{chain:?}");
        assert_eq!(chain["erc20"].as_array().unwrap().len(), 1);
        let entries = parsed["apps"].as_array().unwrap();
        let read: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| {
                assert_eq!(e.as_table().unwrap().len(), 2, "{e:?}");
                let addresses = e["addresses"].as_table().unwrap();
                assert_eq!(addresses.len(), 1, "{e:?}");
                (
                    e["plugin"].as_str().unwrap(),
                    addresses["31337"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            read,
            [
                ("tictactoe", "0x0505050505050505050505050505050505050505"),
                ("hashlock", "0x0606060606060606060606060606060606060606"),
            ]
        );

        // The node's own parser takes the output, pasted under a [node] section, as it is.
        let config = format!("[node]\ndata_dir = \"data\"\n\n{text}");
        let config = crate::config::NodeConfig::parse(&config, Path::new("/n/node.toml")).unwrap();
        let plugins: Vec<_> = config.apps.iter().map(|a| a.plugin.clone()).collect();
        assert_eq!(
            plugins,
            [
                PluginRef::Name("tictactoe".into()),
                PluginRef::Name("hashlock".into())
            ]
        );
        assert_eq!(config.apps[1].addresses[&31337].0, vec![6; 20]);

        // No apps: the table alone.
        assert_eq!(to_toml(&table(None), &[]), table(None).to_toml());
    }

    #[test]
    fn the_json_report_lists_the_apps_by_contract_plugin_and_address() {
        let report = report_json(&table(None), &apps(), H160::zero(), &[], &[], U256::one());
        assert_eq!(
            report["apps"],
            json!([
                {"name": "TicTacToeApp", "plugin": "tictactoe",
                 "address": "0x0505050505050505050505050505050505050505"},
                {"name": "HashLockApp", "plugin": "hashlock",
                 "address": "0x0606060606060606060606060606060606060606"},
            ])
        );
        assert_eq!(report["chain"]["chain_id"], 31337);
    }
}
