//! The JSON-RPC side: an ethers `Provider<Http>` driven by the plugin's own tokio runtime, and
//! the one way this plugin sends a transaction (estimate, price, sign with k256 0.14, send, wait
//! for the configured confirmations), with node errors mapped onto the plugin error kinds.
//!
//! Every method blocks the calling thread (a node worker thread, or the event thread) on the
//! runtime: no tokio handle crosses the plugin boundary.

use crate::abi::revert_reason;
use crate::config::{GasPricing, Settings};
use crate::crypto::sign_digest;
use ethers_core::types::transaction::eip2718::TypedTransaction;
use ethers_core::types::{
    Address as H160, BlockId, BlockNumber, Bytes, Eip1559TransactionRequest, Filter, Log,
    Signature, TransactionRequest, H256, U256, U64,
};
use ethers_providers::{Http, Middleware, Provider, ProviderError, RpcError};
use k256::ecdsa::SigningKey;
use parley_plugin_api::{PluginError, PluginResult};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A confirmed transaction.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Its hash.
    pub hash: H256,
    /// Gas it used.
    pub gas_used: u64,
}

/// The node connection and the wallet's send path.
pub struct Rpc {
    runtime: tokio::runtime::Runtime,
    provider: Provider<Http>,
    chain_id: u64,
    confirmations: u64,
    gas: GasPricing,
    gas_limit_multiplier: f64,
    tx_timeout: Duration,
    poll: Duration,
    /// One lock per sending account, held from reading the nonce until the node has the
    /// transaction: two threads sending from one account must not pick the same nonce.
    nonce_locks: HashMap<H160, Mutex<()>>,
}

/// Maps an error of a read-only call.
pub fn read_error(what: &str, error: ProviderError) -> PluginError {
    if let Some(response) = error.as_error_response() {
        if let Some(reason) = reverted(response) {
            return PluginError::rejected(format!("{what} reverted: {reason}"));
        }
        return PluginError::internal(format!(
            "{what}: the Ethereum node answered error {} ({})",
            response.code, response.message
        ));
    }
    match error {
        ProviderError::HTTPError(e) => {
            PluginError::unavailable(format!("{what}: the Ethereum node is unreachable: {e}"))
        }
        other => PluginError::unavailable(format!("{what}: {other}")),
    }
}

/// The revert reason of an error response, if it is a revert (or a refusal for lack of funds,
/// which the node reports before anything runs).
fn reverted(response: &ethers_providers::JsonRpcError) -> Option<String> {
    let lower = response.message.to_lowercase();
    if lower.contains("insufficient funds") || lower.contains("exceeds balance") {
        return Some(response.message.clone());
    }
    if response.code == 3 || response.is_revert() {
        let reason = response
            .as_revert_data()
            .and_then(|data| revert_reason(&data))
            .unwrap_or_else(|| response.message.clone());
        return Some(reason);
    }
    None
}

impl Rpc {
    /// Starts the runtime and checks that the node answers with the configured chain id.
    /// `on_thread_start` runs first on each of the runtime's threads (the plugin binds its
    /// instance there, so that the threads' log lines go to its section).
    pub fn connect(
        settings: &Settings,
        accounts: &[H160],
        on_thread_start: impl Fn() + Send + Sync + 'static,
    ) -> PluginResult<Rpc> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("parley-eth-rpc")
            .on_thread_start(on_thread_start)
            .enable_all()
            .build()
            .map_err(|e| PluginError::internal(format!("cannot start the tokio runtime: {e}")))?;
        let provider = Provider::<Http>::try_from(settings.rpc_url.as_str()).map_err(|e| {
            PluginError::config(format!(
                "`rpc_url` `{}` is not a URL: {e}",
                settings.rpc_url
            ))
        })?;
        let rpc = Rpc {
            runtime,
            provider,
            chain_id: settings.chain_id,
            confirmations: settings.confirmations,
            gas: settings.gas.clone(),
            gas_limit_multiplier: settings.gas_limit_multiplier,
            tx_timeout: settings.tx_timeout,
            poll: settings.poll_interval,
            nonce_locks: accounts.iter().map(|a| (*a, Mutex::new(()))).collect(),
        };
        let reported = rpc
            .block_on(rpc.provider.get_chainid())
            .map_err(|e| read_error(&format!("connecting to {}", settings.rpc_url), e))?;
        if reported != U256::from(settings.chain_id) {
            return Err(PluginError::config(format!(
                "`chain_id` is {} but the node at {} serves chain {reported}",
                settings.chain_id, settings.rpc_url
            )));
        }
        Ok(rpc)
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The newest block with the configured number of confirmations (itself included).
    pub fn confirmed_block(&self) -> PluginResult<u64> {
        let head = self
            .block_on(self.provider.get_block_number())
            .map_err(|e| read_error("reading the block number", e))?;
        Ok(head.as_u64().saturating_sub(self.confirmations - 1))
    }

