//! # parley-ethereum
//!
//! Parley's Ethereum ledger as a library: a [`ChainBackend`](parley_plugin_api::ChainBackend)
//! over the Perun-compatible contracts of `contracts/` (Adjudicator, AssetHolderETH,
//! AssetHolderERC20), or any deployment with the Perun v1.0.0 ABI (DESIGN §8,
//! contracts/README.md), reached over JSON-RPC with ethers. At start every configured contract must have code, and the
//! Adjudicator and holders must use v1.0.0's `setOutcome(bytes32,(address,bytes)[],uint256[])`
//! (an older Perun deployment could never pay a concluded channel out, so it is refused).
//!
//! - **Encoding** ([`abi`]): `abi.encode` of the Solidity structs; channel id, funding id and
//!   the state digest exactly as the contracts compute them. Signatures ([`crypto`]) are k256
//!   0.14 (fast: `sign_state`/`verify_state` are on the update path), 65 bytes `r ‖ s ‖ v`
//!   over the "Ethereum Signed Message" prefix.
//! - **Threads.** A connection ([`rpc::Rpc`]) owns a tokio runtime (one worker,
//!   `parley-eth-rpc`); waiting calls block the caller's thread (for the plugin, the node's
//!   worker thread) on it. Events come from one plugin thread (`parley-eth-events`) that polls
//!   `eth_getLogs` while any channel is watched.
//! - **Transactions** go one way ([`tx::Sender`], also `parley eth deploy`'s way to create
//!   the contracts): estimated first (a call the contract would revert is `Rejected` with the
//!   revert reason and never sent), priced (EIP-1559 or legacy), signed locally, sent, and
//!   awaited until their block has `confirmations` blocks (itself included). Not confirmed
//!   within `tx_timeout_seconds`: `Timeout` naming the hash (it may still be included). A node
//!   that cannot be reached, or does not answer a request within 30 s: `Unavailable`. The
//!   library's errors are [`RpcError`]s, which the backend maps onto these kinds.
//! - **Reorgs.** Transactions, holdings read by `fund`, dispute records and events count only
//!   from blocks `confirmations` deep. 1 (the default) suits a dev chain such as anvil, whose
//!   blocks are final; on a public chain use the depth its finality needs (e.g. 12 or more on
//!   Ethereum mainnet without finality checks). On an automining dev chain keep it at 1: no
//!   further blocks come unless something sends transactions.
//!
//! What it is not: a plugin by itself (the thin crate in `plugin/` exports [`Ethereum`] as
//! `libparley_ethereum.so`; the node links this library for `parley eth deploy`, which must not
//! carry the plugin's exported symbols); the backend deploys nothing (the contracts must be
//! deployed and named in the table), and it keeps no state on disk.
//!
//! ## Configuration (`[chain]` table)
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `rpc_url` | required | JSON-RPC endpoint; `https://` needs the crate's `tls` feature |
//! | `chain_id` | required | must equal the node's `eth_chainId` (checked at start) |
//! | `adjudicator` | required | the Adjudicator's address |
//! | `eth_holder` | none | AssetHolderETH's address: asset `ETH` (18 decimals) |
//! | `erc20` | `[]` | tokens: `[[erc20]]` tables with `name`, `token`, `holder`, `decimals` (18) |
//! | `key_file` | | a file with one secret key as 64 hex digits, mode 0600 (checked) |
//! | `key_files` | | several such files (accounts in that order); instead of `key_file` |
//! | `confirmations` | `1` | depth before a transaction or event counts (see Reorgs) |
//! | `max_fee_per_gas`, `max_priority_fee_per_gas` | from the node | EIP-1559 fees in wei |
//! | `gas_price` | | legacy pricing in wei instead of EIP-1559 |
//! | `gas_limit_multiplier` | `1.2` | margin on the node's gas estimate (1.0 to 10.0) |
//! | `tx_timeout_seconds` | `120` | how long to wait for a transaction's confirmations |
//! | `poll_interval_ms` | `500` | receipts, funding and event polling |
//!
//! At least one asset is required. Every contract address must hold code (checked at start).
//! Key material never appears in logs or errors. Encrypted keystores are not supported yet.

pub mod abi;
mod backend;
pub mod calldata;
mod config;
pub mod crypto;
mod error;
mod events;
mod on_record;
pub mod rpc;
pub mod tx;

pub use backend::Ethereum;
pub use error::RpcError;
