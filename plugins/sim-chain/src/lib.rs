//! # parley-plugin-sim-chain
//!
//! Parley's simulated ledger: a [`ChainBackend`](parley_plugin_api::ChainBackend) that enforces
//! exactly the rules of the project's Perun-compatible contracts in `contracts/src` (DESIGN §8:
//! register and refute, progress of app channels, conclude after the timeout, conclude_final,
//! setOutcome with under-funding, authorised withdrawals paid once), with Ethereum's cryptography (secp256k1 keys, 20-byte addresses,
//! 65-byte `r ‖ s ‖ v` signatures over the "Ethereum Signed Message" prefix, keccak-256 ids), so
//! that what works on it works on Ethereum.
//!
//! The ledger lives in one LMDB environment. With `ledger = "<dir>"` it is shared by every
//! process and instance naming that directory (two `parley` processes on one machine see one
//! chain); without it each instance has a private ledger in a temporary directory.
//!
//! ## Configuration (`[chain]` table, every key optional)
//!
//! | key                | default                   | meaning                                        |
//! |--------------------|---------------------------|------------------------------------------------|
//! | `chain_id`         | `1337`                    | the chain id                                   |
//! | `ledger`           | (embedded)                | shared ledger directory, relative to node.toml |
//! | `assets`           | `["ETH", "TOK"]`          | asset names (18 decimals each)                 |
//! | `accounts`         | `1`                       | wallet keys, `account-<i>.key` in `key_dir`    |
//! | `key_dir`          | `<data_dir>/sim-chain`    | where the keys are kept (mode 0600)            |
//! | `prefund`          | 1000·10^18 of each asset  | asset name -> amount, credited once per account|
//! | `block_time`       | `1`                       | seconds per block; `0`: only `advance_time`    |
//! | `poll_interval_ms` | `50`                      | event log polling                              |
//!
//! Asset holder address of asset `NAME`: the first 20 bytes of keccak256("parley-sim-asset:NAME").
//! Built-in app: the turn counter ([`apps::TurnCounter`]) at the first 20 bytes of
//! keccak256("parley-sim-app:counter"). Every other app is the node's: `progress` asks the host
//! for the rules of the app at the channel's app address (`Host::app`, the `[[apps]]` of
//! `node.toml`) and enforces the same plugin the node runs off chain, as the app's contract
//! does on Ethereum.
//!
//! What it is not: a blockchain. There are no blocks, gas, mempool or reorgs; every call is one
//! atomic ledger transaction that is "confirmed" when it returns.

pub mod apps;
mod backend;
mod config;
pub mod crypto;
mod ecrecover;
mod ecsign;
mod events;
mod ledger;
mod rules;
mod wallet;

pub use backend::SimChain;
pub use config::SimChainConfig;

parley_plugin_api::export_plugin! {
    kind: Chain,
    name: "sim-chain",
    description: "A simulated ledger with the Perun contracts' rules, in an LMDB file that processes can share",
    check_config: "accounts = 2",
    new: SimChain::new,
}

#[cfg(test)]
mod test_apps;
#[cfg(test)]
mod tests;