    /// The latest block's timestamp.
    pub fn latest_timestamp(&self) -> PluginResult<u64> {
        let block = self
            .block_on(self.provider.get_block(BlockNumber::Latest))
            .map_err(|e| read_error("reading the latest block", e))?
            .ok_or_else(|| PluginError::unavailable("the node has no latest block"))?;
        Ok(block.timestamp.low_u64())
    }

    /// The ether balance of `owner`.
    pub fn eth_balance(&self, owner: H160) -> PluginResult<U256> {
        self.block_on(self.provider.get_balance(owner, None))
            .map_err(|e| read_error("reading an ether balance", e))
    }

    /// The runtime code at `address` (empty for an account without code).
    pub fn code(&self, address: H160) -> PluginResult<Vec<u8>> {
        self.block_on(self.provider.get_code(address, None))
            .map(|code| code.to_vec())
            .map_err(|e| read_error("reading contract code", e))
    }

    /// A read-only call, at `block` (or the latest block).
    pub fn call(&self, to: H160, data: Vec<u8>, block: Option<u64>) -> PluginResult<Vec<u8>> {
        self.block_on(call_at(&self.provider, to, data, block))
    }

    /// The logs matching `filter`.
    pub fn logs(&self, filter: &Filter) -> PluginResult<Vec<Log>> {
        self.block_on(self.provider.get_logs(filter))
            .map_err(|e| read_error("reading event logs", e))
    }

    /// Test chains only: moves time forward and mines a block; `Unsupported` where the node
    /// does not know the methods.
    pub fn advance_time(&self, seconds: u64) -> PluginResult<u64> {
        let unsupported = |e: ProviderError| match e.as_error_response() {
            Some(response) => PluginError::unsupported(format!(
                "advance_time needs a test chain (anvil) that offers evm_increaseTime and \
                 evm_mine; this node answered: {}",
                response.message
            )),
            None => read_error("advancing time", e),
        };
        self.block_on(
            self.provider
                .request::<_, serde_json::Value>("evm_increaseTime", [U256::from(seconds)]),
        )
        .map_err(unsupported)?;
        self.block_on(
            self.provider
                .request::<_, serde_json::Value>("evm_mine", Vec::<u8>::new()),
        )
        .map_err(unsupported)?;
        self.latest_timestamp()
    }

    /// Sends a transaction from `key`'s account and waits until it has the configured
    /// confirmations. `what` names the operation in errors.
    ///
    /// A transaction the contract would refuse is found by the gas estimate and never sent
    /// (`Rejected` with the revert reason); one that was sent and reverted anyway is
    /// `Rejected` too; one not confirmed within `tx_timeout_seconds` is `Timeout` naming its
    /// hash (it may still be included).
    pub fn send(
        &self,
        key: &SigningKey,
        from: H160,
        to: H160,
        data: Vec<u8>,
        value: U256,
        what: &str,
    ) -> PluginResult<Sent> {
        let mut tx = self.block_on(self.prepare(from, to, data, value, what))?;
        let hash = {
            let _guard = self
                .nonce_locks
                .get(&from)
                .ok_or_else(|| PluginError::internal("no nonce lock for a wallet account"))?
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            self.block_on(self.sign_and_send(&mut tx, key, from, what))?
        };
        self.block_on(self.confirm(hash, &tx, what))
    }

    /// Builds the transaction with its gas limit and fees (everything but the nonce).
    async fn prepare(
        &self,
        from: H160,
        to: H160,
        data: Vec<u8>,
        value: U256,
        what: &str,
    ) -> PluginResult<TypedTransaction> {
        let provider = &self.provider;
        let mut tx: TypedTransaction = match &self.gas {
            GasPricing::Legacy(_) => TransactionRequest::new()
                .from(from)
                .to(to)
                .data(data)
                .value(value)
                .chain_id(self.chain_id)
                .into(),
            GasPricing::Eip1559 { .. } => Eip1559TransactionRequest::new()
                .from(from)
                .to(to)
                .data(data)
                .value(value)
                .chain_id(self.chain_id)
                .into(),
        };
        let estimate = provider
            .estimate_gas(&tx, None)
            .await
            .map_err(|e| send_error(what, e))?;
        let limit = (estimate.as_u128() as f64 * self.gas_limit_multiplier).ceil() as u128;
        tx.set_gas(U256::from(limit.max(21_000)));
        match (&self.gas, &mut tx) {
            (GasPricing::Legacy(price), tx) => {
                tx.set_gas_price(crate::abi::u256(price));
            }
            (
                GasPricing::Eip1559 {
                    max_fee,
                    priority_fee,
                },
                TypedTransaction::Eip1559(inner),
            ) => {
                let (max_fee, priority_fee) = match (max_fee, priority_fee) {
                    (Some(max), Some(tip)) => (crate::abi::u256(max), crate::abi::u256(tip)),
                    _ => {
                        let (node_max, node_tip) = provider
                            .estimate_eip1559_fees(None)
                            .await
                            .map_err(|e| read_error(&format!("{what}: estimating fees"), e))?;
                        let tip = priority_fee
                            .as_ref()
                            .map(crate::abi::u256)
                            .unwrap_or(node_tip);
                        let max = max_fee
                            .as_ref()
                            .map(crate::abi::u256)
                            .unwrap_or(node_max.max(tip));
                        (max, tip)
                    }
                };
                inner.max_fee_per_gas = Some(max_fee);
                inner.max_priority_fee_per_gas = Some(priority_fee.min(max_fee));
            }
            _ => unreachable!("the request type follows the pricing"),
        }
        Ok(tx)
    }

