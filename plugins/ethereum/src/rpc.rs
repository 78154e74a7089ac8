//! The connection to an Ethereum node: an ethers `Provider<Http>` driven by a tokio runtime of
//! its own, and the reads that the backend, the transaction path ([`crate::tx`]) and `parley
//! eth deploy` make. Every method blocks the calling thread (a node worker thread, the event
//! thread, or the CLI's main thread) on the runtime: no tokio handle crosses the plugin
//! boundary. Every request has [`REQUEST_TIMEOUT`] to be answered.

use crate::error::RpcError;
use ethers_core::types::transaction::eip2718::TypedTransaction;
use ethers_core::types::{
    Address as H160, Block, BlockId, BlockNumber, Filter, Log, TransactionRequest, H256, U256,
};
use ethers_providers::{Http, Middleware, Provider, ProviderError};
use std::future::Future;
use std::time::Duration;

/// How long one request may take, connecting included: a node that hangs is reported, not
/// waited for forever.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to one node, on one chain.
pub struct Rpc {
    runtime: tokio::runtime::Runtime,
    pub(crate) provider: Provider<Http>,
    url: String,
    chain_id: u64,
    confirmations: u64,
}

/// Whether `url` can be used as an endpoint: `http://`, or `https://` when this crate has its
/// `tls` feature. The error completes "`url` …".
pub fn check_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") && !cfg!(feature = "tls") {
        return Err(
            "is an https:// URL, but this build speaks plain HTTP only; build \
                    parley-ethereum with its `tls` feature for HTTPS endpoints"
                .into(),
        );
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(
            "is not an http:// or https:// JSON-RPC endpoint (like http://127.0.0.1:8545)".into(),
        );
    }
    Ok(())
}

impl Rpc {
    /// Connects to the node at `url` and reads its chain id. A block counts as confirmed once
    /// it has `confirmations` blocks on top of it, itself included (at least 1), for the
    /// reads at [`Rpc::confirmed_block`] and for every transaction sent through this
    /// connection. `on_thread_start` runs first on each of the runtime's threads (the plugin
    /// binds its instance there, so that the threads' log lines go to its section).
    pub fn connect(
        url: &str,
        confirmations: u64,
        on_thread_start: impl Fn() + Send + Sync + 'static,
    ) -> Result<Rpc, RpcError> {
        let bad_url = |why: String| RpcError::BadUrl {
            url: url.to_owned(),
            why,
        };
        check_url(url).map_err(bad_url)?;
        let provider =
            Provider::<Http>::try_from(url).map_err(|e| bad_url(format!("is not a URL: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("parley-eth-rpc")
            .on_thread_start(on_thread_start)
            .enable_all()
            .build()
            .map_err(RpcError::Runtime)?;
        let mut rpc = Rpc {
            runtime,
            provider,
            url: url.to_owned(),
            chain_id: 0, // read next: every request goes through the connection's `ask`
            confirmations: confirmations.max(1),
        };
        let chain_id = rpc.block_on(rpc.ask("reading the chain id", rpc.provider.get_chainid()))?;
        rpc.chain_id = chain_id.low_u64();
        Ok(rpc)
    }

    /// The endpoint, as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The chain the node serves (`eth_chainId` at connection).
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The confirmation depth given at connection.
    pub fn confirmations(&self) -> u64 {
        self.confirmations
    }

    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// One request of `what`, bounded by [`REQUEST_TIMEOUT`], its error classified.
    pub(crate) async fn ask<T>(
        &self,
        what: &str,
        request: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, RpcError> {
        match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
            Ok(answer) => answer.map_err(|e| RpcError::from_provider(what, &self.url, e)),
            Err(_) => Err(RpcError::Unreachable {
                what: what.to_owned(),
                url: self.url.clone(),
                cause: format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()),
            }),
        }
    }

    /// The newest block with the configured number of confirmations (itself included).
    pub fn confirmed_block(&self) -> Result<u64, RpcError> {
        let head =
            self.block_on(self.ask("reading the block number", self.provider.get_block_number()))?;
        Ok(head.as_u64().saturating_sub(self.confirmations - 1))
    }

    /// The latest block's timestamp.
    pub fn latest_timestamp(&self) -> Result<u64, RpcError> {
        Ok(self
            .latest_block("reading the latest block")?
            .timestamp
            .low_u64())
    }

    /// The latest block's base fee, or `None` on a chain without EIP-1559.
    pub fn base_fee(&self) -> Result<Option<U256>, RpcError> {
        Ok(self.latest_block("reading the base fee")?.base_fee_per_gas)
    }

    fn latest_block(&self, what: &str) -> Result<Block<H256>, RpcError> {
        self.block_on(self.ask(what, self.provider.get_block(BlockNumber::Latest)))?
            .ok_or_else(|| RpcError::BadResponse {
                what: what.to_owned(),
                why: "the node has no latest block".into(),
            })
    }

    /// The ether balance of `owner` at the latest block.
    pub fn eth_balance(&self, owner: H160) -> Result<U256, RpcError> {
        self.block_on(self.ask(
            "reading an ether balance",
            self.provider.get_balance(owner, None),
        ))
    }

    /// The runtime code at `address` at the latest block (empty for an account without code).
    pub fn code(&self, address: H160) -> Result<Vec<u8>, RpcError> {
        self.block_on(self.ask(
            "reading contract code",
            self.provider.get_code(address, None),
        ))
        .map(|code| code.to_vec())
    }

    /// A read-only call, at `block` (or the latest block).
    pub fn call(&self, to: H160, data: Vec<u8>, block: Option<u64>) -> Result<Vec<u8>, RpcError> {
        let tx: TypedTransaction = TransactionRequest::new().to(to).data(data).into();
        let at = block.map(|n| BlockId::Number(BlockNumber::Number(n.into())));
        self.block_on(self.ask("a contract call", self.provider.call(&tx, at)))
            .map(|bytes| bytes.to_vec())
    }

    /// The call data of transaction `hash`; `None` if the node does not know it.
    pub fn transaction_input(&self, hash: H256) -> Result<Option<Vec<u8>>, RpcError> {
        self.block_on(self.ask("reading a transaction", self.provider.get_transaction(hash)))
            .map(|tx| tx.map(|tx| tx.input.to_vec()))
    }

    /// The logs matching `filter`.
    pub fn logs(&self, filter: &Filter) -> Result<Vec<Log>, RpcError> {
        self.block_on(self.ask("reading event logs", self.provider.get_logs(filter)))
    }

    /// Test chains only: moves time forward and mines a block; the new latest timestamp. A
    /// node that does not know `evm_increaseTime` and `evm_mine` answers
    /// [`RpcError::Node`].
    pub fn advance_time(&self, seconds: u64) -> Result<u64, RpcError> {
        let what = "advancing time";
        let provider = &self.provider;
        self.block_on(async {
            self.ask(
                what,
                provider.request::<_, serde_json::Value>("evm_increaseTime", [U256::from(seconds)]),
            )
            .await?;
            self.ask(
                what,
                provider.request::<_, serde_json::Value>("evm_mine", Vec::<u8>::new()),
            )
            .await
        })?;
        self.latest_timestamp()
    }
}
