//! The committed contract artifacts (`contracts/artifacts/<Name>.json`: `contractName`, `abi`,
//! `bytecode`), compiled into the binary so that `parley eth deploy` works from anywhere, and
//! the creation code of a deployment (bytecode followed by the ABI-encoded constructor
//! arguments). The app contracts come with the name of the built-in App plugin that is their
//! off-chain twin ([`APPS`]).

use ethers_core::abi::{self, Token};
use serde_json::Value;

/// One contract as committed.
#[derive(Debug, Clone, Copy)]
pub struct Artifact {
    /// The contract's name.
    pub name: &'static str,
    json: &'static str,
}

/// The Adjudicator; no constructor arguments.
pub const ADJUDICATOR: Artifact = Artifact {
    name: "Adjudicator",
    json: include_str!("../../../../contracts/artifacts/Adjudicator.json"),
};

/// AssetHolderETH(address adjudicator).
pub const ASSET_HOLDER_ETH: Artifact = Artifact {
    name: "AssetHolderETH",
    json: include_str!("../../../../contracts/artifacts/AssetHolderETH.json"),
};

/// The test token, PerunToken(address[] accounts, uint256 initBalance).
pub const PERUN_TOKEN: Artifact = Artifact {
    name: "PerunToken",
    json: include_str!("../../../../contracts/artifacts/PerunToken.json"),
};

/// AssetHolderERC20(address adjudicator, address token).
pub const ASSET_HOLDER_ERC20: Artifact = Artifact {
    name: "AssetHolderERC20",
    json: include_str!("../../../../contracts/artifacts/AssetHolderERC20.json"),
};

/// TicTacToeApp; no constructor arguments.
pub const TICTACTOE_APP: Artifact = Artifact {
    name: "TicTacToeApp",
    json: include_str!("../../../../contracts/artifacts/TicTacToeApp.json"),
};

/// HashLockApp; no constructor arguments.
pub const HASHLOCK_APP: Artifact = Artifact {
    name: "HashLockApp",
    json: include_str!("../../../../contracts/artifacts/HashLockApp.json"),
};

/// An app contract and the built-in App plugin that checks the same rules off chain (the
/// `plugin` of its `[[apps]]` entry).
#[derive(Debug, Clone, Copy)]
pub struct AppArtifact {
    /// The contract.
    pub artifact: Artifact,
    /// The plugin's built-in name.
    pub plugin: &'static str,
}

/// The app contracts `parley eth deploy` puts on chain, in deployment order.
pub const APPS: [AppArtifact; 2] = [
    AppArtifact {
        artifact: TICTACTOE_APP,
        plugin: "tictactoe",
    },
    AppArtifact {
        artifact: HASHLOCK_APP,
        plugin: "hashlock",
    },
];

/// PerunToken's `decimals()` (a constant of the contract).
pub const PERUN_TOKEN_DECIMALS: u8 = 18;

impl Artifact {
    fn parsed(&self) -> Result<Value, String> {
        serde_json::from_str(self.json).map_err(|e| {
            format!(
                "the embedded artifact of {} is not JSON ({e}); rebuild parley",
                self.name
            )
        })
    }

    /// The constructor's parameter types as the ABI lists them (`[]` without a constructor).
    #[cfg(test)]
    fn constructor_types(&self) -> Result<Vec<String>, String> {
        let json = self.parsed()?;
        let abi = json["abi"].as_array().cloned().unwrap_or_default();
        Ok(abi
            .iter()
            .find(|item| item["type"] == "constructor")
            .and_then(|c| c["inputs"].as_array())
            .map(|inputs| {
                inputs
                    .iter()
                    .map(|i| i["type"].as_str().unwrap_or("?").to_owned())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The creation code: the bytecode, then `args` ABI-encoded (as the constructor takes them).
    pub fn creation_code(&self, args: &[Token]) -> Result<Vec<u8>, String> {
        let json = self.parsed()?;
        let code = json["bytecode"]
            .as_str()
            .map(|c| c.strip_prefix("0x").unwrap_or(c))
            .filter(|c| !c.is_empty())
            .ok_or_else(|| format!("the embedded artifact of {} has no bytecode", self.name))?;
        let mut bytes = hex::decode(code).map_err(|e| {
            format!(
                "the embedded bytecode of {} is not hex ({e}); it may need linking",
                self.name
            )
        })?;
        bytes.extend(abi::encode(args));
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ethers_core::types::{H160, U256};

    #[test]
    fn the_artifacts_have_the_constructors_the_deployment_calls() {
        for (artifact, types) in [
            (ADJUDICATOR, vec![]),
            (ASSET_HOLDER_ETH, vec!["address"]),
            (PERUN_TOKEN, vec!["address[]", "uint256"]),
            (ASSET_HOLDER_ERC20, vec!["address", "address"]),
            (TICTACTOE_APP, vec![]),
            (HASHLOCK_APP, vec![]),
        ] {
            let json = artifact.parsed().unwrap();
            assert_eq!(json["contractName"], artifact.name);
            assert_eq!(
                artifact.constructor_types().unwrap(),
                types,
                "{}",
                artifact.name
            );
            assert!(artifact.creation_code(&[]).unwrap().len() > 1000);
        }
    }

    #[test]
    fn every_app_contract_is_paired_with_the_built_in_plugin_of_its_rules() {
        let pairs: Vec<(&str, &str)> = APPS
            .iter()
            .map(|app| (app.artifact.name, app.plugin))
            .collect();
        assert_eq!(
            pairs,
            [("TicTacToeApp", "tictactoe"), ("HashLockApp", "hashlock")]
        );
        // A bare plugin name is the library `libparley_<name>.so` the workspace builds.
        let plugins = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
        for app in APPS {
            let manifest = std::fs::read_to_string(plugins.join(app.plugin).join("Cargo.toml"))
                .unwrap_or_else(|e| panic!("no built-in plugin {}: {e}", app.plugin));
            let library = format!("name = \"parley_{}\"", app.plugin);
            assert!(manifest.contains(&library), "{}: {library}", app.plugin);
        }
    }

    #[test]
    fn constructor_arguments_follow_the_bytecode() {
        let plain = PERUN_TOKEN.creation_code(&[]).unwrap();
        let args = [
            Token::Array(vec![Token::Address(H160::repeat_byte(0xaa))]),
            Token::Uint(U256::from(7)),
        ];
        let code = PERUN_TOKEN.creation_code(&args).unwrap();
        assert_eq!(&code[..plain.len()], &plain[..]);
        // Head (offset, amount), then the array: length 1 and one address.
        let tail = &code[plain.len()..];
        assert_eq!(tail.len(), 4 * 32);
        assert_eq!(tail[63], 7);
        assert_eq!(tail[95], 1);
        assert_eq!(&tail[108..128], &[0xaa; 20]);
    }
}