    /// Picks the nonce, signs with k256 0.14 and hands the transaction to the node. The
    /// caller holds the account's nonce lock.
    async fn sign_and_send(
        &self,
        tx: &mut TypedTransaction,
        key: &SigningKey,
        from: H160,
        what: &str,
    ) -> PluginResult<H256> {
        let provider = &self.provider;
        let nonce = provider
            .get_transaction_count(from, Some(BlockNumber::Pending.into()))
            .await
            .map_err(|e| read_error(&format!("{what}: reading the nonce"), e))?;
        tx.set_nonce(nonce);
        let (rs, recovery) = sign_digest(key, &tx.sighash().0);
        let signature = Signature {
            r: U256::from_big_endian(&rs[..32]),
            s: U256::from_big_endian(&rs[32..]),
            // EIP-155 form; ethers turns it into the y-parity for typed transactions.
            v: u64::from(recovery) + 35 + 2 * self.chain_id,
        };
        let pending = provider
            .send_raw_transaction(tx.rlp_signed(&signature))
            .await
            .map_err(|e| send_error(what, e))?;
        Ok(pending.tx_hash())
    }

    /// Waits for `hash` to be included with the configured confirmations.
    async fn confirm(&self, hash: H256, tx: &TypedTransaction, what: &str) -> PluginResult<Sent> {
        let deadline = Instant::now() + self.tx_timeout;
        loop {
            // A receipt can vanish again in a reorg; the loop then waits for the re-inclusion.
            let receipt = self
                .provider
                .get_transaction_receipt(hash)
                .await
                .map_err(|e| read_error(&format!("{what}: reading the receipt of {hash:?}"), e))?;
            if let Some(receipt) = receipt {
                if let Some(block) = receipt.block_number {
                    let head = self
                        .provider
                        .get_block_number()
                        .await
                        .map_err(|e| read_error("reading the block number", e))?;
                    if head.as_u64() + 1 >= block.as_u64() + self.confirmations {
                        if receipt.status != Some(U64::from(1)) {
                            let reason = self.replay_reason(tx, block.as_u64()).await;
                            return Err(PluginError::rejected(format!(
                                "{what}: transaction {hash:?} reverted in block {block}: {reason}"
                            )));
                        }
                        return Ok(Sent {
                            hash,
                            gas_used: receipt.gas_used.map(|g| g.low_u64()).unwrap_or(0),
                        });
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(PluginError::timeout(format!(
                    "{what}: transaction {hash:?} was sent but not confirmed ({} confirmation(s)) \
                     within {} s; it may still be included",
                    self.confirmations,
                    self.tx_timeout.as_secs()
                )));
            }
            tokio::time::sleep(self.poll.min(deadline - now)).await;
        }
    }

    /// Why a mined transaction reverted, found by replaying it as a call on its block's parent
    /// state (exact unless an earlier transaction of the same block changed what it read).
    async fn replay_reason(&self, tx: &TypedTransaction, block: u64) -> String {
        let at = Some(BlockId::Number(BlockNumber::Number(
            block.saturating_sub(1).into(),
        )));
        match self.provider.call(tx, at).await {
            Ok(_) => "no reason given".into(),
            Err(e) => match e.as_error_response().and_then(reverted) {
                Some(reason) => reason,
                None => "no reason given".into(),
            },
        }
    }
}

/// Maps an error of estimating or sending a transaction.
fn send_error(what: &str, error: ProviderError) -> PluginError {
    if let Some(response) = error.as_error_response() {
        if let Some(reason) = reverted(response) {
            return PluginError::rejected(format!("{what} was refused: {reason}"));
        }
    }
    read_error(what, error)
}

/// A read-only call as a future, for use inside other futures.
pub async fn call_at(
    provider: &Provider<Http>,
    to: H160,
    data: Vec<u8>,
    block: Option<u64>,
) -> PluginResult<Vec<u8>> {
    let tx: TypedTransaction = TransactionRequest::new().to(to).data(data).into();
    let at = block.map(|n| BlockId::Number(BlockNumber::Number(n.into())));
    provider
        .call(&tx, at)
        .await
        .map(|bytes: Bytes| bytes.to_vec())
        .map_err(|e| read_error("a contract call", e))
}
